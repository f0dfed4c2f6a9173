"""Publishing: one place that makes a record public, and lists what is public.

Acceptance results, evaluation results, award notices and contracts become public only
through ``publish``; the public site, the Atom feed and the OCDS package read only what
is published here (and never personal data).
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from procurement.accounts.models import User
from procurement.core import audit
from procurement.core.clock import utcnow
from procurement.core.db import db
from procurement.core.errors import Conflict
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
    db.session.flush()
    audit.label(found, "publish", note=kind.value)
    return found


def withdraw(publication: Publication) -> Publication:
    if publication.withdrawn_at is not None:
        raise Conflict(_("This was already withdrawn."), code="withdrawn")
    publication.withdrawn_at = utcnow()
    audit.label(publication, "withdraw", note=publication.kind.value)
    db.session.flush()
    return publication
