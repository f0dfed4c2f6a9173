"""The same records pushed twice at once through the API (small pushes are imported within
the request): one import takes them in, the other waits for it and finds them imported
before, or, when it would wait too long, is told that the county's records are being
imported (409); never a 500, never counted twice (issue 16)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from procurement.core.db import db
from procurement.settlements import services
from procurement.settlements.models import RecordImport, ServiceRecord
from tests.settlements.test_import_jobs import _pushed, september  # noqa: F401 (fixture)


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(ServiceRecord)),
            db.session.scalar(select(func.count()).select_from(RecordImport)),
        )


def _push(app, token, rows):
    return app.test_client().post(
        "/api/v1/service-records",
        json={"records": rows},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )


class Held:
    """Pushes in threads; the first one, its records written, stops before its commit
    until ``release``; ``locking`` is set when a later push asks for the import lock."""

    def __init__(self, app, records: int) -> None:
        self.app, self.records = app, records
        self.first: threading.Thread | None = None
        self.written, self.release, self.locking = (threading.Event() for _ in range(3))
        self.answers: dict = {}

    def hold(self, session) -> None:
        if threading.current_thread() is self.first and not self.written.is_set():
            seen = session.scalar(select(func.count()).select_from(ServiceRecord))
            if seen > self.records:
                self.written.set()
                self.release.wait(30)

    def push(self, name: str, token, rows) -> threading.Thread:
        thread = threading.Thread(
            target=lambda: self.answers.update({name: _push(self.app, token, rows)})
        )
        self.first = self.first or thread
        thread.start()
        return thread

    def waiting(self) -> bool:
        """Whether a push waits for the import lock (on SQLite: has asked for it)."""
        with self.app.app_context():
            if db.engine.dialect.name != "postgresql":
                return self.locking.is_set()
            waits = text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
            found = db.session.scalar(waits)
            db.session.remove()
            return bool(found)


@pytest.fixture
def held(app, monkeypatch):
    held = Held(app, _counts(app)[0])
    take = services.take_import_lock

    def taking(*args, **kwargs):
        if threading.current_thread() is not held.first:
            held.locking.set()
        return take(*args, **kwargs)

    monkeypatch.setattr(services, "take_import_lock", taking)
    event.listen(Session, "before_commit", held.hold)
    yield held
    held.release.set()
    event.remove(Session, "before_commit", held.hold)


@pytest.mark.real_commits  # two requests at once, each on its own connection
def test_one_push_twice_at_once_is_one_import(app, make_token, september, held):  # noqa: F811
    token = make_token("yc_officer")
    rows = _pushed(september)[:40]
    records, imports = _counts(app)
    first = held.push("first", token, rows)
    assert held.written.wait(30)
    second = held.push("second", token, rows)
    deadline = time.monotonic() + 10
    while not held.waiting() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert held.waiting(), "the second push did not wait for the first"
    time.sleep(0.1)  # on SQLite the wait itself is the driver's: give it a moment
    held.release.set()
    first.join(60)
    second.join(60)
    one, other = held.answers["first"], held.answers["second"]
    assert one.status_code == 201 and one.json["accepted"] == 40, one.json
    assert other.status_code == 201, other.json
    assert (other.json["accepted"], other.json["already_imported"]) == (0, 40)
    assert _counts(app) == (records + 40, imports + 2)


@pytest.mark.real_commits
def test_a_push_that_would_wait_too_long_is_told_to_try_again(
    app,
    make_token,
    september,  # noqa: F811 (the fixture imported above)
    held,
):
    """The county's import under way outlasts the wait a request allows: the push is
    refused with 409 naming the import under way, and writes nothing."""
    token, other_token = make_token("yc_officer"), make_token("yc_officer")
    rows = _pushed(september)
    records, imports = _counts(app)
    app.config["SQLITE_BUSY_TIMEOUT_MS"] = 300
    with app.app_context():  # SQLite's wait is the connection's
        if db.engine.dialect.name == "sqlite":
            event.listen(
                db.engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA busy_timeout = 300")
            )
            db.engine.dispose()
    first = held.push("first", token, rows[:40])
    assert held.written.wait(30)
    refused = _push(app, other_token, rows[40:80])  # other records of the same county
    held.release.set()
    first.join(60)
    assert held.answers["first"].status_code == 201, held.answers["first"].json
    assert refused.status_code == 409, refused.json
    assert refused.json["error"]["code"] == "import_under_way"
    assert "本县的服务记录正在导入" in refused.json["error"]["message"]
    assert _counts(app) == (records + 40, imports + 1)


@pytest.mark.real_commits  # a second connection holds the county's import lock
def test_a_province_import_waits_for_its_counties_and_two_counties_do_not(app):
    """On PostgreSQL the import lock is the region's own, shared on the regions above it:
    a province's import meets a county's under way, another county's does not."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite's one write lock serialises every import already")
        app.config["SQLITE_BUSY_TIMEOUT_MS"] = 200
        county = db.engine.connect()
        under_way = county.begin()
        try:
            for code, shared in (("140000", True), ("140500", True), ("140522", False)):
                lock = func.pg_advisory_xact_lock_shared if shared else func.pg_advisory_xact_lock
                county.execute(select(lock(services.IMPORT_LOCKS, int(code))))
            with pytest.raises(services.ImportUnderWay):
                services.take_import_lock("140000", in_request=True)
            with pytest.raises(services.ImportUnderWay):
                services.take_import_lock("140500", in_request=True)
            services.take_import_lock("140581", in_request=True)  # 高平市, beside it
            db.session.rollback()
        finally:
            under_way.rollback()
            county.close()
        services.take_import_lock("140000", in_request=True)  # once it is over
        db.session.rollback()
