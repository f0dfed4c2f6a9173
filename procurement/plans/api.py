"""Purchase plans under /api/v1: the same services as the pages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import g, request, send_file
from flask_babel import gettext as _
from pydantic import Field

from procurement.core.api import MoneyString, Page, PageQuery, Schema, api_route, paginate
from procurement.core.db import db
from procurement.core.errors import NotFound
from procurement.core.money import amount_in_capitals
from procurement.plans import catalogue, exports, services
from procurement.plans.budget import months_in_period
from procurement.plans.execution import execution
from procurement.plans.models import (
    BudgetLine,
    Decision,
    FundingSource,
    ItemStatus,
    LineKind,
    PlanStatus,
    PurchaseMethod,
    PurchasePlan,
    ServiceItem,
)
from procurement.plans.queries import plan_list
from procurement.policies.models import EntitlementModel
from procurement.policies.services import get_profile


class ZoneIn(Schema):
    name: str = Field(max_length=60)
    township_codes: list[str]
    recipients: int


class PlanIn(Schema):
    title: str = Field(max_length=200)
    year: int
    purchase_method: PurchaseMethod
    service_start: date
    service_end: date
    quality_standard: str = ""
    zones: list[ZoneIn]
    item_codes: list[str] | None = Field(
        None, description="Catalogue codes; all items of the catalogue when omitted."
    )


class PlanCreate(PlanIn):
    region_code: str | None = Field(None, description="The county; the caller's own by default.")
    policy_profile_id: int | None = None


class PlanUpdate(PlanIn):
    lock_version: int = Field(description="The lock_version read with the plan; 409 if outdated.")


class ZoneOut(Schema):
    id: int
    name: str
    township_codes: list[str]
    townships: list[str]
    recipients: int


class LineOut(Schema):
    id: int
    kind: LineKind
    zone_id: int | None
    description: str
    funding_source: FundingSource
    computed_amount: MoneyString | None
    amount: MoneyString
    override_reason: str | None


class PlanSummary(Schema):
    id: int
    region_code: str
    year: int
    title: str
    status: PlanStatus
    version: int
    total: MoneyString


class PlanOut(PlanSummary):
    lock_version: int
    approved_version: int | None
    purchase_method: PurchaseMethod
    service_start: date
    service_end: date
    months: int
    warnings: list[str]
    quality_standard: str
    policy_profile_id: int
    item_codes: list[str]
    zones: list[ZoneOut]
    budget_lines: list[LineOut]
    total_in_capitals: str
    uncovered_township_codes: list[str]


class PlanQuery(PageQuery):
    year: int | None = None
    status: PlanStatus | None = None


class LineIn(Schema):
    kind: LineKind
    description: str = Field(max_length=200)
    funding_source: FundingSource
    amount: str = Field(description='Yuan as a string with at most two decimals: "1200.00"')
    lock_version: int | None = None


class LineUpdate(Schema):
    amount: str
    funding_source: FundingSource
    description: str | None = Field(None, max_length=200)
    kind: LineKind | None = None
    override_reason: str | None = Field(None, max_length=500)
    lock_version: int | None = None


class SubmitIn(Schema):
    note: str | None = None
    lock_version: int | None = None


class DecisionIn(Schema):
    version: int = Field(description="The version number reviewed; 409 if another is pending.")
    comment: str | None = None


class AdjustIn(Schema):
    lock_version: int | None = None


class VersionOut(Schema):
    number: int
    total: MoneyString
    note: str | None
    submitted_by: str | None
    submitted_at: datetime
    decision: Decision
    decided_by: str | None
    decided_at: datetime | None
    comment: str | None


class VersionList(Schema):
    items: list[VersionOut]


class ChangeOut(Schema):
    section: str
    item: str
    before: str | None
    after: str | None


class VersionDetail(VersionOut):
    snapshot: dict[str, Any]
    changes_from_previous: list[ChangeOut]


class ExecutionRowOut(Schema):
    zone_id: int | None
    label: str
    approved: MoneyString
    committed: MoneyString
    confirmed: MoneyString
    paid: MoneyString


class ExecutionOut(Schema):
    approved_version: int | None
    rows: list[ExecutionRowOut]


def _plan_out(plan: PurchasePlan) -> PlanOut:
    return PlanOut(
        id=plan.id,
        region_code=plan.region_code,
        year=plan.year,
        title=plan.title,
        status=plan.status,
        version=plan.version,
        total=plan.total,
        lock_version=plan.lock_version,
        approved_version=plan.approved_version.number if plan.approved_version else None,
        purchase_method=plan.purchase_method,
        service_start=plan.service_start,
        service_end=plan.service_end,
        months=months_in_period(plan.service_start, plan.service_end),
        warnings=services.period_warnings(plan.service_start, plan.service_end),
        quality_standard=plan.quality_standard,
        policy_profile_id=plan.policy_profile_id,
        item_codes=[link.service_item.code for link in plan.items],
        zones=[
            ZoneOut(
                id=z.id,
                name=z.name,
                township_codes=z.township_codes,
                townships=z.township_names,
                recipients=z.expected_recipients,
            )
            for z in plan.zones
        ],
        budget_lines=[LineOut.model_validate(line) for line in plan.budget_lines],
        total_in_capitals=amount_in_capitals(plan.total),
        uncovered_township_codes=[t.code for t in services.uncovered_townships(plan)],
    )


def _input(body: PlanIn, region_code: str) -> services.PlanInput:
    codes = body.item_codes
    if codes is None:
        codes = [item.code for item in services.catalogue(region_code, body.year)]
    return services.PlanInput(
        title=body.title,
        year=body.year,
        purchase_method=body.purchase_method.value,
        service_start=body.service_start,
        service_end=body.service_end,
        quality_standard=body.quality_standard,
        zones=[
            services.ZoneInput(z.name, list(z.township_codes), z.recipients) for z in body.zones
        ],
        item_codes=list(codes),
    )


def _version_out(version) -> dict:
    return {
        "number": version.number,
        "total": version.total,
        "note": version.note,
        "submitted_by": version.submitted_by.username if version.submitted_by else None,
        "submitted_at": version.submitted_at,
        "decision": version.decision,
        "decided_by": version.decided_by.username if version.decided_by else None,
        "decided_at": version.decided_at,
        "comment": version.comment,
    }


def _line(plan: PurchasePlan, line_id: int) -> BudgetLine:
    line = db.session.get(BudgetLine, line_id)
    if line is None or line.plan_id != plan.id:
        raise NotFound(_("Budget line %(id)s was not found.", id=line_id))
    return line


@api_route(
    "/plans",
    summary="List purchase plans",
    tag="plans",
    permission="plans.view",
    query=PlanQuery,
    response=Page[PlanSummary],
)
def list_plans(query: PlanQuery):
    return paginate(plan_list(year=query.year, status=query.status), query, PlanSummary)


@api_route(
    "/plans",
    method="POST",
    summary="Draft a purchase plan with its zones",
    tag="plans",
    permission="plans.edit",
    body=PlanCreate,
    response=PlanOut,
    status=201,
)
def create_plan(body: PlanCreate):
    region_code = body.region_code or g.user.region_code
    data = _input(body, region_code)
    data.policy_profile_id = body.policy_profile_id
    plan = services.create_plan(actor=g.user, region_code=region_code, data=data)
    db.session.commit()
    return _plan_out(plan), 201


@api_route(
    "/plans/<int:plan_id>",
    summary="Read a plan: status, version, zones, budget",
    tag="plans",
    permission="plans.view",
    response=PlanOut,
)
def get_plan(plan_id: int):
    return _plan_out(services.get_plan(plan_id))


@api_route(
    "/plans/<int:plan_id>",
    method="PATCH",
    summary="Change a draft plan (whole)",
    tag="plans",
    permission="plans.edit",
    body=PlanUpdate,
    response=PlanOut,
)
def update_plan(plan_id: int, body: PlanUpdate):
    plan = services.get_plan(plan_id)
    services.update_plan(plan, _input(body, plan.region_code), lock_version=body.lock_version)
    db.session.commit()
    return _plan_out(plan)


@api_route(
    "/plans/<int:plan_id>/budget-lines",
    method="POST",
    summary="Add a budget line",
    tag="plans",
    permission="plans.edit",
    body=LineIn,
    response=PlanOut,
    status=201,
)
def add_budget_line(plan_id: int, body: LineIn):
    plan = services.get_plan(plan_id)
    services.add_budget_line(
        plan,
        kind=body.kind.value,
        description=body.description,
        funding_source=body.funding_source.value,
        amount=body.amount,
        lock_version=body.lock_version,
    )
    db.session.commit()
    return _plan_out(plan), 201


@api_route(
    "/plans/<int:plan_id>/budget-lines/<int:line_id>",
    method="PATCH",
    summary="Change a budget line (a service line needs a reason to differ)",
    tag="plans",
    permission="plans.edit",
    body=LineUpdate,
    response=PlanOut,
)
def update_budget_line(plan_id: int, line_id: int, body: LineUpdate):
    plan = services.get_plan(plan_id)
    services.update_budget_line(
        _line(plan, line_id),
        amount=body.amount,
        funding_source=body.funding_source.value,
        description=body.description,
        kind=body.kind.value if body.kind else None,
        override_reason=body.override_reason,
        lock_version=body.lock_version,
    )
    db.session.commit()
    return _plan_out(plan)


@api_route(
    "/plans/<int:plan_id>/budget-lines/<int:line_id>",
    method="DELETE",
    summary="Remove an added budget line",
    tag="plans",
    permission="plans.edit",
    response=None,
    status=204,
)
def delete_budget_line(plan_id: int, line_id: int):
    plan = services.get_plan(plan_id)
    services.remove_budget_line(_line(plan, line_id), lock_version=None)
    db.session.commit()
    return None, 204


@api_route(
    "/plans/<int:plan_id>/submit",
    method="POST",
    summary="Submit to finance",
    tag="plans",
    permission="plans.edit",
    body=SubmitIn,
    response=PlanOut,
)
def submit_plan(plan_id: int, body: SubmitIn):
    plan = services.get_plan(plan_id)
    services.submit_plan(plan, actor=g.user, note=body.note, lock_version=body.lock_version)
    db.session.commit()
    return _plan_out(plan)


@api_route(
    "/plans/<int:plan_id>/approve",
    method="POST",
    summary="Approve the pending version",
    tag="plans",
    permission="plans.review",
    body=DecisionIn,
    response=PlanOut,
)
def approve_plan(plan_id: int, body: DecisionIn):
    plan = services.get_plan(plan_id)
    services.approve_plan(plan, actor=g.user, version_number=body.version, comment=body.comment)
    db.session.commit()
    return _plan_out(plan)


@api_route(
    "/plans/<int:plan_id>/return",
    method="POST",
    summary="Return with a comment",
    tag="plans",
    permission="plans.review",
    body=DecisionIn,
    response=PlanOut,
)
def return_plan(plan_id: int, body: DecisionIn):
    plan = services.get_plan(plan_id)
    services.return_plan(
        plan, actor=g.user, version_number=body.version, comment=body.comment or ""
    )
    db.session.commit()
    return _plan_out(plan)


@api_route(
    "/plans/<int:plan_id>/adjust",
    method="POST",
    summary="Open an adjustment",
    tag="plans",
    permission="plans.edit",
    body=AdjustIn,
    response=PlanOut,
)
def adjust_plan(plan_id: int, body: AdjustIn):
    plan = services.get_plan(plan_id)
    services.adjust_plan(plan, lock_version=body.lock_version)
    db.session.commit()
    return _plan_out(plan)


@api_route(
    "/plans/<int:plan_id>/versions",
    summary="Submitted versions and decisions",
    tag="plans",
    permission="plans.view",
    response=VersionList,
)
def list_versions(plan_id: int):
    plan = services.get_plan(plan_id)
    return {"items": [_version_out(v) for v in plan.versions]}


@api_route(
    "/plans/<int:plan_id>/versions/<int:number>",
    summary="A frozen version with its changes from the previous one",
    tag="plans",
    permission="plans.view",
    response=VersionDetail,
)
def get_version(plan_id: int, number: int):
    plan = services.get_plan(plan_id)
    version = services.get_version(plan, number)
    changes = services.changes_from_previous(plan, version)
    return {
        **_version_out(version),
        "snapshot": version.snapshot,
        "changes_from_previous": [vars(c) for c in changes],
    }


@api_route(
    "/plans/<int:plan_id>/execution",
    summary="Approved vs committed vs confirmed vs paid",
    tag="plans",
    permission="plans.view",
    response=ExecutionOut,
)
def get_execution(plan_id: int):
    plan = services.get_plan(plan_id)
    rows = execution(plan, _("Outside zones"))
    return {
        "approved_version": plan.approved_version.number if plan.approved_version else None,
        "rows": [vars(row) for row in rows],
    }


@api_route(
    "/plans/<int:plan_id>/export.xlsx",
    summary="The plan and budget as .xlsx",
    tag="plans",
    permission="plans.view",
    content_type=exports.XLSX,
)
def export_plan_xlsx(plan_id: int):
    plan = services.get_plan(plan_id)
    return send_file(
        exports.plan_workbook(plan),
        mimetype=exports.XLSX,
        as_attachment=True,
        download_name=exports.filename(plan, "xlsx"),
    )


@api_route(
    "/plans/<int:plan_id>/document.docx",
    summary="The plan document for finance",
    tag="plans",
    permission="plans.view",
    content_type=exports.DOCX,
)
def export_plan_docx(plan_id: int):
    plan = services.get_plan(plan_id)
    return send_file(
        exports.plan_document(plan),
        mimetype=exports.DOCX,
        as_attachment=True,
        download_name=exports.filename(plan, "docx"),
    )


class ServiceItemOut(Schema):
    code: str
    category: str
    name: str
    description: str


class CatalogueOut(Schema):
    region_code: str
    items: list[ServiceItemOut]


class CatalogueQuery(Schema):
    region_code: str = Field(min_length=6, max_length=12)
    year: int | None = Field(
        None, ge=2000, le=2100, description="The plan's year; default: this year's profile."
    )


@api_route(
    "/service-items",
    summary="The service catalogue in force for a county",
    tag="plans",
    permission="plans.view",
    query=CatalogueQuery,
    response=CatalogueOut,
)
def list_service_items(query: CatalogueQuery):
    items = services.catalogue(query.region_code, query.year)
    return {
        "region_code": query.region_code,
        "items": [ServiceItemOut.model_validate(item) for item in items],
    }


# ------------------------------------------------------------------ catalogue (issue 18)


class CatalogueItemOut(Schema):
    id: int
    policy_profile_id: int
    region_code: str
    year: int
    code: str
    category: str
    name: str
    content: str
    unit: str
    standard: str
    price: MoneyString | None = Field(
        None, description="Only when the source gives one; never invented."
    )
    model: EntitlementModel
    source: str
    ltc_covered: bool = Field(
        False, description="Long-term-care insurance pays for it (seed 000 §2(3))."
    )
    ltc_source: str = ""
    version: int
    status: ItemStatus


def _item_out(item: ServiceItem) -> CatalogueItemOut:
    return CatalogueItemOut(
        id=item.id,
        policy_profile_id=item.policy_profile_id or 0,
        region_code=item.region_code,
        year=item.year or 0,
        code=item.code,
        category=item.category,
        name=item.name,
        content=item.description,
        unit=item.unit,
        standard=item.standard,
        price=item.price,
        model=item.model,
        source=item.source,
        ltc_covered=item.ltc_covered,
        ltc_source=item.ltc_source,
        version=item.version,
        status=item.status,
    )


class CatalogueItemList(Schema):
    policy_profile_id: int
    year: int
    items: list[CatalogueItemOut]


class CatalogueItemsQuery(Schema):
    policy_profile_id: int = Field(ge=1)
    include_retired: bool = False


class CatalogueItemIn(Schema):
    code: str = Field(max_length=40)
    category: str = Field(max_length=40)
    name: str = Field(max_length=60)
    content: str = Field("", max_length=4000)
    unit: str = Field("", max_length=20)
    standard: str = Field("", max_length=4000)
    price: str | None = Field(None, max_length=20, description="Yuan; empty for no price.")
    model: EntitlementModel | None = Field(None, description="Default: the profile's.")
    source: str = Field("", max_length=200)
    ltc_covered: bool = False
    ltc_source: str = Field("", max_length=200, description="Required when ltc_covered.")


class CatalogueItemPatch(Schema):
    version: int | None = Field(None, description="The version the change is based on.")
    code: str | None = Field(None, max_length=40)
    category: str | None = Field(None, max_length=40)
    name: str | None = Field(None, max_length=60)
    content: str | None = Field(None, max_length=4000)
    unit: str | None = Field(None, max_length=20)
    standard: str | None = Field(None, max_length=4000)
    price: str | None = Field(None, max_length=20)
    model: EntitlementModel | None = None
    source: str | None = Field(None, max_length=200)
    ltc_covered: bool | None = None
    ltc_source: str | None = Field(None, max_length=200)


class CatalogueCopyOut(Schema):
    policy_profile_id: int
    year: int
    copied: int


class CatalogueFileQuery(Schema):
    filename: str = Field("catalogue.xlsx", max_length=200)
    check: bool = Field(False, description="Check and report only; write nothing.")


class CatalogueRowOut(Schema):
    line: int
    code: str
    name: str
    action: str


class CatalogueReportOut(Schema):
    filename: str
    sha256: str
    written: bool
    added: int
    updated: int
    unchanged: int
    rows: list[CatalogueRowOut]


@api_route(
    "/catalogue-items",
    summary="The service catalogue of a policy profile (its region and year)",
    tag="plans",
    permission="policies.view",
    query=CatalogueItemsQuery,
    response=CatalogueItemList,
)
def list_catalogue_items(query: CatalogueItemsQuery):
    profile = get_profile(query.policy_profile_id)
    items = catalogue.items_of(profile, include_retired=query.include_retired)
    return CatalogueItemList(
        policy_profile_id=profile.id, year=profile.year, items=[_item_out(i) for i in items]
    )


@api_route(
    "/catalogue-items/<int:item_id>",
    summary="A catalogue item",
    tag="plans",
    permission="policies.view",
    response=CatalogueItemOut,
)
def get_catalogue_item(item_id: int):
    return _item_out(catalogue.get_item(item_id))


@api_route(
    "/policy-profiles/<int:profile_id>/catalogue-items",
    method="POST",
    summary="Add an item to a profile's service catalogue",
    tag="plans",
    permission="catalogue.manage",
    body=CatalogueItemIn,
    response=CatalogueItemOut,
    status=201,
)
def create_catalogue_item(profile_id: int, body: CatalogueItemIn):
    item = catalogue.create_item(get_profile(profile_id), body.model_dump())
    db.session.commit()
    return _item_out(item), 201


@api_route(
    "/catalogue-items/<int:item_id>",
    method="PATCH",
    summary="Change a catalogue item (its version goes up; the audit trail keeps the old)",
    tag="plans",
    permission="catalogue.manage",
    body=CatalogueItemPatch,
    response=CatalogueItemOut,
    errors=(409,),
)
def update_catalogue_item(item_id: int, body: CatalogueItemPatch):
    values = body.model_dump(exclude_unset=True)
    version = values.pop("version", None)
    item = catalogue.update_item(catalogue.get_item(item_id), values, version=version)
    db.session.commit()
    return _item_out(item)


@api_route(
    "/catalogue-items/<int:item_id>/retire",
    method="POST",
    summary="Retire a catalogue item (refused while a plan not finished uses it)",
    tag="plans",
    permission="catalogue.manage",
    response=CatalogueItemOut,
    errors=(409,),
)
def retire_catalogue_item(item_id: int):
    item = catalogue.retire_item(catalogue.get_item(item_id))
    db.session.commit()
    return _item_out(item)


@api_route(
    "/policy-profiles/<int:profile_id>/catalogue/copy",
    method="POST",
    summary="Copy a year's catalogue to the next year's profile of the same region",
    tag="plans",
    permission="catalogue.manage",
    response=CatalogueCopyOut,
    status=201,
)
def copy_catalogue(profile_id: int):
    target, copied = catalogue.copy_to_next_year(get_profile(profile_id))
    db.session.commit()
    return CatalogueCopyOut(policy_profile_id=target.id, year=target.year, copied=copied), 201


@api_route(
    "/policy-profiles/<int:profile_id>/catalogue/import",
    method="POST",
    summary="Import an .xlsx service catalogue into a profile",
    tag="plans",
    permission="catalogue.manage",
    query=CatalogueFileQuery,
    response=CatalogueReportOut,
    upload=("application/octet-stream", exports.XLSX),
)
def import_catalogue(profile_id: int, query: CatalogueFileQuery):
    """Send the workbook itself as the body, with ``?filename=``. Every row is checked; a
    file with any bad row writes nothing and is answered 422 (code
    ``catalogue_file_refused``) naming each bad row's field ``rows.<row>.<field>``."""
    report = catalogue.import_items(
        get_profile(profile_id), request.get_data(), query.filename, write=not query.check
    )
    if query.check:
        db.session.rollback()
    else:
        db.session.commit()
    return CatalogueReportOut(
        filename=report.filename,
        sha256=report.sha256,
        written=report.written,
        added=report.count("add"),
        updated=report.count("update"),
        unchanged=report.count("unchanged"),
        rows=[
            CatalogueRowOut(line=r.line, code=r.code, name=r.name, action=r.action)
            for r in report.rows
        ],
    )
