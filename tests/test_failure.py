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
from procurement.settlements import importer
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
    real = importer._raw_insert
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

    monkeypatch.setattr(importer, "_raw_insert", insert)
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


def test_a_record_import_that_fails_midway_through_the_page_leaves_nothing(
    app, make_token, september, monkeypatch
):
    officer = Caller(app, "drafter", make_token("drafter"))
    before, files, numbers = fingerprint(app), instance_files(app), counts(app)
    progress = fail_raw_insert_midway(monkeypatch, "service_records", after=50)

    def upload():
        form = {
            "file": FileStorage(io.BytesIO(september), "2026-09.csv"),
            "csrf_token": officer.csrf,
        }
        return officer.client.http.post("/settlements/imports/new", **multipart(form))

    response = upload()
    assert progress["written"] == 50 and progress["failed"]  # failed midway, not before
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert unavailable_message(app) in response.get_data(as_text=True)
    assert response.headers["Retry-After"]
    assert counts(app) == numbers
    assert changed_since(app, before) == set()
    assert instance_files(app) == files

    monkeypatch.undo()  # the database answers again: the same file is imported whole
    retried = upload()
    assert retried.status_code == 302, retried.get_data(as_text=True)[:300]
    after = counts(app)
    assert after["service_records"] - numbers["service_records"] > 50
    assert after["record_imports"] == numbers["record_imports"] + 1


def test_a_record_import_that_fails_midway_through_the_api_leaves_nothing(
    app, make_token, september, monkeypatch
):
    officer = Caller(app, "drafter", make_token("drafter"))
    headers = {"Authorization": f"Bearer {officer.token}", "Content-Type": "text/csv"}
    url = "/api/v1/service-records/file?filename=2026-09.csv"
    before, numbers = fingerprint(app), counts(app)
    progress = fail_raw_insert_midway(monkeypatch, "service_records", after=10)

    response = officer.http.post(url, data=september, headers=headers)
    assert progress["failed"] and progress["written"] == 10
    assert response.status_code == 503
    error = response.json["error"]
    assert error["code"] == "database_unavailable"
    assert error["message"] == unavailable_message(app)
    assert counts(app) == numbers
    changed = changed_since(app, before)
    assert changed <= {"api_tokens"}  # the token's last use, noted after the answer

    monkeypatch.undo()
    retried = officer.http.post(url, data=september, headers=headers)
    assert retried.status_code == 201, retried.json
    assert retried.json["accepted"] > 10


def test_a_record_import_that_fails_while_checking_stored_ids_leaves_nothing(
    app, make_token, september, monkeypatch
):
    """The keys checked against the stored records go into a temporary table through the
    same raw insert: a failure there leaves nothing, nor the table (the retry makes it)."""
    officer = Caller(app, "drafter", make_token("drafter"))
    headers = {"Authorization": f"Bearer {officer.token}", "Content-Type": "text/csv"}
    url = "/api/v1/service-records/file?filename=2026-09.csv"
    numbers = counts(app)
    progress = fail_raw_insert_midway(monkeypatch, importer.FILE_KEYS.name, after=10)

    response = officer.http.post(url, data=september, headers=headers)
    assert progress["failed"] and progress["written"] == 10
    assert response.status_code == 503
    assert counts(app) == numbers

    monkeypatch.undo()
    retried = officer.http.post(url, data=september, headers=headers)
    assert retried.status_code == 201, retried.json
    assert retried.json["accepted"] > 10


