"""Service-record imports as jobs (issue 16): the page and the API keep the file and
answer with a job, whose result is the import's report; the same file while its import is
waiting or running is refused with 409; a file the import cannot read fails the job with
the reason and writes nothing."""

from __future__ import annotations

import csv
import io
import re
import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from procurement import create_app
from procurement.accounts.services import find_user
from procurement.core.db import db
from procurement.demo.care import demo_records_csv
from procurement.jobs import runner
from procurement.jobs.models import Job, JobStatus
from procurement.jobs.queue import job_queue
from procurement.plans.models import PurchasePlan
from procurement.settlements import reading, services
from procurement.settlements.models import RecordImport, ServiceRecord
from tests.conftest import BASE_CONFIG
from tests.settlements.conftest import at
from tests.settlements.test_statements import _password

UPLOAD = "/api/v1/service-records/file?filename=2026-09.csv"


@pytest.fixture
def september(app, care_site):
    """The platform's export of September 2026 on 5 October (the demo imported July and
    August), as bytes."""
    at(2026, 10, 5)
    with app.app_context():
        return demo_records_csv(db.session.get(PurchasePlan, care_site["plan"]), date(2026, 9, 1))


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(ServiceRecord)),
            db.session.scalar(select(func.count()).select_from(RecordImport)),
        )


def _upload(http, token, data: bytes, url: str = UPLOAD):
    """Send ``data`` as the body of the API's file upload (``http``: a test client)."""
    return http.post(
        url,
        data=data,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "text/csv",
            "Accept": "application/json",
        },
    )


def _queued_job(app, data: bytes, username: str = "yc_officer") -> int:
    """A records.import job of ``data`` left waiting (as if no worker had taken it yet)."""
    with app.app_context():
        job = Job(
            kind="records.import",
            key=f"records.import:140522:{reading.file_digest(data)}",
            params={"blob": reading.file_digest(data), "filename": "a.csv", "pushed": False},
            created_by=find_user(username),
            region_code="140522",
        )
        db.session.add(job)
        db.session.commit()
        return job.id


def test_the_importer_reports_its_stages_in_order(care):
    seen = []
    at(2026, 10, 5)
    data = demo_records_csv(care["plan"], date(2026, 9, 1))
    services.import_upload(
        io.BytesIO(data),
        "2026-09.csv",
        region_code="140522",
        actor=care["officer"],
        progress=lambda stage, done, total=None: seen.append((stage, done, total)),
    )
    assert seen == [("read", 1, 4), ("checked", 2, 4), ("stored", 3, 4), ("settled", 4, 4)]


