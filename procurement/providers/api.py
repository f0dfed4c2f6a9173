"""The provider register under /api/v1."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from flask import g
from flask_babel import gettext as _
from pydantic import Field

from procurement.core import staging
from procurement.core.api import MoneyString, Page, PageQuery, Schema, api_route, paginate
from procurement.core.db import db
from procurement.core.errors import NotFound
from procurement.jobs.api import JobOut, started
from procurement.plans.services import get_plan
from procurement.providers import io, services
from procurement.providers.models import (
    DocumentKind,
    PaymentStatus,
    Provider,
    ProviderStatus,
    QualificationCheck,
    RecordKind,
    RegistrationAuthority,
    ViolationKind,
)
from procurement.providers.queries import provider_list
from procurement.regions.forms import requested_county


class ProviderIn(Schema):
    name: str = Field(max_length=120)
    credit_code: str = Field(max_length=30)
    registration_authority: RegistrationAuthority
    registration_date: date
    status: ProviderStatus = ProviderStatus.ACTIVE
    status_date: date | None = None
    legal_representative: str = Field("", max_length=60)
    address: str = Field("", max_length=200)
    township_code: str | None = None
    contact_name: str = Field("", max_length=60)
    contact_phone: str = Field("", max_length=40)
    staff: dict[str, int] = Field(default_factory=dict)
    premises: str = Field("", max_length=4000)
    notes: str = Field("", max_length=4000)
    acknowledge_check_failure: bool = Field(
        False, description="Keep a code whose check character fails (early pilot codes)."
    )
    acknowledgement_reason: str = Field("", max_length=200)


class ProviderCreate(ProviderIn):
    region_code: str | None = Field(None, description="The county; the caller's own by default.")


class CreditCodeOut(Schema):
    valid: bool
    check_ok: bool
    expected_check: str | None = None
    authority: str | None = None
    organisation_type: str | None = None
    division_code: str | None = None
    message: str | None = None


class QualificationOut(Schema):
    id: int
    name: str
    number: str
    issued_on: date
    expires_on: date | None
    required: bool


class PriceOut(Schema):
    id: int
    service: str
    unit: str
    price: MoneyString


class RecordOut(Schema):
    id: int
    kind: RecordKind
    period_start: date | None
    period_end: date | None
    payment_status: PaymentStatus | None
    settled_on: date | None
    decision_date: date | None
    authority: str
    violation_kind: ViolationKind | None
    fine_amount: MoneyString | None
    major_override: bool | None
    major_override_reason: str | None
    report_year: int | None
    filed_on: date | None
    listed_from: date | None
    listed_until: date | None
    description: str
    evidence_id: int | None


class DocumentOut(Schema):
    id: int
    kind: DocumentKind
    title: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime


class CriterionOut(Schema):
    code: str
    result: Literal["pass", "fail", "missing"]
    reason: str
    mandatory: bool
    evidence: list[str]


class CheckOut(Schema):
    id: int
    provider_id: int
    plan_id: int | None
    as_of: date
    window_start: date
    lookback_years: int
    qualified: bool
    criteria: list[CriterionOut]
    checked_by: str | None
    checked_at: datetime


class ProviderSummary(Schema):
    id: int
    region_code: str
    name: str
    credit_code: str
    credit_code_warning: str | None
    status: ProviderStatus
    township_code: str | None


class ProviderOut(ProviderSummary):
    registration_authority: RegistrationAuthority
    registration_date: date | None
    status_date: date | None
    legal_representative: str
    address: str
    contact_name: str
    contact_phone: str
    staff: dict[str, int]
    premises: str
    notes: str
    credit: CreditCodeOut
    qualifications: list[QualificationOut]
    prices: list[PriceOut]
    records: list[RecordOut]
    documents: list[DocumentOut]
    latest_checks: list[CheckOut]
    expiring_qualification_ids: list[int]


class ProviderQuery(PageQuery):
    q: str | None = Field(None, max_length=100)
    township_code: str | None = None
    qualification: Literal["qualified", "not_qualified", "unchecked"] | None = Field(
        None, description="By the provider's newest qualification check"
    )


class RecordIn(Schema):
    """One record; which fields apply depends on ``kind`` (see the register's rules)."""

    kind: Literal[
        "tax",
        "social_security",
        "violation",
        "annual_report",
        "credit_listing",
        "qualification",
        "price",
    ]
    period_start: date | None = None
    period_end: date | None = None
    payment_status: PaymentStatus | None = None
    settled_on: date | None = None
    decision_date: date | None = None
    authority: str | None = Field(None, max_length=120)
    violation_kind: ViolationKind | None = None
    fine_amount: str | None = Field(None, description='Yuan, e.g. "2500000.00"')
    major_override: bool | None = None
    major_override_reason: str | None = Field(None, max_length=500)
    report_year: int | None = None
    filed_on: date | None = None
    listed_from: date | None = None
    listed_until: date | None = None
    description: str | None = Field(None, max_length=2000)
    evidence_id: int | None = None
    name: str | None = Field(None, max_length=120, description="qualification")
    number: str | None = Field(None, max_length=80, description="qualification")
    issued_on: date | None = Field(None, description="qualification")
    expires_on: date | None = Field(None, description="qualification")
    required: bool | None = Field(None, description="qualification")
    service: str | None = Field(None, max_length=80, description="price")
    unit: str | None = Field(None, max_length=20, description="price")
    price: str | None = Field(None, description="price, yuan")


class RecordCreated(Schema):
    id: int
    kind: str


class CheckIn(Schema):
    as_of: date = Field(description="Normally the bid deadline.")
    plan_id: int | None = None


class CheckList(Schema):
    items: list[CheckOut]


def _check_out(check: QualificationCheck) -> CheckOut:
    return CheckOut(
        id=check.id,
        provider_id=check.provider_id,
        plan_id=check.plan_id,
        as_of=check.as_of,
        window_start=check.window_start,
        lookback_years=check.lookback_years,
        qualified=check.qualified,
        criteria=check.criteria,
        checked_by=check.checked_by.username if check.checked_by else None,
        checked_at=check.checked_at,
    )


def _provider_out(provider: Provider) -> ProviderOut:
    return ProviderOut(
        **ProviderSummary.model_validate(provider).model_dump(),
        registration_authority=provider.registration_authority,
        registration_date=provider.registration_date,
        status_date=provider.status_date,
        legal_representative=provider.legal_representative,
        address=provider.address,
        contact_name=provider.contact_name,
        contact_phone=provider.contact_phone,
        staff=provider.staff or {},
        premises=provider.premises,
        notes=provider.notes,
        credit=services.describe_credit_code(provider.credit_code),
        qualifications=[QualificationOut.model_validate(q) for q in provider.qualifications],
        prices=[PriceOut.model_validate(p) for p in provider.prices],
        records=[RecordOut.model_validate(r) for r in provider.records],
        documents=[DocumentOut.model_validate(d) for d in provider.documents],
        latest_checks=[_check_out(c) for c in services.latest_checks(provider)],
        expiring_qualification_ids=[q.id for q in services.expiring_qualifications(provider)],
    )


def _input(body: ProviderIn) -> services.ProviderInput:
    values = body.model_dump(exclude={"region_code"})
    return services.ProviderInput(**values)


@api_route(
    "/providers",
    summary="List the provider register",
    tag="providers",
    permission="providers.view",
    query=ProviderQuery,
    response=Page[ProviderSummary],
)
def list_providers(query: ProviderQuery):
    stmt = provider_list(
        q=query.q, township_code=query.township_code, qualification=query.qualification
    )
    return paginate(stmt, query, ProviderSummary)


@api_route(
    "/providers",
    method="POST",
    summary="Register a provider",
    tag="providers",
    permission="providers.edit",
    body=ProviderCreate,
    response=ProviderOut,
    status=201,
)
def create_provider(body: ProviderCreate):
    provider = services.register_provider(
        region_code=body.region_code or g.user.region_code, data=_input(body)
    )
    db.session.commit()
    return _provider_out(provider), 201


@api_route(
    "/providers/<int:provider_id>",
    summary="A provider with records and checks",
    tag="providers",
    permission="providers.view",
    response=ProviderOut,
)
def get_provider(provider_id: int):
    return _provider_out(services.get_provider(provider_id))


@api_route(
    "/providers/<int:provider_id>",
    method="PATCH",
    summary="Change a provider (whole)",
    tag="providers",
    permission="providers.edit",
    body=ProviderIn,
    response=ProviderOut,
)
def update_provider(provider_id: int, body: ProviderIn):
    provider = services.update_provider(services.get_provider(provider_id), _input(body))
    db.session.commit()
    return _provider_out(provider)


@api_route(
    "/providers/<int:provider_id>/records",
    method="POST",
    summary="Add a compliance record, qualification or price",
    tag="providers",
    permission="providers.edit",
    body=RecordIn,
    response=RecordCreated,
    status=201,
)
def add_provider_record(provider_id: int, body: RecordIn):
    provider = services.get_provider(provider_id)
    values: dict[str, Any] = body.model_dump(exclude={"kind"}, exclude_none=True)
    if body.kind == "qualification":
        item = services.add_qualification(provider, values)
    elif body.kind == "price":
        item = services.add_price(provider, values)
    else:
        if "major_override" in values and body.major_override is not None:
            values["major_override"] = "major" if body.major_override else "minor"
        item = services.add_record(provider, body.kind, values)
    db.session.commit()
    return {"id": item.id, "kind": body.kind}, 201


@api_route(
    "/providers/<int:provider_id>/qualification-checks",
    method="POST",
    summary="Run a qualification check as of a date",
    tag="providers",
    permission="providers.edit",
    body=CheckIn,
    response=CheckOut,
    status=201,
)
def create_check(provider_id: int, body: CheckIn):
    provider = services.get_provider(provider_id)
    plan = get_plan(body.plan_id) if body.plan_id else None
    check = services.run_check(provider, actor=g.user, as_of=body.as_of, plan=plan)
    db.session.commit()
    return _check_out(check), 201


@api_route(
    "/providers/<int:provider_id>/qualification-checks",
    summary="Past checks",
    tag="providers",
    permission="providers.view",
    response=CheckList,
)
def list_checks(provider_id: int):
    provider = services.get_provider(provider_id)
    return {"items": [_check_out(c) for c in provider.checks]}


@api_route(
    "/providers/<int:provider_id>/qualification-checks/<int:check_id>",
    summary="One past check, as it was made",
    tag="providers",
    permission="providers.view",
    response=CheckOut,
)
def get_check(provider_id: int, check_id: int):
    check = db.session.get(QualificationCheck, check_id)
    if check is None or check.provider_id != provider_id:
        raise NotFound(_("Qualification check %(id)s was not found.", id=check_id))
    return _check_out(check)


@api_route(
    "/credit-codes/<code>",
    summary="What a unified social credit code says",
    tag="providers",
    permission="providers.view",
    response=CreditCodeOut,
)
def describe_credit_code(code: str):
    return services.describe_credit_code(code)


class SettleIn(Schema):
    settled_on: date


@api_route(
    "/providers/<int:provider_id>/records/<int:record_id>/settle",
    method="POST",
    summary="Mark arrears settled",
    tag="providers",
    permission="providers.edit",
    body=SettleIn,
    response=RecordOut,
)
def settle_record(provider_id: int, record_id: int, body: SettleIn):
    provider = services.get_provider(provider_id)
    record = services.settle_arrears(services.get_record(provider, record_id), body.settled_on)
    db.session.commit()
    return RecordOut.model_validate(record)


@api_route(
    "/providers/imports",
    method="POST",
    summary="Check a provider file (.xlsx, multipart field file): its report and a token",
    tag="providers",
    permission="providers.edit",
    response=staging.ImportReportOut,
    status=201,
    upload=("multipart/form-data",),
)
def check_provider_import():
    """Nothing is written: the report names each refused row and column. Confirm the
    token to import the good rows (``?region_code=`` for a county other than your own)."""
    return staging.stage_posted(io.STAGED, region_code=requested_county().code)


@api_route(
    "/providers/imports/<token>/confirm",
    method="POST",
    summary="Import a checked provider file (a job: 202, then GET its URL)",
    tag="providers",
    permission="providers.edit",
    response=JobOut,
    status=202,
)
def confirm_provider_import(token: str):
    """A file is confirmed once: again, while its job runs or after, is 409 with the job."""
    county = requested_county()
    return started(lambda: io.STAGED.confirm(token, region_code=county.code, user=g.user))
