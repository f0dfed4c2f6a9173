"""Service records, their imports and flags, and monthly statements under /api/v1.

A platform pushes records as JSON (``POST /service-records``) or sends its export file
as the request body (``POST /service-records/file``); importing the same records again
never counts them twice. A push of up to ``RECORD_PUSH_SYNC_MAX_ROWS`` records (5,000)
is imported within the request and answered 201 with the import's report; a larger push
and every file are imported by a job (issue 16): 202 with the job's URL, whose
``result_url`` is the report once done. The same file while its import is waiting or
running is refused with 409.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from flask import current_app, g, request
from pydantic import Field
from sqlalchemy import select

from procurement.contracts.models import Contract
from procurement.core.api import MoneyString, Page, PageQuery, Schema, api_route, paginate
from procurement.core.dates import month_of
from procurement.core.db import db
from procurement.core.errors import NotFound
from procurement.core.office import XLSX
from procurement.jobs.api import JobOut, accepted, started
from procurement.settlements import ceilings, delivery, exports, services
from procurement.settlements.models import (
    FLAGGED,
    ImportRejection,
    RecordImport,
    ServiceRecord,
    Settlement,
    SettlementStatus,
)
from procurement.settlements.queries import settlement_list

MONTH = r"^\d{4}-\d{2}$"


class RecordIn(Schema):
    """One visit as the smart elderly-care platform records it."""

    record_id: str = Field(max_length=64)
    id_number: str = Field(max_length=18, description="The recipient's ID number.")
    credit_code: str = Field(max_length=18, description="The provider's credit code.")
    worker_id: str = Field(max_length=64)
    item: str = Field(max_length=60, description="Service item code or name.")
    start: str = Field(max_length=19, examples=["2026-07-03 09:00:00"])
    end: str = Field(max_length=19, examples=["2026-07-03 10:20:00"])
    township: str = Field(max_length=60, description="Township code or name.")


class RecordsIn(Schema):
    records: list[RecordIn] = Field(min_length=1, max_length=10000)


class ImportOut(Schema):
    id: int
    source: str
    filename: str
    sha256: str
    rows: int
    accepted: int
    already_imported: int
    rejected: int
    flagged: int
    reasons: dict[str, int]
    months: list[str]
    imported_at: datetime
    seconds: float | None = None


class RejectionOut(Schema):
    row: int
    record_id: str
    reason: str
    detail: str


class RecordOut(Schema):
    id: int
    record_id: str
    contract_id: int
    provider_id: int
    recipient_id: int
    worker_id: str
    item_code: str
    township_code: str
    started_at: datetime
    ended_at: datetime
    minutes: int
    month: date
    flags: int
    flag_labels: list[str]
    review: str | None = None
    paid_minutes: int
    unpaid_reason: str | None = None


class RecordQuery(PageQuery):
    contract_id: int | None = None
    provider_id: int | None = None
    recipient_id: int | None = None
    month: str | None = Field(None, pattern=MONTH)
    flagged: bool | None = None


class ReviewIn(Schema):
    record_ids: list[int] = Field(min_length=1, max_length=5000)
    decision: Literal["cleared", "confirmed"]
    note: str = Field(min_length=1, max_length=500)


class ReviewOut(Schema):
    reviewed: int


class SettlementOut(Schema):
    id: int
    contract_id: int
    month: date
    status: SettlementStatus
    unit: str
    rate: MoneyString
    records: int
    flagged: int
    recipients: int
    minutes: int
    paid_minutes: int
    paid_visits: int
    amount: MoneyString
    computed_at: datetime
    confirmed_at: datetime | None = None
    note: str


class UnpaidOut(Schema):
    reason: str
    records: int
    minutes: int


class HoldOut(Schema):
    reason: str = Field(description="month_not_ended, suspended, pending_review, over_contract")
    message: str


class PositionOut(Schema):
    """Where the statement leaves its contract (issue 14: contract ceilings)."""

    contract_amount: MoneyString
    settled_before: MoneyString = Field(description="The contract's other confirmed statements.")
    this_statement: MoneyString
    settled_after: MoneyString
    remaining: MoneyString
    overrun: MoneyString
    over_amount: bool
    recipients_contracted: int
    recipients_served: int
    over_recipients: bool


class SettlementDetail(SettlementOut):
    held: bool = Field(description="Whether anything holds the statement (see holds).")
    holds: list[HoldOut]
    position: PositionOut
    pending_reviews: int
    unpaid: list[UnpaidOut]


class SettlementQuery(PageQuery):
    plan_id: int | None = None
    contract_id: int | None = None
    month: str | None = Field(None, pattern=MONTH)
    status: SettlementStatus | None = None


class LineOut(Schema):
    recipient_id: int
    name: str
    id_masked: str
    township_code: str
    visits: int
    minutes: int
    paid_minutes: int
    paid_visits: int
    amount: MoneyString
    unpaid: dict[str, int]
    also_under: list[str] = Field(
        description="Reason used_elsewhere: the contracts whose visits took the entitlement."
    )


class LineQuery(Schema):
    offset: int = Field(0, ge=0)
    limit: int = Field(500, ge=1, le=5000)


class LinePage(Schema):
    items: list[LineOut]
    offset: int
    limit: int


class ConfirmIn(Schema):
    amount_seen: str = Field(
        max_length=20, description="The amount the reviewer read; refused if it changed."
    )
    note: str = Field("", max_length=500)


class FlagSummaryOut(Schema):
    provider_id: int
    month: date
    flagged: int
    awaiting_review: int


class FlagSummaryList(Schema):
    items: list[FlagSummaryOut]


class FlagQuery(Schema):
    month: str | None = Field(None, pattern=MONTH)


@api_route(
    "/service-records",
    method="POST",
    summary="Push service records from the platform",
    tag="service records",
    permission="records.import",
    body=RecordsIn,
    response=ImportOut,
    status=201,
    also={202: JobOut},
)
def push_records(body: RecordsIn):
    """Up to ``RECORD_PUSH_SYNC_MAX_ROWS`` records (5,000) are imported at once: 201 with
    the report. More are imported by a job: 202 with the job (``Location``), whose
    ``result_url`` is the report once done; the same records pushed again while that job
    waits or runs: 409. Imports of one region take turns: a push waits for the one under
    way, at most ``SQLITE_BUSY_TIMEOUT_MS`` (5 s), then 409 (code ``import_under_way``)."""
    rows = [r.model_dump() for r in body.records]
    if len(rows) > current_app.config["RECORD_PUSH_SYNC_MAX_ROWS"]:
        data = services.pushed_bytes(rows)
        return started(lambda: services.queue_import(data, "", pushed=True, user=g.user))
    batch = services.import_pushed(
        rows, region_code=g.user.region_code, actor=g.user, in_request=True
    )
    db.session.commit()
    return ImportOut.model_validate(batch), 201


class UploadQuery(Schema):
    filename: str = Field(
        "upload.csv",
        max_length=200,
        description="The file's name, for the report; .xlsx is read as a workbook.",
    )


@api_route(
    "/service-records/file",
    method="POST",
    summary="Import the platform's export file (a job: 202, then GET its URL)",
    tag="service records",
    permission="records.import",
    query=UploadQuery,
    response=JobOut,
    status=202,
    upload=("text/csv", XLSX),
)
def upload_records(query: UploadQuery):
    """Send the file itself as the body (Content-Type text/csv or the .xlsx type), with
    ``?filename=`` to name it in the report. A job imports it: the answer is 202 with the
    job (``Location``); once done, its ``result_url`` is the import's report, and a file
    the import cannot read fails the job with the reason. The same file while its import
    is waiting or running: 409 (code ``job_already_running``) with that job's URL."""
    request.max_content_length = services.upload_limit()
    data = request.get_data()
    services.check_upload(data, query.filename)
    return started(lambda: services.queue_import(data, query.filename, user=g.user))


