"""The API's dates and booleans are strict, in every body and query string (issue 15:
schemathesis found 0 read as 1970-01-01 and integers taken for true or false)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from procurement.core.api import OPERATIONS, _parse, _strict_kind
from procurement.core.errors import ValidationError
from tests.test_api import assert_error
from tests.test_security import zh

DATE_MESSAGE = "Must be a date such as 2026-01-31."
BOOL_MESSAGE = "Must be true or false."
NOT_DATES = [
    0,
    1,
    20260131,
    1.5,
    True,
    "0",
    "20260131",
    "1700000000",
    "2026-01-31T00:00:00",
    "2026-01-31 00:00",
    "2026-1-31",
    " 2026-01-31",
    "2026-01-31\n",
    "२०२६-०१-३१",
    "",
]
NOT_BODY_BOOLEANS = [0, 1, 0.0, "true", "false", "1", "0", "yes", "on", [], {}]
QUERY_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}
NOT_QUERY_BOOLEANS = ["yes", "no", "on", "off", "True", "FALSE", "t", "f", "y", "2", "-1", ""]


def strict_fields() -> list[tuple[str, str, type, str, type]]:
    """(endpoint, source, model, field, date or bool) of every strict field of a request."""
    found = []
    for op in OPERATIONS:
        for source, model in (("body", op.body), ("query", op.query)):
            if model is None:
                continue
            for name in model.model_fields:
                kind = _strict_kind(model, name)
                if kind is not None:
                    found.append((op.endpoint, source, model, name, kind))
    return found


def refusal(model, source, name, value) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        _parse(model, {name: value}, source)
    return refused.value.fields.get(name, [])


def test_every_date_and_boolean_of_the_api_is_strict(app):
    fields = strict_fields()
    names = {name for _endpoint, _source, _model, name, _kind in fields}
    # The fields schemathesis caught, among the many of the same kind.
    assert {"on", "status_date", "registered_in_county", "is_workday", "active"} <= names
    assert len(fields) > 60
    with app.test_request_context("/"):
        date_message, bool_message = zh(app, DATE_MESSAGE), zh(app, BOOL_MESSAGE)
        for endpoint, source, model, name, kind in fields:
            where = (endpoint, source, name)
            if kind is bool:
                for value in NOT_BODY_BOOLEANS if source == "body" else NOT_QUERY_BOOLEANS:
                    assert refusal(model, source, name, value) == [bool_message], (*where, value)
            else:
                for value in NOT_DATES:
                    messages = refusal(model, source, name, value)
                    assert messages == [date_message], (*where, value, messages)


@pytest.mark.parametrize("value", ["2026-01-31", "2024-02-29"])
def test_an_iso_date_is_read_as_that_day(app, value):
    from procurement.supervision.api import SuspensionQuery

    with app.test_request_context("/"):
        assert _parse(SuspensionQuery, {"on": value}, "query").on.isoformat() == value


def test_a_date_that_does_not_exist_is_still_refused(app):
    from procurement.supervision.api import SuspensionQuery

    with app.test_request_context("/"):
        assert refusal(SuspensionQuery, "query", "on", "2026-02-30")


def test_query_booleans_are_true_false_1_or_0(app):
    from procurement.accounts.api import UserQuery

    with app.test_request_context("/"):
        for text, value in QUERY_BOOLEANS.items():
            assert _parse(UserQuery, {"active": text}, "query").active is value


def test_body_booleans_are_json_true_or_false(app):
    from procurement.accounts.api import UserUpdate

    with app.test_request_context("/"):
        for value in (True, False):
            assert _parse(UserUpdate, {"active": value}, "body").active is value


def test_responses_built_from_the_database_are_not_checked_as_input(app):
    """Strictness is for requests: a model filled from attributes keeps its dates."""
    from datetime import date

    from procurement.supervision.api import SuspensionQuery

    assert SuspensionQuery.model_validate({"on": date(2026, 1, 31)}).on == date(2026, 1, 31)


# ---------------------------------------------------------------- over HTTP


@pytest.fixture
def admin(make_user, make_token):
    make_user("admin", role="admin", region_code="140522")
    return make_token("admin")


@pytest.mark.parametrize("value", ["0", "20260131", "1700000000", "2026-01-31T00:00:00"])
def test_a_query_date_must_be_yyyy_mm_dd(app, api, admin, value):
    response = api.get(f"/api/v1/audit-events?date_from={quote(value)}", token=admin)
    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == {"date_from": [zh(app, DATE_MESSAGE)]}
    assert api.get("/api/v1/audit-events?date_from=2026-01-31", token=admin).status_code == 200


@pytest.mark.parametrize("value", ["yes", "on", "True", "2"])
def test_a_query_boolean_must_be_true_false_1_or_0(app, api, admin, make_user, value):
    error = assert_error(
        api.get(f"/api/v1/users?active={value}", token=admin), 422, "validation_error"
    )
    assert error["fields"] == {"active": [zh(app, BOOL_MESSAGE)]}


def test_query_booleans_filter_as_documented(api, admin, make_user):
    make_user("leaver")
    leaver = next(
        u for u in api.get("/api/v1/users", token=admin).json["items"] if u["username"] == "leaver"
    )
    assert (
        api.patch(f"/api/v1/users/{leaver['id']}", json={"active": False}, token=admin).status_code
        == 200
    )
    for text, expected in (
        ("true", {"admin"}),
        ("1", {"admin"}),
        ("false", {"leaver"}),
        ("0", {"leaver"}),
    ):
        items = api.get(f"/api/v1/users?active={text}", token=admin).json["items"]
        assert {u["username"] for u in items} == expected, text


@pytest.mark.parametrize("value", [1, 0, "false", "1"])
def test_a_body_boolean_must_be_json_true_or_false(app, api, admin, make_user, value):
    make_user("colleague")
    users = api.get("/api/v1/users", token=admin).json["items"]
    colleague = next(u for u in users if u["username"] == "colleague")
    response = api.patch(f"/api/v1/users/{colleague['id']}", json={"active": value}, token=admin)
    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == {"active": [zh(app, BOOL_MESSAGE)]}
    after = api.get(f"/api/v1/users/{colleague['id']}", token=admin).json
    assert after["active"] is True  # nothing changed


def test_the_candidates_409_is_documented(app):
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    get = doc["paths"]["/api/v1/plans/{plan_id}/zones/{zone_id}/candidates"]["get"]
    assert "409" in get["responses"]
    assert get["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert "plan_not_approved" in get["description"]
