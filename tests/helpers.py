"""Helpers shared by the tests of several areas (fixtures stay in the conftest files)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask

from procurement.core.audit import Actor, set_actor
from procurement.core.db import db

T = TypeVar("T")


def in_app(app: Flask, work: Callable[[], T]) -> T:
    """Run ``work()`` in a fresh application context as the test system actor (no region
    scope), commit, and return its result (plain values: the session is removed)."""
    with app.app_context():
        set_actor(Actor(None, "test-setup", "system"))
        result = work()
        db.session.commit()
        db.session.remove()
    return result


def migration_app(tmp_path) -> Flask:
    """An application on an empty database for a migration test: a SQLite file in
    ``tmp_path``, or the empty database ``MIGRATION_TEST_URL`` names (PostgreSQL)."""
    import os

    from procurement import create_app
    from tests.conftest import BASE_CONFIG

    url = os.environ.get("MIGRATION_TEST_URL") or f"sqlite:///{tmp_path / 'm.sqlite3'}"
    return create_app(
        {**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(tmp_path)}
    )
