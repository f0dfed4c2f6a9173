"""Writing many rows at once through the database driver, in the session's transaction
(sqlite3 ``executemany``; PostgreSQL ``COPY``)."""

from __future__ import annotations

from procurement.core.db import db


def raw_insert(table: str, columns: tuple[str, ...], values) -> None:
    """Many rows through the driver, in the session's transaction (COPY on PostgreSQL)."""
    connection = db.session.connection()
    raw = connection.connection.driver_connection
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
        return
    cursor = raw.cursor()
    marks = ", ".join(["?"] * len(columns))
    statement = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - fixed names
    cursor.executemany(statement, values)


def in_chunks(columns: list, size: int = 50_000):
    """Row tuples of plain Python values, made a chunk at a time so that a million rows
    never exist as Python objects at once. A column is a Series or array, or a pair
    (Series, function making the stored form of a slice)."""
    first = columns[0][0] if isinstance(columns[0], tuple) else columns[0]
    for start in range(0, len(first), size):
        parts = []
        for column in columns:
            values, convert = column if isinstance(column, tuple) else (column, None)
            piece = (
                values.iloc[start : start + size]
                if hasattr(values, "iloc")
                else values[start : start + size]
            )
            piece = convert(piece) if convert else piece
            parts.append(piece.tolist())
        yield from zip(*parts, strict=True)


def large_cache() -> None:
    """SQLite keeps 2 MB of pages by default: far too little to keep a million-row table's
    indexes in memory while they grow. This connection gets 256 MB for the import."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA cache_size = -262144")
