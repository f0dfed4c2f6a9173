"""The JSON API's behaviour: authentication, error format, validation, serialisation,
pagination, audit of changes, and the OpenAPI document."""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from procurement.accounts import services as accounts
from procurement.accounts.models import ApiToken, User, hash_token
from procurement.core.db import db
from procurement.policies.models import PolicyProfile
from tests.conftest import PASSWORD
from tests.helpers import in_app

CJK = re.compile(r"[\u4e00-\u9fff]")
NEW_USER = {
    "username": "newcomer",
    "display_name": "新同事",
    "role": "officer",
    "region_code": "140522",
    "password": "Test-pass-2026",
}


# ------------------------------------------------------------------------- helpers


def assert_error(response, status: int, code: str) -> dict:
    """The one error format: {"error": {"code", "message", "fields"}}."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.is_json, response.content_type
    body = response.get_json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"].strip()
    assert isinstance(error["fields"], dict)
    return error


def yangcheng_id(app) -> int:
    return in_app(
        app,
        lambda: db.session.scalar(
            select(PolicyProfile.id).where(
                PolicyProfile.region_code == "140522", PolicyProfile.year == 2026
            )
        ),
    )


def count_users(app, **where) -> int:
    def work():
        stmt = select(func.count(User.id))
        for column, value in where.items():
            stmt = stmt.where(getattr(User, column) == value)
        return db.session.scalar(stmt)

    return in_app(app, work)


def iso_datetime(value: str) -> datetime:
    """An ISO 8601 date-time with its time zone."""
    assert isinstance(value, str), value
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", value), value
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, f"{value} has no time zone"
    return parsed


@pytest.fixture
def admin(make_user, make_token):
    make_user("admin", role="admin", region_code="140522")
    return make_token("admin")


@pytest.fixture
def profile(app, presets, api, admin):
    """The Yangcheng profile as the API shows it before the test changes anything."""
    profile_id = yangcheng_id(app)
    response = api.get(f"/api/v1/policy-profiles/{profile_id}", token=admin)
    assert response.status_code == 200
    return response.get_json()


# ---------------------------------------------------------------- authentication


def test_missing_token_is_401_with_the_error_format(api):
    error = assert_error(api.get("/api/v1/me"), 401, "unauthorized")
    assert error["fields"] == {}


@pytest.mark.parametrize(
    "header",
    [
        "Bearer ycp_not-a-real-token",
        "Bearer not-even-the-prefix",
        "Bearer ",
        "Basic YWRtaW46VGVzdC1wYXNzLTIwMjY=",
        "ycp_token-without-scheme",
    ],
)
def test_wrong_token_is_401(app, admin, header):
    response = app.test_client().get(
        "/api/v1/me", headers={"Authorization": header, "Accept": "application/json"}
    )
    assert_error(response, 401, "unauthorized")


def test_the_right_token_with_another_case_of_scheme_works(app, admin):
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"bearer {admin}"})
    assert response.status_code == 200
    assert response.get_json()["username"] == "admin"


def test_revoked_token_is_401(app, api, admin):
    assert api.get("/api/v1/me", token=admin).status_code == 200

    def revoke():
        token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(admin)))
        accounts.revoke_token(token)

    in_app(app, revoke)
    assert_error(api.get("/api/v1/me", token=admin), 401, "unauthorized")


def test_deactivated_users_token_is_401_and_stays_so_after_reactivation(
    app, api, make_user, make_token
):
    make_user("leaver", role="officer")
    token = make_token("leaver")
    assert api.get("/api/v1/me", token=token).status_code == 200
    in_app(app, lambda: accounts.set_active(accounts.find_user("leaver"), False, actor=None))
    assert_error(api.get("/api/v1/me", token=token), 401, "unauthorized")
    in_app(app, lambda: accounts.set_active(accounts.find_user("leaver"), True, actor=None))
    assert_error(api.get("/api/v1/me", token=token), 401, "unauthorized")  # not revived
    fresh = make_token("leaver")  # the returning user asks for a new one
    assert api.get("/api/v1/me", token=fresh).status_code == 200


def test_a_password_change_revokes_the_users_tokens(app, api, client, make_user, make_token):
    """Through the account page (the user's own change) and by an administrator."""
    make_user("officer")
    token = make_token("officer")
    assert api.get("/api/v1/me", token=token).status_code == 200
    client.login("officer")
    changed = client.post(
        "/account/password",
        {"current": PASSWORD, "password": "New-pass-2026", "confirm": "New-pass-2026"},
        page="/account",
    )
    assert changed.status_code == 302
    assert_error(api.get("/api/v1/me", token=token), 401, "unauthorized")

    second = make_token("officer")
    in_app(app, lambda: accounts.set_password(accounts.find_user("officer"), "Reset-pass-2026"))
    assert_error(api.get("/api/v1/me", token=second), 401, "unauthorized")

    def revocations():
        from procurement.core.audit import AuditEvent

        return db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.entity_type == "api_tokens", AuditEvent.action == "revoke"
            )
        )

    assert in_app(app, revocations) == 2  # each revocation is on the record


