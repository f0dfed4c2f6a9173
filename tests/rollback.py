"""PostgreSQL tests rolled back: one connection per test, shared by every engine the test
creates, in one transaction that is never committed (see tests/conftest.py)."""

from __future__ import annotations

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import Engine


class SharedConnection(psycopg.Connection):
    """A PostgreSQL connection that every engine of one test uses, in one transaction
    that is never committed (see ``_savepoints``): closing, committing and rolling back
    through the driver do nothing; ``end`` rolls everything back and closes."""

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        pass

    def end(self) -> None:
        super().rollback()
        super().close()


def _savepoints() -> None:
    """On a shared connection, each SQLAlchemy transaction is a savepoint: its commit
    releases it, its rollback rolls back to it."""

    def shared(connection) -> SharedConnection | None:
        if connection.invalidated:  # a lost connection (tests of failure): nothing to undo
            return None
        driver = connection.connection.dbapi_connection
        return driver if isinstance(driver, SharedConnection) else None

    @event.listens_for(Engine, "begin")
    def _begin(connection):
        if found := shared(connection):
            found.execute(f"SAVEPOINT test_{id(connection)}")

    @event.listens_for(Engine, "commit")
    def _commit(connection):
        if found := shared(connection):
            found.execute(f"RELEASE SAVEPOINT test_{id(connection)}")

    @event.listens_for(Engine, "rollback")
    def _rollback(connection):
        if found := shared(connection):
            name = f"test_{id(connection)}"
            found.execute(f"ROLLBACK TO SAVEPOINT {name}")
            found.execute(f"RELEASE SAVEPOINT {name}")


_savepoints()
