"""Approving an acceptance, publishing it, and reading it on the public site anonymously."""

import re

import pytest
from sqlalchemy import select

from procurement.accounts.models import User
from procurement.contracts.models import Contract
from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.performance import acceptance as acceptance_rules
from tests.conftest import PASSWORD
from tests.e2e.browsing import log_in
from tests.performance.conftest import site, stage_input  # noqa: F401 - site: a fixture

pytestmark = pytest.mark.browser


def test_officer_approves_and_publishes_and_the_public_reads_it(browser, live_server, app, site):  # noqa: F811
    with app.app_context():
        drafter = db.session.scalar(select(User).where(User.username == "drafter"))
        set_actor(Actor(drafter.id, drafter.username, "web", drafter.region_code))
        contract = db.session.get(Contract, site["contracts"][0])
        acceptance = acceptance_rules.draft_acceptance(contract, stage_input(), actor=drafter)
        db.session.commit()
        acceptance_id, zone = acceptance.id, contract.zone.name
        db.session.remove()

    officer = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = officer.new_page()
    page.set_default_timeout(10_000)
    log_in(page, live_server, "approver", PASSWORD)
    page.goto(f"{live_server}/performance/acceptances/{acceptance_id}")
    page.locator("form.inline button.primary").first.click()  # approve
    page.wait_for_url(re.compile(rf".*/performance/acceptances/{acceptance_id}$"))
    assert page.locator("[data-test=certificate]").count() == 1
    page.locator("form.inline button.primary").first.click()  # publish
    page.wait_for_url(re.compile(rf".*/performance/acceptances/{acceptance_id}$"))
    assert "已公开" in page.locator("[data-test=acceptance-status]").inner_text() or (
        "公开" in page.content()
    )
    officer.close()

    visitor = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    public = visitor.new_page()
    public.set_default_timeout(10_000)
    public.goto(f"{live_server}/public/?kind=acceptance")
    public.get_by_role("link", name=re.compile(zone)).first.click()
    public.wait_for_url(re.compile(r".*/public/acceptances/\d+$"))
    assert "合格" in public.locator("[data-test=conclusion]").inner_text()
    assert public.locator("[data-test=certificate]").count() == 1
    assert "退出登录" not in public.content()  # an anonymous visitor
    public.screenshot(path="test-artifacts/public-acceptance.png", full_page=True)
    visitor.close()