def test_rejections_that_fail_midway_leave_no_batch_either(app, make_token, september, monkeypatch):
    """The rejected rows are written through the same raw insert, after the records: the
    records already written go with them."""
    officer = Caller(app, "drafter", make_token("drafter"))
    headers = {"Authorization": f"Bearer {officer.token}", "Content-Type": "text/csv"}
    last = september.rstrip(b"\r\n").rsplit(b"\n", 1)[1].split(b",")
    bad = [b"BAD-1", b"123", *last[2:]]  # a record with a broken ID number
    data = september + b",".join(bad) + b"\r\n"
    numbers = counts(app)
    progress = fail_raw_insert_midway(monkeypatch, "import_rejections", after=0)
    response = officer.http.post(
        "/api/v1/service-records/file?filename=2026-09.csv", data=data, headers=headers
    )
    # the records went in just before (after the keys checked against stored records)
    assert progress["before"][-1:] == ["service_records"] and progress["failed"]
    assert response.status_code == 503
    assert counts(app) == numbers


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
    assert response.status_code == 503
    assert unavailable_message(app) in response.get_data(as_text=True)
    assert in_app(app, recipients) == 0
    assert changed_since(app, before) == set()
    assert instance_files(app) == files  # the checked file still waits for confirmation

    monkeypatch.undo()
    done = county.client.http.post("/recipients/import/confirm", data=confirm)
    assert done.status_code == 302
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
    assert response.status_code == 503
    assert unavailable_message(app) in response.get_data(as_text=True)
    assert in_app(app, providers) == 0
    assert changed_since(app, before) == set()

    monkeypatch.undo()
    assert county.client.http.post("/providers/import/confirm", data=confirm).status_code == 302
    assert in_app(app, providers) == 4


# ------------------------------------------------------- the connection itself is lost


@pytest.mark.real_commits  # the connection is killed: it cannot be a shared rolled-back one
def test_a_connection_killed_during_the_record_write_answers_503(
    app, make_token, september, monkeypatch
):
    """PostgreSQL: the session's backend is terminated (pg_terminate_backend) while the
    records are being copied in. The rollback itself then fails on the dead connection;
    the answer is still the documented 503, and the next request works on a new one."""
    officer = Caller(app, "drafter", make_token("drafter"))
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("terminating a backend needs PostgreSQL")
        url = db.engine.url
    killer = sa.create_engine(url, poolclass=sa.pool.NullPool)
    real = importer._raw_insert
    killed = []

    def insert(name, columns, values):
        if name == "service_records" and not killed:
            pid = db.session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with killer.begin() as other:
                other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killed.append(pid)
        return real(name, columns, values)

    monkeypatch.setattr(importer, "_raw_insert", insert)
    headers = {"Authorization": f"Bearer {officer.token}", "Content-Type": "text/csv"}
    url_ = "/api/v1/service-records/file?filename=2026-09.csv"
    numbers = counts(app)
    response = officer.http.post(url_, data=september, headers=headers)
    killer.dispose()
    assert killed
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.json["error"]["code"] == "database_unavailable"
    assert counts(app) == numbers

    monkeypatch.undo()
    retried = officer.http.post(url_, data=september, headers=headers)
    assert retried.status_code == 201, retried.json


@pytest.mark.real_commits  # the connection is killed: it cannot be a shared rolled-back one
def test_a_rollback_that_fails_on_a_lost_connection_still_answers_503(
    app, make_token, september, monkeypatch
):
    """Any database: the write fails as a lost connection would, and so does the rollback
    after it (the connection is gone); the session is invalidated, the answer is 503."""
    from sqlalchemy.orm import Session

    officer = Caller(app, "drafter", make_token("drafter"))
    fail_raw_insert_midway(monkeypatch, "service_records", after=10)
    with app.app_context():
        driver_error = db.engine.dialect.loaded_dbapi.OperationalError
    real_rollback = Session.rollback
    failed = []

    def rollback(session):
        if not failed:
            failed.append(True)
            raise driver_error(LOST)
        return real_rollback(session)

    monkeypatch.setattr(Session, "rollback", rollback)
    headers = {"Authorization": f"Bearer {officer.token}", "Content-Type": "text/csv"}
    url = "/api/v1/service-records/file?filename=2026-09.csv"
    numbers = counts(app)
    response = officer.http.post(url, data=september, headers=headers)
    assert failed
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.json["error"]["code"] == "database_unavailable"
    monkeypatch.undo()
    assert counts(app) == numbers
    retried = officer.http.post(url, data=september, headers=headers)
    assert retried.status_code == 201, retried.json
