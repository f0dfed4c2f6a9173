"""Who may open which page and call which API endpoint, written out by hand.

The tables below are deliberately *not* derived from ``roles.PERMISSIONS``: if that
table is changed by mistake (a role gains ``users.manage``, say), these tests fail.

Every role is tested against every page and endpoint in one request cycle per role;
a failure shows the whole table diff for that role, cell by cell.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from procurement.accounts.auth import PUBLIC_BLUEPRINTS, PUBLIC_ENDPOINTS
from procurement.accounts.models import User
from procurement.core.db import db
from procurement.policies.models import PolicyProfile
from tests.conftest import Client

ROLES = ("admin", "officer", "finance", "evaluator", "auditor")

# Placeholders filled in per test: {yc} = the Yangcheng 2026 profile, {target} = a user
# of 阳城县 other than the caller.

# page -> expected status for (admin, officer, finance, evaluator, auditor)
PAGES: dict[str, tuple[int, int, int, int, int]] = {
    "/": (200, 200, 200, 200, 200),
    "/policies/": (200, 200, 200, 200, 200),
    "/policies/{yc}": (200, 200, 200, 200, 200),
    "/policies/{yc}/edit": (200, 403, 403, 403, 403),
    "/policies/new": (200, 403, 403, 403, 403),
    "/catalogue/": (200, 200, 200, 200, 200),
    "/catalogue/{yc}": (200, 200, 200, 200, 200),
    "/catalogue/{yc}/new": (200, 403, 403, 403, 403),
    "/catalogue/{yc}/import": (200, 403, 403, 403, 403),
    "/regions/": (200, 200, 200, 200, 200),
    # the province's administrators keep the divisions: a county admin is refused too
    "/regions/divisions": (403, 403, 403, 403, 403),
    "/regions/140522/townships": (403, 403, 403, 403, 403),
    "/admin/users": (200, 403, 403, 403, 200),
    "/admin/users/new": (200, 403, 403, 403, 403),
    "/admin/users/{target}": (200, 403, 403, 403, 200),
    "/audit/": (200, 403, 403, 403, 200),
    "/account": (200, 200, 200, 200, 200),
    "/plans/": (200, 200, 200, 200, 200),
    "/plans/{plan}": (200, 200, 200, 200, 200),
    "/plans/{plan}/versions/1": (200, 200, 200, 200, 200),
    "/plans/{plan}/export.xlsx": (200, 200, 200, 200, 200),
    "/plans/new": (403, 200, 403, 403, 403),
    "/plans/{plan}/edit": (403, 302, 403, 403, 403),  # submitted: the officer is sent back
    "/plans/{plan}/lines/new": (403, 302, 403, 403, 403),
    "/plans/{plan}/review": (403, 403, 200, 403, 403),
    "/providers/": (200, 200, 200, 200, 200),
    "/providers/new": (403, 200, 403, 403, 403),
    "/providers/import": (403, 200, 403, 403, 403),
    "/contracts/": (200, 200, 200, 200, 200),
    "/contract-templates/": (200, 403, 403, 403, 403),
    "/recipients/": (200, 200, 200, 200, 200),
    "/recipients/new": (403, 200, 403, 403, 403),
    "/recipients/import": (403, 200, 403, 403, 403),
    "/recipients/import/template.xlsx": (200, 200, 200, 200, 200),
    "/recipients/applications": (200, 200, 200, 200, 200),
    "/recipients/changes": (200, 200, 200, 200, 200),
    "/recipients/calendar": (200, 200, 403, 403, 403),
    "/settlements/": (200, 200, 200, 200, 200),
    "/settlements/imports": (200, 200, 200, 200, 200),
    "/settlements/imports/new": (403, 200, 403, 403, 403),
    "/settlements/flags": (200, 200, 200, 200, 200),
    "/settlements/under-delivery?month=2026-12": (200, 200, 200, 200, 200),
    "/payments/": (200, 200, 200, 403, 200),
    "/payments/ledger": (200, 200, 200, 403, 200),
    "/supervision/": (200, 200, 200, 200, 200),
    "/supervision/complaints/new": (403, 200, 403, 403, 403),
    "/supervision/sanctions/new": (403, 200, 403, 403, 403),
    "/performance/": (200, 200, 200, 200, 200),
}

# Bodies sent to the writing endpoints are invalid on purpose: a permitted role gets
# 422 (the request got past the permission check), a refused role gets 403, and
# nothing is written either way.
INVALID_USER_CREATE: dict = {}
INVALID_USER_PATCH = {"role": "emperor"}
INVALID_PROFILE_CREATE: dict = {}
INVALID_PROFILE_PATCH: dict = {}

# (method, url) -> expected status for (admin, officer, finance, evaluator, auditor)
ENDPOINTS: dict[tuple[str, str], tuple[int, int, int, int, int]] = {
    ("GET", "/api/v1/me"): (200, 200, 200, 200, 200),
    ("GET", "/api/v1/users"): (200, 403, 403, 403, 200),
    ("GET", "/api/v1/users/{target}"): (200, 403, 403, 403, 200),
    ("GET", "/api/v1/audit-events"): (200, 403, 403, 403, 200),
    ("GET", "/api/v1/policy-profiles"): (200, 200, 200, 200, 200),
    ("GET", "/api/v1/policy-profiles/{yc}"): (200, 200, 200, 200, 200),
    ("GET", "/api/v1/regions"): (200, 200, 200, 200, 200),
    ("GET", "/api/v1/regions/140522"): (200, 200, 200, 200, 200),
    ("POST", "/api/v1/regions/divisions"): (403, 403, 403, 403, 403),
    ("POST", "/api/v1/regions/140522/townships"): (403, 403, 403, 403, 403),
    ("PATCH", "/api/v1/regions/140522100"): (403, 403, 403, 403, 403),
    ("POST", "/api/v1/regions/140522100/retire"): (403, 403, 403, 403, 403),
    ("POST", "/api/v1/users"): (422, 403, 403, 403, 403),
    ("PATCH", "/api/v1/users/{target}"): (422, 403, 403, 403, 403),
    ("POST", "/api/v1/policy-profiles"): (422, 403, 403, 403, 403),
    ("PATCH", "/api/v1/policy-profiles/{yc}"): (422, 403, 403, 403, 403),
    ("GET", "/api/v1/catalogue-items?policy_profile_id={yc}"): (200, 200, 200, 200, 200),
    ("POST", "/api/v1/policy-profiles/{yc}/catalogue-items"): (422, 403, 403, 403, 403),
    # past the permission check there is no catalogue item 999999
    ("PATCH", "/api/v1/catalogue-items/999999"): (404, 403, 403, 403, 403),
    ("POST", "/api/v1/catalogue-items/999999/retire"): (404, 403, 403, 403, 403),
    ("GET", "/api/v1/plans"): (200, 200, 200, 200, 200),
    ("GET", "/api/v1/plans/{plan}"): (200, 200, 200, 200, 200),
    ("POST", "/api/v1/plans"): (403, 422, 403, 403, 403),
    ("POST", "/api/v1/plans/{plan}/approve"): (403, 403, 422, 403, 403),
    ("POST", "/api/v1/plans/{plan}/return"): (403, 403, 422, 403, 403),
    ("GET", "/api/v1/providers"): (200, 200, 200, 200, 200),
    ("POST", "/api/v1/providers"): (403, 422, 403, 403, 403),
    ("GET", "/api/v1/recipients"): (200, 200, 200, 200, 200),
    ("POST", "/api/v1/recipients"): (403, 422, 403, 403, 403),
    # only the officer sees full ID numbers (there is no recipient 999999: 404 past the check)
    ("POST", "/api/v1/recipients/999999/reveal-id"): (403, 404, 403, 403, 403),
    ("GET", "/api/v1/recipient-applications"): (200, 200, 200, 200, 200),
    ("GET", "/api/v1/recipient-changes?month=2026-12"): (200, 200, 200, 200, 200),
    ("GET", "/api/v1/workday-overrides?year=2027"): (200, 200, 403, 403, 403),
    # the shared holiday table is kept by the province: a county's admin and officer read it
    ("POST", "/api/v1/workday-overrides"): (403, 403, 403, 403, 403),
    ("GET", "/api/v1/settlements"): (200, 200, 200, 200, 200),
    ("GET", "/api/v1/service-records"): (200, 200, 200, 200, 200),
    ("GET", "/api/v1/record-imports"): (200, 200, 200, 200, 200),
    ("GET", "/api/v1/flags"): (200, 200, 200, 200, 200),
    ("GET", "/api/v1/under-delivery?month=2026-12"): (200, 200, 200, 200, 200),
    ("POST", "/api/v1/service-records"): (403, 422, 403, 403, 403),
    ("POST", "/api/v1/service-records/review"): (403, 422, 403, 403, 403),
    ("POST", "/api/v1/settlements/999999/confirm"): (403, 403, 422, 403, 403),
    ("GET", "/api/v1/payments"): (200, 200, 200, 403, 200),
    ("GET", "/api/v1/ledger"): (200, 200, 200, 403, 200),
    ("POST", "/api/v1/settlements/999999/payments"): (403, 403, 422, 403, 403),
    ("POST", "/api/v1/payments/999999/reverse"): (403, 403, 422, 403, 403),
    ("GET", "/api/v1/complaints"): (200, 200, 200, 200, 200),
    ("POST", "/api/v1/complaints"): (403, 422, 403, 403, 403),
    ("GET", "/api/v1/sanction-proposals"): (200, 200, 200, 200, 200),
    ("GET", "/api/v1/sanctions"): (200, 200, 200, 200, 200),
    ("POST", "/api/v1/sanctions"): (403, 422, 403, 403, 403),
    ("GET", "/api/v1/acceptances"): (200, 200, 200, 200, 200),
    ("GET", "/api/v1/evaluations"): (200, 200, 200, 200, 200),
    ("POST", "/api/v1/contracts/999999/acceptances"): (403, 422, 403, 403, 403),
    # past the permission check there is no acceptance, contract or evaluation 999999
    ("POST", "/api/v1/acceptances/999999/approve"): (403, 404, 403, 403, 403),
    ("POST", "/api/v1/acceptances/999999/publish"): (403, 404, 403, 403, 403),
    ("POST", "/api/v1/contracts/999999/evaluation"): (403, 404, 403, 403, 403),
    ("POST", "/api/v1/evaluations/999999/scores"): (403, 422, 422, 422, 403),
}
BODIES = {
    ("POST", "/api/v1/users"): INVALID_USER_CREATE,
    ("PATCH", "/api/v1/users/{target}"): INVALID_USER_PATCH,
    ("POST", "/api/v1/policy-profiles"): INVALID_PROFILE_CREATE,
    ("PATCH", "/api/v1/policy-profiles/{yc}"): INVALID_PROFILE_PATCH,
    ("POST", "/api/v1/policy-profiles/{yc}/catalogue-items"): {},
    ("PATCH", "/api/v1/catalogue-items/999999"): {},
    ("POST", "/api/v1/plans"): {},
    ("POST", "/api/v1/plans/{plan}/approve"): {},
    ("POST", "/api/v1/plans/{plan}/return"): {},
    ("POST", "/api/v1/providers"): {},
    ("POST", "/api/v1/recipients"): {},
    ("POST", "/api/v1/workday-overrides"): {},
    ("POST", "/api/v1/service-records"): {},
    ("POST", "/api/v1/service-records/review"): {},
    ("POST", "/api/v1/settlements/999999/confirm"): {},
    ("POST", "/api/v1/settlements/999999/payments"): {},
    ("POST", "/api/v1/payments/999999/reverse"): {},
    ("POST", "/api/v1/complaints"): {},
    ("POST", "/api/v1/sanctions"): {},
    ("POST", "/api/v1/contracts/999999/acceptances"): {},
    ("POST", "/api/v1/evaluations/999999/scores"): {},
}

# What GET /api/v1/me reports each role may do, also by hand.
ROLE_PERMISSIONS = {
    "admin": [
        "audit.view",
        "calendar.view",
        "catalogue.manage",
        "dashboard.view",
        "payments.view",
        "performance.view",
        "plans.view",
        "policies.edit",
        "policies.view",
        "providers.view",
        "recipients.view",
        "regions.view",
        "settlements.view",
        "supervision.view",
        "templates.manage",
        "users.manage",
        "users.view",
    ],
    "officer": [
        "acceptance.manage",
        "awards.manage",
        "calendar.view",
        "contracts.manage",
        "dashboard.view",
        "evaluations.manage",
        "evaluations.score",
        "payments.view",
        "performance.view",
        "plans.edit",
        "plans.view",
        "policies.view",
        "providers.edit",
        "providers.view",
        "publications.publish",
        "recipients.edit",
        "recipients.view",
        "recipients.view_id",
        "records.import",
        "records.review",
        "regions.view",
        "settlements.view",
        "supervision.manage",
        "supervision.view",
    ],
    "finance": [
        "dashboard.view",
        "evaluations.score",
        "payments.record",
        "payments.view",
        "performance.view",
        "plans.review",
        "plans.view",
        "policies.view",
        "providers.view",
        "recipients.view",
        "regions.view",
        "settlements.confirm",
        "settlements.view",
        "supervision.view",
    ],
    "evaluator": [
        "dashboard.view",
        "evaluations.score",
        "performance.view",
        "plans.view",
        "policies.view",
        "providers.view",
        "recipients.view",
        "regions.view",
        "settlements.view",
        "supervision.view",
    ],
    "auditor": [
        "audit.view",
        "dashboard.view",
        "payments.view",
        "performance.view",
        "plans.view",
        "policies.view",
        "providers.view",
        "recipients.view",
        "regions.view",
        "settlements.view",
        "supervision.view",
        "users.view",
    ],
}


# ------------------------------------------------------------------------- helpers


def profile_id(app, region_code: str, year: int) -> int:
    with app.app_context():
        found = db.session.scalar(
            select(PolicyProfile.id).where(
                PolicyProfile.region_code == region_code, PolicyProfile.year == year
            )
        )
        db.session.remove()
    assert found is not None, f"no profile for {region_code}/{year}"
    return found


def count_users(app, **where) -> int:
    """Count users without any region scope (no request is active)."""
    with app.app_context():
        stmt = select(func.count(User.id))
        for column, value in where.items():
            stmt = stmt.where(getattr(User, column) == value)
        number = db.session.scalar(stmt)
        db.session.remove()
    return number


def api_call(api, method: str, url: str, token: str | None, body=None):
    if method == "GET":
        return api.get(url, token=token)
    if method == "POST":
        return api.post(url, json=body, token=token)
    if method == "PATCH":
        return api.patch(url, json=body, token=token)
    raise AssertionError(method)


def api_outcome(response) -> object:
    """The status, and for refusals also the error code (so 403 must say "forbidden")."""
    if response.status_code in (401, 403, 404):
        body = response.get_json(silent=True)
        code = body.get("error", {}).get("code") if isinstance(body, dict) else None
        return (response.status_code, code)
    return response.status_code


def expected_api_outcome(status: int) -> object:
    return {401: (401, "unauthorized"), 403: (403, "forbidden"), 404: (404, "not_found")}.get(
        status, status
    )


def assert_login_redirect(response, path: str) -> None:
    assert response.status_code == 302, (path, response.status_code)
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login", (path, response.headers["Location"])
    assert parse_qs(location.query).get("next") == [path], response.headers["Location"]


def assert_json_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.is_json, response.content_type
    error = response.get_json()["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    return error


@pytest.fixture
def world(app, make_user, yangcheng):
    """A Yangcheng user and a submitted plan to look at, and the ids of the placeholders."""
    from procurement.core.audit import Actor, set_actor
    from procurement.plans import services as plans
    from tests.plans.conftest import plan_input

    target = make_user("target", role="officer", region_code="140522")
    with app.app_context():
        set_actor(Actor(None, "test-setup", "system"))
        drafter = db.session.get(User, target)
        plan = plans.create_plan(actor=drafter, region_code="140522", data=plan_input())
        plans.submit_plan(plan, actor=drafter, note=None, lock_version=None)
        db.session.commit()
        plan_id = plan.id
        db.session.remove()
    return {"yc": profile_id(app, "140522", 2026), "target": target, "plan": plan_id}


# ---------------------------------------------------------------- the role matrix


@pytest.mark.parametrize("role", ROLES)
def test_pages_by_role(role, app, client, make_user, world):
    make_user(f"the-{role}", role=role, region_code="140522")
    client.login(f"the-{role}")
    column = ROLES.index(role)
    expected = {page: statuses[column] for page, statuses in PAGES.items()}
    actual = {}
    for page in PAGES:
        response = client.get(page.format(**world))
        actual[page] = response.status_code
    assert actual == expected


@pytest.mark.parametrize("role", ROLES)
def test_api_by_role(role, app, api, make_user, make_token, world):
    make_user(f"the-{role}", role=role, region_code="140522")
    token = make_token(f"the-{role}")
    users_before = count_users(app)
    column = ROLES.index(role)
    expected = {
        f"{method} {url}": expected_api_outcome(statuses[column])
        for (method, url), statuses in ENDPOINTS.items()
    }
    actual = {}
    for (method, url), _statuses in ENDPOINTS.items():
        response = api_call(api, method, url.format(**world), token, BODIES.get((method, url)))
        assert response.is_json, (method, url, response.content_type)
        actual[f"{method} {url}"] = api_outcome(response)
    assert actual == expected
    # Neither the refused nor the invalid writes changed anything.
    assert count_users(app) == users_before
    assert count_users(app, username="target", role="officer") == 1


@pytest.mark.parametrize("role", ROLES)
def test_me_lists_the_permissions_of_the_role(role, api, make_user, make_token):
    make_user(f"the-{role}", role=role, region_code="140522")
    response = api.get("/api/v1/me", token=make_token(f"the-{role}"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["role"] == role
    assert body["region_code"] == "140522"
    assert sorted(body["permissions"]) == ROLE_PERMISSIONS[role]


def test_refused_page_is_an_html_403(client, make_user):
    make_user("officer", role="officer")
    client.login("officer")
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert response.mimetype == "text/html"


def test_refused_api_call_has_the_json_error_format(api, make_user, make_token):
    make_user("officer", role="officer")
    response = api.get("/api/v1/users", token=make_token("officer"))
    error = assert_json_error(response, 403, "forbidden")
    assert set(error) == {"code", "message", "fields"}


# ---------------------------------------------------------------- anonymous callers


def test_anonymous_pages_redirect_to_login(app, world):
    http = app.test_client()
    for page in PAGES:
        path = page.format(**world)
        assert_login_redirect(http.get(path), path)


def test_anonymous_api_calls_get_401_json(app, api, world):
    for (method, url), _statuses in ENDPOINTS.items():
        response = api_call(api, method, url.format(**world), None, BODIES.get((method, url)))
        assert_json_error(response, 401, "unauthorized")


@pytest.mark.parametrize("path", ["/login", "/healthz", "/api/v1/openapi.json"])
def test_public_pages_need_no_login(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 200, (path, response.status_code)


_ARGUMENT = re.compile(r"<(?:(\w+(?:\([^)]*\))?):)?(\w+)>")


def _fill(rule) -> str:
    """The rule's path with 1 for integer arguments and "140522" for the others."""

    def value(match) -> str:
        converter = match.group(1) or ""
        if converter == "int":
            return "1"
        if converter.startswith("any("):  # the first of the allowed words
            return converter[4:].split(",")[0].strip(" )'\"")
        return "140522"

    path = _ARGUMENT.sub(value, rule.rule)
    assert "<" not in path, path
    return path


