"""Yangcheng with July's statements of two contracts (two providers) confirmed by finance
on 5 September 2026, and August's of the first; the clock on that day. Committed, so that
pages, the API and concurrent connections all see it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from procurement.accounts.models import User
from procurement.contracts.models import Contract
from procurement.core.audit import Actor, set_actor
from procurement.core.db import db
from procurement.settlements import services as settlements
from procurement.settlements.models import ServiceRecord, Settlement, Unpaid
from tests.public.conftest import in_app
from tests.settlements.conftest import at, care_site  # noqa: F401 (a fixture)

JULY, AUGUST = date(2026, 7, 1), date(2026, 8, 1)


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def finance() -> User:
    return user("yc_finance")


def as_finance() -> User:
    actor = finance()
    set_actor(Actor(actor.id, actor.username, "web", actor.region_code))
    return actor


def statement_of(contract_id: int, month: date) -> Settlement:
    return db.session.scalar(
        select(Settlement).where(Settlement.contract_id == contract_id, Settlement.month == month)
    )


def confirm(statement: Settlement) -> Settlement:
    pending = db.session.scalars(
        select(ServiceRecord.id).where(
            ServiceRecord.contract_id == statement.contract_id,
            ServiceRecord.month == statement.month,
            ServiceRecord.unpaid_reason == Unpaid.FLAG_PENDING.value,
        )
    ).all()
    if pending:
        settlements.review(
            list(pending), decision="cleared", note="核实无误", actor=user("yc_officer")
        )
    db.session.refresh(statement)
    return settlements.confirm(statement, actor=finance(), amount_seen=str(statement.amount))


@pytest.fixture
def site(app, care_site):  # noqa: F811 (the fixture imported above)
    """Ids and amounts of the confirmed statements: july[0], july[1] (two contracts of
    two providers) and august (the first contract's); the third contract's are drafts."""

    def work():
        at(2026, 9, 5)
        contracts = db.session.scalars(select(Contract).order_by(Contract.zone_id)).all()
        july = [confirm(statement_of(c.id, JULY)) for c in contracts[:2]]
        august = confirm(statement_of(contracts[0].id, AUGUST))
        draft = statement_of(contracts[2].id, JULY)
        return {
            "contracts": [c.id for c in contracts],
            "numbers": [c.number for c in contracts],
            "plan": contracts[0].plan_id,
            "july": [s.id for s in july],
            "july_amounts": [s.amount for s in july],
            "august": august.id,
            "august_amount": august.amount,
            "draft": draft.id,
        }

    return in_app(app, work)
