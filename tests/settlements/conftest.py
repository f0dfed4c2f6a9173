"""Yangcheng with signed contracts (service from 1 July 2026) and the demo roster."""

from datetime import date, datetime

import pytest
from sqlalchemy import select

from procurement.accounts.models import User
from procurement.core import clock
from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.demo.care import load_demo_recipients, sign_demo_contracts
from procurement.demo.providers import load_demo_awards
from tests.contracts.conftest import world  # noqa: F401 - the fixture


def at(year, month, day):
    clock.pin(datetime(year, month, day, 2, 0, tzinfo=clock.CHINA).astimezone(clock.UTC))


@pytest.fixture
def care(world):  # noqa: F811 - the imported fixture
    set_actor(Actor(None, "test-setup", "system"))
    at(2026, 6, 20)
    officer, plan = world["officer"], world["plan"]
    load_demo_awards(officer, plan)
    at(2026, 6, 26)
    sign_demo_contracts(officer, plan, date(2026, 6, 25))
    load_demo_recipients(officer, count=120)
    at(2026, 9, 5)
    db.session.flush()
    yield {**world, "finance": db.session.scalar(select(User).where(User.username == "yc_finance"))}
    clock.pin(None)
