"""Publishing award notices and contracts: the rules, at the service level."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from procurement.awards.services import award_of
from procurement.contracts import services as contracts
from procurement.core import clock
from procurement.core.audit import AuditEvent
from procurement.core.db import db
from procurement.core.errors import Conflict
from procurement.demo.providers import _pdf, load_demo_awards
from procurement.public import services as publishing
from procurement.public.models import PublicationKind
from tests.contracts.conftest import bid_season, world  # noqa: F401 (fixtures)


@pytest.fixture
def drafts(world):  # noqa: F811 (the fixture imported above)
    load_demo_awards(world["officer"], world["plan"])
    return contracts.contracts_of(world["plan"])


def sign(contract, officer):
    contracts.sign_contract(
        contract,
        signed_on=clock.today(),
        filename="signed.pdf",
        stream=io.BytesIO(_pdf("signed")),
        actor=officer,
        signing_reason="中标公告待发布，先行签订。",
    )


def test_an_award_notice_is_published_once_with_its_notice_title(world, drafts):  # noqa: F811
    award = award_of(world["plan"].zones[0])
    publication = publishing.publish_award(award, actor=world["officer"])
    assert publication.kind is PublicationKind.AWARD
    assert publication.title == award.notice_title
    assert (publication.plan_id, publication.provider_id, publication.year) == (
        world["plan"].id,
        award.provider_id,
        2026,
    )
    assert publishing.is_public(PublicationKind.AWARD, award.id)
    with pytest.raises(Conflict) as caught:
        publishing.publish_award(award, actor=world["officer"])
    assert caught.value.code == "published"
    events = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.entity_type == "publications", AuditEvent.action == "publish"
        )
    ).all()
    assert [(e.entity_id, e.note) for e in events] == [(str(publication.id), "award")]


def test_a_contract_is_published_only_signed_and_after_its_award(world, drafts):  # noqa: F811
    contract = drafts[0]
    with pytest.raises(Conflict) as caught:
        publishing.publish_contract(contract, actor=world["officer"])
    assert caught.value.code == "not_signed"
    sign(contract, world["officer"])
    with pytest.raises(Conflict) as caught:
        publishing.publish_contract(contract, actor=world["officer"])
    assert caught.value.code == "award_not_published"
    publishing.publish_award(contract.award, actor=world["officer"])
    publication = publishing.publish_contract(contract, actor=world["officer"])
    assert contract.number in publication.title and "第一片区" in publication.title
    assert publication.provider_id == contract.provider_id


def test_withdrawal_keeps_the_row_and_a_record_can_be_published_again(world, drafts):  # noqa: F811
    award = award_of(world["plan"].zones[1])
    with pytest.raises(Conflict) as caught:
        publishing.withdraw_record(PublicationKind.AWARD, award.id)
    assert caught.value.code == "not_published"
    first = publishing.publish_award(award, actor=world["officer"])
    withdrawn = publishing.withdraw_record(PublicationKind.AWARD, award.id)
    assert withdrawn.id == first.id and withdrawn.withdrawn_at is not None
    assert not publishing.is_public(PublicationKind.AWARD, award.id)
    with pytest.raises(Conflict):
        publishing.withdraw_record(PublicationKind.AWARD, award.id)
    again = publishing.publish_award(award, actor=world["officer"])
    assert again.id == first.id and again.withdrawn_at is None
