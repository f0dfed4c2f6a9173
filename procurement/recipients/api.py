"""The recipients roster under /api/v1: the same services as the pages."""

from __future__ import annotations

from datetime import date

from flask import g, send_file
from pydantic import Field, model_validator

from procurement.contracts.services import get_contract
from procurement.core import staging
from procurement.core.api import Page, PageQuery, Schema, api_route, paginate
from procurement.core.dates import month_of
from procurement.core.db import db
from procurement.core.errors import NotFound, ValidationError
from procurement.jobs.api import JobOut, started
from procurement.policies.models import RecipientCategory
from procurement.policies.services import profile_for
from procurement.providers.io import XLSX
from procurement.recipients import calendar, io, services
from procurement.recipients.entitlement import MonthStatus
from procurement.recipients.models import (
    Application,
    ApplicationStatus,
    ExitReason,
    Recipient,
)
from procurement.regions.forms import requested_county

MONTH = Field(pattern=r"^\d{4}-\d{2}$", description="A month such as 2026-07.")


# ------------------------------------------------------------------ schemas


class RecipientIn(Schema):
    name: str = Field(max_length=60)
    township_code: str = Field(description="The 9-digit code of a township of the county.")
    village: str = Field("", max_length=60)
    address: str = Field("", max_length=200)
    phone: str = Field("", max_length=30)
    category: RecipientCategory
    capability_level: int | None = Field(None, ge=0, le=4, description="GB/T 42195-2022 level.")
    assessed_on: date | None = None
    assessor: str = Field("", max_length=120)
    assessment_valid_until: date | None = Field(
        None, description="The last day the third-party assessment holds."
    )
    long_term_care: bool = False
    registered_in_county: bool = True
    lives_in_county: bool = True
    notes: str = Field("", max_length=4000)


class RecipientCreate(RecipientIn):
    id_number: str = Field(
        max_length=30, description="18 characters; sex and birth date are taken from it."
    )
    region_code: str | None = Field(None, description="The county; the caller's own by default.")
    service_start: date | None = Field(
        None, description="Only for an elder already in service when the roster is first kept."
    )


class RecipientUpdate(RecipientIn):
    id_number: str | None = Field(
        None, max_length=30, description="Only to correct a mistyped number; omit to keep it."
    )


class RecipientSummary(Schema):
    id: int
    region_code: str
    name: str
    id_masked: str
    sex: str
    birth_date: date
    township_code: str
    village: str
    category: RecipientCategory
    capability_level: int | None
    status: services.RosterStatus
    service_start: date | None
    exit_reason: ExitReason | None
    exit_date: date | None

    @model_validator(mode="before")
    @classmethod
    def _from_recipient(cls, value):
        """A roster row as it is listed: its columns and where it stands."""
        if isinstance(value, Recipient):
            columns = RecipientSummary.model_fields.keys() - {"status"}
            return {name: getattr(value, name) for name in columns} | {
                "status": services.roster_status(value)
            }
        return value


class ApplicationOut(Schema):
    id: int
    recipient_id: int
    applied_on: date
    status: ApplicationStatus
    village_checked_on: date | None
    village_passed: bool | None
    village_note: str
    village_due: date | None
    township_reviewed_on: date | None
    township_passed: bool | None
    township_note: str
    township_due: date | None
    decided_on: date | None
    decision_reason: str
    decided_by: str | None
    overdue: bool = Field(description="The current step is past its deadline.")
    calendar_unknown_year: int | None = Field(
        None, description="A deadline falls in a year without a known working-day calendar."
    )
    calendar_message: str | None = None


class MoveOut(Schema):
    from_township: str
    to_township: str
    moved_on: date
    effective_from: date = Field(description="The first day served in the new township.")
    note: str


class RecipientOut(RecipientSummary):
    address: str
    phone: str
    assessed_on: date | None
    assessor: str
    assessment_valid_until: date | None
    long_term_care: bool
    registered_in_county: bool
    lives_in_county: bool
    exit_note: str
    exit_effective: date | None = Field(description="The first day without service.")
    notes: str
    applications: list[ApplicationOut]
    moves: list[MoveOut]


