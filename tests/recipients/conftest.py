"""A Yangcheng officer on 15 December 2026, and factories for recipients and contracts."""

from datetime import date, datetime

import pytest
from sqlalchemy import select

from procurement.core import clock
from procurement.core.identifiers import id_check_character
from procurement.recipients import services

TODAY = date(2026, 12, 15)
FACTS_ID = "140522194506150028"  # facts.md: female, born 1945-06-15, Yangcheng
FENGCHENG, BEILIU, MANGHE = "140522100", "140522101", "140522108"


def pin(day: date) -> None:
    """Make ``day`` today (at 10:00 in China)."""
    clock.pin(datetime(day.year, day.month, day.day, 10, tzinfo=clock.CHINA))


@pytest.fixture(autouse=True)
def december():
    pin(TODAY)
    yield
    clock.pin(None)


def id_number(birth: date, sequence: int = 1, county: str = "140522") -> str:
    """A valid ID number for a birth date (the 17th digit odd for men, even for women)."""
    first17 = f"{county}{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_check_character(first17)


def recipient_input(**overrides) -> services.RecipientInput:
    values = {
        "id_number": id_number(date(1950, 3, 1)),
        "name": "王秀英",
        "township_code": FENGCHENG,
        "village": "东关村",
        "address": "凤城镇东关村12号",
        "phone": "0356-4221234",
        "category": "extreme_poverty",
    }
    values.update(overrides)
    return services.RecipientInput(**values)


@pytest.fixture
def officer(officer):
    """The shared officer fixture, with messages in English: the Chinese translation of
    this feature's messages comes later and must not break these tests."""
    from flask_babel import force_locale

    with force_locale("en"):
        yield officer


@pytest.fixture
def make_recipient(officer):
    """Register a Yangcheng recipient: make_recipient(name=..., id_number=...)."""

    def make(**overrides):
        return services.register_recipient(region_code="140522", data=recipient_input(**overrides))

    return make


@pytest.fixture
def admitted(make_recipient, officer):
    """Admit a person through the three steps: approval on ``approved_on``."""

    def admit(recipient, applied_on=date(2026, 9, 28), approved_on=date(2026, 10, 20)):
        application = services.create_application(recipient, applied_on=applied_on)
        services.record_village_check(application, on=applied_on, passed=True)
        services.record_township_review(application, on=applied_on, passed=True)
        services.decide_application(application, approve=True, on=approved_on, actor=officer)
        return recipient

    return admit


@pytest.fixture
def contracts(officer):
    """The three demo contracts of Yangcheng (July to December 2026), in force."""
    from procurement.accounts.models import User
    from procurement.contracts.models import ContractStatus
    from procurement.contracts.services import contracts_of
    from procurement.core.db import db
    from procurement.demo.cli import load_demo_plan, load_demo_users
    from procurement.demo.providers import load_demo_awards, load_demo_providers
    from procurement.plans.models import PurchasePlan

    pin(date(2026, 6, 20))  # the demo's bid season
    load_demo_users()
    load_demo_plan()
    demo_officer = db.session.scalar(select(User).where(User.username == "yc_officer"))
    plan = db.session.scalar(select(PurchasePlan))
    load_demo_providers(demo_officer, plan)
    load_demo_awards(demo_officer, plan)
    found = contracts_of(plan)
    for contract in found:
        contract.status = ContractStatus.IN_FORCE
    db.session.flush()
    pin(TODAY)
    return found


QINSHUI_TOWNSHIP = "140521100"


def add_qinshui_township() -> str:
    """A township of 沁水县 (the shipped divisions list only Yangcheng's townships)."""
    from procurement.core.db import db
    from procurement.regions.models import Region, RegionLevel

    db.session.add(
        Region(
            code=QINSHUI_TOWNSHIP, name="龙港镇", level=RegionLevel.TOWNSHIP, parent_code="140521"
        )
    )
    db.session.flush()
    return QINSHUI_TOWNSHIP


@pytest.fixture
def qinshui(officer):
    return add_qinshui_township()


@pytest.fixture
def seeded(app, yangcheng, make_user):
    """Users of every role in Yangcheng, an officer of 沁水县, an administrator of the
    province, and two recipients: 李桂兰
    (registered) and 王秀英 (in service since December 2026)."""
    from procurement.core.audit import Actor, set_actor
    from procurement.core.db import db

    for role in ("admin", "officer", "finance", "evaluator", "auditor"):
        make_user(f"yc-{role}", role=role)
    make_user("qs-officer", role="officer", region_code="140521")
    make_user("sx-admin", role="admin", region_code="140000")  # 山西省: keeps the holiday table
    with app.app_context():
        set_actor(Actor(None, "test-setup", "system"))
        add_qinshui_township()
        registered = services.register_recipient(
            region_code="140522", data=recipient_input(id_number=FACTS_ID, name="李桂兰")
        )
        serving = services.register_recipient(
            region_code="140522",
            data=recipient_input(
                id_number=id_number(date(1950, 3, 1)),
                name="王秀英",
                township_code=MANGHE,
                service_start="2026-12",
            ),
        )
        db.session.commit()
        ids = {"registered": registered.id, "serving": serving.id}
        db.session.remove()
    return ids
