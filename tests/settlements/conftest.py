"""Yangcheng with signed contracts (service from 1 July 2026) and the demo roster."""

from datetime import date, datetime

import pytest
from sqlalchemy import select

from procurement.accounts.models import User
from procurement.core import clock
from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.demo.care import load_demo_recipients, load_demo_records, sign_demo_contracts
from procurement.demo.cli import load_demo_plan, load_demo_users
from procurement.demo.providers import load_demo_awards, load_demo_providers
from procurement.plans.catalogue import load_yangcheng_catalogue
from procurement.plans.models import PurchasePlan
from procurement.policies.presets import load_presets
from tests.conftest import SNAPSHOTS


def at(year, month, day):
    clock.pin(datetime(year, month, day, 2, 0, tzinfo=clock.CHINA).astimezone(clock.UTC))


def build_care(recipients: int = 120) -> dict:
    """The demo plan awarded and signed, a roster, and the clock on 5 September 2026
    (built once per session, then copied: see tests.conftest.Snapshots)."""
    SNAPSHOTS.restore_or_build(f"care-{recipients}", lambda: _build_care(recipients))
    set_actor(Actor(None, "test-setup", "system"))
    at(2026, 9, 5)
    return _people()


def _people() -> dict:
    officer = db.session.scalar(select(User).where(User.username == "yc_officer"))
    finance = db.session.scalar(select(User).where(User.username == "yc_finance"))
    plan = db.session.scalar(select(PurchasePlan))
    return {"officer": officer, "finance": finance, "plan": plan}


def _build_care(recipients: int) -> None:
    set_actor(Actor(None, "test-setup", "system"))
    at(2026, 6, 20)
    load_presets()
    load_yangcheng_catalogue()
    load_demo_users()
    load_demo_plan()
    officer = db.session.scalar(select(User).where(User.username == "yc_officer"))
    plan = db.session.scalar(select(PurchasePlan))
    load_demo_providers(officer, plan)
    load_demo_awards(officer, plan)
    at(2026, 6, 26)
    sign_demo_contracts(officer, plan, date(2026, 6, 25))
    load_demo_recipients(officer, count=recipients)
    at(2026, 9, 5)
    db.session.flush()


@pytest.fixture
def care(ctx):
    yield build_care()
    clock.pin(None)


@pytest.fixture
def care_site(app):
    """The same with the two demo months imported, committed, for page tests (no context
    is left open, so each request has its own ``g``)."""
    with app.app_context():

        def build():
            world = build_care()
            load_demo_records(world["officer"], world["plan"])

        SNAPSHOTS.restore_or_build("care-site", build)
        at(2026, 9, 5)
        world = _people()
        db.session.commit()
        ids = {"plan": world["plan"].id}
        db.session.remove()
    yield ids
    clock.pin(None)
