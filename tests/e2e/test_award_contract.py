"""Scoring, awarding and generating a contract in a real browser."""

import io
import re

import docx
import pytest
from sqlalchemy import select

from procurement.accounts.models import User
from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.demo.cli import load_demo_plan, load_demo_users
from procurement.demo.providers import load_demo_providers
from procurement.plans.catalogue import load_yangcheng_catalogue
from procurement.plans.models import PurchasePlan
from procurement.policies.presets import load_presets
from tests.e2e.browsing import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def approved_plan(app):
    with app.app_context():
        set_actor(Actor(None, "test-setup", "system"))
        load_presets()
        load_yangcheng_catalogue()
        logins = load_demo_users()
        load_demo_plan()
        officer = db.session.scalar(select(User).where(User.username == "yc_officer"))
        plan = db.session.scalar(select(PurchasePlan))
        load_demo_providers(officer, plan)
        db.session.commit()
        ids = {"plan": plan.id, "zone": plan.zones[0].id, "password": logins["yc_officer"]}
        db.session.remove()
    return ids


def test_officer_scores_awards_and_generates_a_contract(page, live_server, approved_plan):
    log_in(page, live_server, "yc_officer", approved_plan["password"])

    page.goto(f"{live_server}/plans/{approved_plan['plan']}")
    page.locator("[data-test=selection]").click()
    page.get_by_role("link", name="第一片区").click()
    for name, price, score in (
        ("阳城县康乐居家养老服务中心", "33.00", "88"),
        ("阳城县福寿养老服务有限公司", "34.50", "85"),
        ("阳城县夕阳红家政服务部", "30.00", "95"),
    ):
        page.locator("#bid-provider_id").select_option(label=name)
        page.locator("#bid-unit_price").fill(price)
        page.locator("#bid-technical_score").fill(score)
        page.locator("[data-test=save-bid]").click()
    ranking = page.locator("[data-test=ranking]").inner_text()
    assert re.search(r"1\s+阳城县康乐居家养老服务中心", ranking)
    assert "不合格" in ranking  # 夕阳红: a major violation, listed but not ranked

    page.locator("#award-provider_id").select_option(label="阳城县夕阳红家政服务部")
    page.locator("#award-rationale").fill("报价最低")
    page.locator("[data-test=award]").click()
    assert "不合格" in page.locator("#award-provider_id-error").inner_text()

    page.locator("#award-provider_id").select_option(label="阳城县康乐居家养老服务中心")
    page.locator("#award-rationale").fill("综合得分第一，办公场所位于本片区。")
    page.locator("[data-test=award]").click()
    assert "52140522MJ0A1B2C37" in page.locator("[data-test=notice]").inner_text()

    page.locator("[data-test=generate-contract]").click()
    page.wait_for_url(re.compile(r".*/contracts/\d+$"))
    assert "158,400.00" in page.locator("[data-test=contract-amount]").inner_text()
    with page.expect_download() as download:
        page.locator("[data-test=download-docx]").click()
    with open(download.value.path(), "rb") as handle:
        document = docx.Document(io.BytesIO(handle.read()))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "140522-2026-01" in text and "壹拾伍万捌仟肆佰元整" in text
    page.screenshot(path="test-artifacts/contract.png", full_page=True)
