"""The same records pushed twice at once through the API (small pushes are imported within
the request): one import takes them in, the other is told they are being imported (409)
or, once the first is done, that they were imported before; never a 500, never counted
twice (issue 16)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from procurement.core.db import db
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


@pytest.mark.real_commits  # two requests at once, each on its own connection
def test_one_push_twice_at_once_is_one_import(app, make_token, september):  # noqa: F811
    """The first push has written its records and not yet committed when the second
    comes: the second waits or is refused, and the records are in once."""
    token = make_token("yc_officer")
    rows = _pushed(september)[:40]
    records, imports = _counts(app)
    first_thread: list[threading.Thread] = []
    written, release = threading.Event(), threading.Event()

    def hold(session):  # the first push, its records written, stops before its commit
        if first_thread and threading.current_thread() is first_thread[0]:
            seen = session.scalar(select(func.count()).select_from(ServiceRecord))
            if seen > records and not written.is_set():
                written.set()
                release.wait(30)

    event.listen(Session, "before_commit", hold)
    answers: dict = {}
    try:
        first = threading.Thread(target=lambda: answers.update(first=_push(app, token, rows)))
        first_thread.append(first)
        first.start()
        assert written.wait(30)
        second = threading.Thread(target=lambda: answers.update(second=_push(app, token, rows)))
        second.start()
        time.sleep(0.5)  # the second is under way, waiting for the first or refused
        release.set()
        first.join(60)
        second.join(60)
    finally:
        release.set()
        event.remove(Session, "before_commit", hold)
    one, other = answers["first"], answers["second"]
    assert one.status_code == 201 and one.json["accepted"] == 40, one.json
    if other.status_code == 201:  # it waited for the first: all imported before
        assert (other.json["accepted"], other.json["already_imported"]) == (0, 40)
        assert _counts(app) == (records + 40, imports + 2)
    else:
        assert other.status_code == 409, other.json
        assert "正在导入" in other.json["error"]["message"], other.json
        assert _counts(app) == (records + 40, imports + 1)


@pytest.mark.real_commits
def test_a_push_that_would_wait_too_long_is_told_to_try_again(app, make_token, september):  # noqa: F811
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
    first_thread: list[threading.Thread] = []
    written, release = threading.Event(), threading.Event()

    def hold(session):
        if first_thread and threading.current_thread() is first_thread[0]:
            seen = session.scalar(select(func.count()).select_from(ServiceRecord))
            if seen > records and not written.is_set():
                written.set()
                release.wait(30)

    event.listen(Session, "before_commit", hold)
    answers: dict = {}
    try:
        first = threading.Thread(target=lambda: answers.update(first=_push(app, token, rows[:40])))
        first_thread.append(first)
        first.start()
        assert written.wait(30)
        refused = _push(app, other_token, rows[40:80])  # other records of the same county
    finally:
        release.set()
        first_thread[0].join(60)
        event.remove(Session, "before_commit", hold)
    assert answers["first"].status_code == 201, answers["first"].json
    assert refused.status_code == 409, refused.json
    assert refused.json["error"]["code"] == "import_under_way"
    assert "本县的服务记录正在导入" in refused.json["error"]["message"]
    assert _counts(app) == (records + 40, imports + 1)
