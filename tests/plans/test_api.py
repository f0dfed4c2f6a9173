"""The plan API: the whole review round trip and its refusals."""

import pytest

from tests.plans.conftest import api_body


@pytest.fixture
def tokens(yangcheng, make_user, make_token):
    make_user("officer")
    make_user("finance", role="finance")
    make_user("qinshui", region_code="140521")
    return {name: make_token(name) for name in ("officer", "finance", "qinshui")} | {
        "qs": make_token("qinshui")
    }


def _create(api, tokens, **overrides):
    response = api.post("/api/v1/plans", json=api_body(**overrides), token=tokens["officer"])
    assert response.status_code == 201, response.json
    return response.json


def test_create_read_submit_return_revise_approve(api, tokens):
    plan = _create(api, tokens)
    assert plan["status"] == "draft" and plan["version"] == 0
    assert plan["total"] == "504000.00"
    assert plan["total_in_capitals"] == "伍拾万肆仟元整"
    assert [z["recipients"] for z in plan["zones"]] == [200, 240, 160]
    assert plan["uncovered_township_codes"] == []
    assert len(plan["item_codes"]) == 15  # the whole catalogue when none are named
    url = f"/api/v1/plans/{plan['id']}"
    assert api.get(url, token=tokens["finance"]).json["zones"][0]["townships"][0] == "凤城镇"

    submitted = api.post(f"{url}/submit", json={"note": "请审核"}, token=tokens["officer"]).json
    assert submitted["status"] == "submitted" and submitted["version"] == 1
    returned = api.post(
        f"{url}/return",
        json={"version": 1, "comment": "第三片区人数请核实"},
        token=tokens["finance"],
    )
    assert returned.status_code == 200 and returned.json["status"] == "returned"

    body = api_body(lock_version=returned.json["lock_version"])
    body["zones"][2]["recipients"] = 150
    revised = api.patch(url, json=body, token=tokens["officer"])
    assert revised.status_code == 200 and revised.json["total"] == "495600.00"
    api.post(f"{url}/submit", json={}, token=tokens["officer"])
    version = api.get(f"{url}/versions/2", token=tokens["finance"]).json
    changes = {(c["item"], c["before"], c["after"]) for c in version["changes_from_previous"]}
    assert ("第三片区 · recipients", "160", "150") in changes

    approved = api.post(
        f"{url}/approve", json={"version": 2, "comment": "同意"}, token=tokens["finance"]
    )
    assert approved.status_code == 200
    assert approved.json["status"] == "approved" and approved.json["approved_version"] == 2
    versions = api.get(f"{url}/versions", token=tokens["officer"]).json["items"]
    assert [(v["number"], v["decision"]) for v in versions] == [(1, "returned"), (2, "approved")]
    execution = api.get(f"{url}/execution", token=tokens["finance"]).json
    assert execution["approved_version"] == 2
    assert execution["rows"][2]["approved"] == "126000.00"  # 150 x 4 h x 35 x 6
    listed = api.get("/api/v1/plans?status=approved", token=tokens["finance"]).json
    assert listed["total"] == 1 and listed["items"][0]["total"] == "495600.00"


def test_bad_plans_are_refused_naming_the_field(api, tokens):
    body = api_body()
    body["zones"][1]["township_codes"].append("140522100")  # already in zone 1
    refused = api.post("/api/v1/plans", json=body, token=tokens["officer"])
    assert refused.status_code == 422
    assert "zones.1.township_codes" in refused.json["error"]["fields"]
    bad_dates = api.post(
        "/api/v1/plans", json=api_body(service_end="2026-06-30"), token=tokens["officer"]
    )
    assert "service_end" in bad_dates.json["error"]["fields"]
    impossible = api.post(
        "/api/v1/plans", json=api_body(service_end="2026-02-30"), token=tokens["officer"]
    )
    assert impossible.status_code == 422 and "service_end" in impossible.json["error"]["fields"]
    absurd = api_body()
    absurd["zones"][0]["recipients"] = 0
    assert api.post("/api/v1/plans", json=absurd, token=tokens["officer"]).status_code == 422
    assert api.get("/api/v1/plans", token=tokens["officer"]).json["total"] == 0


def test_a_plan_overlapping_another_in_a_township_is_refused(api, tokens):
    first = _create(api, tokens)
    overlapping = api_body(title="补充计划", service_start="2026-01-01", service_end="2026-07-01")
    refused = api.post("/api/v1/plans", json=overlapping, token=tokens["officer"])
    assert refused.status_code == 422, refused.json
    message = refused.json["error"]["fields"]["zones.0.township_codes"][0]
    assert "凤城镇" in message and "第一片区" in message and first["title"] in message
    adjacent = api_body(title="补充计划", service_start="2026-01-01", service_end="2026-06-30")
    assert api.post("/api/v1/plans", json=adjacent, token=tokens["officer"]).status_code == 201