@api_route(
    "/record-imports",
    summary="Imports of service records, newest first",
    tag="service records",
    permission="settlements.view",
    query=PageQuery,
    response=Page[ImportOut],
)
def list_imports(query: PageQuery):
    return paginate(select(RecordImport).order_by(RecordImport.id.desc()), query, ImportOut)


@api_route(
    "/record-imports/<int:import_id>",
    summary="One import's report",
    tag="service records",
    permission="settlements.view",
    response=ImportOut,
)
def get_import(import_id: int):
    return ImportOut.model_validate(services.get_import(import_id))


@api_route(
    "/record-imports/<int:import_id>/rejections",
    summary="The rows an import rejected, with the reasons",
    tag="service records",
    permission="settlements.view",
    query=PageQuery,
    response=Page[RejectionOut],
)
def list_rejections(import_id: int, query: PageQuery):
    batch = services.get_import(import_id)
    stmt = (
        select(ImportRejection)
        .where(ImportRejection.import_id == batch.id)
        .order_by(ImportRejection.row)
    )
    return paginate(stmt, query, RejectionOut)


@api_route(
    "/service-records",
    summary="Stored service records, with flags and pay",
    tag="service records",
    permission="settlements.view",
    query=RecordQuery,
    response=Page[RecordOut],
)
def list_records(query: RecordQuery):
    stmt = select(ServiceRecord).order_by(ServiceRecord.started_at, ServiceRecord.id)
    for column in ("contract_id", "provider_id", "recipient_id"):
        value = getattr(query, column)
        if value is not None:
            stmt = stmt.where(getattr(ServiceRecord, column) == value)
    if query.month:
        stmt = stmt.where(ServiceRecord.month == month_of(query.month))
    if query.flagged is not None:
        stmt = stmt.where(FLAGGED if query.flagged else (ServiceRecord.flags == 0))
    return paginate(stmt, query, RecordOut)


