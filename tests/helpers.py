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
