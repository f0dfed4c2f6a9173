"""A new user logs in with a real browser, sees the Chinese dashboard, and logs out."""

import os

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_officer_logs_in_sees_chinese_dashboard_and_logs_out(live_server, page, make_user, presets):
    make_user("yc_officer", display_name="阳城县民政局经办人")
    page.goto(f"{live_server}/")
    assert page.url.startswith(f"{live_server}/login")  # the browser asks for English: still 中文
    assert page.locator("html").get_attribute("lang") == "zh-CN"

    page.get_by_label("用户名").fill("yc_officer")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    assert page.get_by_role("alert").inner_text().strip() == "用户名或密码错误。"

    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/")
    assert page.get_by_role("heading", level=1).inner_text() == "工作台"
    body = page.locator("main").inner_text()
    assert "阳城县民政局经办人" in body
    assert "阳民字〔2026〕11号" in body  # the Yangcheng rules in force
    nav = page.get_by_role("navigation", name="主导航").inner_text()
    assert "政策配置" in nav and "审计日志" not in nav  # officers do not see the audit trail

    artifacts = os.environ.get("PROCUREMENT_TEST_ARTIFACTS", "test-artifacts")
    os.makedirs(artifacts, exist_ok=True)
    page.screenshot(path=os.path.join(artifacts, "dashboard.png"), full_page=True)

    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url(f"{live_server}/login")
    assert "您已退出登录" in page.locator("main").inner_text() or "退出" in page.content()
    page.goto(f"{live_server}/")
    assert page.url.startswith(f"{live_server}/login")


def test_pages_use_no_inline_script_and_load_only_local_assets(live_server, page, make_user):
    make_user("yc_officer")
    requested = []
    page.on("request", lambda req: requested.append(req.url))
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill("yc_officer")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/")
    assert all(url.startswith(live_server) for url in requested), requested
    assert violations == []
    stylesheet = page.evaluate("getComputedStyle(document.querySelector('.topbar')).display")
    assert stylesheet == "flex"  # the local stylesheet was applied under the CSP
