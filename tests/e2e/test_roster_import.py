"""Importing the roster in the browser: the check report, then the confirmation starts a
job whose page follows it to the end and links to the register (issue 16)."""

import re
from io import BytesIO
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from procurement.core import staging
from procurement.core.db import db
from procurement.recipients.models import Recipient
from tests.e2e.browsing import demo_password, log_in
from tests.settlements.conftest import care_site  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


def _roster(path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "服务对象"
    sheet.append(["姓名", "身份证号码", "乡镇", "类别"])
    sheet.append(["孙奶奶", "11010519491231002X", "凤城镇", "特困"])
    sheet.append(["坏号", "11010519491231002Y", "凤城镇", "特困"])
    out = BytesIO()
    book.save(out)
    path.write_bytes(out.getvalue())


@pytest.mark.real_commits  # the served app has its own engine on the database
def test_officer_confirms_a_roster_import_and_watches_the_job_reach_the_result(
    page,
    care_site,  # noqa: F811
    queued_server,
    app,
    tmp_path,
):
    served = queued_server(staging, "run_job")
    live_server = served.url
    password = demo_password(app, "yc_officer")
    path = tmp_path / "roster.xlsx"
    _roster(path)
    log_in(page, live_server, "yc_officer", password)

    page.goto(f"{live_server}/recipients/import")
    page.locator("#file").set_input_files(str(path))
    page.locator("main form.panel button[type=submit]").click()
    report = page.locator("[data-test=import-report]").inner_text()
    assert "身份证号码" in report  # the refused row names its column
    page.locator("[data-test=confirm-import]").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    assert page.locator("[data-field=status_label]").inner_text() in ("排队中", "运行中")
    served.release()
    # the page's script follows the job and loads the page again once it is done
    summary = page.locator("[data-test=job-summary]")
    summary.wait_for(timeout=60_000)
    assert "已导入 1 行" in summary.inner_text()
    assert page.locator("[data-field=status_label]").inner_text() == "已完成"
    page.screenshot(path="test-artifacts/roster-import.png", full_page=True)
    page.get_by_role("link", name="名册").click()
    page.wait_for_url(re.compile(r".*/recipients/.*"))
    with app.app_context():
        names = db.session.scalars(sa.select(Recipient.name)).all()
    assert "孙奶奶" in names and "坏号" not in names
    staged = Path(app.instance_path) / "imports"
    assert not list(staged.iterdir())  # the checked file is removed once the job committed
