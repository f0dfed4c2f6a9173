"""The demo year on the calendar: each step of Yangcheng's 2026 purchase runs on its own
date (the clock pinned there) and only once that date has come, so a newcomer never meets
a notice published "next week" or a contract signed after its service began.

Run in December 2026, the demo shows the year in progress (July to October settled,
November's statements waiting for finance); run again from 12 January 2027 on, it plays
the rest: December, acceptance, evaluation, publication and the 2027 plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from procurement.accounts.models import User
from procurement.contracts.models import Contract, ContractStatus
from procurement.core import clock
from procurement.core.db import db
from procurement.demo.care import load_demo_recipients, load_demo_records, sign_demo_contracts
from procurement.demo.payments import pay_demo_statements
from procurement.demo.providers import CHECK_DATE, load_demo_awards, load_demo_providers
from procurement.demo.year_end import (
    SERVICE_MONTHS,
    YEAR_END,
    load_demo_year_end,
    settle_demo_statements,
)
from procurement.plans.models import PurchasePlan
from procurement.public import services as publishing
from procurement.public.models import PublicationKind

PLAN_DRAFTED = date(2026, 5, 11)
PLAN_APPROVED = date(2026, 5, 20)
PROVIDERS_CHECKED = CHECK_DATE  # 15 June, the bid deadline
AWARDED = date(2026, 6, 19)
NOTICES_PUBLISHED = date(2026, 6, 22)  # 实施条例 art. 43: within two working days
SIGNED = date(2026, 6, 26)  # before the service starts on 1 July
CONTRACTS_PUBLISHED = date(2026, 6, 29)  # 实施条例 art. 50: within two working days
ROSTER_COMPLETE = date(2026, 11, 10)  # the last demo applications came in early November
RECORDS_DAY, CONFIRM_DAY = 3, 10  # of the month after the service month


def at(day: date, hour: int = 10) -> datetime:
    """A moment of a business day, China time, as the clock stores it (UTC)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=clock.CHINA).astimezone(clock.UTC)


def after(month: date, day: int) -> date:
    """``day`` of the month following ``month``."""
    return date(month.year + month.month // 12, month.month % 12 + 1, day)


@dataclass
class Played:
    plan: bool = False
    providers: int = 0
    awarded: int = 0
    signed: int = 0
    recipients: int = 0
    records: int = 0
    months_settled: int = 0
    year_end: bool = False


def play_demo_year() -> Played:
    """Run every step of the demo year whose date has come (idempotent: a later run
    catches up with the clock)."""
    from procurement.demo.cli import demo_officer_and_plan, load_demo_plan  # cli runs this

    now = clock.utcnow()
    played = Played()

    def due(day: date) -> bool:
        return at(day) <= now

    if due(PLAN_APPROVED):
        with clock.pinned(at(PLAN_DRAFTED)):
            played.plan = load_demo_plan(approve_at=at(PLAN_APPROVED))
    officer, plan = demo_officer_and_plan()
    if plan is None or plan.approved_version is None:
        return played
    if due(PROVIDERS_CHECKED):
        with clock.pinned(at(PROVIDERS_CHECKED)):
            played.providers = load_demo_providers(officer, plan)
    if due(AWARDED):
        with clock.pinned(at(AWARDED)):
            played.awarded = load_demo_awards(officer, plan)
    if due(NOTICES_PUBLISHED):
        with clock.pinned(at(NOTICES_PUBLISHED)):
            for contract in _contracts(plan):
                if not publishing.is_public(PublicationKind.AWARD, contract.award_id):
                    publishing.publish_award(contract.award, actor=officer)
    if due(SIGNED):
        with clock.pinned(at(SIGNED)):
            played.signed = sign_demo_contracts(officer, plan, SIGNED)
    if due(CONTRACTS_PUBLISHED):
        with clock.pinned(at(CONTRACTS_PUBLISHED)):
            for contract in _contracts(plan):
                if contract.status is not ContractStatus.DRAFT and not publishing.is_public(
                    PublicationKind.CONTRACT, contract.id
                ):
                    publishing.publish_contract(contract, actor=officer)
    if not due(ROSTER_COMPLETE):
        return played
    played.recipients = load_demo_recipients(officer)
    finance = db.session.scalar(select(User).where(User.username == "yc_finance"))
    for month in SERVICE_MONTHS:
        if due(after(month, RECORDS_DAY)):
            with clock.pinned(at(after(month, RECORDS_DAY))):
                played.records += load_demo_records(officer, plan, (month,))
        if due(after(month, CONFIRM_DAY)):
            with clock.pinned(at(after(month, CONFIRM_DAY))):
                settle_demo_statements(plan, officer, finance, month)
            played.months_settled += 1
    pay_demo_statements(plan, finance)  # a week after each confirmation, never after today
    if now >= YEAR_END:
        played.year_end = load_demo_year_end(plan)
    return played


def _contracts(plan: PurchasePlan) -> list[Contract]:
    return list(
        db.session.scalars(
            select(Contract).where(Contract.plan_id == plan.id).order_by(Contract.id)
        )
    )
