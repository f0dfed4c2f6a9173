"""Importing the platform's service records in the browser and reading the report."""

import json
import re
from datetime import date

import pytest

from procurement.core.db import db
from procurement.demo.care import demo_records_csv
from procurement.demo.cli import _logins_file
from procurement.plans.models import PurchasePlan
from tests.settlements.conftest import care_site  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


def test_officer_imports_a_month_and_reads_the_report(page, live_server, app, care_site, tmp_path):  # noqa: F811
    with app.app_context():
        password = json.loads(_logins_file().read_text())["yc_officer"]
        data = demo_records_csv(db.session.get(PurchasePlan, care_site["plan"]), date(2026, 8, 1))
    # The same month again, plus two lines the platform got wrong.
    path = tmp_path / "platform-2026-08.csv"
    path.write_bytes(
        data
        + b"broken-line\n"
        + b"R-X,11010519491231002X,91140522MA0K3L4M58,W1,life-meal,2026-08-03 09:00:00,"
        b"2026-08-03 08:00:00,140522100\n"
    )
    page.goto(f"{live_server}/login")
    page.locator("#username").fill("yc_officer")
    page.locator("#password").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{live_server}/")

    page.goto(f"{live_server}/settlements/imports/new")
    page.locator("#file").set_input_files(str(path))
    page.locator("[data-test=import]").click()
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