def test_session_cookie_does_not_open_the_api(client, make_user):
    """A logged-in browser has no token: the API answers 401, not the session's user."""
    make_user("officer")
    client.login("officer")
    response = client.get("/api/v1/me", headers={"Accept": "application/json"})
    assert_error(response, 401, "unauthorized")


# ---------------------------------------------------------------- request bodies


def test_malformed_json_is_400(app, api, admin):
    response = api.http.post(
        "/api/v1/users",
        data="{bad",
        content_type="application/json",
        headers={"Authorization": f"Bearer {admin}", "Accept": "application/json"},
    )
    assert_error(response, 400, "bad_request")
    assert count_users(app) == 1


def test_non_json_content_type_is_400(app, api, admin):
    response = api.http.post(
        "/api/v1/users",
        data=NEW_USER,  # a form, as a browser would send it
        headers={"Authorization": f"Bearer {admin}", "Accept": "application/json"},
    )
    assert_error(response, 400, "bad_request")
    response = api.http.post(
        "/api/v1/users",
        data='{"username": "x"}',
        content_type="text/plain",
        headers={"Authorization": f"Bearer {admin}", "Accept": "application/json"},
    )
    assert_error(response, 400, "bad_request")
    assert count_users(app) == 1


def test_unknown_field_is_422_naming_it(app, api, admin):
    response = api.post("/api/v1/users", json={**NEW_USER, "shoe_size": 42}, token=admin)
    error = assert_error(response, 422, "validation_error")
    assert "shoe_size" in error["fields"]
    assert count_users(app, username="newcomer") == 0


def test_invalid_role_is_422(app, api, admin):
    response = api.post("/api/v1/users", json={**NEW_USER, "role": "emperor"}, token=admin)
    error = assert_error(response, 422, "validation_error")
    assert list(error["fields"]) == ["role"]
    assert count_users(app, username="newcomer") == 0


def test_missing_fields_are_all_named(api, admin):
    response = api.post("/api/v1/users", json={"username": "newcomer"}, token=admin)
    error = assert_error(response, 422, "validation_error")
    assert set(error["fields"]) == {"display_name", "role", "region_code", "password"}


def test_creating_a_user_and_a_duplicate_username(app, api, admin):
    created = api.post("/api/v1/users", json=NEW_USER, token=admin)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["username"] == "newcomer"
    assert body["role"] == "officer"
    assert "password" not in body and "password_hash" not in body

    again = api.post("/api/v1/users", json={**NEW_USER, "display_name": "Other"}, token=admin)
    error = assert_error(again, 409, "conflict")
    assert "username" in error["fields"]
    assert count_users(app, username="newcomer") == 1


def test_unknown_user_is_404_json(api, admin):
    assert_error(api.get("/api/v1/users/999999", token=admin), 404, "not_found")
    response = api.patch("/api/v1/users/999999", json={"display_name": "x"}, token=admin)
    assert_error(response, 404, "not_found")


def test_unknown_region_code_is_404_naming_it(api, admin):
    error = assert_error(api.get("/api/v1/regions/999999", token=admin), 404, "not_found")
    assert "999999" in error["message"]


def test_region_detail(api, admin):
    response = api.get("/api/v1/regions/140522", token=admin)
    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "阳城县"
    assert body["level"] == "county"
    assert body["parent_code"] == "140500"
    assert body["full_name"] == "山西省晋城市阳城县"
    assert len(body["children"]) == 15
    assert all(c["code"].startswith("140522") and len(c["code"]) == 9 for c in body["children"])


