"""The recipients API: the roster, applications, exits, the full number, the calendar."""

from datetime import date

import pytest
import sqlalchemy as sa

from procurement.core.audit import AuditEvent
from procurement.core.db import db
from tests.helpers import in_app
from tests.recipients.conftest import FACTS_ID, FENGCHENG, MANGHE, QINSHUI_TOWNSHIP, pin

BODY = {
    "id_number": "11010519491231002X",
    "name": "孙奶奶",
    "township_code": FENGCHENG,
    "category": "extreme_poverty",
    "capability_level": 2,
    "assessed_on": "2026-04-01",
}


@pytest.fixture
def tokens(seeded, make_token):
    names = ("yc-officer", "yc-finance", "yc-admin", "qs-officer")
    made = {
        name.split("-")[1] if name.startswith("yc") else "qinshui": make_token(name)
        for name in names
    }
    return {**made, "province": make_token("sx-admin")}


def test_create_read_update_and_list(api, tokens):
    created = api.post("/api/v1/recipients", json=BODY, token=tokens["officer"])
    assert created.status_code == 201, created.json
    body = created.json
    assert body["sex"] == "female" and body["birth_date"] == "1949-12-31"
    assert body["id_masked"] == "110105**********2X" and "id_number" not in body
    assert body["status"] == "registered" and body["applications"] == []
    url = f"/api/v1/recipients/{body['id']}"

    duplicate = api.post("/api/v1/recipients", json=BODY, token=tokens["officer"])
    assert duplicate.status_code == 409 and "id_number" in duplicate.json["error"]["fields"]

    changed = api.patch(
        url,
        json={k: v for k, v in BODY.items() if k != "id_number"} | {"village": "西关村"},
        token=tokens["officer"],
    )
    assert changed.status_code == 200 and changed.json["village"] == "西关村"
    assert changed.json["id_masked"] == body["id_masked"]

    listed = api.get(f"/api/v1/recipients?q={BODY['id_number']}", token=tokens["finance"]).json
    assert [r["name"] for r in listed["items"]] == ["孙奶奶"] and listed["total"] == 1
    everyone = api.get("/api/v1/recipients?per_page=2", token=tokens["finance"]).json
    assert everyone["total"] == 3 and len(everyone["items"]) == 2
    serving = api.get("/api/v1/recipients?status=in_service", token=tokens["finance"]).json
    assert [r["name"] for r in serving["items"]] == ["王秀英"]
    bad = api.get("/api/v1/recipients?q=110105194912310021", token=tokens["finance"])
    assert bad.status_code == 422 and "q" in bad.json["error"]["fields"]
    assert api.get("/api/v1/recipients?status=gone", token=tokens["finance"]).status_code == 422


def test_bad_input_names_the_fields(api, tokens):
    response = api.post(
        "/api/v1/recipients",
        json=BODY
        | {
            "id_number": "123",
            "township_code": "140521100",
            "capability_level": 2,
            "assessed_on": None,
        },
        token=tokens["officer"],
    )
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"id_number", "township_code", "assessed_on"}
    response = api.post(
        "/api/v1/recipients", json=BODY | {"capability_level": 7}, token=tokens["officer"]
    )
    assert "capability_level" in response.json["error"]["fields"]
    assert api.post("/api/v1/recipients", json=BODY, token=tokens["finance"]).status_code == 403