class RecipientQuery(PageQuery):
    q: str | None = Field(None, max_length=60, description="A name, or a whole ID number.")
    township_code: str | None = None
    category: RecipientCategory | None = None
    status: services.RosterStatus | None = None


class IdNumberOut(Schema):
    id: int
    id_number: str


class EligibilityQuery(Schema):
    month: str = MONTH


class EligibilityOut(Schema):
    recipient_id: int
    month: str
    profile_id: int
    profile_name: str
    eligible: bool
    reasons: list[str]
    status: MonthStatus = Field(description="Standing in the month: dates first, then rules.")
    entitled: bool
    died_on: date | None


class ApplicationCreate(Schema):
    applied_on: date


class StepIn(Schema):
    on: date
    passed: bool
    note: str = Field("", max_length=2000)


class DecisionIn(Schema):
    on: date
    approve: bool
    reason: str = Field("", max_length=2000, description="Required for a rejection.")


class ExitIn(Schema):
    exit_reason: ExitReason
    exit_date: date
    exit_note: str = Field("", max_length=2000)


class MoveIn(Schema):
    township_code: str = Field(max_length=12)
    moved_on: date
    note: str = Field("", max_length=2000)


class OpenApplicationOut(Schema):
    recipient_id: int
    recipient_name: str
    township_code: str
    step: str
    application: ApplicationOut


class ChangesQuery(Schema):
    month: str = MONTH
    contract_id: int | None = None


class ExitedOut(Schema):
    recipient: RecipientSummary
    no_service_from: date


class ContractChangesOut(Schema):
    contract_id: int
    contract_number: str
    provider_name: str
    township_codes: list[str]
    started: list[RecipientSummary]
    exited: list[ExitedOut]


class ChangesOut(Schema):
    month: str
    contracts: list[ContractChangesOut]


class MonthIn(Schema):
    month: str = MONTH


class OverrideIn(Schema):
    day: date
    is_workday: bool = Field(description="true for a make-up workday, false for a day off.")
    note: str = Field("", max_length=120)


class OverrideOut(Schema):
    id: int
    day: date
    is_workday: bool
    note: str


class OverrideQuery(Schema):
    year: int = Field(ge=2000, le=2100)


class OverrideList(Schema):
    year: int
    calendar_known: bool = Field(description="Whether the official calendar is built in.")
    items: list[OverrideOut]


# ------------------------------------------------------------------ serialising


APPLICATION_COLUMNS = (
    "id",
    "recipient_id",
    "applied_on",
    "status",
    "village_checked_on",
    "village_passed",
    "village_note",
    "township_reviewed_on",
    "township_passed",
    "township_note",
    "decided_on",
    "decision_reason",
)
DETAIL_COLUMNS = (
    "address",
    "phone",
    "assessed_on",
    "assessor",
    "assessment_valid_until",
    "long_term_care",
    "registered_in_county",
    "lives_in_county",
    "exit_note",
    "notes",
)


def _summary(recipient: Recipient) -> RecipientSummary:
    return RecipientSummary.model_validate(recipient)


def _application_out(application: Application, overrides: dict[date, bool]) -> ApplicationOut:
    deadlines = services.application_deadlines(application, overrides)
    current = deadlines.get(services.current_step(application))
    unknown = next((d.due for d in deadlines.values() if d.due.unknown_year), None)
    return ApplicationOut(
        **{name: getattr(application, name) for name in APPLICATION_COLUMNS},
        village_due=deadlines["village"].due.on,
        township_due=deadlines["township"].due.on if "township" in deadlines else None,
        decided_by=application.decided_by.username if application.decided_by else None,
        overdue=bool(current and current.overdue),
        calendar_unknown_year=unknown.unknown_year if unknown else None,
        calendar_message=unknown.message if unknown else None,
    )


def _recipient_out(recipient: Recipient) -> RecipientOut:
    overrides = calendar.overrides_table()
    return RecipientOut(
        **_summary(recipient).model_dump(),
        **{name: getattr(recipient, name) for name in DETAIL_COLUMNS},
        exit_effective=services.exit_effective(recipient),
        applications=[_application_out(a, overrides) for a in recipient.applications],
        moves=[MoveOut.model_validate(m) for m in recipient.moves],
    )


