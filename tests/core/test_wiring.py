"""Features are wired by the app factory, never by importing a module for its side effects."""

import subprocess
import sys

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from procurement.awards import services as awards
from procurement.contracts.services import committed_by_zone
from procurement.core import audit, scoping
from procurement.plans import execution
from procurement.renewal.services import past_record
from procurement.settlements.services import settled_by_zone

EVENTS = ("do_orm_execute", "before_flush", "after_flush", "before_commit", "after_transaction_end")


def _listeners() -> dict[str, list]:
    session = Session()
    return {name: list(getattr(session.dispatch, name)) for name in EVENTS}


def test_importing_the_features_wires_nothing():
    """A module imported (or not) changes no other feature's figures and no session."""
    script = (
        "import procurement.contracts.services, procurement.settlements.services\n"
        "import procurement.renewal.services, procurement.core.audit\n"
        "from sqlalchemy.orm import Session\n"
        "s = Session()\n"
        f"print(sum(len(list(getattr(s.dispatch, n))) for n in {EVENTS!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "0"


def test_the_app_factory_wires_execution_past_records_and_sessions(app):
    with app.app_context():
        wired = execution.sources()
        assert wired.commitments == (committed_by_zone,)
        assert wired.settlements == (settled_by_zone,)
        assert awards._past_record_sources() == (past_record,)
    listeners = _listeners()
    # Scoping first: nothing is read or written outside the region before the rest runs.
    assert listeners["do_orm_execute"][:1] == [scoping._filter_selects]
    assert listeners["before_flush"][:2] == [scoping._guard_writes, audit._remember_stored_rows]
    assert listeners["after_flush"][:1] == [audit._write_trail]


def test_building_a_second_app_adds_no_second_listener(app):
    from procurement import create_app

    before = _listeners()
    create_app(app.config)
    assert _listeners() == before


def test_an_app_not_built_by_the_factory_refuses_rather_than_shows_nothing():
    bare = Flask("bare")
    with bare.app_context():
        with pytest.raises(RuntimeError, match="not wired"):
            execution.sources()
        with pytest.raises(RuntimeError, match="not wired"):
            awards._past_record_sources()
