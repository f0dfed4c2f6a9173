"""A worker process killed in the middle of an import (issue 16): nothing of the import is
kept, the job is shown failed once the worker has stopped reporting, and run again by a
new worker it imports the file whole.

The worker is the production one, ``flask --app procurement worker``, in its own
process on the embedded SQLite queue; it is sent SIGKILL (no chance to clean up) once the
job reports that its records are stored but before the job has committed them.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from procurement.core.db import db
from procurement.jobs.models import Job, JobStatus
from procurement.jobs.queue import job_queue
from procurement.settlements.models import RecordImport, ServiceRecord
from tests.settlements.test_import_jobs import queued_app, september  # noqa: F401 (fixtures)

COPIES = 40  # September's rows this many times over: long enough to be caught mid-way


@pytest.fixture
def web(queued_app):  # noqa: F811 (the fixture imported above)
    """The queue of test_import_jobs (embedded SQLite, no worker of its own): only a
    separate worker process takes from it; a worker silent for a second counts as
    stopped."""
    queued_app.config["JOBS_STALL_SECONDS"] = 1
    return queued_app


def _large(month: bytes) -> bytes:
    """The month's export with every row repeated under new record ids."""
    rows = list(csv.reader(io.StringIO(month.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for copy in range(COPIES):
        for row in body:
            writer.writerow([f"{row[0]}-{copy}", *row[1:]])
    return out.getvalue().encode()


def _worker(app) -> subprocess.Popen:
    environment = {
        **os.environ,
        "PROCUREMENT_INSTANCE_PATH": app.instance_path,
        "PROCUREMENT_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "PROCUREMENT_SECRET_KEY": app.config["SECRET_KEY"],
        "PROCUREMENT_DATA_KEY": app.config["DATA_KEY"],
        "PROCUREMENT_JOBS_BACKEND": "sqlite",
        "PROCUREMENT_JOBS_EMBEDDED_WORKERS": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "procurement", "worker", "--workers", "1"],
        env=environment,
        cwd=Path(app.instance_path).parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"{what} within {seconds} s")


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        counted = (
            db.session.scalar(select(func.count()).select_from(ServiceRecord)),
            db.session.scalar(select(func.count()).select_from(RecordImport)),
        )
        db.session.remove()
        return counted


@pytest.mark.real_commits  # a worker process with its own connections
def test_a_worker_killed_mid_import_leaves_nothing_and_the_job_runs_again(
    web,
    make_token,
    september,  # noqa: F811 (the fixture imported above)
):
    token = make_token("yc_officer")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    http = web.test_client()
    before = _counts(web)
    made = http.post(
        "/api/v1/service-records/file?filename=2026-09.csv",
        data=_large(september),
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert made.status_code == 202 and made.json["status"] == "queued", made.json
    job_id = made.json["id"]

    def stage() -> str | None:
        with web.app_context():
            progress = job_queue().progress(job_id)
        return progress[0] if progress else None

    worker = _worker(web)
    try:
        _wait_for(lambda: stage() == "stored", 60, "the worker did not store the records")
    finally:
        worker.send_signal(signal.SIGKILL)
        _, errors = worker.communicate(timeout=30)
    assert worker.returncode == -signal.SIGKILL, errors.decode()
    assert _counts(web) == before  # the records were written, never committed

    def shown() -> dict | None:
        state = http.get(f"/api/v1/jobs/{job_id}", headers=headers).json
        return state if state["status"] != "running" else None

    failed = _wait_for(shown, 30, "the job was not shown as stopped")
    assert failed["status"] == "failed", failed
    assert "后台进程已停止" in failed["error"], failed["error"]

    again = http.post(f"/api/v1/jobs/{job_id}/retry", headers=headers)
    assert again.status_code == 202, again.json
    worker = _worker(web)
    try:

        def finished() -> Job | None:
            with web.app_context():
                job = db.session.get(Job, again.json["id"])
                status = job.status
                db.session.remove()
            return job if status.finished else None

        done = _wait_for(finished, 120, "the retried job did not finish")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=60)
    assert done.status is JobStatus.DONE, done.error
    records, imports = _counts(web)
    assert imports == before[1] + 1
    assert records > before[0] + COPIES  # the whole file, at once