def _input(body: RecipientIn) -> services.RecipientInput:
    return services.RecipientInput(**body.model_dump(exclude={"region_code"}, exclude_none=True))


# ------------------------------------------------------------------ the roster


@api_route(
    "/recipients",
    summary="List the recipients roster",
    tag="recipients",
    permission="recipients.view",
    query=RecipientQuery,
    response=Page[RecipientSummary],
)
def list_recipients(query: RecipientQuery):
    """Search by name, or by a whole ID number (matched by its keyed hash)."""
    stmt, problem = services.roster_query(
        q=query.q,
        township_code=query.township_code,
        category=query.category,
        status=query.status,
    )
    if problem:
        raise ValidationError(problem, field="q")
    return paginate(stmt, query, RecipientSummary)


@api_route(
    "/recipients",
    method="POST",
    summary="Put an elder on the roster",
    tag="recipients",
    permission="recipients.edit",
    body=RecipientCreate,
    response=RecipientOut,
    status=201,
)
def create_recipient(body: RecipientCreate):
    recipient = services.register_recipient(
        region_code=body.region_code or g.user.region_code, data=_input(body)
    )
    db.session.commit()
    return _recipient_out(recipient), 201


@api_route(
    "/recipients/<int:recipient_id>",
    summary="A recipient with applications and deadlines (ID number masked)",
    tag="recipients",
    permission="recipients.view",
    response=RecipientOut,
)
def get_recipient(recipient_id: int):
    return _recipient_out(services.get_recipient(recipient_id))


@api_route(
    "/recipients/<int:recipient_id>",
    method="PATCH",
    summary="Correct a roster entry (whole)",
    tag="recipients",
    permission="recipients.edit",
    body=RecipientUpdate,
    response=RecipientOut,
)
def update_recipient(recipient_id: int, body: RecipientUpdate):
    recipient = services.update_recipient(services.get_recipient(recipient_id), _input(body))
    db.session.commit()
    return _recipient_out(recipient)


@api_route(
    "/recipients/<int:recipient_id>/reveal-id",
    method="POST",
    summary="The full ID number (audited)",
    tag="recipients",
    permission="recipients.view_id",
    response=IdNumberOut,
)
def reveal_recipient_id(recipient_id: int):
    recipient = services.get_recipient(recipient_id)
    number = services.reveal_id_number(recipient)
    db.session.commit()
    return IdNumberOut(id=recipient.id, id_number=number)


@api_route(
    "/recipients/<int:recipient_id>/eligibility",
    summary="Standing and eligibility in a month, with the reasons",
    tag="recipients",
    permission="recipients.view",
    query=EligibilityQuery,
    response=EligibilityOut,
)
def recipient_eligibility(recipient_id: int, query: EligibilityQuery):
    recipient = services.get_recipient(recipient_id)
    month = month_of(query.month)
    profile = profile_for(recipient.region_code, month.year)
    if profile is None:
        raise NotFound(services.no_profile_message(recipient, month.year))
    standing = services.standing_in(recipient, profile, month)
    return EligibilityOut(
        recipient_id=recipient.id,
        month=query.month,
        profile_id=profile.id,
        profile_name=profile.name,
        eligible=standing.eligibility.eligible,
        reasons=standing.eligibility.reasons,
        status=standing.standing.status,
        entitled=standing.standing.entitled,
        died_on=standing.standing.died_on,
    )


# ------------------------------------------------------------------ applications


@api_route(
    "/recipients/<int:recipient_id>/applications",
    method="POST",
    summary="Record an application for service",
    tag="recipients",
    permission="recipients.edit",
    body=ApplicationCreate,
    response=ApplicationOut,
    status=201,
)
def create_recipient_application(recipient_id: int, body: ApplicationCreate):
    recipient = services.get_recipient(recipient_id)
    application = services.create_application(recipient, applied_on=body.applied_on)
    db.session.commit()
    return _application_out(application, calendar.overrides_table()), 201