def test_integers_past_the_database_range_are_refused_not_a_500(api, admin):
    """Found by fuzzing: SQLite overflowed on such ids; PostgreSQL INTEGER cannot hold them."""
    assert_error(api.get(f"/api/v1/users/{2**63}", token=admin), 404, "not_found")
    assert_error(api.get(f"/api/v1/users/{2**31}", token=admin), 404, "not_found")
    response = api.get(f"/api/v1/acceptances?contract_id={2**40}", token=admin)
    error = assert_error(response, 422, "validation_error")
    assert list(error["fields"]) == ["contract_id"]


def test_text_that_cannot_be_stored_is_refused_naming_the_field(app, api, admin):
    """NUL (PostgreSQL text refuses it) and lone surrogates (not UTF-8) never reach the
    database."""
    response = api.post(
        "/api/v1/users", json={**NEW_USER, "display_name": "新\x00同事"}, token=admin
    )
    error = assert_error(response, 422, "validation_error")
    assert list(error["fields"]) == ["display_name"]
    body = json.dumps(NEW_USER).replace('"newcomer"', '"new\\ud800comer"')
    response = api.http.post(
        "/api/v1/users",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {admin}", "Accept": "application/json"},
    )
    error = assert_error(response, 422, "validation_error")
    assert list(error["fields"]) == ["username"]
    assert count_users(app) == 1
    assert_error(api.get("/api/v1/regions/140522%00", token=admin), 404, "not_found")


def test_times_stored_without_a_zone_are_written_as_china_time():
    """Visits are stored as wall-clock times; RFC 3339 date-times carry an offset."""
    from datetime import UTC

    from procurement.core.api import Schema

    class Visit(Schema):
        started_at: datetime
        confirmed_at: datetime

    visit = Visit(started_at=datetime(2026, 7, 2, 8), confirmed_at=datetime(2026, 7, 2, tzinfo=UTC))
    assert visit.model_dump(mode="json") == {
        "started_at": "2026-07-02T08:00:00+08:00",
        "confirmed_at": "2026-07-02T00:00:00Z",
    }
    assert visit.model_dump()["started_at"] == datetime(2026, 7, 2, 8)


def test_unknown_api_path_is_404_json(api, admin):
    assert_error(api.get("/api/v1/no-such-thing", token=admin), 404, "not_found")


def test_wrong_method_is_405_json(api, admin):
    response = api.http.delete(
        "/api/v1/me", headers={"Authorization": f"Bearer {admin}", "Accept": "application/json"}
    )
    assert_error(response, 405, "method_not_allowed")


# ---------------------------------------------------------------- serialisation


def test_money_fields_are_decimal_strings(app, api, admin, profile):
    assert profile["hourly_rate_cap"] == "35.00"
    assert profile["hours_per_month"] == "4.00"
    assert profile["major_fine_threshold"] == "2000000.00"
    assert profile["unit_price_per_visit"] is None
    for item in api.get("/api/v1/policy-profiles", token=admin).get_json()["items"]:
        for field in (
            "hours_per_month",
            "hourly_rate_cap",
            "unit_price_per_visit",
            "major_fine_threshold",
        ):
            value = item[field]
            assert value is None or re.fullmatch(r"\d+\.\d{2}", value), (field, value)
    xinjiang = api.get("/api/v1/policy-profiles?region_code=650000", token=admin)
    # Xinjiang lies outside a Yangcheng admin's region.
    assert xinjiang.get_json()["items"] == []


def test_money_of_the_xinjiang_profile(make_user, make_token, api, presets):
    make_user("xinjiang-officer", role="officer", region_code="650000")
    token = make_token("xinjiang-officer")
    items = api.get("/api/v1/policy-profiles", token=token).get_json()["items"]
    assert len(items) == 1
    assert items[0]["unit_price_per_visit"] == "50.00"
    assert items[0]["visits_per_year"] == 36
    assert items[0]["hourly_rate_cap"] is None


def test_times_are_iso_8601(api, admin, profile):
    me = api.get("/api/v1/me", token=admin).get_json()
    iso_datetime(me["created_at"])
    assert me["last_login_at"] is None
    iso_datetime(profile["updated_at"])
    events = api.get("/api/v1/audit-events", token=admin).get_json()["items"]
    assert events
    for event in events:
        iso_datetime(event["occurred_at"])


def test_audit_date_filter_takes_iso_dates(api, admin):
    response = api.get("/api/v1/audit-events?date_from=2026-13-01", token=admin)
    error = assert_error(response, 422, "validation_error")
    assert "date_from" in error["fields"]
    response = api.get("/api/v1/audit-events?date_from=2000-01-01&date_to=2999-12-31", token=admin)
    assert response.status_code == 200


