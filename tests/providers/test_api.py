"""The provider register API."""

import pytest

from tests.providers.conftest import GOOD_CODE


@pytest.fixture
def token(yangcheng, make_user, make_token):
    make_user("officer")
    make_user("reader", role="auditor")
    return {"officer": make_token("officer"), "auditor": make_token("reader")}


BODY = {
    "name": "阳城县福寿养老服务有限公司",
    "credit_code": GOOD_CODE,
    "registration_authority": "market_regulation",
    "registration_date": "2016-08-25",
    "township_code": "140522101",
    "staff": {"nursing": 31},
}


def test_register_record_and_check_through_the_api(api, token):
    created = api.post("/api/v1/providers", json=BODY, token=token["officer"])
    assert created.status_code == 201, created.json
    provider = created.json
    assert provider["credit"]["organisation_type"] == "企业"
    url = f"/api/v1/providers/{provider['id']}"
    for record in (
        {
            "kind": "tax",
            "period_start": "2025-10-01",
            "period_end": "2025-12-31",
            "payment_status": "arrears",
        },
        {"kind": "qualification", "name": "营业执照", "issued_on": "2016-08-25"},
        {"kind": "price", "service": "助洁服务", "unit": "小时", "price": "35.00"},
    ):
        response = api.post(f"{url}/records", json=record, token=token["officer"])
        assert response.status_code == 201, response.json
    check = api.post(
        f"{url}/qualification-checks", json={"as_of": "2026-06-15"}, token=token["officer"]
    )
    assert check.status_code == 201
    assert check.json["qualified"] is False
    by_code = {c["code"]: c for c in check.json["criteria"]}
    assert list(by_code) == [
        "registration",
        "qualifications",
        "tax",
        "social_security",
        "major_violation",
        "annual_reports",
        "credit",
        "price_list",
    ]
    assert by_code["tax"]["result"] == "fail" and "2025-10-01" in by_code["tax"]["reason"]
    assert by_code["social_security"]["result"] == "missing"
    past = api.get(f"{url}/qualification-checks", token=token["auditor"]).json["items"]
    assert [c["id"] for c in past] == [check.json["id"]]
    one = api.get(f"{url}/qualification-checks/{check.json['id']}", token=token["auditor"])
    assert one.json["criteria"] == check.json["criteria"]
    read = api.get(url, token=token["auditor"]).json
    assert read["prices"][0]["price"] == "35.00" and read["staff"]["nursing"] == 31


def test_api_refusals(api, token):
    bad_code = api.post(
        "/api/v1/providers",
        json={**BODY, "credit_code": "91350100M000100Y4Z"},
        token=token["officer"],
    )
    assert bad_code.status_code == 422 and "credit_code" in bad_code.json["error"]["fields"]
    api.post("/api/v1/providers", json=BODY, token=token["officer"])
    duplicate = api.post("/api/v1/providers", json=BODY, token=token["officer"])
    assert duplicate.status_code == 409
    assert api.post("/api/v1/providers", json=BODY, token=token["auditor"]).status_code == 403
    provider_id = api.get("/api/v1/providers", token=token["auditor"]).json["items"][0]["id"]
    future = api.post(
        f"/api/v1/providers/{provider_id}/records",
        json={
            "kind": "violation",
            "decision_date": "2099-01-01",
            "violation_kind": "fine",
            "fine_amount": "10",
        },
        token=token["officer"],
    )
    assert future.status_code == 422 and "decision_date" in future.json["error"]["fields"]
    unknown = api.post(
        f"/api/v1/providers/{provider_id}/records", json={"kind": "gossip"}, token=token["officer"]
    )
    assert unknown.status_code == 422


def test_describe_a_credit_code(api, token):
    early = api.get("/api/v1/credit-codes/91350211M0000XUF46", token=token["auditor"]).json
    assert early["valid"] and not early["check_ok"] and early["expected_check"] == "R"
    bad = api.get("/api/v1/credit-codes/91350100M000100Y4Z", token=token["auditor"]).json
    assert not bad["valid"] and "Z" in bad["message"]


def test_the_api_lists_and_filters_providers_as_the_page_does(api, token, client):
    """One query for both: the same providers in the same order, the same filters."""
    names = {}
    for name, code in (
        ("阳城县乙养老服务有限公司", "91140522MA0Y9X8W78"),
        ("阳城县甲养老服务有限公司", GOOD_CODE),
    ):
        created = api.post(
            "/api/v1/providers",
            json={**BODY, "name": name, "credit_code": code},
            token=token["officer"],
        )
        assert created.status_code == 201, created.json
        names[created.json["id"]] = name
    checked = next(iter(names))  # 乙: checked and not qualified; 甲: never checked
    response = api.post(
        f"/api/v1/providers/{checked}/qualification-checks",
        json={"as_of": "2026-06-15"},
        token=token["officer"],
    )
    assert response.status_code == 201 and response.json["qualified"] is False

    def listed(query=""):
        page = api.get(f"/api/v1/providers{query}", token=token["officer"])
        assert page.status_code == 200, page.json
        return [item["name"] for item in page.json["items"]]

    client.login("officer")

    def shown(query=""):
        html = client.get(f"/providers/{query}").get_data(as_text=True)
        return sorted((n for n in names.values() if n in html), key=html.index)

    assert listed() == shown() and set(listed()) == set(names.values())
    assert listed("?qualification=not_qualified") == shown("?qualification=not_qualified")
    assert listed("?qualification=not_qualified") == [names[checked]]
    assert listed("?qualification=unchecked") == ["阳城县甲养老服务有限公司"]
    assert listed("?qualification=qualified") == shown("?qualification=qualified") == []
    assert api.get("/api/v1/providers?qualification=x", token=token["officer"]).status_code == 422
