"""Publications under /api/v1: what was published (and withdrawn), withdrawal, and a
plan's OCDS package. Anonymous readers use the public site's /public/... instead."""

from __future__ import annotations

from datetime import datetime

from flask import g, request
from flask_babel import gettext as _
from pydantic import Field
from sqlalchemy import select

from procurement.core.api import Page, PageQuery, Schema, api_route, paginate
from procurement.core.db import db
from procurement.core.errors import NotFound
from procurement.jobs.api import JobOut, accepted
from procurement.plans.services import get_plan
from procurement.public.models import Publication, PublicationKind
from procurement.public.ocds import public_process, published_plans, release_package
from procurement.public.services import withdraw
from procurement.public.views import public_url


class PublicationOut(Schema):
    id: int
    kind: PublicationKind
    object_id: int
    plan_id: int
    provider_id: int | None
    region_code: str
    year: int
    title: str
    published_at: datetime
    withdrawn_at: datetime | None
    url: str | None = Field(None, description="The public page (none once withdrawn)")


class PublicationQuery(PageQuery):
    kind: PublicationKind | None = None
    year: int | None = Field(None, ge=2000, le=2100)
    plan_id: int | None = None
    withdrawn: bool | None = Field(None, description="true: only withdrawn; false: only live")


def _with_url(out: PublicationOut) -> PublicationOut:
    out.url = None if out.withdrawn_at else public_url(out, external=True)
    return out


def publication_out(publication: Publication) -> PublicationOut:
    return _with_url(PublicationOut.model_validate(publication))


@api_route(
    "/publications",
    summary="Publications of the caller's region, newest first (withdrawn ones included)",
    tag="publications",
    permission="plans.view",
    query=PublicationQuery,
    response=Page[PublicationOut],
)
def list_publications(query: PublicationQuery):
    stmt = select(Publication).order_by(Publication.published_at.desc(), Publication.id.desc())
    if query.kind:
        stmt = stmt.where(Publication.kind == query.kind)
    if query.year:
        stmt = stmt.where(Publication.year == query.year)
    if query.plan_id:
        stmt = stmt.where(Publication.plan_id == query.plan_id)
    if query.withdrawn is not None:
        column = Publication.withdrawn_at
        stmt = stmt.where(column.is_not(None) if query.withdrawn else column.is_(None))
    page = paginate(stmt, query, PublicationOut)
    page["items"] = [_with_url(item) for item in page["items"]]
    return page


@api_route(
    "/publications/<int:publication_id>/withdraw",
    method="POST",
    summary="Withdraw a publication (it leaves the public site; the feed says so)",
    tag="publications",
    permission="publications.publish",
    response=PublicationOut,
)
def withdraw_publication(publication_id: int):
    publication = db.session.get(Publication, publication_id)
    if publication is None:
        raise NotFound(_("Publication %(id)s was not found.", id=publication_id))
    withdraw(publication)
    db.session.commit()
    return publication_out(publication)


@api_route(
    "/plans/<int:plan_id>/ocds",
    summary="The plan's OCDS 1.1 release package (what is published of it)",
    tag="publications",
    permission="plans.view",
    description="The same package as /public/plans/{plan_id}/ocds.json.",
)
def plan_ocds(plan_id: int):
    plan = get_plan(plan_id)
    return release_package(public_process(plan.id))


class YearQuery(Schema):
    year: int = Field(ge=2000, le=2100, examples=[2026])


@api_route(
    "/ocds/packages",
    method="POST",
    summary="Every published plan of a year as one OCDS release package (a job: 202)",
    tag="publications",
    permission="plans.view",
    query=YearQuery,
    response=JobOut,
    status=202,
)
def create_ocds_package(query: YearQuery):
    """The plans of the year in your region with something published; the job's
    ``download_url`` is the package (JSON) once done. A year with nothing published: 422."""
    published_plans(query.year)  # nothing of the year published: 422 before any job
    region_code = g.user.region_code
    params = {"year": query.year, "region_code": region_code, "base_url": request.url_root}
    key = f"ocds.package:{region_code}:{query.year}"
    return accepted("ocds.package", key, params, region_code=region_code)
