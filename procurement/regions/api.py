"""Administrative divisions under /api/v1."""

from __future__ import annotations

from sqlalchemy import select

from procurement.core.api import Schema, api_route
from procurement.core.db import db
from procurement.regions.models import Region, RegionLevel
from procurement.regions.services import get_region


class RegionOut(Schema):
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None


class RegionDetail(RegionOut):
    full_name: str
    children: list[RegionOut]


class RegionList(Schema):
    items: list[RegionOut]


class RegionQuery(Schema):
    parent_code: str | None = None
    level: RegionLevel | None = None


@api_route(
    "/regions",
    summary="List administrative divisions",
    tag="regions",
    permission="regions.view",
    query=RegionQuery,
    response=RegionList,
)
def list_regions(query: RegionQuery):
    stmt = select(Region).order_by(Region.code)
    if query.parent_code:
        stmt = stmt.where(Region.parent_code == query.parent_code)
    if query.level:
        stmt = stmt.where(Region.level == query.level)
    return {"items": [RegionOut.model_validate(r) for r in db.session.scalars(stmt)]}


@api_route(
    "/regions/<code>",
    summary="A division with its children",
    tag="regions",
    permission="regions.view",
    response=RegionDetail,
)
def get_region_detail(code: str):
    return RegionDetail.model_validate(get_region(code, field="code"))
