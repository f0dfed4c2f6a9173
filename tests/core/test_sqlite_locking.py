"""SQLite serves readers while another transaction writes (write-ahead log), and a write
that waited too long for the lock is answered as a clash (409), not as a database that
is down (503)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

from procurement import create_app
from procurement.core.db import db
from procurement.core.errors import is_write_clash
from tests.conftest import BASE_CONFIG

pytestmark = pytest.mark.real_commits

NEW_USER = {
    "username": "newcomer",
    "display_name": "新同事",
    "role": "officer",
    "region_code": "140522",
    "password": "Test-pass-2026",
}


@pytest.fixture
def sqlite_app(app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        pytest.skip("SQLite's own locking")
    quick = create_app(
        {
            **BASE_CONFIG,
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": app.instance_path,
            "SQLITE_BUSY_TIMEOUT_MS": 50,
        }
    )
    yield quick
    with quick.app_context():
        db.engine.dispose()


def _database_file(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")


def test_the_database_file_is_in_write_ahead_log_mode(sqlite_app):
    with sqlite_app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 50


def test_a_write_that_cannot_get_the_lock_is_a_clash_and_readers_go_on(
    sqlite_app, make_user, make_token
):
    make_user("admin", role="admin", region_code="140522")
    token = make_token("admin")
    headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
    http = sqlite_app.test_client()
    assert http.get("/api/v1/users", headers=headers).status_code == 200

    writer = sqlite3.connect(_database_file(sqlite_app), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a long import holds the write lock
    try:
        read = http.get("/api/v1/users", headers=headers)
        assert read.status_code == 200, "a reader waits for no writer"
        clash = http.post("/api/v1/users", json=NEW_USER, headers=headers)
        assert clash.status_code == 409, clash.get_data(as_text=True)
        assert clash.json["error"]["code"] == "conflict"
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    assert http.post("/api/v1/users", json=NEW_USER, headers=headers).status_code == 201


def test_a_database_that_is_gone_is_still_unavailable_not_a_clash():
    assert is_write_clash(sqlite3.OperationalError("database is locked"))
    assert not is_write_clash(sqlite3.OperationalError("unable to open database file"))