def test_amounts_with_more_than_two_decimals_are_refused(api, tokens):
    plan = _create(api, tokens)
    url = f"/api/v1/plans/{plan['id']}/budget-lines"
    line = {"kind": "training", "description": "培训", "funding_source": "welfare_lottery"}
    refused = api.post(url, json={**line, "amount": "100.001"}, token=tokens["officer"])
    assert refused.status_code == 422 and "amount" in refused.json["error"]["fields"]
    added = api.post(url, json={**line, "amount": "100.50"}, token=tokens["officer"])
    assert added.status_code == 201 and added.json["total"] == "504100.50"
    service_line = added.json["budget_lines"][0]
    no_reason = api.patch(
        f"{url}/{service_line['id']}",
        json={"amount": "1.00", "funding_source": "local_finance"},
        token=tokens["officer"],
    )
    assert no_reason.status_code == 422 and "override_reason" in no_reason.json["error"]["fields"]


def test_state_and_role_refusals(api, tokens):
    plan = _create(api, tokens)
    url = f"/api/v1/plans/{plan['id']}"
    assert (
        api.post(f"{url}/approve", json={"version": 1}, token=tokens["finance"]).status_code == 409
    )
    api.post(f"{url}/submit", json={}, token=tokens["officer"])
    edit = api.patch(
        url,
        json=api_body(title="改", lock_version=plan["lock_version"] + 1),
        token=tokens["officer"],
    )
    assert edit.status_code == 409 and edit.json["error"]["code"] == "not_editable"
    assert (
        api.post(f"{url}/approve", json={"version": 1}, token=tokens["officer"]).status_code == 403
    )
    stale = api.post(f"{url}/approve", json={"version": 7}, token=tokens["finance"])
    assert stale.status_code == 409 and stale.json["error"]["code"] == "stale"
    no_comment = api.post(f"{url}/return", json={"version": 1}, token=tokens["finance"])
    assert no_comment.status_code == 422 and "comment" in no_comment.json["error"]["fields"]
    assert api.get(url, token=tokens["qs"]).status_code == 404  # another county's plan
    assert api.get(url, token=tokens["officer"]).json["status"] == "submitted"


def test_stale_lock_version_is_refused(api, tokens):
    plan = _create(api, tokens)
    url = f"/api/v1/plans/{plan['id']}"
    api.patch(
        url,
        json={**api_body(title="第二稿"), "lock_version": plan["lock_version"]},
        token=tokens["officer"],
    )
    stale = api.patch(
        url,
        json={**api_body(title="第三稿"), "lock_version": plan["lock_version"]},
        token=tokens["officer"],
    )
    assert stale.status_code == 409
    assert api.get(url, token=tokens["officer"]).json["title"] == "第二稿"


def test_exports_download(api, tokens):
    plan = _create(api, tokens)
    xlsx = api.get(f"/api/v1/plans/{plan['id']}/export.xlsx", token=tokens["finance"])
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    docx = api.get(f"/api/v1/plans/{plan['id']}/document.docx", token=tokens["finance"])
    assert docx.status_code == 200 and "wordprocessingml" in docx.content_type


def test_the_yangcheng_catalogue_of_seed_001(api, client, tokens, make_user):
    items = api.get("/api/v1/service-items?region_code=140522", token=tokens["officer"]).json
    names = [item["name"] for item in items["items"]]
    assert len(names) == 15 and names[0] == "助餐服务" and "培训服务" in names
    assert {item["category"] for item in items["items"]} == {
        "生活照料服务",
        "精神慰藉服务",
        "助医服务",
        "评估和培训服务",
    }
    client.login("officer")
    page = client.get("/plans/catalogue").get_data(as_text=True)
    assert "上门为老年人做饭或送餐等" in page


def test_candidates_of_a_plan_not_yet_approved_answer_the_documented_409(app, api, tokens):
    plan = _create(api, tokens)
    url = f"/api/v1/plans/{plan['id']}/zones/{plan['zones'][0]['id']}/candidates"
    response = api.get(url, token=tokens["officer"])
    assert response.status_code == 409
    assert response.json["error"]["code"] == "plan_not_approved"
    documented = app.test_client().get("/api/v1/openapi.json").json["paths"]
    assert (
        "409"
        in documented["/api/v1/plans/{plan_id}/zones/{zone_id}/candidates"]["get"]["responses"]
    )