def _is_public(endpoint: str) -> bool:
    return endpoint in PUBLIC_ENDPOINTS or endpoint.partition(".")[0] in PUBLIC_BLUEPRINTS


def test_every_non_public_rule_refuses_anonymous_callers(app):
    """Walk the whole URL map: a new route that forgets authentication fails here."""
    client = Client(app)  # anonymous, but holding a CSRF token like a browser would
    checked, wrong = 0, []
    for rule in app.url_map.iter_rules():
        if _is_public(rule.endpoint):
            continue
        path = _fill(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            is_api = path.startswith("/api/")
            if is_api:
                headers = {"Accept": "application/json"}
                if method == "GET":
                    response = client.http.get(path, headers=headers)
                else:
                    response = client.http.open(path, method=method, json={}, headers=headers)
            elif method == "GET":
                response = client.get(path)
            else:
                token = client.csrf("/login")
                response = client.http.open(path, method=method, data={"csrf_token": token})
            checked += 1
            if is_api:
                body = response.get_json(silent=True) or {}
                ok = response.status_code == 401 and body.get("error", {}).get("code") == (
                    "unauthorized"
                )
            else:
                location = urlsplit(response.headers.get("Location", ""))
                ok = response.status_code == 302 and location.path == "/login"
                if method == "GET":  # and back to the page after logging in
                    ok = ok and parse_qs(location.query).get("next") == [path]
            if not ok:
                wrong.append((method, path, rule.endpoint, response.status_code))
    assert checked >= 20
    assert wrong == []


# ------------------------------------------------------------------- region scoping


@pytest.mark.parametrize("role", ["officer", "admin"])
def test_other_county_cannot_read_the_yangcheng_profile(
    role, app, client, api, make_user, make_token, world
):
    make_user("qinshui", role=role, region_code="140521")
    client.login("qinshui")
    assert client.get(f"/policies/{world['yc']}").status_code == 404
    token = make_token("qinshui")
    response = api.get(f"/api/v1/policy-profiles/{world['yc']}", token=token)
    assert_json_error(response, 404, "not_found")
    listed = api.get("/api/v1/policy-profiles", token=token).get_json()["items"]
    assert world["yc"] not in [p["id"] for p in listed]
    assert client.get("/policies/").get_data(as_text=True).count("阳城县2026") == 0


def test_other_county_admin_cannot_reach_a_yangcheng_user(
    app, client, api, make_user, make_token, world
):
    make_user("qinshui-admin", role="admin", region_code="140521")
    token = make_token("qinshui-admin")
    target = world["target"]
    assert_json_error(api.get(f"/api/v1/users/{target}", token=token), 404, "not_found")
    response = api.patch(f"/api/v1/users/{target}", json={"display_name": "hijacked"}, token=token)
    assert_json_error(response, 404, "not_found")
    response = api.patch(f"/api/v1/users/{target}", json={"active": False}, token=token)
    assert_json_error(response, 404, "not_found")
    assert count_users(app, username="target", display_name="target", active=True) == 1
    listed = api.get("/api/v1/users", token=token).get_json()["items"]
    assert "target" not in [u["username"] for u in listed]

    client.login("qinshui-admin")
    assert client.get(f"/admin/users/{target}").status_code == 404


def test_other_county_auditor_cannot_read_a_yangcheng_user(api, make_user, make_token, world):
    make_user("qinshui-auditor", role="auditor", region_code="140521")
    token = make_token("qinshui-auditor")
    assert_json_error(api.get(f"/api/v1/users/{world['target']}", token=token), 404, "not_found")


def test_other_county_officer_is_refused_users_by_role_first(api, make_user, make_token, world):
    """An officer may not read users at all: the role check answers before the region."""
    make_user("qinshui", role="officer", region_code="140521")
    token = make_token("qinshui")
    assert_json_error(api.get(f"/api/v1/users/{world['target']}", token=token), 403, "forbidden")
    response = api.patch(
        f"/api/v1/users/{world['target']}", json={"display_name": "x"}, token=token
    )
    assert_json_error(response, 403, "forbidden")


def test_other_county_admin_cannot_create_a_user_in_yangcheng(app, api, make_user, make_token):
    make_user("qinshui-admin", role="admin", region_code="140521")
    response = api.post(
        "/api/v1/users",
        json={
            "username": "intruder",
            "display_name": "Intruder",
            "role": "officer",
            "region_code": "140522",
            "password": "Test-pass-2026",
        },
        token=make_token("qinshui-admin"),
    )
    # The write guard refuses the out-of-scope INSERT at flush time.
    assert_json_error(response, 403, "region_out_of_scope")
    assert count_users(app, username="intruder") == 0


def test_other_county_admin_cannot_move_own_user_into_yangcheng(app, api, make_user, make_token):
    make_user("qinshui-admin", role="admin", region_code="140521")
    mine = make_user("qinshui-officer", role="officer", region_code="140521")
    response = api.patch(
        f"/api/v1/users/{mine}",
        json={"region_code": "140522"},
        token=make_token("qinshui-admin"),
    )
    assert_json_error(response, 403, "region_out_of_scope")
    assert count_users(app, username="qinshui-officer", region_code="140521") == 1


def test_prefecture_admin_sees_users_of_both_counties(api, make_user, make_token):
    make_user("jincheng-admin", role="admin", region_code="140500")
    make_user("yangcheng-officer", role="officer", region_code="140522")
    make_user("qinshui-officer", role="officer", region_code="140521")
    make_user("xinjiang-officer", role="officer", region_code="650000")
    make_user("shanxi-admin", role="admin", region_code="140000")
    response = api.get("/api/v1/users", token=make_token("jincheng-admin"))
    assert response.status_code == 200
    names = {u["username"] for u in response.get_json()["items"]}
    assert names == {"jincheng-admin", "yangcheng-officer", "qinshui-officer"}
    assert response.get_json()["total"] == 3


def _rules_from(profile: dict) -> dict:
    return {
        key: value
        for key, value in profile.items()
        if key not in {"id", "region_code", "year", "updated_at"}
    }


def test_province_profile_is_read_below_but_changed_only_by_the_province(
    app, client, api, make_user, make_token, world
):
    make_user("shanxi-admin", role="admin", region_code="140000")
    make_user("yangcheng-admin", role="admin", region_code="140522")
    make_user("yangcheng-officer", role="officer", region_code="140522")
    province = make_token("shanxi-admin")

    yangcheng = api.get(f"/api/v1/policy-profiles/{world['yc']}", token=province)
    assert yangcheng.status_code == 200
    rules = _rules_from(yangcheng.get_json())
    rules["name"] = "山西省2026年政府购买居家养老服务"
    created = api.post(
        "/api/v1/policy-profiles",
        json={"region_code": "140000", "year": 2026, "rules": rules},
        token=province,
    )
    assert created.status_code == 201, created.get_json()
    shanxi = created.get_json()
    assert shanxi["region_code"] == "140000"

    # A county user reads the province's profile, through the API and the page.
    officer = make_token("yangcheng-officer")
    response = api.get(f"/api/v1/policy-profiles/{shanxi['id']}", token=officer)
    assert response.status_code == 200
    assert response.get_json()["name"] == rules["name"]
    listed = api.get("/api/v1/policy-profiles", token=officer).get_json()["items"]
    assert {p["id"] for p in listed} == {world["yc"], shanxi["id"]}  # not Xinjiang's
    client.login("yangcheng-officer")
    assert client.get(f"/policies/{shanxi['id']}").status_code == 200

    # A county administrator may edit profiles, but not the province's.
    response = api.patch(
        f"/api/v1/policy-profiles/{shanxi['id']}",
        json={"rules": {"hourly_rate_cap": "30.00"}},
        token=make_token("yangcheng-admin"),
    )
    assert_json_error(response, 403, "region_out_of_scope")
    after = api.get(f"/api/v1/policy-profiles/{shanxi['id']}", token=province).get_json()
    assert after == shanxi


def _province_profile(app, api, make_user, make_token, world) -> int:
    make_user("shanxi-admin", role="admin", region_code="140000")
    province = make_token("shanxi-admin")
    rules = _rules_from(
        api.get(f"/api/v1/policy-profiles/{world['yc']}", token=province).get_json()
    )
    rules["name"] = "山西省2026年政府购买居家养老服务"
    rules["hourly_rate_cap"] = "30.00"
    created = api.post(
        "/api/v1/policy-profiles",
        json={"region_code": "140000", "year": 2026, "rules": rules},
        token=province,
    )
    assert created.status_code == 201, created.get_json()
    return created.get_json()["id"]


def _edit_form(profile: dict, **changes) -> dict:
    """The edit page's form fields for a profile as the API shows it."""
    data = {
        key: ("" if profile[key] is None else str(profile[key]))
        for key in (
            "name",
            "source_document",
            "entitlement_model",
            "hours_per_month",
            "hourly_rate_cap",
            "visits_per_year",
            "unit_price_per_visit",
            "qualification_lookback_years",
            "major_fine_threshold",
            "min_visit_minutes",
            "max_visit_minutes",
            "notes",
        )
    }
    for flag in (
        "visits_must_be_split",
        "exclude_long_term_care",
        "requires_residence",
        "requires_assessment",
    ):
        if profile[flag]:
            data[flag] = "y"
    for index, rule in enumerate(profile["eligibility_rules"]):
        level = rule["min_capability_level"]
        data[f"eligibility_rules-{index}-category"] = rule["category"]
        data[f"eligibility_rules-{index}-min_age"] = str(rule["min_age"])
        data[f"eligibility_rules-{index}-min_capability_level"] = (
            "" if level is None else str(level)
        )
    for weight in profile["evaluation_weights"]:
        data[f"weight_{weight['party']}"] = str(weight["weight"])
    for grade, value in profile["grade_thresholds"].items():
        data[f"grade_{grade}"] = str(value)
    data.update(changes)
    return data


def test_county_admin_cannot_save_the_province_profile_through_the_page(
    app, client, api, make_user, make_token, world
):
    shanxi = _province_profile(app, api, make_user, make_token, world)
    make_user("yangcheng-admin", role="admin", region_code="140522")
    token = make_token("yangcheng-admin")
    client.login("yangcheng-admin")

    # Control: the same form saves the admin's own county profile.
    own = api.get(f"/api/v1/policy-profiles/{world['yc']}", token=token).get_json()
    saved = client.post(f"/policies/{world['yc']}/edit", _edit_form(own, hourly_rate_cap="34.00"))
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]

    province = api.get(f"/api/v1/policy-profiles/{shanxi}", token=token).get_json()
    page = f"/policies/{shanxi}/edit"
    form = client.get(page)
    assert form.status_code in (200, 403, 404)
    response = client.post(
        page, _edit_form(province, hourly_rate_cap="99.00"), page=f"/policies/{world['yc']}/edit"
    )
    assert response.status_code in (403, 404, 422), response.status_code
    after = api.get(f"/api/v1/policy-profiles/{shanxi}", token=token).get_json()
    assert after == province
    assert after["hourly_rate_cap"] == "30.00"