def test_the_page_upload_is_a_job_whose_result_is_the_import_report(app, client, september):
    records, imports = _counts(app)
    client.login("yc_officer", _password(app, "yc_officer"))
    response = client.post(
        "/settlements/imports/new",
        {"file": (io.BytesIO(september), "2026-09.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and re.search(r"/jobs/\d+$", response.location)
    page = client.get(response.location).get_data(as_text=True)
    assert "导入服务记录" in page and "已完成" in page and "条此前已导入" in page
    report_url = re.search(r'href="(/settlements/imports/(\d+))"', page)
    report = client.get(report_url.group(1)).get_data(as_text=True)
    assert "import-summary" in report and "2026-09.csv" in report
    with app.app_context():
        batch = db.session.get(RecordImport, int(report_url.group(2)))
        assert batch.accepted > 0 and batch.sha256 == reading.file_digest(september)
        job = db.session.scalar(select(Job))
        assert (job.kind, job.status, job.result["links"][0]["values"]) == (
            "records.import",
            JobStatus.DONE,
            {"import_id": batch.id},
        )
    assert _counts(app) == (records + batch.accepted, imports + 1)


def test_the_api_upload_answers_202_and_the_jobs_result_is_the_report(
    app, api, make_token, september
):
    token = make_token("yc_officer")
    made = _upload(api.http, token, september)
    assert made.status_code == 202, made.json
    assert made.headers["Location"] == made.json["url"]
    job = api.get(made.headers["Location"], token=token).json
    assert job["status"] == "done" and job["kind"] == "records.import"
    report = api.get(job["result_url"], token=token).json
    assert report["filename"] == "2026-09.csv" and report["accepted"] > 0

    again = _upload(api.http, token, september)  # imported before, not under way: imported again
    assert again.status_code == 202
    second = api.get(api.get(again.json["url"], token=token).json["result_url"], token=token).json
    assert (second["accepted"], second["already_imported"]) == (0, report["accepted"])


def test_the_same_file_while_its_import_waits_is_409_page_and_api(
    app, api, client, make_token, september
):
    waiting = _queued_job(app, september)
    records, imports = _counts(app)
    token = make_token("yc_officer")
    refused = _upload(api.http, token, september)
    assert refused.status_code == 409, refused.json
    error = refused.json["error"]
    assert error["code"] == "job_already_running"
    assert "该文件正在导入" in error["message"] and str(waiting) in error["message"]
    assert error["fields"]["job"] == [f"/api/v1/jobs/{waiting}"]

    client.login("yc_officer", _password(app, "yc_officer"))
    page = client.post(
        "/settlements/imports/new",
        {"file": (io.BytesIO(september), "again.csv")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 409
    html = page.get_data(as_text=True)
    assert "该文件正在导入" in html and f'href="/jobs/{waiting}"' in html
    assert _counts(app) == (records, imports)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Job)) == 1

    other = _upload(api.http, token, september + september.splitlines(keepends=True)[1])
    assert other.status_code == 202, "another file is imported meanwhile"


def test_a_file_the_import_cannot_read_fails_the_job_naming_the_columns(
    app, api, make_token, care_site
):
    token = make_token("yc_officer")
    records, imports = _counts(app)
    made = _upload(api.http, token, "记录编号,服务对象身份证号\nR-1,110105194912310029\n".encode())
    assert made.status_code == 202
    job = api.get(made.json["url"], token=token).json
    assert job["status"] == "failed" and job["result_url"] is None
    assert "文件缺少以下列" in job["error"] and "服务机构统一社会信用代码" in job["error"]
    assert _counts(app) == (records, imports)


def test_an_empty_file_is_refused_at_once_without_a_job(app, api, make_token, care_site):
    token = make_token("yc_officer")
    refused = _upload(api.http, token, b"")
    assert refused.status_code == 422
    assert refused.json["error"]["fields"] == {"file": ["文件为空。"]}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Job)) == 0


def _pushed(data: bytes) -> list[dict]:
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    return [{reading.COLUMNS[k]: v for k, v in row.items()} for row in reader]


def test_a_large_push_is_a_job_and_a_small_one_stays_201(app, api, make_token, september):
    token = make_token("yc_officer")
    rows = _pushed(september)
    small = api.post("/api/v1/service-records", {"records": rows[:2]}, token=token)
    assert small.status_code == 201 and small.json["accepted"] == 2

    app.config["RECORD_PUSH_SYNC_MAX_ROWS"] = 2
    large = api.post("/api/v1/service-records", {"records": rows[:5]}, token=token)
    assert large.status_code == 202, large.json
    job = api.get(large.headers["Location"], token=token).json
    report = api.get(job["result_url"], token=token).json
    assert (report["source"], report["accepted"], report["already_imported"]) == ("api", 3, 2)


# ------------------------------------------------------------- a queue of its own


@pytest.fixture
def queued_app(app):
    """The same database and instance folder, with jobs put on an embedded SQLite queue
    that no worker takes from: a job stays waiting until the test runs it."""
    real = create_app(
        {
            **BASE_CONFIG,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "INSTANCE_PATH": app.instance_path,
            "JOBS_IMMEDIATE": False,
            "JOBS_BACKEND": "sqlite",
            "JOBS_EMBEDDED_WORKERS": 0,
        }
    )
    yield real
    with real.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.real_commits  # a second engine on the database: it sees committed rows only
def test_on_a_real_queue_the_second_upload_is_409_until_the_first_is_done(
    app, queued_app, make_token, september
):
    token = make_token("yc_officer")
    http = queued_app.test_client()
    before = _counts(app)
    first = _upload(http, token, september)
    assert first.status_code == 202 and first.json["status"] == "queued"
    second = _upload(http, token, september)
    assert second.status_code == 409 and "该文件正在导入" in second.json["error"]["message"]
    assert _counts(app) == before  # nothing imported while it waits
    with queued_app.app_context():
        waiting = db.session.scalars(select(Job)).all()
        assert [j.status for j in waiting] == [JobStatus.QUEUED]
        assert len(job_queue().huey) == 1  # on the queue, for a worker to take
        runner.run(first.json["id"])  # what a worker does
    done = http.get(first.json["url"], headers={"Authorization": f"Bearer {token}"}).json
    assert done["status"] == "done" and done["result_url"], done
    third = _upload(http, token, september)
    assert third.status_code == 202, "once done, the file may be sent again"


@pytest.mark.real_commits  # two requests at once, each on its own connection
def test_two_uploads_of_one_file_at_once_are_one_import_and_a_409(
    app, make_token, september, monkeypatch
):
    """The first upload's job is under way (held before it imports) when the same file
    comes again: one import, and a 409 telling the second that the file is being
    imported, never a 500 (nor, on SQLite, a wait for the running job's write lock)."""
    token = make_token("yc_officer")
    imports = _counts(app)[1]
    started, release = threading.Event(), threading.Event()
    real = services.run_import_job

    def held(*args, **kwargs):
        started.set()
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "run_import_job", held)
    answers = {}
    first = threading.Thread(
        target=lambda: answers.update(first=_upload(app.test_client(), token, september))
    )
    first.start()
    try:
        assert started.wait(30)
        second = _upload(app.test_client(), token, september)
    finally:
        release.set()
        first.join(60)
    assert answers["first"].status_code == 202 and answers["first"].json["status"] == "done"
    assert second.status_code == 409, second.json
    assert second.json["error"]["code"] == "job_already_running"
    assert "该文件正在导入" in second.json["error"]["message"]
    assert _counts(app)[1] == imports + 1
