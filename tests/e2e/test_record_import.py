"""Importing the platform's service records in the browser: the upload starts a job,
whose page follows it to the end and links to the report (issue 16)."""

import json
import re
import threading
import time
from datetime import date

import pytest
from werkzeug.serving import make_server

from procurement import create_app
from procurement.core.db import db
from procurement.demo.care import demo_records_csv
from procurement.demo.cli import _logins_file
from procurement.jobs.queue import job_queue
from procurement.plans.models import PurchasePlan
from procurement.settlements import services
from tests.conftest import BASE_CONFIG
from tests.settlements.conftest import care_site  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


@pytest.fixture
def queued_server(app, care_site, monkeypatch):  # noqa: F811
    """The app as deployed by default: jobs on the embedded SQLite queue, run by a worker
    thread of the web process. The import waits a moment before it starts, so that the
    job's page is seen waiting or running before it is done."""
    real_import = services.run_import_job

    def slow_import(*args, **kwargs):
        time.sleep(1.5)
        return real_import(*args, **kwargs)

    monkeypatch.setattr(services, "run_import_job", slow_import)
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


@pytest.mark.real_commits  # the served app has its own engine on the database
def test_officer_imports_a_month_and_watches_the_job_reach_the_report(
    page,
    queued_server,
    app,
    care_site,  # noqa: F811
    tmp_path,
):
    live_server = queued_server
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
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    assert page.locator("progress[data-field=progress]").count() == 1  # not done yet
    assert page.locator("[data-field=status_label]").inner_text() in ("排队中", "运行中")
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