def _advance(recipient_id: int, application_id: int, record, body: StepIn) -> ApplicationOut:
    application = services.get_application(services.get_recipient(recipient_id), application_id)
    record(application, on=body.on, passed=body.passed, note=body.note)
    db.session.commit()
    return _application_out(application, calendar.overrides_table())


@api_route(
    "/recipients/<int:recipient_id>/applications/<int:application_id>/village-check",
    method="POST",
    summary="Record the village check (within 10 working days)",
    tag="recipients",
    permission="recipients.edit",
    body=StepIn,
    response=ApplicationOut,
)
def record_village_check(recipient_id: int, application_id: int, body: StepIn):
    return _advance(recipient_id, application_id, services.record_village_check, body)


@api_route(
    "/recipients/<int:recipient_id>/applications/<int:application_id>/township-review",
    method="POST",
    summary="Record the township review (within 5 working days of the check)",
    tag="recipients",
    permission="recipients.edit",
    body=StepIn,
    response=ApplicationOut,
)
def record_township_review(recipient_id: int, application_id: int, body: StepIn):
    return _advance(recipient_id, application_id, services.record_township_review, body)


@api_route(
    "/recipients/<int:recipient_id>/applications/<int:application_id>/decision",
    method="POST",
    summary="The county approves (service from the next month) or rejects with a reason",
    tag="recipients",
    permission="recipients.edit",
    body=DecisionIn,
    response=ApplicationOut,
)
def decide_recipient_application(recipient_id: int, application_id: int, body: DecisionIn):
    application = services.get_application(services.get_recipient(recipient_id), application_id)
    services.decide_application(
        application, approve=body.approve, on=body.on, reason=body.reason, actor=g.user
    )
    db.session.commit()
    return _application_out(application, calendar.overrides_table())


@api_route(
    "/recipient-applications",
    summary="Open applications with the deadline of their current step, overdue first",
    tag="recipients",
    permission="recipients.view",
    query=PageQuery,
    response=Page[OpenApplicationOut],
)
def list_open_applications(query: PageQuery):
    overrides = calendar.overrides_table()
    rows = services.open_applications(overrides)
    start = (query.page - 1) * query.per_page
    return {
        "items": [
            OpenApplicationOut(
                recipient_id=row.application.recipient_id,
                recipient_name=row.application.recipient.name,
                township_code=row.application.recipient.township_code,
                step=row.step,
                application=_application_out(row.application, overrides),
            )
            for row in rows[start : start + query.per_page]
        ],
        "total": len(rows),
        "page": query.page,
        "per_page": query.per_page,
    }


@api_route(
    "/recipients/<int:recipient_id>/exit",
    method="POST",
    summary="Record that a recipient leaves the programme",
    tag="recipients",
    permission="recipients.edit",
    body=ExitIn,
    response=RecipientOut,
)
def record_recipient_exit(recipient_id: int, body: ExitIn):
    recipient = services.record_exit(services.get_recipient(recipient_id), **body.model_dump())
    db.session.commit()
    return _recipient_out(recipient)


@api_route(
    "/recipients/<int:recipient_id>/moves",
    method="POST",
    summary="Record that a recipient moved to another township of the county",
    tag="recipients",
    permission="recipients.edit",
    body=MoveIn,
    response=RecipientOut,
    status=201,
)
def record_recipient_move(recipient_id: int, body: MoveIn):
    """The service follows from the month after the move (seed 000 §3(1)); visits until
    then belong to the old township's zone. A wrong township is corrected with PATCH."""
    recipient = services.get_recipient(recipient_id)
    services.record_move(recipient, **body.model_dump())
    db.session.commit()
    return _recipient_out(recipient)


# ------------------------------------------------------------------ monthly changes


def _changes_out(changes: services.MonthlyChanges) -> ContractChangesOut:
    contract = changes.contract
    return ContractChangesOut(
        contract_id=contract.id,
        contract_number=contract.number,
        provider_name=contract.provider.name,
        township_codes=list(contract.township_codes or []),
        started=[_summary(r) for r in changes.started],
        exited=[
            ExitedOut(recipient=_summary(r), no_service_from=effective)
            for r, effective in changes.exited
        ],
    )


