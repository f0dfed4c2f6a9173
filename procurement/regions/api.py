"""Administrative divisions under /api/v1."""

from __future__ import annotations

from datetime import date

from flask import g, request
from pydantic import Field
from sqlalchemy import select

from procurement.core.api import Schema, api_route
from procurement.core.db import db
from procurement.regions import divisions, services
from procurement.regions.models import Region, RegionLevel
from procurement.regions.services import get_region

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class RegionOut(Schema):
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    retired_on: date | None = None


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


class DivisionFileQuery(Schema):
    filename: str = Field(
        "divisions.csv",
        max_length=200,
        description="The file's name, for the report; .xlsx is read as a workbook.",
    )
    check: bool = Field(False, description="Check and report only; write nothing.")


class DivisionRowOut(Schema):
    line: int
    code: str
    name: str
    level: RegionLevel | None
    parent_code: str | None
    action: str
    old_name: str | None


class DivisionReportOut(Schema):
    filename: str
    sha256: str
    written: bool
    added: int
    renamed: int
    unchanged: int
    rows: list[DivisionRowOut]


@api_route(
    "/regions/divisions",
    method="POST",
    summary="Import a division file (CSV or .xlsx) down to townships",
    tag="regions",
    permission="regions.manage",
    query=DivisionFileQuery,
    response=DivisionReportOut,
    upload=("text/csv", XLSX),
)
def import_division_file(query: DivisionFileQuery):
    """Send the file itself as the body, with ``?filename=``. Every row is checked; a file
    with any bad row writes nothing and is answered 422 (code ``division_file_refused``)
    with each bad row's field named ``rows.<row>.<field>``. ``?check=true`` only reports.
    Importing the same file again changes nothing; a changed name renames (audited)."""
    report = divisions.import_divisions(
        request.get_data(), query.filename, within=g.user.region, write=not query.check
    )
    if query.check:
        db.session.rollback()
    else:
        db.session.commit()
    return DivisionReportOut(
        filename=report.filename,
        sha256=report.sha256,
        written=report.written,
        added=report.count("add"),
        renamed=report.count("rename"),
        unchanged=report.count("unchanged"),
        rows=[DivisionRowOut.model_validate(row) for row in report.rows],
    )


class TownshipIn(Schema):
    code: str = Field(max_length=12, description="9 digits, or 12 ending in 000.")
    name: str = Field(max_length=60)


class RenameIn(Schema):
    name: str = Field(max_length=60)


class RetireIn(Schema):
    retired_on: date | None = Field(None, description="Default: today.")


@api_route(
    "/regions/<code>/townships",
    method="POST",
    summary="Add a township to a county",
    tag="regions",
    permission="regions.manage",
    body=TownshipIn,
    response=RegionOut,
    status=201,
)
def add_township(code: str, body: TownshipIn):
    county = services.managed_region(code, g.user.region)
    township = services.add_township(county, code=body.code, name=body.name)
    db.session.commit()
    return RegionOut.model_validate(township), 201


@api_route(
    "/regions/<code>",
    method="PATCH",
    summary="Rename a township",
    tag="regions",
    permission="regions.manage",
    body=RenameIn,
    response=RegionOut,
)
def rename_township(code: str, body: RenameIn):
    township = services.managed_region(code, g.user.region)
    services.rename_township(township, name=body.name)
    db.session.commit()
    return RegionOut.model_validate(township)


@api_route(
    "/regions/<code>/retire",
    method="POST",
    summary="Retire a township (it stays, for the records that name it)",
    tag="regions",
    permission="regions.manage",
    body=RetireIn,
    response=RegionOut,
)
def retire_township(code: str, body: RetireIn):
    township = services.managed_region(code, g.user.region)
    services.retire_township(township, retired_on=body.retired_on)
    db.session.commit()
    return RegionOut.model_validate(township)
