"""The version of the data: one counter, moved on by every transaction that writes.

A page rendered from the database stays true exactly as long as nothing has been written
since; the counter says so in one indexed read. Every session transaction that inserts,
updates or deletes anything (through the ORM, an ORM-enabled bulk statement, or the raw
driver alongside an ORM change, as the service-record importer does) moves it on as it
commits, in the same transaction as its changes, so a reader never sees the new counter
without the changes behind it.

The counter is moved on at the very end of the transaction, after its last flush, just
before the commit: on PostgreSQL its row lock is then held only while committing, and the
commits of concurrent writers take their numbers in the order in which they become
visible. (A sequence or the largest audit event id would not: an id is taken when a row
is written, and a transaction that took a smaller one may commit after a reader has seen
a larger.) A savepoint's release does not move it, as the transaction goes on; a
savepoint's rollback does not forget the writes made before it.

Writes outside the session name themselves: rows the raw driver inserts on the session's
connection (``note_written``), a short transaction of its own (``move_on``).
"""

from __future__ import annotations

import re

from flask import g, has_app_context
from sqlalchemy import BigInteger, Integer, text
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.elements import TextClause

from procurement.core.cache import app_cache
from procurement.core.db import db, listen_once

WRITTEN = "procurement.written"
SINGLETON = 1
MOVE_ON = text(
    "INSERT INTO data_version (id, counter) VALUES (:id, 1) "
    "ON CONFLICT (id) DO UPDATE SET counter = data_version.counter + 1"
)
READ = text("SELECT counter FROM data_version WHERE id = :id")
READS = re.compile(r"\s*(SELECT|WITH|PRAGMA|SHOW|EXPLAIN)\b", re.IGNORECASE)


class DataVersion(db.Model):
    """One row: how many writing transactions have committed."""

    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    counter: Mapped[int] = mapped_column(BigInteger)


def data_version() -> int:
    """The counter as committed now (0 on a database nothing has been written to)."""
    return db.session.execute(READ, {"id": SINGLETON}).scalar() or 0


def recent_data_version() -> int:
    """The counter as this worker read it within the last second (at once after its own
    writes): for pages that everyone reads and that may show a change a second late."""
    return _recent().get("version", None, data_version)


def _recent():
    return app_cache("data_version", size=1, seconds=1.0)


def wrote_in_this_request() -> bool:
    """Whether this request committed a change (its page shows a moment, not a version)."""
    return has_app_context() and g.get("data_written", False)


def note_written(session: Session) -> None:
    """Count a write the session cannot see (rows the raw driver inserts on the session's
    connection) towards this transaction's move of the counter."""
    session.info[WRITTEN] = True


def move_on(connection) -> None:
    """Move the counter on in a transaction made outside the session (commit follows)."""
    connection.execute(MOVE_ON, {"id": SINGLETON})
    if has_app_context():
        _recent().clear()


def _note_flush(session: Session, flush_context) -> None:
    if session.new or session.dirty or session.deleted:  # still as before the flush
        note_written(session)


def _note_statement(state) -> None:
    statement = state.statement
    # text("UPDATE ...") is a write the ORM cannot name: any text that is not a read
    writes_text = isinstance(statement, TextClause) and not READS.match(statement.text)
    if state.is_insert or state.is_update or state.is_delete or writes_text:
        note_written(state.session)


def _move_on(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the transaction goes on
    # Everything pending is written first, so that the counter's row lock is taken last
    # and held only while committing: a writer waiting for rows another transaction
    # holds never holds the counter meanwhile (which would deadlock with that one).
    session.flush()
    if session.info.pop(WRITTEN, False):
        move_on(session.connection())
        if has_app_context():
            g.data_written = True


def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:  # the transaction itself, not a savepoint in it
        session.info.pop(WRITTEN, None)


def watch_sessions() -> None:
    """Move the data version on at every commit that wrote (the app factory calls this:
    pages cached under the version would otherwise never learn of a change)."""
    listen_once(Session, "after_flush", _note_flush)
    listen_once(Session, "do_orm_execute", _note_statement)
    listen_once(Session, "before_commit", _move_on)
    listen_once(Session, "after_transaction_end", _forget)