def test_application_round_trip(api, tokens, seeded):
    pin_day = "2026-11-02"
    pin(date(2026, 11, 30))
    url = f"/api/v1/recipients/{seeded['registered']}"
    token = tokens["officer"]
    created = api.post(f"{url}/applications", json={"applied_on": pin_day}, token=token)
    assert created.status_code == 201, created.json
    application = created.json
    assert application["village_due"] == "2026-11-16" and application["overdue"]
    steps = f"{url}/applications/{application['id']}"
    again = api.post(f"{url}/applications", json={"applied_on": pin_day}, token=token)
    assert again.status_code == 409
    wrong = api.post(f"{steps}/decision", json={"on": "2026-11-03", "approve": True}, token=token)
    assert wrong.status_code == 409
    checked = api.post(
        f"{steps}/village-check", json={"on": "2026-11-03", "passed": True}, token=token
    )
    # The review was due on 10 November: now the township step is the overdue one.
    assert checked.json["township_due"] == "2026-11-10" and checked.json["overdue"]
    reviewed = api.post(
        f"{steps}/township-review",
        json={"on": "2026-11-04", "passed": True, "note": "同意"},
        token=token,
    )
    assert reviewed.json["status"] == "awaiting_county"
    open_list = api.get("/api/v1/recipient-applications", token=tokens["finance"]).json
    assert [(i["recipient_name"], i["step"]) for i in open_list["items"]] == [("李桂兰", "county")]
    refused = api.post(
        f"{steps}/decision", json={"on": "2026-11-05", "approve": False}, token=token
    )
    assert refused.status_code == 422 and "reason" in refused.json["error"]["fields"]
    decided = api.post(f"{steps}/decision", json={"on": "2026-11-05", "approve": True}, token=token)
    assert decided.status_code == 200 and decided.json["decided_by"] == "yc-officer"
    recipient = api.get(url, token=tokens["finance"]).json
    assert recipient["service_start"] == "2026-12-01" and recipient["status"] == "in_service"

    eligibility = api.get(f"{url}/eligibility?month=2026-12", token=tokens["finance"]).json
    assert (
        eligibility["eligible"] and eligibility["entitled"] and eligibility["status"] == "entitled"
    )
    november = api.get(f"{url}/eligibility?month=2026-11", token=tokens["finance"]).json
    assert november["status"] == "not_started" and november["eligible"]
    assert api.get(f"{url}/eligibility?month=2027-01", token=tokens["finance"]).status_code == 404
    assert api.get(f"{url}/eligibility?month=Dec", token=tokens["finance"]).status_code == 422

    left = api.post(
        f"{url}/exit", json={"exit_reason": "moved_away", "exit_date": "2026-11-29"}, token=token
    )
    assert left.status_code == 200 and left.json["exit_effective"] == "2026-12-01"
    assert left.json["status"] == "exited"


def test_the_full_number_is_for_officers_and_audited(app, api, tokens, seeded):
    url = f"/api/v1/recipients/{seeded['registered']}/reveal-id"
    assert api.post(url, token=tokens["finance"]).status_code == 403
    assert api.post(url, token=tokens["admin"]).status_code == 403
    response = api.post(url, token=tokens["officer"])
    assert response.status_code == 200 and response.json["id_number"] == FACTS_ID
    trail = in_app(
        app,
        lambda: [
            (e.channel, e.actor_name, e.after)
            for e in db.session.scalars(
                sa.select(AuditEvent).where(AuditEvent.action == "reveal_id")
            )
        ],
    )
    assert trail == [("api", "yc-officer", None)]


def test_monthly_changes_and_workday_overrides(api, tokens, seeded):
    changes = api.get("/api/v1/recipient-changes?month=2026-12", token=tokens["finance"])
    assert changes.status_code == 200 and changes.json == {"month": "2026-12", "contracts": []}
    assert (
        api.get("/api/v1/recipient-changes?month=12-2026", token=tokens["finance"]).status_code
        == 422
    )
    assert (
        api.get(
            "/api/v1/recipient-changes/999.xlsx?month=2026-12", token=tokens["finance"]
        ).status_code
        == 404
    )

    assert (
        api.get("/api/v1/workday-overrides?year=2027", token=tokens["finance"]).status_code == 403
    )
    created = api.post(
        "/api/v1/workday-overrides",
        json={"day": "2027-01-01", "is_workday": False, "note": "元旦"},
        token=tokens["province"],
    )
    assert created.status_code == 201
    listed = api.get("/api/v1/workday-overrides?year=2027", token=tokens["officer"]).json
    assert listed["calendar_known"] is False and [d["day"] for d in listed["items"]] == [
        "2027-01-01"
    ]
    duplicate = api.post(
        "/api/v1/workday-overrides",
        json={"day": "2027-01-01", "is_workday": True},
        token=tokens["province"],
    )
    assert duplicate.status_code == 409
    removed = api.http.delete(
        f"/api/v1/workday-overrides/{created.json['id']}",
        headers={"Authorization": f"Bearer {tokens['province']}", "Accept": "application/json"},
    )
    assert removed.status_code == 204
    assert api.get("/api/v1/workday-overrides?year=2027", token=tokens["admin"]).json["items"] == []


def test_only_the_provinces_administrators_change_the_shared_holiday_table(app, api, tokens):
    """A county's officer or administrator reads the table every county shares but changes
    none of it (403); the province's change is filed in the trail under the province."""
    from procurement.recipients.models import WorkdayOverride

    day = {"day": "2027-01-01", "is_workday": False, "note": "元旦"}
    for county in ("officer", "admin", "qinshui"):
        refused = api.post("/api/v1/workday-overrides", json=day, token=tokens[county])
        assert refused.status_code == 403, county
        assert refused.json["error"]["code"] == "forbidden"
    created = api.post("/api/v1/workday-overrides", json=day, token=tokens["province"])
    assert created.status_code == 201
    url = f"/api/v1/workday-overrides/{created.json['id']}"
    for county in ("officer", "admin", "qinshui"):
        deleted = api.http.delete(
            url, headers={"Authorization": f"Bearer {tokens[county]}", "Accept": "application/json"}
        )
        assert deleted.status_code == 403, county
    listed = api.get("/api/v1/workday-overrides?year=2027", token=tokens["qinshui"])
    assert [d["day"] for d in listed.json["items"]] == ["2027-01-01"]

    def trail():
        return db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.region_code, AuditEvent.actor_name).where(
                AuditEvent.entity_type == WorkdayOverride.__tablename__
            )
        ).all()

    assert in_app(app, trail) == [("create", "140000", "sx-admin")]


