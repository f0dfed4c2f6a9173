"""Importing the roster in the browser: the check report, then the confirmation starts a
job whose page follows it to the end and links to the register (issue 16)."""

import json
import re
import threading
import time
from io import BytesIO
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook
from werkzeug.serving import make_server

from procurement import create_app
from procurement.core import staging
from procurement.core.db import db
from procurement.demo.cli import _logins_file
from procurement.jobs.queue import job_queue
from procurement.recipients.models import Recipient
from tests.conftest import BASE_CONFIG
from tests.settlements.conftest import care_site  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


@pytest.fixture
def queued_server(app, care_site, monkeypatch):  # noqa: F811
    """The app as deployed by default: jobs on the embedded SQLite queue, run by a worker
    thread of the web process. The import waits a moment before it starts, so that the
    job's page is seen waiting or running before it is done."""
    real_run = staging.run_job

    def slow_run(*args, **kwargs):
        time.sleep(1.5)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(staging, "run_job", slow_run)
    served = create_app(
        {
            **BASE_CONFIG,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "INSTANCE_PATH": app.instance_path,
            "JOBS_IMMEDIATE": False,
            "JOBS_BACKEND": "sqlite",
            "JOBS_EMBEDDED_WORKERS": 1,
        }
    )
    server = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    with served.app_context():
        job_queue().stop()
        db.session.remove()
        db.engine.dispose()


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
    queued_server,
    app,
    tmp_path,
):
    live_server = queued_server
    with app.app_context():
        password = json.loads(_logins_file().read_text())["yc_officer"]
    path = tmp_path / "roster.xlsx"
    _roster(path)
    page.goto(f"{live_server}/login")
    page.locator("#username").fill("yc_officer")
    page.locator("#password").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{live_server}/")

    page.goto(f"{live_server}/recipients/import")
    page.locator("#file").set_input_files(str(path))
    page.locator("main form.panel button[type=submit]").click()
    report = page.locator("[data-test=import-report]").inner_text()
    assert "身份证号码" in report  # the refused row names its column
    page.locator("[data-test=confirm-import]").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    assert page.locator("[data-field=status_label]").inner_text() in ("排队中", "运行中")
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
