"""The Yangcheng demo world with its three contracts signed and in force, on a day in
the autumn of their service term (1 July to 31 December 2026), and complaint helpers."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from flask.globals import app_ctx

from procurement.contracts import services as contracts
from procurement.core import clock
from procurement.core.db import db
from procurement.core.identifiers import id_check_character
from procurement.demo.providers import _pdf, load_demo_awards
from procurement.policies.models import RecipientCategory
from procurement.recipients.identity import sealed
from procurement.recipients.models import Recipient
from procurement.supervision import services
from tests.conftest import SNAPSHOTS
from tests.contracts.conftest import bid_season, world  # noqa: F401 (fixtures)

AUTUMN = date(2026, 10, 20)


def pin(day: date) -> None:
    clock.pin(datetime(day.year, day.month, day.day, 10, 0, tzinfo=clock.CHINA).astimezone(UTC))


@pytest.fixture
def in_force(world):  # noqa: F811 (the fixture imported above)
    """The three zone contracts, signed on 20 June and in force; then the clock moves on to
    AUTUMN (the autouse bid_season fixture releases it afterwards; built once per
    session, then copied: see tests.conftest.Snapshots)."""

    def sign_all() -> None:
        load_demo_awards(world["officer"], world["plan"])
        for contract in contracts.contracts_of(world["plan"]):
            contracts.sign_contract(
                contract,
                signed_on=clock.today(),
                filename="s.pdf",
                stream=io.BytesIO(_pdf("signed")),
                actor=world["officer"],
                signing_reason="中标公告待发布，先行签订。",
            )
            contracts.start_contract(contract)

    SNAPSHOTS.restore_or_build("in force", sign_all)
    found = contracts.contracts_of(world["plan"])
    pin(AUTUMN)
    return found


@pytest.fixture
def released(app, in_force):
    """The world committed, and its application context left while the test sends requests:
    a request reuses an active context, and with it ``g`` (the user, the scope, the CSRF
    token). Use ``in_app`` for a look at the database meanwhile."""
    db.session.commit()
    context = app_ctx._get_current_object()
    context.pop()
    yield
    context.push()


def make_recipient(name: str = "张桂兰", serial: str = "002", township: str = "140522101"):
    first17 = f"14052219420315{serial}"
    recipient = Recipient(
        region_code="140522",
        **sealed(first17 + id_check_character(first17)),
        name=name,
        sex="female",
        birth_date=date(1942, 3, 15),
        township_code=township,
        category=RecipientCategory.MINIMUM_LIVING,
    )
    db.session.add(recipient)
    db.session.flush()
    return recipient


def complain(contract, received_on, *, officer=None, summary="服务人员未按约定时间上门", **extra):
    """Record a complaint about the contract's provider."""
    return services.record_complaint(
        services.ComplaintInput(
            provider_id=contract.provider_id,
            contract_id=contract.id,
            received_on=received_on,
            channel=extra.pop("channel", "phone"),
            summary=summary,
            **extra,
        ),
        actor=officer,
    )


def verified(contract, received_on, *, attributable=True, status="verified", officer=None):
    """A complaint received on a date and verified a day later (or on the same day)."""
    complaint = complain(contract, received_on, officer=officer)
    services.verify_complaint(
        complaint,
        status=status,
        verified_on=received_on,
        findings="经回访核实",
        attributable=attributable if status == "verified" else None,
    )
    return complaint