def test_another_county_cannot_see_or_change_yangcheng_recipients(app, api, tokens, seeded):
    token = tokens["qinshui"]
    url = f"/api/v1/recipients/{seeded['registered']}"
    assert api.get("/api/v1/recipients", token=token).json["total"] == 0
    assert api.get(f"/api/v1/recipients?q={FACTS_ID}", token=token).json["items"] == []
    assert api.get(url, token=token).status_code == 404
    assert (
        api.patch(
            url, json={k: v for k, v in BODY.items() if k != "id_number"}, token=token
        ).status_code
        == 404
    )
    assert api.post(f"{url}/reveal-id", token=token).status_code == 404
    assert (
        api.post(f"{url}/applications", json={"applied_on": "2026-12-01"}, token=token).status_code
        == 404
    )
    assert (
        api.post(
            f"{url}/exit", json={"exit_reason": "death", "exit_date": "2026-12-01"}, token=token
        ).status_code
        == 404
    )
    assert api.get(f"{url}/eligibility?month=2026-12", token=token).status_code == 404
    intruding = api.post("/api/v1/recipients", json=BODY | {"region_code": "140522"}, token=token)
    assert intruding.status_code == 403
    # Someone on the Yangcheng roster is refused in 沁水县 without being named.
    response = api.post(
        "/api/v1/recipients",
        json=BODY | {"id_number": FACTS_ID, "township_code": QINSHUI_TOWNSHIP},
        token=token,
    )
    assert response.status_code == 409 and "id_number" in response.json["error"]["fields"]
    assert "李桂兰" not in str(response.json)
    own = api.post(
        "/api/v1/recipients", json=BODY | {"township_code": QINSHUI_TOWNSHIP}, token=token
    )
    assert own.status_code == 201 and own.json["region_code"] == "140521"
    names = in_app(app, lambda: db.session.scalars(sa.text("SELECT name FROM recipients")).all())
    assert sorted(names) == ["孙奶奶", "李桂兰", "王秀英"]


def test_a_move_through_the_api(api, tokens, seeded):
    url = f"/api/v1/recipients/{seeded['serving']}/moves"
    refused = api.post(url, {"township_code": FENGCHENG, "moved_on": "0"}, token=tokens["officer"])
    assert refused.status_code == 422 and "moved_on" in refused.json["error"]["fields"]
    other = api.post(
        url, {"township_code": QINSHUI_TOWNSHIP, "moved_on": "2026-12-01"}, token=tokens["officer"]
    )
    assert other.status_code == 422 and "township_code" in other.json["error"]["fields"]
    assert (
        api.post(
            url, {"township_code": "140522101", "moved_on": "2026-12-01"}, token=tokens["finance"]
        ).status_code
        == 403
    )
    done = api.post(
        url, {"township_code": "140522101", "moved_on": "2026-12-01"}, token=tokens["officer"]
    )
    assert done.status_code == 201, done.json
    (move,) = done.json["moves"]
    assert (move["from_township"], move["to_township"]) == (MANGHE, "140522101")
    assert move["effective_from"] == "2027-01-01" and done.json["township_code"] == "140522101"
    assert (
        api.post(
            url, {"township_code": FENGCHENG, "moved_on": "2026-12-01"}, token=tokens["qinshui"]
        ).status_code
        == 404
    )


def test_the_assessment_validity_is_written_and_read(api, tokens):
    body = BODY | {"assessor": "阳城县评估中心", "assessment_valid_until": "2027-03-31"}
    created = api.post("/api/v1/recipients", json=body, token=tokens["officer"])
    assert created.status_code == 201, created.json
    assert created.json["assessment_valid_until"] == "2027-03-31"
    refused = api.patch(
        f"/api/v1/recipients/{created.json['id']}",
        json={k: v for k, v in body.items() if k != "id_number"}
        | {"assessment_valid_until": "2026-03-31"},
        token=tokens["officer"],
    )
    assert refused.status_code == 422
    assert set(refused.json["error"]["fields"]) == {"assessment_valid_until"}