def test_effective_profile_is_not_answered_for_another_county(
    app, api, make_user, make_token, world
):
    """沁水县 cannot see 阳城县's own profile, so it must not be told that the province's
    profile is the one in force there: that answer would be wrong."""
    shanxi = _province_profile(app, api, make_user, make_token, world)
    make_user("qinshui-admin", role="admin", region_code="140521")
    token = make_token("qinshui-admin")
    # Its own county: the province's profile is indeed the one in force.
    own = api.get("/api/v1/policy-profiles/effective?region_code=140521&year=2026", token=token)
    assert own.status_code == 200
    assert own.get_json()["id"] == shanxi
    # Another county: refused, not a misleading answer.
    other = api.get("/api/v1/policy-profiles/effective?region_code=140522&year=2026", token=token)
    assert other.status_code in (403, 404), other.get_json()
    assert other.get_json()["error"]["code"] in {"forbidden", "region_out_of_scope", "not_found"}


def test_audit_trail_is_scoped_to_the_region(app, client, api, make_user, make_token, world):
    make_user("qinshui-admin", role="admin", region_code="140521")
    make_user("qinshui-auditor", role="auditor", region_code="140521")
    make_user("yangcheng-auditor", role="auditor", region_code="140522")

    qinshui = api.get("/api/v1/audit-events?per_page=500", token=make_token("qinshui-admin"))
    regions = {e["region_code"] for e in qinshui.get_json()["items"]}
    assert regions and all(code.startswith("140521") for code in regions), regions

    yangcheng = api.get(
        "/api/v1/audit-events?entity_type=policy_profiles", token=make_token("yangcheng-auditor")
    ).get_json()["items"]
    assert [e["entity_id"] for e in yangcheng] == [str(world["yc"])]
    hidden = api.get(
        "/api/v1/audit-events?entity_type=policy_profiles", token=make_token("qinshui-auditor")
    ).get_json()
    assert hidden["items"] == [] and hidden["total"] == 0

    client.login("qinshui-auditor")
    assert client.get(f"/audit/{yangcheng[0]['id']}").status_code == 404


# ------------------------------------------ publications and the public site (issue 7)

# Officers publish award notices and contracts and withdraw publications (no record
# 999999 exists: 404 past the permission check). The demo plan of ``world`` is only
# submitted, so nothing of it is published and its OCDS package is 404 for everyone.
ENDPOINTS.update(
    {
        ("GET", "/api/v1/publications"): (200, 200, 200, 200, 200),
        ("POST", "/api/v1/awards/999999/publish"): (403, 404, 403, 403, 403),
        ("POST", "/api/v1/contracts/999999/publish"): (403, 404, 403, 403, 403),
        ("POST", "/api/v1/publications/999999/withdraw"): (403, 404, 403, 403, 403),
        ("GET", "/api/v1/plans/{plan}/ocds"): (404, 404, 404, 404, 404),
    }
)


@pytest.mark.parametrize(
    "path",
    [
        "/public/",
        "/public/?kind=award&year=2026&region=140522",
        "/public/feed.atom",
        "/public/publications.json",
        "/public/ocds/extension/extension.json",
    ],
)
def test_the_public_site_needs_no_login(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 200, (path, response.status_code)
