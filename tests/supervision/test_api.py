"""Supervision through the JSON API: complaints, verification, the proposal, sanctions,
lifting, the settlement's question, bad input named field by field, region scoping."""

import pytest
from sqlalchemy import func, select

from procurement.core.db import db
from procurement.supervision.models import Complaint, Sanction
from tests.helpers import in_app
from tests.supervision.conftest import make_recipient


@pytest.fixture
def facts(in_force):
    recipient = make_recipient()
    return {
        "contract": in_force[0].id,
        "provider": in_force[0].provider_id,
        "other_contract": in_force[1].id,
        "other_provider": in_force[1].provider_id,
        "recipient": recipient.id,
        "masked": recipient.id_masked,
    }


@pytest.fixture
def token(facts, released, make_user, make_token):
    make_user("api_supervisor", role="officer", region_code="140522")
    return make_token("api_supervisor")


def new_complaint(api, token, facts, **changes):
    body = {
        "provider_id": facts["provider"],
        "contract_id": facts["contract"],
        "received_on": "2026-09-02",
        "channel": "platform",
        "summary": "服务时长不足",
        **changes,
    }
    return api.post("/api/v1/complaints", json=body, token=token)


def test_complaints_verification_proposal_and_suspension_round_trip(app, api, facts, token):
    created = new_complaint(api, token, facts, recipient_id=facts["recipient"])
    assert created.status_code == 201, created.json
    body = created.json
    assert body["status"] == "received" and body["contract_number"] == "140522-2026-01"
    assert body["recipient"] == {
        "id": facts["recipient"],
        "name": "张桂兰",
        "id_masked": facts["masked"],
    }
    assert body["recorded_by"] == "api_supervisor"
    ids = [body["id"]]
    for day in ("2026-08-01", "2026-09-10"):
        ids.append(new_complaint(api, token, facts, received_on=day).json["id"])
    for number, complaint_id in enumerate(ids):
        verified = api.post(
            f"/api/v1/complaints/{complaint_id}/verify",
            json={
                "status": "verified",
                "verified_on": "2026-10-01",
                "findings": "平台记录核实属实",
                "attributable": True,
            },
            token=token,
        )
        assert verified.status_code == 200, verified.json
        proposals = api.get("/api/v1/sanction-proposals", token=token).json["items"]
        assert len(proposals) == (1 if number == 2 else 0)
    [proposal] = proposals
    assert proposal["ground"] == "3" and sorted(proposal["complaint_ids"]) == sorted(ids)
    assert proposal["contract_id"] == facts["contract"] and "三次" in proposal["clause"]

    listed = api.get("/api/v1/complaints?status=verified&per_page=2", token=token).json
    assert listed["total"] == 3 and len(listed["items"]) == 2
    assert listed["items"][0]["received_on"] == "2026-09-10"  # newest first

    sanction = api.post(
        "/api/v1/sanctions",
        json={
            "provider_id": proposal["provider_id"],
            "contract_id": proposal["contract_id"],
            "kind": "suspend_settlement",
            "ground": proposal["ground"],
            "decided_on": "2026-10-12",
            "complaint_ids": proposal["complaint_ids"],
            "note": "暂停结算至整改完成",
        },
        token=token,
    )
    assert sanction.status_code == 201, sanction.json
    held = sanction.json
    assert held["in_force"] is True and held["lifted_on"] is None and "三次" in held["ground_text"]
    assert api.get("/api/v1/sanction-proposals", token=token).json["items"] == []
    url = f"/api/v1/contracts/{facts['contract']}/settlement-suspension"
    answer = api.get(f"{url}?on=2026-10-12", token=token).json
    assert answer["suspended"] is True and answer["sanction"]["id"] == held["id"]
    assert api.get(f"{url}?on=2026-10-11", token=token).json["suspended"] is False
    for not_a_date in ("0", "1760227200", "2026-10-12T00:00:00"):  # 0 was 1970-01-01
        refused = api.get(f"{url}?on={not_a_date}", token=token)
        assert refused.status_code == 422 and list(refused.json["error"]["fields"]) == ["on"]
    for not_a_boolean in ("yes", "on", "2"):
        refused = api.get(f"/api/v1/sanctions?in_force={not_a_boolean}", token=token)
        assert refused.status_code == 422 and list(refused.json["error"]["fields"]) == ["in_force"]

    lifted = api.post(
        f"/api/v1/sanctions/{held['id']}/lift", json={"lifted_on": "2026-10-19"}, token=token
    )
    assert lifted.status_code == 200 and lifted.json["lifted_on"] == "2026-10-19"
    assert lifted.json["in_force"] is False
    assert api.get(url, token=token).json == {
        "contract_id": facts["contract"],
        "on": "2026-10-20",
        "suspended": False,
        "sanction": None,
    }
    again = api.post(
        f"/api/v1/sanctions/{held['id']}/lift", json={"lifted_on": "2026-10-20"}, token=token
    )
    assert again.status_code == 409
    listed = api.get("/api/v1/sanctions?kind=suspend_settlement", token=token).json
    assert [s["id"] for s in listed["items"]] == [held["id"]]
    assert api.get("/api/v1/sanctions?in_force=true", token=token).json["total"] == 0
    assert api.get(f"/api/v1/sanctions/{held['id']}", token=token).json == lifted.json


