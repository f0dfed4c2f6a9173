"""Publishing: one place that makes a record public, and lists what is public.

Acceptance results, evaluation results, award notices and contracts become public only
through ``publish``; the public site, the Atom feed and the OCDS package read only what
is published here (and never personal data).
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from procurement.accounts.models import User
from procurement.awards.models import Award
from procurement.contracts.models import Contract
from procurement.core import audit
from procurement.core.clock import utcnow
from procurement.core.db import db
from procurement.core.errors import Conflict
from procurement.core.i18n import stored_language
from procurement.public.models import Publication, PublicationKind


def publication_of(kind: PublicationKind, object_id: int) -> Publication | None:
    return db.session.scalar(
        select(Publication).where(Publication.kind == kind, Publication.object_id == object_id)
    )


def is_public(kind: PublicationKind, object_id: int) -> bool:
    found = publication_of(kind, object_id)
    return found is not None and found.withdrawn_at is None


def publish(
    kind: PublicationKind,
    object_id: int,
    *,
    region_code: str,
    plan_id: int,
    provider_id: int | None,
    year: int,
    title: str,
    actor: User | None,
) -> Publication:
    """Make a record public (callers check that it may be: approved, completed...)."""
    found = publication_of(kind, object_id)
    if found is not None and found.withdrawn_at is None:
        raise Conflict(_("This is already published."), code="published")
    if found is None:
        found = Publication(kind=kind, object_id=object_id, region_code=region_code)
        db.session.add(found)
    found.plan_id, found.provider_id, found.year = plan_id, provider_id, year
    found.title = title[:200]
    found.published_at = utcnow()
    found.published_by_id = actor.id if actor else None
    found.withdrawn_at = None
    audit.label(found, "publish", note=kind.value)
    db.session.flush()
    return found


def withdraw(publication: Publication) -> Publication:
    if publication.withdrawn_at is not None:
        raise Conflict(_("This was already withdrawn."), code="withdrawn")
    publication.withdrawn_at = utcnow()
    audit.label(publication, "withdraw", note=publication.kind.value)
    db.session.flush()
    return publication


def publish_award(award: Award, *, actor: User | None) -> Publication:
    """Publish an award notice (中标、成交结果公告, 政府采购法实施条例 art. 43)."""
    return publish(
        PublicationKind.AWARD,
        award.id,
        region_code=award.region_code,
        plan_id=award.plan_id,
        provider_id=award.provider_id,
        year=award.zone.plan.year,
        title=award.notice_title,
        actor=actor,
    )


def publish_contract(contract: Contract, *, actor: User | None) -> Publication:
    """Publish a signed contract after its award notice (政府采购法实施条例 art. 50:
    contracts are published once signed, their personal data excepted)."""
    if contract.signed_on is None:
        raise Conflict(_("Only a signed contract can be published."), code="not_signed")
    if not is_public(PublicationKind.AWARD, contract.award_id):
        raise Conflict(
            _("Publish the award notice of %(zone)s first.", zone=contract.zone.name),
            code="award_not_published",
        )
    with stored_language():
        title = _(
            "Contract %(number)s: %(plan)s, %(zone)s",
            number=contract.number,
            plan=contract.plan.title,
            zone=contract.zone.name,
        )
    return publish(
        PublicationKind.CONTRACT,
        contract.id,
        region_code=contract.region_code,
        plan_id=contract.plan_id,
        provider_id=contract.provider_id,
        year=contract.plan.year,
        title=title,
        actor=actor,
    )


def withdraw_record(kind: PublicationKind, object_id: int) -> Publication:
    """Withdraw the publication of a record (its row stays; the feed says so)."""
    found = publication_of(kind, object_id)
    if found is None:
        raise Conflict(_("This was never published."), code="not_published")
    return withdraw(found)
