"""One zone per township and period, as the officer meets it in the browser."""

from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.plans import services
from procurement.plans.models import PurchasePlan
from tests.plans.conftest import plan_input


def _form(start: str, end: str) -> dict:
    return {
        "title": "阳城县2026年补充购买计划",
        "year": "2026",
        "purchase_method": "competitive_consultation",
        "service_start": start,
        "service_end": end,
        "items": ["life-meal"],
        "zones-0-name": "补充片区",
        "zones-0-recipients": "10",
        "township_140522201": "0",
    }


def test_the_new_plan_form_names_the_plan_and_zone_already_serving_a_township(
    client, app, yangcheng, make_user
):
    make_user("officer")
    with app.app_context():
        set_actor(Actor(None, "test-setup", "system"))
        services.create_plan(actor=None, region_code="140522", data=plan_input())
        db.session.commit()
    client.login("officer")
    refused = client.post("/plans/new", _form("2026-01-01", "2026-07-01"), page="/plans/new")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "寺头乡已在计划“阳城县2026年政府购买居家养老服务项目”的片区“第二片区”中" in page
    allowed = client.post("/plans/new", _form("2026-01-01", "2026-06-30"), page="/plans/new")
    assert allowed.status_code == 302, allowed.get_data(as_text=True)[:2000]
    with app.app_context():
        assert db.session.query(PurchasePlan).count() == 2