@api_route(
    "/recipient-changes",
    summary="New and departing recipients per contract in a month",
    tag="recipients",
    permission="recipients.view",
    query=ChangesQuery,
    response=ChangesOut,
)
def list_recipient_changes(query: ChangesQuery):
    month = month_of(query.month)
    if query.contract_id is not None:
        contracts = [get_contract(query.contract_id)]
    else:
        contracts = services.contracts_in_month(month)
    return ChangesOut(
        month=query.month,
        contracts=[_changes_out(services.monthly_changes(c, month)) for c in contracts],
    )


def _changes_file(contract_id: int, month_text: str, *, full: bool):
    changes = services.monthly_changes(get_contract(contract_id), month_of(month_text))
    full_ids = services.full_id_numbers(changes) if full else None
    workbook = io.changes_workbook(changes, full_ids=full_ids)
    db.session.commit()
    return send_file(
        workbook,
        mimetype=XLSX,
        as_attachment=True,
        download_name=io.changes_filename(changes, full_ids=full),
    )


@api_route(
    "/recipient-changes/<int:contract_id>.xlsx",
    summary="A contract's changes of a month as .xlsx (ID numbers masked)",
    tag="recipients",
    permission="recipients.view",
    query=MonthIn,
    content_type=XLSX,
)
def export_recipient_changes(contract_id: int, query: MonthIn):
    return _changes_file(contract_id, query.month, full=False)


@api_route(
    "/recipient-changes/<int:contract_id>/full-ids.xlsx",
    method="POST",
    summary="The same list with full ID numbers (audited)",
    tag="recipients",
    permission="recipients.view_id",
    body=MonthIn,
    content_type=XLSX,
)
def export_recipient_changes_full(contract_id: int, body: MonthIn):
    return _changes_file(contract_id, body.month, full=True)


# ------------------------------------------------------------------ holiday table


@api_route(
    "/workday-overrides",
    summary="The bureau's holiday table for a year",
    tag="recipients",
    permission="calendar.view",
    query=OverrideQuery,
    response=OverrideList,
)
def list_workday_overrides(query: OverrideQuery):
    return OverrideList(
        year=query.year,
        calendar_known=calendar.calendar_known(query.year),
        items=[OverrideOut.model_validate(o) for o in calendar.overrides_of_year(query.year)],
    )


@api_route(
    "/workday-overrides",
    method="POST",
    summary="Add a holiday or make-up workday (administrators of a province only)",
    tag="recipients",
    permission="calendar.manage",
    body=OverrideIn,
    response=OverrideOut,
    status=201,
)
def create_workday_override(body: OverrideIn):
    override = calendar.add_override(**body.model_dump())
    db.session.commit()
    return OverrideOut.model_validate(override), 201


@api_route(
    "/workday-overrides/<int:override_id>",
    method="DELETE",
    summary="Remove a day from the holiday table (administrators of a province only)",
    tag="recipients",
    permission="calendar.manage",
    status=204,
)
def delete_workday_override(override_id: int):
    calendar.remove_override(calendar.get_override(override_id))
    db.session.commit()
    return None


# ------------------------------------------------------------------ import


@api_route(
    "/recipients/imports",
    method="POST",
    summary="Check a roster file (.xlsx, multipart field file): its report and a token",
    tag="recipients",
    permission="recipients.edit",
    response=staging.ImportReportOut,
    status=201,
    upload=("multipart/form-data",),
)
def check_recipient_import():
    """Nothing is written: the report names each refused row and column. Confirm the
    token to import the good rows (``?region_code=`` for a county other than your own)."""
    return staging.stage_posted(io.STAGED, region_code=requested_county().code)


@api_route(
    "/recipients/imports/<token>/confirm",
    method="POST",
    summary="Import a checked roster file (a job: 202, then GET its URL)",
    tag="recipients",
    permission="recipients.edit",
    response=JobOut,
    status=202,
)
def confirm_recipient_import(token: str):
    """A file is confirmed once: again, while its job runs or after, is 409 with the job."""
    county = requested_county()
    return started(lambda: io.STAGED.confirm(token, region_code=county.code, user=g.user))
