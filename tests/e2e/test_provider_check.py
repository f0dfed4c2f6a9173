"""Registering a provider in the browser and reading why its check fails."""

import re

import pytest

from tests.conftest import PASSWORD
from tests.e2e.browsing import log_in

pytestmark = pytest.mark.browser


def test_officer_registers_a_provider_and_sees_why_it_is_not_qualified(
    page, live_server, make_user, yangcheng
):
    make_user("officer", display_name="阳城县民政局经办人")
    log_in(page, live_server, "officer", PASSWORD)

    page.goto(f"{live_server}/providers/new")
    page.locator("#name").fill("阳城县福寿养老服务有限公司")
    page.locator("#credit_code").fill("91140522MA0K3L4M59")  # wrong check character
    page.locator("#registration_authority").select_option("market_regulation")
    page.locator("#registration_date").fill("2016-08-25")
    page.locator("#township_code").select_option("140522101")
    page.locator("[data-test=save-provider]").click()
    error = page.locator("#credit_code-error").inner_text()
    assert "8" in error and "校验" in error  # the expected check character is named

    page.locator("#credit_code").fill("91140522MA0K3L4M58")
    page.locator("[data-test=save-provider]").click()
    page.wait_for_url(re.compile(r".*/providers/\d+$"))
    assert "企业" in page.locator(".lead").inner_text()

    page.locator("#as_of").fill("2026-06-15")
    page.locator("[data-test=run-check]").click()
    page.wait_for_url(re.compile(r".*/providers/\d+/checks/\d+$"))
    assert "不合格" in page.locator("[data-test=verdict]").inner_text()
    criteria = page.locator("[data-test=criteria]").inner_text()
    assert "价格清单" in criteria and "缺少证明" in criteria
    assert "无重大违法记录书面声明" in criteria or "声明" in criteria
    page.screenshot(path="test-artifacts/provider-check.png", full_page=True)
