"""Failure (issue 8, part 5): the database fails in the middle of an import.

The service-record import writes through the raw driver (COPY on PostgreSQL); the roster
and provider imports write row by row through the ORM. Each is made to fail after part
of its rows were written, through the page and through the API: the answer says clearly
that nothing was saved (503), and nothing of the import is left in the database (no
service record, batch, statement, rejection or audit row; no recipient or provider), nor
in the instance folder. Once the database answers again, the same import succeeds.
"""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from procurement.core.db import db
from procurement.settlements import importer, reading, storage
from tests.helpers import in_app
from tests.performance.conftest import site  # noqa: F401 (fixture)
from tests.settlements.conftest import at
from tests.test_security import (
    Caller,
    _failing_statements,
    changed_since,
    fingerprint,
    instance_files,
    zh,
)

LOST = "terminating connection due to administrator command"


def unavailable_message(app) -> str:
    return zh(app, "The database is unavailable; nothing was saved. Try again later.")


def multipart(fields: dict) -> dict:
    """A form with a file, encoded in memory (see tests.test_security.Uploader)."""
    boundary, body = encode_multipart(MultiDict(fields))
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def fail_raw_insert_midway(monkeypatch, table: str, after: int) -> dict:
    """Make the driver fail after ``after`` rows of ``table`` went into the raw insert
    (sqlite3 executemany, PostgreSQL COPY), as a connection lost mid-import would."""
    real = storage.raw_insert
    progress = {"written": 0, "failed": False, "before": []}

    def insert(name, columns, values):
        if name != table:
            progress["before"].append(name)
            return real(name, columns, values)
        error = db.session.connection().dialect.loaded_dbapi.OperationalError

        def rows():
            for row in values:
                if progress["written"] == after:
                    progress["failed"] = True
                    raise error(LOST)
                progress["written"] += 1
                yield row

        return real(name, columns, rows())

    monkeypatch.setattr(storage, "raw_insert", insert)
    return progress


@pytest.fixture
def september(app, site):  # noqa: F811 (the fixture imported above)
    """The performance world on 5 October 2026, and the platform's export of September."""
    from procurement.demo.care import demo_records_csv
    from procurement.plans.models import PurchasePlan

    at(2026, 10, 5)
    return in_app(
        app, lambda: demo_records_csv(db.session.get(PurchasePlan, site["plan"]), date(2026, 9, 1))
    )


def counts(app) -> dict[str, int]:
    from procurement.core.audit import AuditEvent
    from procurement.settlements.models import (
        ImportRejection,
        RecordImport,
        ServiceRecord,
        Settlement,
    )

    def work():
        return {
            model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (ServiceRecord, RecordImport, ImportRejection, Settlement, AuditEvent)
        }

    return in_app(app, work)


# A file of service records is imported by a job (issue 16): the request keeps the file,
# records the job (and its audit row) and answers at once; the job's writes are one
# transaction. A database failing mid-import fails the job, with the reason in Chinese,
# and leaves nothing of the import: the job's row and its "queued" audit row and the kept
# file are all that remain, and running the job again imports the file whole.


def job_of(app, job_id: int) -> tuple:
    """The job's status and error."""
    from procurement.jobs.models import Job

    def read():
        job = db.session.get(Job, job_id)
        return job.status, job.error

    return in_app(app, read)


def only_the_job_was_recorded(app, numbers: dict[str, int], changed: set[str]) -> None:
    """Nothing of the import: one audit row more (the job queued) and the jobs table."""
    assert counts(app) == {**numbers, "audit_events": numbers["audit_events"] + 1}
    assert changed <= {"jobs", "audit_events", "api_tokens"}  # the token's last use


def job_failed_for_the_database(app, job: tuple) -> None:
    from procurement.jobs.models import JobStatus

    assert job == (JobStatus.FAILED, unavailable_message(app))