def test_termination_through_the_api_ends_the_contract(api, facts, token):
    response = api.post(
        "/api/v1/sanctions",
        json={
            "provider_id": facts["other_provider"],
            "contract_id": facts["other_contract"],
            "kind": "terminate",
            "ground": "prepaid_cards",
            "decided_on": "2026-10-16",
            "note": "发行本机构储值卡",
        },
        token=token,
    )
    assert response.status_code == 201, response.json
    contract = api.get(f"/api/v1/contracts/{facts['other_contract']}", token=token).json
    assert contract["status"] == "terminated"


def test_bad_input_is_refused_naming_the_fields(app, api, facts, token):
    response = new_complaint(
        api,
        token,
        facts,
        contract_id=facts["other_contract"],
        received_on="2026-10-21",
    )
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"contract_id", "received_on"}
    response = new_complaint(api, token, facts, channel="pigeon", received_on="yesterday")
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"channel", "received_on"}

    complaint = new_complaint(api, token, facts).json
    response = api.post(
        f"/api/v1/complaints/{complaint['id']}/verify",
        json={"status": "verified", "verified_on": "2026-09-01", "findings": "属实"},
        token=token,
    )
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"verified_on", "attributable"}

    base = {
        "provider_id": facts["provider"],
        "contract_id": facts["contract"],
        "decided_on": "2026-10-12",
    }
    for changes, fields in (
        ({"kind": "interview", "ground": "6"}, {"ground"}),
        ({"kind": "rectification", "ground": "1"}, {"deadline"}),
        ({"kind": "terminate", "ground": "1"}, {"ground"}),
        ({"kind": "warning", "ground": "1"}, {"kind"}),
        ({"kind": "interview", "ground": "1", "decided_on": "2027-01-01"}, {"decided_on"}),
        (
            {"kind": "interview", "ground": "1", "provider_id": facts["other_provider"]},
            {"contract_id"},
        ),
        (
            {"kind": "interview", "ground": "3", "complaint_ids": [complaint["id"]]},
            {"complaint_ids"},
        ),
    ):
        response = api.post("/api/v1/sanctions", json={**base, **changes}, token=token)
        assert response.status_code == 422, (changes, response.json)
        assert set(response.json["error"]["fields"]) == fields, (changes, response.json)

    def counts():
        return (
            db.session.scalar(select(func.count(Complaint.id))),
            db.session.scalar(select(func.count(Sanction.id))),
        )

    assert in_app(app, counts) == (1, 0)


def test_another_county_cannot_read_or_change_yangcheng_complaints(
    app, api, facts, token, make_user, make_token
):
    complaint = new_complaint(api, token, facts).json
    suspension = api.post(
        "/api/v1/sanctions",
        json={
            "provider_id": facts["provider"],
            "contract_id": facts["contract"],
            "kind": "suspend_settlement",
            "ground": "1",
            "decided_on": "2026-10-01",
        },
        token=token,
    ).json
    make_user("qinshui_api", role="officer", region_code="140521")
    qinshui = make_token("qinshui_api")
    for url in (
        f"/api/v1/complaints/{complaint['id']}",
        f"/api/v1/sanctions/{suspension['id']}",
        f"/api/v1/contracts/{facts['contract']}/settlement-suspension",
    ):
        response = api.get(url, token=qinshui)
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found", url
    assert api.get("/api/v1/complaints", token=qinshui).json["total"] == 0
    assert api.get("/api/v1/sanctions", token=qinshui).json["total"] == 0
    verify = api.post(
        f"/api/v1/complaints/{complaint['id']}/verify",
        json={"status": "unfounded", "verified_on": "2026-10-01", "findings": "x"},
        token=qinshui,
    )
    assert verify.status_code == 404
    lift = api.post(
        f"/api/v1/sanctions/{suspension['id']}/lift",
        json={"lifted_on": "2026-10-02"},
        token=qinshui,
    )
    assert lift.status_code == 404
    created = new_complaint(api, qinshui, facts, contract_id=None)
    assert created.status_code == 422 and "provider_id" in created.json["error"]["fields"]
    assert api.get(f"/api/v1/complaints/{complaint['id']}", token=token).json == complaint
    assert api.get(f"/api/v1/sanctions/{suspension['id']}", token=token).json == suspension


def test_the_openapi_document_describes_supervision(app):
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    for path, method in (
        ("/api/v1/complaints", "get"),
        ("/api/v1/complaints", "post"),
        ("/api/v1/complaints/{complaint_id}", "get"),
        ("/api/v1/complaints/{complaint_id}/verify", "post"),
        ("/api/v1/sanction-proposals", "get"),
        ("/api/v1/sanctions", "get"),
        ("/api/v1/sanctions", "post"),
        ("/api/v1/sanctions/{sanction_id}", "get"),
        ("/api/v1/sanctions/{sanction_id}/lift", "post"),
        ("/api/v1/contracts/{contract_id}/settlement-suspension", "get"),
    ):
        assert paths[path][method]["tags"] == ["supervision"], (path, method)
    channel = doc["components"]["schemas"]["ComplaintIn"]["properties"]["channel"]
    assert set(channel["enum"]) == {"phone", "visit", "letter", "platform", "inspection", "other"}