@api_route(
    "/service-records/review",
    method="POST",
    summary="Clear or confirm flagged records (the months are computed again)",
    tag="service records",
    permission="records.review",
    body=ReviewIn,
    response=ReviewOut,
)
def review_records(body: ReviewIn):
    count = services.review(body.record_ids, decision=body.decision, note=body.note, actor=g.user)
    db.session.commit()
    return ReviewOut(reviewed=count)


@api_route(
    "/flags",
    summary="Flagged records per provider and month",
    tag="service records",
    permission="settlements.view",
    query=FlagQuery,
    response=FlagSummaryList,
)
def flag_summary(query: FlagQuery):
    month = month_of(query.month) if query.month else None
    return FlagSummaryList(
        items=[
            FlagSummaryOut(provider_id=p, month=m, flagged=n, awaiting_review=w)
            for p, m, n, w in services.flag_summary(month)
        ]
    )


def _detail(settlement: Settlement) -> SettlementDetail:
    figures = services.statement_figures(settlement)
    position = ceilings.contract_position(settlement)
    holds = services.statement_holds(settlement, position=position, pending=figures.pending_reviews)
    return SettlementDetail(
        **SettlementOut.model_validate(settlement).model_dump(),
        held=bool(holds),
        holds=[HoldOut(reason=h.reason.value, message=h.message) for h in holds],
        position=PositionOut.model_validate(position),
        pending_reviews=figures.pending_reviews,
        unpaid=[UnpaidOut(reason=r, records=n, minutes=m) for r, n, m in figures.unpaid],
    )


@api_route(
    "/settlements",
    summary="Monthly statements",
    tag="settlement",
    permission="settlements.view",
    query=SettlementQuery,
    response=Page[SettlementOut],
)
def list_settlements(query: SettlementQuery):
    stmt = settlement_list(
        plan_id=query.plan_id,
        contract_id=query.contract_id,
        month=month_of(query.month) if query.month else None,
        status=query.status,
    )
    return paginate(stmt, query, SettlementOut)


@api_route(
    "/settlements/<int:settlement_id>",
    summary="One statement with its unpaid time by reason",
    tag="settlement",
    permission="settlements.view",
    response=SettlementDetail,
)
def get_settlement(settlement_id: int):
    return _detail(services.get_settlement(settlement_id))


@api_route(
    "/settlements/<int:settlement_id>/lines",
    summary="The statement's lines, one per recipient (ID numbers masked)",
    tag="settlement",
    permission="settlements.view",
    query=LineQuery,
    response=LinePage,
)
def list_lines(settlement_id: int, query: LineQuery):
    settlement = services.get_settlement(settlement_id)
    lines = services.lines(settlement, offset=query.offset, limit=query.limit)
    return LinePage(
        items=[LineOut.model_validate(line) for line in lines],
        offset=query.offset,
        limit=query.limit,
    )