def test_a_record_import_that_fails_midway_through_the_page_leaves_nothing(
    app, make_token, september, monkeypatch
):
    officer = Caller(app, "drafter", make_token("drafter"))
    before, files, numbers = fingerprint(app), instance_files(app), counts(app)
    progress = fail_raw_insert_midway(monkeypatch, "service_records", after=50)

    form = {"file": FileStorage(io.BytesIO(september), "2026-09.csv"), "csrf_token": officer.csrf}
    response = officer.client.http.post("/settlements/imports/new", **multipart(form))
    assert progress["written"] == 50 and progress["failed"]  # failed midway, not before
    assert response.status_code == 302 and "/jobs/" in response.location
    job_id = int(response.location.rsplit("/", 1)[1])
    job_failed_for_the_database(app, job_of(app, job_id))
    page = officer.client.get(response.location).get_data(as_text=True)
    assert unavailable_message(app) in page
    only_the_job_was_recorded(app, numbers, changed_since(app, before))
    kept = instance_files(app) - files  # the file, kept for the job (and its retry)
    assert [name.rsplit("/", 1)[-1] for name in kept] == [reading.file_digest(september)]

    monkeypatch.undo()  # the database answers again: the job run again imports it whole
    retried = officer.client.post(f"/jobs/{job_id}/retry", page=response.location)
    assert retried.status_code == 302, retried.get_data(as_text=True)[:300]
    page = officer.client.get(retried.location).get_data(as_text=True)
    assert "导入报告" in page
    after = counts(app)
    assert after["service_records"] - numbers["service_records"] > 50
    assert after["record_imports"] == numbers["record_imports"] + 1


def upload_failing(officer, data: bytes, monkeypatch, table: str, after: int):
    """Send the file through the API while the database fails in ``table``'s write."""
    headers = {"Authorization": f"Bearer {officer.token}", "Content-Type": "text/csv"}
    url = "/api/v1/service-records/file?filename=2026-09.csv"
    progress = fail_raw_insert_midway(monkeypatch, table, after=after)
    response = officer.http.post(url, data=data, headers=headers)
    assert response.status_code == 202, response.json
    assert progress["failed"] and progress["written"] == after
    return response.json, progress


def retry_imports_whole(app, officer, job: dict) -> dict:
    headers = {"Authorization": f"Bearer {officer.token}", "Accept": "application/json"}
    retried = officer.http.post(f"/api/v1/jobs/{job['id']}/retry", headers=headers)
    assert retried.status_code == 202, retried.json
    assert retried.json["status"] == "done", retried.json
    return officer.http.get(retried.json["result_url"], headers=headers).json


def test_a_record_import_that_fails_midway_through_the_api_leaves_nothing(
    app, make_token, september, monkeypatch
):
    officer = Caller(app, "drafter", make_token("drafter"))
    before, numbers = fingerprint(app), counts(app)
    made, _progress = upload_failing(officer, september, monkeypatch, "service_records", 10)
    headers = {"Authorization": f"Bearer {officer.token}", "Accept": "application/json"}
    job = officer.http.get(made["url"], headers=headers).json
    assert (job["status"], job["error"]) == ("failed", unavailable_message(app))
    only_the_job_was_recorded(app, numbers, changed_since(app, before))

    monkeypatch.undo()
    assert retry_imports_whole(app, officer, made)["accepted"] > 10


def test_a_record_import_that_fails_while_checking_stored_ids_leaves_nothing(
    app, make_token, september, monkeypatch
):
    """The keys checked against the stored records go into a temporary table through the
    same raw insert: a failure there leaves nothing, nor the table (the retry makes it)."""
    officer = Caller(app, "drafter", make_token("drafter"))
    numbers = counts(app)
    made, _progress = upload_failing(officer, september, monkeypatch, importer.FILE_KEYS.name, 10)
    job_failed_for_the_database(app, job_of(app, made["id"]))
    assert counts(app) == {**numbers, "audit_events": numbers["audit_events"] + 1}

    monkeypatch.undo()
    assert retry_imports_whole(app, officer, made)["accepted"] > 10