# ---------------------------------------------------------------- pagination


def test_users_are_paginated(api, make_user, admin):
    for n in range(4):
        make_user(f"user-{n}", role="officer")
    first = api.get("/api/v1/users?per_page=2", token=admin)
    assert first.status_code == 200
    body = first.get_json()
    assert set(body) == {"items", "total", "page", "per_page"}
    assert body["total"] == 5
    assert body["page"] == 1
    assert body["per_page"] == 2
    assert len(body["items"]) == 2

    last = api.get("/api/v1/users?per_page=2&page=3", token=admin).get_json()
    assert last["page"] == 3 and last["total"] == 5
    assert len(last["items"]) == 1
    beyond = api.get("/api/v1/users?per_page=2&page=9", token=admin).get_json()
    assert beyond["items"] == [] and beyond["total"] == 5

    pages = [
        api.get(f"/api/v1/users?per_page=2&page={p}", token=admin).get_json()["items"]
        for p in (1, 2, 3)
    ]
    ids = [u["id"] for page in pages for u in page]
    assert len(ids) == len(set(ids)) == 5

    default = api.get("/api/v1/users", token=admin).get_json()
    assert default["per_page"] == 50 and default["page"] == 1


@pytest.mark.parametrize(
    "query, field",
    [
        ("per_page=0", "per_page"),
        ("per_page=1000", "per_page"),
        ("per_page=-1", "per_page"),
        ("per_page=ten", "per_page"),
        ("page=0", "page"),
    ],
)
def test_page_bounds_are_422(api, admin, query, field):
    error = assert_error(api.get(f"/api/v1/users?{query}", token=admin), 422, "validation_error")
    assert field in error["fields"]


def test_largest_page_is_accepted(api, admin):
    response = api.get("/api/v1/users?per_page=500", token=admin)
    assert response.status_code == 200
    assert response.get_json()["per_page"] == 500


def test_unknown_query_parameter_is_422(api, admin):
    error = assert_error(api.get("/api/v1/users?colour=red", token=admin), 422, "validation_error")
    assert "colour" in error["fields"]


def test_audit_events_are_paginated(api, admin):
    body = api.get("/api/v1/audit-events?per_page=1", token=admin).get_json()
    assert set(body) == {"items", "total", "page", "per_page"}
    assert body["per_page"] == 1 and len(body["items"]) == 1 and body["total"] >= 1


# ---------------------------------------------------------------- changing a profile


def test_weights_not_summing_to_100_are_refused(api, admin, profile):
    weights = [
        {"party": "buyer", "weight": 30},
        {"party": "finance", "weight": 15},
        {"party": "recipients", "weight": 40},
        {"party": "third_party", "weight": 20},
    ]
    response = api.patch(
        f"/api/v1/policy-profiles/{profile['id']}",
        json={"rules": {"evaluation_weights": weights}},
        token=admin,
    )
    error = assert_error(response, 422, "validation_error")
    assert any("evaluation_weights" in key for key in error["fields"]), error["fields"]
    after = api.get(f"/api/v1/policy-profiles/{profile['id']}", token=admin).get_json()
    assert after == profile


@pytest.mark.parametrize("amount", ["35.001", 35.001])
def test_three_decimal_places_are_refused(api, admin, profile, amount):
    response = api.patch(
        f"/api/v1/policy-profiles/{profile['id']}",
        json={"rules": {"hourly_rate_cap": amount}},
        token=admin,
    )
    error = assert_error(response, 422, "validation_error")
    assert "hourly_rate_cap" in error["fields"]
    after = api.get(f"/api/v1/policy-profiles/{profile['id']}", token=admin).get_json()
    assert after == profile


def test_unknown_rule_is_refused(api, admin, profile):
    response = api.patch(
        f"/api/v1/policy-profiles/{profile['id']}",
        json={"rules": {"hourly_rate_kap": "30.00"}},
        token=admin,
    )
    error = assert_error(response, 422, "validation_error")
    assert any("hourly_rate_kap" in key for key in error["fields"]), error["fields"]


def test_unknown_profile_is_404(api, admin, presets):
    assert_error(api.get("/api/v1/policy-profiles/999999", token=admin), 404, "not_found")
    response = api.patch(
        "/api/v1/policy-profiles/999999",
        json={"rules": {"hourly_rate_cap": "30.00"}},
        token=admin,
    )
    assert_error(response, 404, "not_found")


