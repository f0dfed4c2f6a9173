"""An approved Yangcheng plan with the demo providers, checked for it (no awards yet)."""

import pytest
from sqlalchemy import select

from procurement.accounts.models import User
from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.demo.cli import load_demo_plan, load_demo_users
from procurement.demo.providers import load_demo_providers
from procurement.plans.catalogue import load_yangcheng_catalogue
from procurement.plans.models import PurchasePlan
from procurement.policies.presets import load_presets
from tests.conftest import SNAPSHOTS


def _build_world() -> None:
    load_presets()
    load_yangcheng_catalogue()
    load_demo_users()
    load_demo_plan()
    officer = db.session.scalar(select(User).where(User.username == "yc_officer"))
    plan = db.session.scalar(select(PurchasePlan))
    load_demo_providers(officer, plan)
    db.session.flush()


@pytest.fixture
def world(ctx):
    set_actor(Actor(None, "test-setup", "system"))
    SNAPSHOTS.restore_or_build("world", _build_world)
    set_actor(Actor(None, "test-setup", "system"))
    officer = db.session.scalar(select(User).where(User.username == "yc_officer"))
    plan = db.session.scalar(select(PurchasePlan))
    return {"officer": officer, "plan": plan}


@pytest.fixture(autouse=True)
def bid_season():
    """These tests live on 20 June 2026: bids closed on the 15th, service starts 1 July."""
    from datetime import datetime

    from procurement.core import clock

    clock.pin(datetime(2026, 6, 20, 2, 0, tzinfo=clock.CHINA).astimezone(clock.UTC))
    yield
    clock.pin(None)