def test_rejections_that_fail_midway_leave_no_batch_either(app, make_token, september, monkeypatch):
    """The rejected rows are written through the same raw insert, after the records: the
    records already written go with them."""
    officer = Caller(app, "drafter", make_token("drafter"))
    last = september.rstrip(b"\r\n").rsplit(b"\n", 1)[1].split(b",")
    bad = [b"BAD-1", b"123", *last[2:]]  # a record with a broken ID number
    data = september + b",".join(bad) + b"\r\n"
    numbers = counts(app)
    made, progress = upload_failing(officer, data, monkeypatch, "import_rejections", 0)
    # the records and the statements' lines went in just before
    assert progress["before"][-3:] == ["service_records", "statement_lines", "statement_unpaid"]
    job_failed_for_the_database(app, job_of(app, made["id"]))
    assert counts(app) == {**numbers, "audit_events": numbers["audit_events"] + 1}


# ------------------------------------------------------------- roster and providers


@pytest.fixture
def county(app, make_user, make_token, yangcheng):
    make_user("officer", role="officer", region_code="140522")
    return Caller(app, "officer", make_token("officer"))


def roster_rows() -> list[list]:
    from tests.recipients.conftest import id_number

    return [
        [name, id_number(date(1940 + n, 3, 1), sequence=n + 1), "凤城镇", "东关村", "低保"]
        for n, name in enumerate(["李桂兰", "王秀英", "张福贵", "赵凤英", "刘长顺"])
    ]


def roster_workbook(rows) -> bytes:
    from tests.recipients.test_import import workbook

    return workbook(rows, headers=["姓名", "身份证号码", "乡镇", "村（社区）", "类别"]).getvalue()


