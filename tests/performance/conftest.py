"""Yangcheng's three signed contracts (service 1 July - 31 December 2026) with two months
of service records whose statements finance confirmed, and the people who accept and
evaluate them."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from procurement.accounts import services as accounts
from procurement.accounts.models import User
from procurement.contracts.models import Contract
from procurement.core import clock
from procurement.core.db import db
from procurement.demo.care import load_demo_records
from procurement.performance import acceptance as acceptance_rules
from procurement.settlements import services as settlements
from procurement.settlements.models import ServiceRecord, Settlement, Unpaid
from tests.conftest import PASSWORD, SNAPSHOTS
from tests.settlements.conftest import _people as build_care_people
from tests.settlements.conftest import at, build_care

STAGE = (date(2026, 7, 1), date(2026, 8, 31))
TEAM = [
    {"name": "赵振国", "role": "阳城县民政局 养老服务股股长（组长）"},
    {"name": "钱立民", "role": "阳城县财政局 社保股干部"},
    {"name": "孙晓燕", "role": "凤城镇人民政府 民政办主任"},
]


def confirm_statements(world: dict) -> list[Settlement]:
    """Refuse every flagged record after review, then finance confirms every statement."""
    flagged = db.session.scalars(
        select(ServiceRecord.id).where(ServiceRecord.unpaid_reason == Unpaid.FLAG_PENDING.value)
    ).all()
    if flagged:
        settlements.review(
            list(flagged), decision="confirmed", note="核实属实，不予结算", actor=world["officer"]
        )
    statements = db.session.scalars(select(Settlement).order_by(Settlement.id)).all()
    for statement in statements:
        settlements.confirm(statement, actor=world["finance"], amount_seen=str(statement.amount))
    return statements


def contracts(plan) -> list[Contract]:
    return list(
        db.session.scalars(
            select(Contract).where(Contract.plan_id == plan.id).order_by(Contract.number)
        )
    )


PEOPLE = {
    "approver": ("officer", "140522"),
    "drafter": ("officer", "140522"),
    "yc-finance": ("finance", "140522"),
    "yc-evaluator": ("evaluator", "140522"),
    "yc-auditor": ("auditor", "140522"),
    "qinshui": ("officer", "140521"),
}


def make_people(world: dict) -> dict:
    """A second officer (four eyes), an evaluator and an officer of 沁水县, with known
    passwords."""
    people = {}
    for username, (role, region) in PEOPLE.items():
        people[username] = accounts.create_user(
            username=username,
            display_name=f"{username}（测试）",
            role=role,
            region_code=region,
            password=PASSWORD,
        )
    db.session.flush()
    return people


def stage_input(**changes) -> acceptance_rules.AcceptanceInput:
    """A complete stage acceptance of July and August 2026."""
    values = {
        "final": False,
        "period_start": STAGE[0],
        "period_end": STAGE[1],
        "accepted_on": date(2026, 9, 3),
        "findings": [
            {
                "kind": "inspection",
                "date": date(2026, 8, 20),
                "description": "查阅服务记录与平台数据，抽查服务工单30份。",
                "result": "记录完整。",
            },
            {
                "kind": "spot_check",
                "date": date(2026, 8, 25),
                "description": "入户回访10户，服务时长与记录一致。",
                "result": "",
            },
        ],
        "recipients_invited": 20,
        "recipients_answered": 18,
        "recipients_satisfied": 17,
        "opinion_summary": "服务对象普遍认可助洁、助浴服务，个别希望增加理发服务。",
        "conclusion": "pass",
        "conclusion_text": "服务数量、质量符合合同约定，验收合格。",
        # the world delivers far under the profile's threshold in its first two months
        "explanation": "首两个月为服务对象入户评估和建档期，服务量按计划逐月增加。",
        "team": TEAM,
    }
    values.update(changes)
    return acceptance_rules.AcceptanceInput(**values)


@pytest.fixture
def world(ctx):
    """Service-level: the demo world with July and August confirmed, the clock on
    5 September 2026, and the people."""
    found = confirmed_world()
    found["people"] = {
        name: db.session.scalar(select(User).where(User.username == name)) for name in PEOPLE
    }
    found["contracts"] = contracts(found["plan"])
    yield found
    clock.pin(None)


def confirmed_world() -> dict:
    """build_care with the two months imported and confirmed, and the people (built once
    per session, then copied)."""

    def build():
        found = build_care()
        load_demo_records(found["officer"], found["plan"])
        db.session.flush()
        confirm_statements(found)
        make_people(found)

    SNAPSHOTS.restore_or_build("performance-world", build)
    at(2026, 9, 5)
    return build_care_people()


@pytest.fixture
def after_term():
    """The clock after the service period (evaluations open, final acceptances)."""
    at(2027, 1, 10)


@pytest.fixture
def site(app):
    """The same world committed, no application context left open (each request has its
    own ``g``); the ids the tests need."""
    with app.app_context():
        found = confirmed_world()
        ids = {
            "plan": found["plan"].id,
            "contracts": [c.id for c in contracts(found["plan"])],
            "provider": contracts(found["plan"])[0].provider_id,
        }
        db.session.commit()
        db.session.remove()
    yield ids
    clock.pin(None)