@api_route(
    "/settlements/<int:settlement_id>/recompute",
    method="POST",
    summary="Apply the rules again to a draft statement",
    tag="settlement",
    permission="records.review",
    response=SettlementDetail,
)
def recompute_settlement(settlement_id: int):
    settlement = services.recompute(services.get_settlement(settlement_id))
    db.session.commit()
    return _detail(settlement)


@api_route(
    "/settlements/<int:settlement_id>/confirm",
    method="POST",
    summary="Finance confirms the statement it read",
    tag="settlement",
    permission="settlements.confirm",
    body=ConfirmIn,
    response=SettlementDetail,
)
def confirm_settlement(settlement_id: int, body: ConfirmIn):
    settlement = services.get_settlement(settlement_id)
    services.confirm(settlement, actor=g.user, amount_seen=body.amount_seen, note=body.note)
    db.session.commit()
    return _detail(settlement)


class ShortfallQuery(Schema):
    month: str = Field(pattern=MONTH, examples=["2026-07"])
    provider_id: int | None = None


class ShortfallOut(Schema):
    """A contract's month: whom it owed their entitlement and who got less or nothing.
    ``owed``, ``delivered`` and ``missing`` are minutes (unit hour) or visits."""

    contract_id: int
    contract_number: str
    provider_id: int
    provider_name: str
    month: date
    unit: str
    entitled: int
    short: int = Field(description="Got some, but less than owed.")
    unserved: int = Field(description="Got nothing.")
    owed: int
    delivered: int
    missing: int


class ShortfallList(Schema):
    items: list[ShortfallOut]
    entitled: int
    short: int
    unserved: int


class PersonShortfallOut(Schema):
    recipient_id: int
    name: str
    id_masked: str
    township: str
    owed: int
    delivered: int
    missing: int
    unserved: bool


class YearToDateOut(ShortfallOut):
    """Visits model: from ``month`` (the first month of the term in the year) to the
    month asked, each person owed the year's visits prorated by their entitled months."""

    people: list[PersonShortfallOut]


class ContractShortfallOut(ShortfallOut):
    people: list[PersonShortfallOut]
    year_to_date: YearToDateOut | None = Field(
        None, description="Visits model only: the year's floor owed so far, per person."
    )


@api_route(
    "/under-delivery",
    summary="Under-delivery of a month, per provider and contract, with totals",
    tag="settlement",
    permission="settlements.view",
    query=ShortfallQuery,
    response=ShortfallList,
)
def list_shortfalls(query: ShortfallQuery):
    found = delivery.month_shortfalls(month_of(query.month), provider_id=query.provider_id)
    return ShortfallList(
        items=[ShortfallOut.model_validate(s) for s in found],
        entitled=sum(s.entitled for s in found),
        short=sum(s.short for s in found),
        unserved=sum(s.unserved for s in found),
    )


@api_route(
    "/under-delivery/exports",
    method="POST",
    summary="Under-delivery of a month as .xlsx, made by a job (202, then download)",
    tag="settlement",
    permission="settlements.view",
    query=ShortfallQuery,
    response=JobOut,
    status=202,
)
def export_shortfalls_job(query: ShortfallQuery):
    """With every person who got less; the job's ``download_url`` is the file once done."""
    region_code = g.user.region_code
    return accepted(
        *exports.shortfall_job(month_of(query.month), query.provider_id, region_code),
        region_code=region_code,
    )


@api_route(
    "/under-delivery/<int:contract_id>/<month>",
    summary="Who of a contract's entitled people got less than the month's entitlement",
    tag="settlement",
    permission="settlements.view",
    response=ContractShortfallOut,
)
def get_contract_shortfall(contract_id: int, month: str):
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        raise NotFound()
    first = month_of(month)
    found = ContractShortfallOut.model_validate(delivery.contract_shortfall(contract, first))
    year = delivery.visits_year_to_date(contract, first)
    if year is not None:
        found.year_to_date = YearToDateOut.model_validate(year)
    return found
