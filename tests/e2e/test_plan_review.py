"""The plan round trip in a real browser: draft, submit, return, revise, approve."""

import re

import pytest

from tests.conftest import PASSWORD
from tests.plans.conftest import ZONES

pytestmark = pytest.mark.browser


def _login(browser, live_server, username):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{live_server}/")
    return page


def test_officer_submits_finance_returns_officer_revises_finance_approves(
    browser, live_server, make_user, yangcheng
):
    make_user("officer", display_name="阳城县民政局经办人")
    make_user("finance", role="finance", display_name="阳城县财政局审核人")

    officer = _login(browser, live_server, "officer")
    officer.goto(f"{live_server}/plans/new")
    officer.locator("#title").fill("阳城县2026年政府购买居家养老服务项目")
    officer.locator("#service_start").fill("2026-07-01")
    officer.locator("#service_end").fill("2026-12-31")
    officer.locator("#purchase_method").select_option("competitive_consultation")
    for row, (name, codes, people) in enumerate(ZONES):
        officer.locator(f"#zones-{row}-name").fill(name)
        officer.locator(f"#zones-{row}-recipients").fill(str(people))
        for code in codes:
            officer.locator(f"#township_{code}").select_option(value=str(row))
    officer.locator("[data-test=save-plan]").click()
    officer.wait_for_url(re.compile(r".*/plans/\d+$"))
    assert officer.locator("[data-test=total]").inner_text() == "504,000.00"
    assert "伍拾万肆仟元整" in officer.locator("#budget").inner_text()
    plan_url = officer.url
    officer.locator("[data-test=submit-plan]").click()
    assert officer.locator("[data-test=status]").inner_text() == "待财政审核"

    finance = _login(browser, live_server, "finance")
    finance.goto(plan_url)
    finance.locator("[data-test=review]").click()
    finance.locator("#comment").fill("第三片区服务对象人数偏高，请核实后重报。")
    finance.locator("[data-test=return]").click()
    assert finance.locator("[data-test=status]").inner_text() == "已退回修改"

    officer.goto(plan_url)
    assert "第三片区服务对象人数偏高" in officer.locator("main").inner_text()
    officer.locator("[data-test=edit-plan]").click()
    officer.locator("#zones-2-recipients").fill("150")
    officer.locator("[data-test=save-plan]").click()
    officer.wait_for_url(plan_url)
    assert officer.locator("[data-test=total]").inner_text() == "495,600.00"
    officer.locator("[data-test=submit-plan]").click()

    finance.goto(plan_url)
    finance.locator("[data-test=review]").click()
    diff = finance.locator("[data-test=diff]").inner_text()
    assert "第三片区" in diff and "160" in diff and "150" in diff
    assert "504,000.00" in diff and "495,600.00" in diff
    finance.locator("#comment").fill("同意。")
    finance.locator("[data-test=approve]").click()
    assert finance.locator("[data-test=status]").inner_text() == "已批准"
    finance.screenshot(path="test-artifacts/plan-approved.png", full_page=True)
    finance.context.close()
    officer.context.close()