def test_successful_patch_is_audited(app, api, admin, profile):
    response = api.patch(
        f"/api/v1/policy-profiles/{profile['id']}",
        json={"rules": {"hourly_rate_cap": "36.50"}},
        token=admin,
    )
    assert response.status_code == 200, response.get_json()
    changed = response.get_json()
    assert changed["hourly_rate_cap"] == "36.50"
    unchanged = {k: v for k, v in profile.items() if k not in {"hourly_rate_cap", "updated_at"}}
    assert {k: v for k, v in changed.items() if k in unchanged} == unchanged

    events = api.get("/api/v1/audit-events?entity_type=policy_profiles", token=admin).get_json()[
        "items"
    ]
    updates = [
        e for e in events if e["action"] == "update" and e["entity_id"] == str(profile["id"])
    ]
    assert len(updates) == 1, events
    event = updates[0]
    assert event["entity_type"] == "policy_profiles"
    assert event["channel"] == "api"
    assert event["actor_name"] == "admin"
    assert event["actor_id"] == api.get("/api/v1/me", token=admin).get_json()["id"]
    assert event["region_code"] == "140522"
    assert event["before"]["hourly_rate_cap"] == "35.00"
    assert event["after"]["hourly_rate_cap"] == "36.50"
    assert event["before"]["hours_per_month"] == event["after"]["hours_per_month"] == "4.00"

    by_channel = api.get(
        "/api/v1/audit-events?entity_type=policy_profiles&channel=api", token=admin
    ).get_json()["items"]
    assert [e["id"] for e in by_channel] == [event["id"]]

    # The stored value is exact on every backend.
    stored = in_app(app, lambda: db.session.get(PolicyProfile, profile["id"]).hourly_rate_cap)
    assert stored == Decimal("36.50")


# ---------------------------------------------------------------- OpenAPI document


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule)


def test_openapi_document_describes_every_endpoint(app):
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"] == "3.1.0"
    assert "ErrorBody" in doc["components"]["schemas"]

    expected = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.rule == "/api/v1/openapi.json":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            expected.add((_openapi_path(rule.rule), method.lower()))
    assert len(expected) >= 12
    documented = {
        (path, method)
        for path, item in doc["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert expected - documented == set()

    for path, method in expected:
        operation = doc["paths"][path][method]
        responses = operation["responses"]
        # Every endpoint here needs a token (the only public one is the document itself).
        assert "401" in responses, (path, method)
        assert responses["401"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorBody"
        }
        assert operation.get("security") != [], (path, method)
        for name in re.findall(r"{(\w+)}", path):
            params = {p["name"]: p for p in operation["parameters"] if p["in"] == "path"}
            assert params[name]["required"] is True, (path, name)


def test_openapi_refs_resolve(app):
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(doc)))
    assert refs
    assert refs - set(schemas) == set()


def test_openapi_documents_money_as_strings(app):
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    out = doc["paths"]["/api/v1/policy-profiles/{profile_id}"]["get"]["responses"]["200"]
    ref = out["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    cap = doc["components"]["schemas"][ref]["properties"]["hourly_rate_cap"]
    variants = cap.get("anyOf", [cap])
    assert {"type": "string", "pattern": r"^-?\d+\.\d{2}$"}.items() <= next(
        v for v in variants if v.get("type") == "string"
    ).items()


def test_openapi_bounds_integers_and_leaves_null_out_of_query_parameters(app):
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            for param in operation["parameters"]:
                schema = param["schema"]
                variants = schema.get("anyOf", [schema])
                if param["in"] == "query":
                    assert all(v.get("type") != "null" for v in variants), (path, method, param)
                for variant in variants:
                    if variant.get("type") == "integer":
                        assert variant["maximum"] <= 2**31 - 1, (path, method, param)
    integers = re.findall(r'\{[^{}]*"type": "integer"[^{}]*\}', json.dumps(doc, sort_keys=True))
    assert integers and all('"maximum"' in found for found in integers)


# ---------------------------------------------------------------- language


def test_error_messages_default_to_chinese(api):
    error = assert_error(api.get("/api/v1/me"), 401, "unauthorized")
    assert CJK.search(error["message"]), error["message"]


def test_error_messages_in_english_on_request(app):
    response = app.test_client().get(
        "/api/v1/me", headers={"Accept": "application/json", "Accept-Language": "en"}
    )
    error = assert_error(response, 401, "unauthorized")
    assert not CJK.search(error["message"]), error["message"]
    assert "token" in error["message"].lower()
