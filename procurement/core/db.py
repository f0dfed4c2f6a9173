"""The database handle, column types and model mixins shared by every feature."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    MetaData,
    Numeric,
    String,
    event,
    func,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry
from sqlalchemy.types import TypeDecorator

from procurement.core.clock import utcnow

# Named constraints, so that migrations can drop and alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use procurement.core.clock.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Fixed2(TypeDecorator):
    """A decimal with two places (yuan, hours), exact on every backend.

    PostgreSQL stores NUMERIC(14, 2). SQLite has no exact decimal type, so there
    the amount is stored as integer fen (cents); raw SQL against SQLite must
    divide by 100. Python code always sees ``Decimal('161280.00')``.
    """

    impl = Numeric(14, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(14, 2, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        amount = Decimal(value)
        if amount != amount.quantize(Decimal("0.01")):
            raise ValueError(f"more than two decimal places: {value}")
        if dialect.name == "sqlite":
            return int(amount * 100)
        return amount

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / 100).quantize(Decimal("0.01"))
        return Decimal(value).quantize(Decimal("0.01"))


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), Decimal: Fixed2()},
    )


db = SQLAlchemy(model_class=Base)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class HasRegion:
    """A record that belongs to an administrative region (see procurement.core.scoping)."""

    region_code: Mapped[str] = mapped_column(String(12), ForeignKey("regions.code"), index=True)


def str_enum(enum_cls, length: int = 24):
    """A StrEnum column stored as its values in a VARCHAR (portable, easy to migrate)."""
    return db.Enum(
        enum_cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


def sqlite_engine_options(options: dict, busy_timeout_ms: int) -> dict:
    """The engine options with the sqlite3 driver's lock wait (its busy timeout)."""
    connect_args = {**options.get("connect_args", {}), "timeout": busy_timeout_ms / 1000}
    return {**options, "connect_args": connect_args}


@contextmanager
def lock_wait(connection, milliseconds: int) -> Iterator[None]:
    """Within the block, wait at most ``milliseconds`` for another transaction's lock
    (SQLite's write lock, PostgreSQL's row and advisory locks) before failing with an
    error that ``errors.is_write_clash`` recognises; then the wait set before."""
    if connection.dialect.name == "postgresql":
        before = connection.scalar(select(func.current_setting("lock_timeout")))
        connection.execute(select(func.set_config("lock_timeout", str(milliseconds), True)))
        yield  # on failure the transaction is rolled back, and the setting with it
        connection.execute(select(func.set_config("lock_timeout", before, True)))
        return
    before = int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar())
    connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(milliseconds)}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {before}")


def begin_writing_at_once(session) -> None:
    """End ``session``'s transaction, which must not have written yet, and begin one that
    holds SQLite's write lock from its start (``BEGIN IMMEDIATE``), so that what it reads
    stays true until it commits (in WAL mode a reader that writes later fails if another
    wrote meanwhile). On PostgreSQL, a new transaction."""
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("the write lock is taken before anything is written")
    session.commit()
    session.connection(execution_options={"sqlite_immediate": True})


def listen_once(target, name: str, listener) -> None:
    """``event.listen``, once however many applications are built in one process."""
    if not event.contains(target, name, listener):
        event.listen(target, name, listener)


def use_real_sqlite_transactions(engine) -> None:
    """Make SQLite transactional like PostgreSQL, with readers that do not wait for writers.

    The sqlite3 driver opens a transaction only before data changes, so a SAVEPOINT
    issued first starts one of its own and its RELEASE commits: a "dry run" inside
    savepoints would write. SQLAlchemy's documented recipe: let SQLAlchemy emit BEGIN.

    A database file is put in write-ahead-log mode (SQLite's own answer to one writer and
    many readers: pages keep being served while an import or a contract batch writes); a
    writer waits for another's write lock as long as the driver's ``timeout`` (see
    ``sqlite_engine_options``) before giving up.
    """
    if engine.dialect.name != "sqlite":
        return
    in_memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _autocommit_driver(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None
        if not in_memory:
            dbapi_connection.execute("PRAGMA journal_mode = WAL")

    @event.listens_for(engine, "begin")
    def _begin(connection):
        # A transaction that will write whatever it reads (a job) takes the write lock at
        # once: in WAL mode a reader that writes later fails if another wrote meanwhile.
        immediate = connection.get_execution_options().get("sqlite_immediate")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