def _staged_token(page: str) -> str:
    import re

    found = re.search(r'name="token" type="hidden" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


def test_a_roster_import_that_fails_midway_leaves_no_recipient(app, county, monkeypatch):
    from procurement.recipients.models import Recipient

    def recipients():
        return db.session.scalar(sa.select(sa.func.count(Recipient.id)))

    form = {
        "file": FileStorage(io.BytesIO(roster_workbook(roster_rows())), "roster.xlsx"),
        "csrf_token": county.csrf,
    }
    staged = county.client.http.post("/recipients/import", **multipart(form))
    assert staged.status_code == 200
    token = _staged_token(staged.get_data(as_text=True))
    before, files = fingerprint(app), instance_files(app)

    seen = _failing_statements(monkeypatch, app, "INSERT INTO RECIPIENTS", after=2)
    confirm = {"token": token, "csrf_token": county.csrf}
    response = county.client.http.post("/recipients/import/confirm", data=confirm)
    assert seen["count"] == 3  # two people written, the third failed
    assert response.status_code == 302  # to the import's job, which failed
    job_page = county.client.http.get(response.location).get_data(as_text=True)
    assert unavailable_message(app) in job_page
    assert in_app(app, recipients) == 0
    assert changed_since(app, before) <= {"jobs", "audit_events"}  # the job, nothing of it
    assert instance_files(app) == files  # the checked file still waits for confirmation

    monkeypatch.undo()
    done = county.client.http.post("/recipients/import/confirm", data=confirm)
    assert done.status_code == 302 and done.location != response.location  # a new job
    assert in_app(app, recipients) == 5


def test_checking_a_roster_while_the_database_fails_is_not_a_row_report(app, county, monkeypatch):
    """A database failure while the file is tried row by row is not reported as five
    unreadable rows: the check stops with the clear error and stages nothing."""
    files = instance_files(app)
    _failing_statements(monkeypatch, app, "INSERT INTO RECIPIENTS", after=1)
    form = {
        "file": FileStorage(io.BytesIO(roster_workbook(roster_rows())), "roster.xlsx"),
        "csrf_token": county.csrf,
    }
    response = county.client.http.post("/recipients/import", **multipart(form))
    assert response.status_code == 503
    assert unavailable_message(app) in response.get_data(as_text=True)
    assert instance_files(app) == files


def test_a_provider_import_that_fails_midway_leaves_no_provider(app, county, monkeypatch):
    from procurement.core.identifiers import credit_check_character
    from procurement.providers.models import Provider
    from tests.providers.test_import import workbook

    def code(serial: int) -> str:
        first17 = f"91140522MA0K3L{serial:03d}"
        return first17 + credit_check_character(first17)

    rows = [
        [f"阳城县第{n}养老服务有限公司", code(n), "市场监管", "2016-08-25", "北留镇", 10 + n]
        for n in range(1, 5)
    ]

    def providers():
        return db.session.scalar(sa.select(sa.func.count(Provider.id)))

    form = {
        "file": FileStorage(io.BytesIO(workbook(rows).getvalue()), "providers.xlsx"),
        "csrf_token": county.csrf,
    }
    staged = county.client.http.post("/providers/import", **multipart(form))
    assert staged.status_code == 200
    token = _staged_token(staged.get_data(as_text=True))
    before = fingerprint(app)

    seen = _failing_statements(monkeypatch, app, "INSERT INTO PROVIDERS", after=2)
    confirm = {"token": token, "csrf_token": county.csrf}
    response = county.client.http.post("/providers/import/confirm", data=confirm)
    assert seen["count"] == 3
    assert response.status_code == 302  # to the import's job, which failed
    job_page = county.client.http.get(response.location).get_data(as_text=True)
    assert unavailable_message(app) in job_page
    assert in_app(app, providers) == 0
    assert changed_since(app, before) <= {"jobs", "audit_events"}  # the job, nothing of it

    monkeypatch.undo()
    assert county.client.http.post("/providers/import/confirm", data=confirm).status_code == 302
    assert in_app(app, providers) == 4


# ------------------------------------------------------- the connection itself is lost


@pytest.mark.real_commits  # the connection is killed: it cannot be a shared rolled-back one
def test_a_connection_killed_during_the_record_write_fails_the_job_with_nothing_saved(
    app, make_token, september, monkeypatch
):
    """PostgreSQL: the job's backend is terminated (pg_terminate_backend) while the
    records are being copied in. The rollback itself then fails on the dead connection;
    the job is still marked failed (on a new connection) with the database's reason, and
    runs whole when asked again."""
    officer = Caller(app, "drafter", make_token("drafter"))
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("terminating a backend needs PostgreSQL")
        url = db.engine.url
    killer = sa.create_engine(url, poolclass=sa.pool.NullPool)
    real = storage.raw_insert
    killed = []

    def insert(name, columns, values):
        if name == "service_records" and not killed:
            pid = db.session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with killer.begin() as other:
                other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killed.append(pid)
        return real(name, columns, values)

    monkeypatch.setattr(storage, "raw_insert", insert)
    headers = {"Authorization": f"Bearer {officer.token}", "Content-Type": "text/csv"}
    url_ = "/api/v1/service-records/file?filename=2026-09.csv"
    numbers = counts(app)
    response = officer.http.post(url_, data=september, headers=headers)
    killer.dispose()
    assert killed
    assert response.status_code == 202, response.get_data(as_text=True)[:300]
    job_failed_for_the_database(app, job_of(app, response.json["id"]))
    assert counts(app) == {**numbers, "audit_events": numbers["audit_events"] + 1}

    monkeypatch.undo()
    assert retry_imports_whole(app, officer, response.json)["accepted"] > 0


@pytest.mark.real_commits  # the connection is killed: it cannot be a shared rolled-back one
def test_a_rollback_that_fails_on_a_lost_connection_still_fails_the_job_cleanly(
    app, make_token, september, monkeypatch
):
    """Any database: the job's write fails as a lost connection would, and so does the
    rollback after it (the connection is gone); the session is invalidated and the job is
    marked failed with the database's reason, nothing of the import saved."""
    from sqlalchemy.orm import Session

    officer = Caller(app, "drafter", make_token("drafter"))
    with app.app_context():
        driver_error = db.engine.dialect.loaded_dbapi.OperationalError
    real_rollback = Session.rollback
    failed = []

    def rollback(session):
        if not failed:
            failed.append(True)
            raise driver_error(LOST)
        return real_rollback(session)

    numbers = counts(app)
    monkeypatch.setattr(Session, "rollback", rollback)
    made, _progress = upload_failing(officer, september, monkeypatch, "service_records", 10)
    assert failed
    monkeypatch.undo()
    job_failed_for_the_database(app, job_of(app, made["id"]))
    assert counts(app) == {**numbers, "audit_events": numbers["audit_events"] + 1}
    assert retry_imports_whole(app, officer, made)["accepted"] > 10
