"""Signing out of order (after the service started, before the award notice was
published) needs a stated reason, kept on the contract, its audit row and its pages."""

import io
from datetime import date, datetime

import pytest
from sqlalchemy import select

from procurement.accounts.models import User
from procurement.contracts import services
from procurement.core import clock
from procurement.core.audit import Actor, AuditEvent, set_actor
from procurement.core.db import db
from procurement.core.errors import ValidationError
from procurement.demo.providers import _pdf, load_demo_awards
from procurement.plans.models import PurchasePlan
from procurement.public import services as publishing
from tests.conftest import SNAPSHOTS
from tests.contracts.conftest import _build_world


def at(year, month, day):
    clock.pin(datetime(year, month, day, 10, 0, tzinfo=clock.CHINA))


def sign(contract, signed_on, reason=None):
    return services.sign_contract(
        contract,
        signed_on=signed_on,
        filename="s.pdf",
        stream=io.BytesIO(_pdf("signed")),
        actor=None,
        signing_reason=reason,
    )


@pytest.fixture
def drafts(world):
    """Awarded on 20 June 2026; service from 1 July 2026."""
    load_demo_awards(world["officer"], world["plan"])
    return services.contracts_of(world["plan"])


def test_signing_on_the_service_start_needs_no_reason_the_day_after_does(world, drafts):
    for contract in drafts:
        publishing.publish_award(contract.award, actor=world["officer"])
    at(2026, 7, 2)
    on_time, late, _third = drafts
    sign(on_time, date(2026, 7, 1))
    assert on_time.signing_reason is None
    with pytest.raises(ValidationError) as refused:
        sign(late, date(2026, 7, 2))
    message = refused.value.fields["signing_reason"][0]
    assert "2026-07-02" in message and "晚于服务开始日期2026-07-01" in message
    assert late.signed_on is None
    reason = "原服务机构退出，经局务会研究于7月2日补签，7月1日起的服务由其先行提供。"
    sign(late, date(2026, 7, 2), reason=f"  {reason} ")
    assert late.signing_reason == reason
    db.session.flush()
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.entity_type == "contracts",
            AuditEvent.entity_id == str(late.id),
            AuditEvent.action == "sign",
        )
    )
    assert event.after["signing_reason"] == reason and event.note == reason
    assert services.context(late, 1)["contract"]["signing_reason"] == reason


def test_signing_before_the_award_notice_needs_a_reason_on_its_day_does_not(world, drafts):
    first, second, third = drafts
    with pytest.raises(ValidationError) as refused:  # never published
        sign(first, date(2026, 6, 20))
    assert "中标公告尚未发布" in refused.value.fields["signing_reason"][0]
    at(2026, 6, 22)
    for contract in drafts:
        publishing.publish_award(contract.award, actor=world["officer"])
    with pytest.raises(ValidationError) as refused:
        sign(second, date(2026, 6, 21))
    assert "早于中标公告发布日期2026-06-22" in refused.value.fields["signing_reason"][0]
    sign(second, date(2026, 6, 21), reason="中标公告发布前已按采购文件约定签订。")
    sign(first, date(2026, 6, 22))
    assert first.signing_reason is None
    with pytest.raises(ValidationError) as refused:
        sign(third, date(2026, 6, 22), reason="x" * 2001)
    assert "signing_reason" in refused.value.fields


def test_the_contract_page_asks_for_the_reason_and_shows_it(client, app, make_user):
    with app.app_context():  # closed before the requests, so each has its own ``g``
        set_actor(Actor(None, "test-setup", "system"))
        SNAPSHOTS.restore_or_build("world", _build_world)
        set_actor(Actor(None, "test-setup", "system"))
        officer = db.session.scalar(select(User).where(User.username == "yc_officer"))
        plan = db.session.scalar(select(PurchasePlan))
        load_demo_awards(officer, plan)
        contract_id = services.contracts_of(plan)[0].id
        db.session.commit()
    make_user("signer")
    client.login("signer")
    page = f"/contracts/{contract_id}"
    scan = (io.BytesIO(_pdf("signed")), "s.pdf")
    refused = client.post(
        f"{page}/sign",
        {"signed_on": "2026-06-20", "scan": scan},
        page=page,
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422, refused.get_data(as_text=True)[:3000]
    assert "中标公告尚未发布" in refused.get_data(as_text=True)
    reason = "中标公告因网站维护延迟发布，经局务会同意先行签订。"
    signed = client.post(
        f"{page}/sign",
        {
            "signed_on": "2026-06-20",
            "scan": (io.BytesIO(_pdf("signed")), "s.pdf"),
            "signing_reason": reason,
        },
        page=page,
        content_type="multipart/form-data",
    )
    assert signed.status_code == 302, signed.get_data(as_text=True)[:2000]
    shown = client.get(page).get_data(as_text=True)
    assert reason in shown and "签订日期说明" in shown
