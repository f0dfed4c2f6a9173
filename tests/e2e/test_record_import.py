"""Importing the platform's service records in the browser: the upload starts a job,
whose page follows it to the end and links to the report (issue 16)."""

import re
from datetime import date

import pytest

from procurement.core.db import db
from procurement.demo.care import demo_records_csv
from procurement.plans.models import PurchasePlan
from procurement.settlements import services
from tests.e2e.browsing import demo_password, log_in
from tests.settlements.conftest import care_site  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


@pytest.mark.real_commits  # the served app has its own engine on the database
def test_officer_imports_a_month_and_watches_the_job_reach_the_report(
    page,
    queued_server,
    app,
    care_site,  # noqa: F811
    tmp_path,
):
    served = queued_server(services, "run_import_job")
    live_server = served.url
    password = demo_password(app, "yc_officer")
    with app.app_context():
        data = demo_records_csv(db.session.get(PurchasePlan, care_site["plan"]), date(2026, 8, 1))
    # The same month again, plus two lines the platform got wrong.
    path = tmp_path / "platform-2026-08.csv"
    path.write_bytes(
        data
        + b"broken-line\n"
        + b"R-X,11010519491231002X,91140522MA0K3L4M58,W1,life-meal,2026-08-03 09:00:00,"
        b"2026-08-03 08:00:00,140522100\n"
    )
    log_in(page, live_server, "yc_officer", password)

    page.goto(f"{live_server}/settlements/imports/new")
    page.locator("#file").set_input_files(str(path))
    page.locator("[data-test=import]").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    assert page.locator("progress[data-field=progress]").count() == 1  # not done yet
    assert page.locator("[data-field=status_label]").inner_text() in ("排队中", "运行中")
    served.release()
    # the page's script follows the job and loads the page again once it is done
    summary = page.locator("[data-test=job-summary]")
    summary.wait_for(timeout=60_000)
    assert "条此前已导入" in summary.inner_text()
    assert page.locator("[data-field=status_label]").inner_text() == "已完成"
    page.get_by_role("link", name="导入报告").click()
    page.wait_for_url(re.compile(r".*/settlements/imports/\d+$"))
    summary = page.locator("[data-test=import-summary]").inner_text()
    assert "0" in summary  # nothing new: the month was imported before
    reasons = page.locator("[data-test=reasons]").inner_text()
    assert "单元格数" in reasons
    rows = page.locator("[data-test=rejections]").inner_text()
    assert "R-X" in rows
    page.screenshot(path="test-artifacts/record-import.png", full_page=True)

    page.goto(f"{live_server}/settlements/")
    page.locator("[data-test=statements] a").first.click()
    page.wait_for_url(re.compile(r".*/settlements/\d+$"))
    assert "元" in page.locator("[data-test=amount]").inner_text()
