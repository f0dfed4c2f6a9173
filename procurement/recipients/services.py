"""The recipients roster's rules: registration, applications and their deadlines, exits,
the full ID number, eligibility by month and the monthly changes sent to providers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select, tuple_
from sqlalchemy.orm import selectinload

from procurement.accounts.models import User
from procurement.contracts.models import Contract, ContractStatus
from procurement.core import audit
from procurement.core.clock import today
from procurement.core.dates import past_date, read_date, read_month
from procurement.core.db import db
from procurement.core.errors import Conflict, FieldErrors, NotFound, ValidationError
from procurement.core.identifiers import InvalidIdentifier, parse_id_number
from procurement.policies.models import PolicyProfile, RecipientCategory
from procurement.policies.services import profile_for
from procurement.recipients import identity
from procurement.recipients.calendar import Due, due_after
from procurement.recipients.entitlement import (
    Eligibility,
    MonthEntitlement,
    eligibility,
    entitlement,
    exit_takes_effect,
    month_start,
    next_month,
)
from procurement.recipients.models import (
    Application,
    ApplicationStatus,
    ExitReason,
    Recipient,
    RecipientMove,
)
from procurement.regions.models import Region, RegionLevel
from procurement.regions.services import get_region

# seed 000 §3(1): the village checks within 10 working days, the township within 5
VILLAGE_WORKDAYS, TOWNSHIP_WORKDAYS = 10, 5
OPEN = (
    ApplicationStatus.AWAITING_VILLAGE,
    ApplicationStatus.AWAITING_TOWNSHIP,
    ApplicationStatus.AWAITING_COUNTY,
)
# step -> (the status it answers, the status after a pass); a failure rejects
STEPS = {
    "village": (ApplicationStatus.AWAITING_VILLAGE, ApplicationStatus.AWAITING_TOWNSHIP),
    "township": (ApplicationStatus.AWAITING_TOWNSHIP, ApplicationStatus.AWAITING_COUNTY),
    "county": (ApplicationStatus.AWAITING_COUNTY, ApplicationStatus.APPROVED),
}
PHONE = re.compile(r"^[0-9+\-() ]*$")
SEX_LABELS = {"male": _l("Male"), "female": _l("Female")}


class RosterStatus(StrEnum):
    APPLYING = "applying"
    IN_SERVICE = "in_service"
    EXITED = "exited"
    REGISTERED = "registered"  # on the roster, neither applying nor admitted

    @property
    def label(self) -> str:
        return str(ROSTER_STATUS_LABELS[self])


ROSTER_STATUS_LABELS = {
    RosterStatus.APPLYING: _l("Applying"),
    RosterStatus.IN_SERVICE: _l("In service"),
    RosterStatus.EXITED: _l("Left the programme"),
    RosterStatus.REGISTERED: _l("Registered, not applying"),
}


def _text(value: Any, limit: int) -> str:
    return ("" if value is None else str(value)).strip()[:limit]


# ------------------------------------------------------------------ reading


def get_recipient(recipient_id: int) -> Recipient:
    recipient = db.session.get(Recipient, recipient_id)
    if recipient is None:
        raise NotFound(_("Recipient %(id)s was not found.", id=recipient_id))
    return recipient


def get_application(recipient: Recipient, application_id: int) -> Application:
    application = db.session.get(Application, application_id)
    if application is None or application.recipient_id != recipient.id:
        raise NotFound(_("Application %(id)s was not found.", id=application_id))
    return application


def open_application(recipient: Recipient) -> Application | None:
    return next((a for a in recipient.applications if a.status in OPEN), None)


def roster_status(recipient: Recipient) -> RosterStatus:
    """Where the person stands on the roster (the list filter uses the same rule in SQL)."""
    if open_application(recipient) is not None:
        return RosterStatus.APPLYING
    if recipient.exit_reason is not None:
        return RosterStatus.EXITED
    if recipient.service_start is not None:
        return RosterStatus.IN_SERVICE
    return RosterStatus.REGISTERED


def _status_clause(status: RosterStatus):
    applying = Recipient.applications.any(Application.status.in_(OPEN))
    exited = Recipient.exit_reason.is_not(None)
    started = Recipient.service_start.is_not(None)
    return {
        RosterStatus.APPLYING: applying,
        RosterStatus.EXITED: ~applying & exited,
        RosterStatus.IN_SERVICE: ~applying & ~exited & started,
        RosterStatus.REGISTERED: ~applying & ~exited & ~started,
    }[status]


def id_number_message(invalid: InvalidIdentifier) -> str:
    """Why a text is not an ID number, without repeating the number."""
    if invalid.reason == "length":
        return _("An ID number has 18 characters (this one has %(n)s).", n=invalid.detail)
    if invalid.reason == "characters":
        return _("An ID number is 17 digits followed by a digit or X.")
    if invalid.reason == "birth_date":
        return _("Characters 7 to 14 must be a real birth date (YYYYMMDD).")
    return _(
        "The last character does not match the check character of the first 17 digits: "
        "a digit was probably mistyped."
    )


def roster_query(
    *,
    q: str | None = None,
    county_code: str | None = None,
    township_code: str | None = None,
    category: str | None = None,
    status: str | None = None,
) -> tuple[Select, str | None]:
    """The roster filtered for the list page and the API, and a problem with ``q`` if any.

    A whole ID number is looked up by its keyed hash (the stored number is encrypted);
    any other text searches names. Unknown category or status values filter nothing."""
    stmt = (
        select(Recipient)
        .options(selectinload(Recipient.applications))  # for each row's status
        .order_by(Recipient.township_code, Recipient.name, Recipient.id)
    )
    problem = None
    text = (q or "").strip()
    if text:
        if re.fullmatch(r"[0-9]{14,}[0-9Xx]?", text):
            try:
                number = parse_id_number(text).number
            except InvalidIdentifier as invalid:
                problem = id_number_message(invalid)
                stmt = stmt.where(False)
            else:
                stmt = stmt.where(Recipient.id_hash == identity.lookup_hasher()(number))
        else:
            stmt = stmt.where(Recipient.name.icontains(text, autoescape=True))  # % _ as typed
    if county_code:
        stmt = stmt.where(Recipient.region_code == county_code)
    if township_code:
        stmt = stmt.where(Recipient.township_code == township_code)
    if category in {c.value for c in RecipientCategory}:
        stmt = stmt.where(Recipient.category == RecipientCategory(category))
    if status in {s.value for s in RosterStatus}:
        stmt = stmt.where(_status_clause(RosterStatus(status)))
    return stmt, problem


@dataclass
class RosterPage:
    items: list[Recipient]
    after: int | None  # the last person of the page before (None: the first page)
    next_after: int | None  # the last person of this page, when more follow


def roster_page(stmt: Select, *, after: int | None, size: int) -> RosterPage:
    """One page of ``roster_query``'s roster in its order (township, name, id), starting
    after the person ``after`` (keyset paging: as fast on the last page as on the first,
    and no count of the whole roster)."""
    if after is not None:
        mark = db.session.execute(
            select(Recipient.township_code, Recipient.name).where(Recipient.id == after)
        ).first()
        if mark is None:
            after = None  # a person not (or no longer) visible: from the start
        else:
            key = tuple_(Recipient.township_code, Recipient.name, Recipient.id)
            stmt = stmt.where(key > tuple_(mark[0], mark[1], after))
    found = list(db.session.scalars(stmt.limit(size + 1)))
    more = len(found) > size
    items = found[:size]
    return RosterPage(items, after, items[-1].id if more else None)


# ------------------------------------------------------------------ the roster


@dataclass
class RecipientInput:
    id_number: str = ""  # on a change, empty keeps the stored number
    name: str = ""
    township_code: str | None = None
    village: str = ""
    address: str = ""
    phone: str = ""
    category: str = ""
    capability_level: Any = None
    assessed_on: Any = None
    assessor: str = ""
    assessment_valid_until: Any = None
    long_term_care: bool = False
    registered_in_county: bool = True
    lives_in_county: bool = True
    notes: str = ""
    # At registration only: an elder already in service when the roster is first kept.
    service_start: Any = None


def _capability(data: RecipientInput, birth: date | None, errors: FieldErrors) -> dict:
    values: dict[str, Any] = {"capability_level": None}
    raw = data.capability_level
    if raw not in (None, ""):
        text = str(raw).strip()
        if text in {"0", "1", "2", "3", "4"} and not isinstance(raw, float | bool):
            values["capability_level"] = int(text)
        else:
            errors.add("capability_level", _("Must be a level from 0 to 4 (GB/T 42195-2022)."))
    values["assessed_on"] = past_date(data.assessed_on, "assessed_on", errors, required=False)
    missing_date = values["assessed_on"] is None and "assessed_on" not in errors.fields
    if values["capability_level"] is not None and missing_date:
        errors.add("assessed_on", _("Give the date of the capability assessment."))
    if values["assessed_on"] and raw in (None, ""):
        errors.add("capability_level", _("Give the level assessed on this date."))
    if values["assessed_on"] and birth and values["assessed_on"] < birth:
        errors.add("assessed_on", _("The assessment cannot come before the birth date."))
    values["assessor"] = _text(data.assessor, 120)
    valid_until = read_date(
        data.assessment_valid_until, "assessment_valid_until", errors, required=False
    )
    values["assessment_valid_until"] = valid_until
    if valid_until and values["assessed_on"] and valid_until < values["assessed_on"]:
        errors.add("assessment_valid_until", _("The assessment cannot expire before it was made."))
    elif valid_until and values["assessed_on"] is None and "assessed_on" not in errors.fields:
        errors.add("assessed_on", _("Give the date of the capability assessment."))
    return values


def _require_assessment(values: dict, county: Region, errors: FieldErrors) -> None:
    """Under a profile that counts only a third-party assessment (seed 000 §2(1)), the
    roster holds its level, date, assessor and validity for everyone; each missing one is
    named. An expired one is kept: eligibility says from when it no longer counts."""
    profile = _county_profile(county)
    if profile is None or not profile.requires_assessment:
        return
    message = _(
        "%(policy)s requires a third-party capability assessment (GB/T 42195-2022): "
        "give this field.",
        policy=profile.name,
    )
    for name in ("capability_level", "assessed_on", "assessor", "assessment_valid_until"):
        if values.get(name) in (None, "") and name not in errors.fields:
            errors.add(name, message)


def _county_profile(county: Region) -> PolicyProfile | None:
    """The profile in force for the county this year (or, before one exists, last year)."""
    year = today().year
    return profile_for(county.code, year) or profile_for(county.code, year - 1)


def _township(
    code: str | None, county: Region, errors: FieldErrors, *, keep: str | None = None
) -> str | None:
    """The code of a current township of the county; a retired one only as ``keep``, the
    township the record already holds (issue 18: retired ones are not offered anew)."""
    if not code:
        errors.add("township_code", _("This field is required."))
        return None
    try:
        township = get_region(code, field="township_code")
    except (ValidationError, NotFound) as error:
        errors.add("township_code", error.message)
        return None
    if township.level is not RegionLevel.TOWNSHIP or not county.contains(township.code):
        errors.add(
            "township_code", _("%(name)s is not a township of this county.", name=township.name)
        )
        return None
    if township.retired_on is not None and township.code != keep:
        errors.add(
            "township_code",
            _(
                "%(name)s was retired on %(day)s; choose a current township.",
                name=township.name,
                day=township.retired_on.isoformat(),
            ),
        )
        return None
    return township.code


def _clean_recipient(
    data: RecipientInput, county: Region, errors: FieldErrors, current: Recipient | None
) -> dict:
    values: dict[str, Any] = {}
    birth = current.birth_date if current is not None else None
    raw_number = (data.id_number or "").strip()
    if raw_number or current is None:
        try:
            parsed = parse_id_number(raw_number)
        except InvalidIdentifier as invalid:
            errors.add("id_number", id_number_message(invalid))
        else:
            if parsed.birth_date > today():
                errors.add("id_number", _("The birth date in the ID number lies in the future."))
            else:
                birth = parsed.birth_date
                values |= identity.sealed(parsed.number)
                values |= {"sex": parsed.sex, "birth_date": parsed.birth_date}
    values["name"] = _text(data.name, 60)
    if not values["name"]:
        errors.add("name", _("This field is required."))
    values["township_code"] = _township(
        data.township_code, county, errors, keep=current.township_code if current else None
    )
    try:
        values["category"] = RecipientCategory(data.category)
    except ValueError:
        errors.add(
            "category",
            _(
                "Choose a category: %(names)s.",
                names="、".join(c.label for c in RecipientCategory),
            ),
        )
    values |= _capability(data, birth, errors)
    _require_assessment(values, county, errors)
    values["phone"] = _text(data.phone, 30)
    if not PHONE.match(values["phone"]):
        errors.add("phone", _("A phone number holds digits, spaces and + - ( ) only."))
    for name, limit in (("village", 60), ("address", 200), ("notes", 4000)):
        values[name] = _text(getattr(data, name), limit)
    for flag in ("long_term_care", "registered_in_county", "lives_in_county"):
        values[flag] = bool(getattr(data, flag))
    return values


def recipient_for_number(text: str | None) -> Recipient | None:
    """The roster entry (in the caller's scope) of an ID number, if valid and registered."""
    try:
        number = parse_id_number((text or "").strip()).number
    except InvalidIdentifier:
        return None
    return db.session.scalar(
        select(Recipient).where(Recipient.id_hash == identity.lookup_hasher()(number))
    )


def _refuse_duplicate(id_hash: str, county_code: str, exclude_id: int | None = None) -> None:
    """One person, one roster entry in the whole deployment (the hash is unique).

    The person found in another county is not named: that roster is not the caller's."""
    found = db.session.execute(
        select(Recipient.id, Recipient.name, Recipient.region_code)
        .where(Recipient.id_hash == id_hash)
        .execution_options(unscoped=True)
    ).first()
    if found is None or found.id == exclude_id:
        return
    if found.region_code == county_code:
        raise Conflict(
            _("This ID number is already on the roster (%(name)s).", name=found.name),
            field="id_number",
        )
    raise Conflict(
        _(
            "This ID number is already on the roster of another county. The person must "
            "leave that roster before joining this one."
        ),
        field="id_number",
    )


def _county(region_code: str) -> Region:
    region = get_region(region_code)
    if region.level is not RegionLevel.COUNTY:
        raise ValidationError(_("The recipients roster is kept by a county."), field="region_code")
    return region


def register_recipient(*, region_code: str, data: RecipientInput) -> Recipient:
    """Put an elder on a county's roster; sex and birth date come from the ID number
    (GB 11643-1999), which is stored encrypted and found by its keyed hash."""
    county = _county(region_code)
    errors = FieldErrors()
    values = _clean_recipient(data, county, errors, None)
    values["service_start"] = read_month(
        data.service_start, "service_start", errors, required=False
    )
    birth = values.get("birth_date")
    if values["service_start"] and birth and values["service_start"] < birth:
        errors.add("service_start", _("Service cannot start before the birth date."))
    errors.raise_if_any()
    _refuse_duplicate(values["id_hash"], county.code)
    recipient = Recipient(region_code=county.code, **values)
    db.session.add(recipient)
    db.session.flush()
    return recipient


def update_recipient(recipient: Recipient, data: RecipientInput) -> Recipient:
    """Correct a roster entry (the audit trail keeps the old values, never the number)."""
    county = get_region(recipient.region_code)
    errors = FieldErrors()
    values = _clean_recipient(data, county, errors, recipient)
    errors.raise_if_any()
    if "id_hash" in values:
        _refuse_duplicate(values["id_hash"], recipient.region_code, exclude_id=recipient.id)
    if values.get("id_hash") == recipient.id_hash:
        for unchanged in ("id_cipher", "id_hash", "id_masked"):
            values.pop(unchanged)  # a new cipher of the same number is no change
    corrected = values.get("township_code")
    if corrected and corrected != recipient.township_code and recipient.moves:
        # a correction, not a move: the township lived in since the last move was wrong
        recipient.moves[-1].to_township = corrected
    for name, value in values.items():
        setattr(recipient, name, value)
    db.session.flush()
    return recipient


def record_move(
    recipient: Recipient, *, township_code: Any, moved_on: Any, note: str = ""
) -> RecipientMove:
    """The person moved to another township of the county: the roster holds the new one,
    and service follows from the month after the move (seed 000 §3(1)); visits until then
    belong to the old township's zone (settlement reads the move). A wrong township is
    corrected by editing the roster entry instead."""
    county = get_region(recipient.region_code)
    errors = FieldErrors()
    township = _township(township_code, county, errors)
    if township and township == recipient.township_code:
        errors.add("township_code", _("The person already lives in this township."))
    day = past_date(moved_on, "moved_on", errors, required=True)
    last = recipient.moves[-1] if recipient.moves else None
    if day and last is not None and day <= last.moved_on:
        errors.add(
            "moved_on",
            _(
                "The move must come after the last one, on %(date)s.",
                date=last.moved_on.isoformat(),
            ),
        )
    errors.raise_if_any()
    assert township is not None and day is not None
    move = RecipientMove(
        recipient=recipient,
        region_code=recipient.region_code,
        from_township=recipient.township_code,
        to_township=township,
        moved_on=day,
        effective_from=next_month(day),
        note=_text(note, 2000),
    )
    db.session.add(move)
    recipient.township_code = township
    db.session.flush()
    return move


def reveal_id_number(recipient: Recipient) -> str:
    """The full ID number, for roles that need it; every look is audited (no number in it)."""
    audit.record(
        "reveal_id",
        entity_type="recipients",
        entity_id=recipient.id,
        region_code=recipient.region_code,
    )
    return identity.decrypt(recipient.id_cipher)


# ------------------------------------------------------------------ eligibility


@dataclass
class MonthStanding:
    month: date
    standing: MonthEntitlement
    eligibility: Eligibility


def standing_in(recipient: Recipient, profile: PolicyProfile, month: date) -> MonthStanding:
    """The person's standing in a month: the programme's dates, then the policy's rules."""
    month = month_start(month)
    return MonthStanding(
        month, entitlement(recipient, profile, month), eligibility(recipient, profile, month)
    )


def year_standing(
    recipient: Recipient, year: int
) -> tuple[PolicyProfile | None, list[MonthStanding]]:
    """Twelve months of standing and the reasons, for the recipient page."""
    profile = profile_for(recipient.region_code, year)
    if profile is None:
        return None, []
    return profile, [standing_in(recipient, profile, date(year, m, 1)) for m in range(1, 13)]


def no_profile_message(recipient: Recipient, year: int) -> str:
    return _(
        "No policy profile is in force for %(county)s in %(year)d.",
        county=get_region(recipient.region_code).name,
        year=year,
    )


# ------------------------------------------------------------------ applications


@dataclass(frozen=True)
class StepDeadline:
    step: str
    due: Due
    done_on: date | None

    @property
    def overdue(self) -> bool:
        return self.done_on is None and self.due.on is not None and self.due.on < today()

    @property
    def late(self) -> bool:
        return self.done_on is not None and self.due.on is not None and self.done_on > self.due.on


def application_deadlines(
    application: Application, overrides: dict[date, bool]
) -> dict[str, StepDeadline]:
    """The village deadline from the application, the township one from the village check."""
    deadlines = {
        "village": StepDeadline(
            "village",
            due_after(application.applied_on, VILLAGE_WORKDAYS, overrides),
            application.village_checked_on,
        )
    }
    if application.village_checked_on and application.village_passed:
        deadlines["township"] = StepDeadline(
            "township",
            due_after(application.village_checked_on, TOWNSHIP_WORKDAYS, overrides),
            application.township_reviewed_on,
        )
    return deadlines


def current_step(application: Application) -> str | None:
    return next(
        (step for step, (status, _next) in STEPS.items() if application.status == status), None
    )


@dataclass
class OpenApplication:
    application: Application
    step: str
    deadline: StepDeadline | None  # the county's decision has no deadline of its own

    @property
    def sort_key(self) -> tuple:
        if self.deadline is None:
            return (3, self.application.township_reviewed_on or self.application.applied_on)
        if self.deadline.overdue:
            return (0, self.deadline.due.on)
        if self.deadline.due.on is None:
            return (1, self.application.applied_on)
        return (2, self.deadline.due.on)


def open_applications(overrides: dict[date, bool]) -> list[OpenApplication]:
    """Every open application with the deadline of its current step: overdue first."""
    rows = []
    for application in db.session.scalars(
        select(Application)
        .options(selectinload(Application.recipient))
        .where(Application.status.in_(OPEN))
        .order_by(Application.applied_on)
    ):
        step = current_step(application)
        deadline = application_deadlines(application, overrides).get(step)
        rows.append(OpenApplication(application, step, deadline))
    return sorted(rows, key=lambda row: row.sort_key)


def create_application(recipient: Recipient, *, applied_on: Any) -> Application:
    """Open an application for service (seed 000 §3(1)); one open at a time."""
    pending = open_application(recipient)
    if pending is not None:
        raise Conflict(
            _(
                "%(name)s already has an open application (applied on %(date)s).",
                name=recipient.name,
                date=pending.applied_on.isoformat(),
            )
        )
    if recipient.exit_reason is ExitReason.DEATH:
        raise ValidationError(_("%(name)s is recorded as deceased.", name=recipient.name))
    if recipient.service_start is not None and recipient.exit_reason is None:
        raise Conflict(
            _(
                "%(name)s is already in service (from %(date)s).",
                name=recipient.name,
                date=recipient.service_start.isoformat(),
            )
        )
    errors = FieldErrors()
    day = past_date(applied_on, "applied_on", errors, required=True)
    if day and day < recipient.birth_date:
        errors.add("applied_on", _("The date comes before the birth date."))
    if day and recipient.exit_date and day < recipient.exit_date:
        errors.add(
            "applied_on",
            _(
                "A new application cannot come before the exit on %(date)s.",
                date=recipient.exit_date.isoformat(),
            ),
        )
    errors.raise_if_any()
    application = Application(
        recipient_id=recipient.id,
        region_code=recipient.region_code,
        applied_on=day,
        status=ApplicationStatus.AWAITING_VILLAGE,
    )
    recipient.applications.append(application)
    db.session.flush()
    return application


def _expect(application: Application, step: str) -> None:
    status = STEPS[step][0]
    if application.status != status:
        raise Conflict(
            _(
                "The application is not at this step: it is %(status)s.",
                status=ApplicationStatus(application.status).label,
            ),
            code="wrong_step",
        )


def _step_date(value: Any, after: date, too_early: str, errors: FieldErrors) -> date | None:
    """The date of a step: not in the future, not before the step it follows."""
    day = past_date(value, "on", errors, required=True)
    if day and day < after:
        errors.add("on", too_early)
    return day


def _passed(passed: Any, note: str, errors: FieldErrors) -> bool | None:
    if not isinstance(passed, bool):
        errors.add("passed", _("Say whether it was passed."))
        return None
    if not passed and not note:
        errors.add("note", _("Say why it was not passed."))
    return passed


def record_village_check(
    application: Application, *, on: Any, passed: Any, note: str = ""
) -> Application:
    """The village (community) check, due within 10 working days (seed 000 §3(1)).
    A failed check ends the application."""
    _expect(application, "village")
    errors = FieldErrors()
    note = _text(note, 2000)
    day = _step_date(
        on,
        application.applied_on,
        _("The check cannot come before the application (%(date)s).", date=application.applied_on),
        errors,
    )
    result = _passed(passed, note, errors)
    errors.raise_if_any()
    application.village_checked_on, application.village_passed = day, result
    application.village_note = note
    application.status = STEPS["village"][1] if result else ApplicationStatus.REJECTED
    audit.label(application, "village_check", note="passed" if result else "failed")
    db.session.flush()
    return application


def record_township_review(
    application: Application, *, on: Any, passed: Any, note: str = ""
) -> Application:
    """The township review, due within 5 working days of the village check (seed 000
    §3(1)). A failed review ends the application."""
    _expect(application, "township")
    errors = FieldErrors()
    note = _text(note, 2000)
    day = _step_date(
        on,
        application.village_checked_on,
        _(
            "The review cannot come before the village check (%(date)s).",
            date=application.village_checked_on,
        ),
        errors,
    )
    result = _passed(passed, note, errors)
    errors.raise_if_any()
    application.township_reviewed_on, application.township_passed = day, result
    application.township_note = note
    application.status = STEPS["township"][1] if result else ApplicationStatus.REJECTED
    audit.label(application, "township_review", note="passed" if result else "failed")
    db.session.flush()
    return application


def decide_application(
    application: Application, *, approve: Any, on: Any, reason: str = "", actor: User | None
) -> Application:
    """The county approves, or rejects with a reason; service starts the month after the
    approval (seed 000 §3(1)), and only for a person the policy then covers."""
    _expect(application, "county")
    errors = FieldErrors()
    reason = _text(reason, 2000)
    day = _step_date(
        on,
        application.township_reviewed_on,
        _(
            "The decision cannot come before the township review (%(date)s).",
            date=application.township_reviewed_on,
        ),
        errors,
    )
    if not isinstance(approve, bool):
        errors.add("decision", _("Approve or reject the application."))
    elif not approve and not reason:
        errors.add("reason", _("Give the reason for the rejection."))
    errors.raise_if_any()
    recipient = application.recipient
    if approve:
        start = next_month(day)
        _admit(recipient, start)
    application.status = ApplicationStatus.APPROVED if approve else ApplicationStatus.REJECTED
    application.decided_on, application.decision_reason = day, reason
    application.decided_by_id = actor.id if actor else None
    audit.label(application, "approve" if approve else "reject")
    db.session.flush()
    return application


def _admit(recipient: Recipient, start: date) -> None:
    """Start service on ``start``, refusing a person the policy in force then excludes."""
    profile = profile_for(recipient.region_code, start.year)
    if profile is not None:
        found = eligibility(recipient, profile, start)
        if not found.eligible:
            raise ValidationError(
                _(
                    "%(name)s does not meet the policy for %(month)s: %(reasons)s Correct "
                    "the roster entry, or reject the application with the reason.",
                    name=recipient.name,
                    month=start.strftime("%Y-%m"),
                    reasons=" ".join(found.reasons),
                ),
                field="decision",
            )
    recipient.service_start = start
    recipient.exit_reason, recipient.exit_date, recipient.exit_note = None, None, ""
    audit.label(recipient, "start_service", note=start.isoformat())


def rejected_at(application: Application) -> str | None:
    """Which step refused a rejected application: village, township or county."""
    if application.status != ApplicationStatus.REJECTED:
        return None
    if application.village_passed is False:
        return "village"
    if application.township_passed is False:
        return "township"
    return "county"


# ------------------------------------------------------------------ exits


def admitted_on(recipient: Recipient) -> date | None:
    """The day the person was admitted: the county's approval, or the start of service
    for an elder entered on the roster already in service."""
    approvals = [
        a.decided_on for a in recipient.applications if a.status == ApplicationStatus.APPROVED
    ]
    if approvals:
        return max(approvals)
    return recipient.service_start


def exit_effective(recipient: Recipient) -> date | None:
    """The first day without entitlement, if the person has left."""
    return _takes_effect(recipient.exit_reason, recipient.exit_date)


def record_exit(
    recipient: Recipient, *, exit_reason: Any, exit_date: Any, exit_note: str = ""
) -> Recipient:
    """Take a person off the service: death at once, moving away, no longer eligible or
    taking cash or goods instead of service from the next month (seed 000 §3(1))."""
    if recipient.exit_reason is not None:
        raise Conflict(
            _(
                "%(name)s already left on %(date)s (%(reason)s).",
                name=recipient.name,
                date=recipient.exit_date.isoformat(),
                reason=ExitReason(recipient.exit_reason).label,
            )
        )
    start = admitted_on(recipient)
    if start is None:
        raise ValidationError(
            _(
                "%(name)s has not been admitted to the service: an open application is "
                "rejected instead.",
                name=recipient.name,
            )
        )
    errors = FieldErrors()
    try:
        reason = ExitReason(exit_reason)
    except ValueError:
        reason = None
        errors.add("exit_reason", _("Choose the reason for leaving."))
    day = past_date(exit_date, "exit_date", errors, required=True)
    if day and day < start:
        errors.add(
            "exit_date",
            _(
                "The exit cannot come before %(date)s, when the person was admitted.",
                date=start.isoformat(),
            ),
        )
    note = _text(exit_note, 2000)
    if reason is ExitReason.ABUSE and not note:
        errors.add("exit_note", _("Say what was taken instead of the service."))
    errors.raise_if_any()
    recipient.exit_reason, recipient.exit_date, recipient.exit_note = reason, day, note
    audit.label(recipient, "exit", note=reason.value)
    db.session.flush()
    return recipient


# ------------------------------------------------------------------ monthly changes


def previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def contracts_in_month(month: date) -> list[Contract]:
    """The contracts under which providers serve in ``month`` (drafts serve nobody)."""
    return list(db.session.scalars(contracts_in_month_query(month)))


def contracts_in_month_query(month: date):
    month = month_start(month)
    return (
        select(Contract)
        .where(
            Contract.status != ContractStatus.DRAFT,
            Contract.service_start < next_month(month),
            Contract.service_end >= month,
            or_(Contract.terminated_on.is_(None), Contract.terminated_on >= month),
        )
        .order_by(Contract.number)
    )


@dataclass
class MonthlyChanges:
    contract: Contract
    month: date
    started: list[Recipient]
    exited: list[tuple[Recipient, date]]  # with the first day without service
    started_total: int = 0  # the lists may hold only the first ``limit`` people
    exited_total: int = 0


def monthly_changes(contract: Contract, month: date, limit: int | None = None) -> MonthlyChanges:
    """Who joins and who leaves a contract's zone in a month, for the provider's rota
    (the first ``limit`` of each, with the totals: a first month may start thousands)."""
    month = month_start(month)
    in_zone = (
        Recipient.region_code == contract.region_code,
        Recipient.township_code.in_(list(contract.township_codes or [])),
    )
    order = (Recipient.township_code, Recipient.name, Recipient.id)
    facts = select(
        Recipient.id, Recipient.exit_reason, Recipient.exit_date, Recipient.service_start
    )
    started = [
        rid
        for rid, reason, exit_date, _start in db.session.execute(
            facts.where(*in_zone, Recipient.service_start == month).order_by(*order)
        )
        if (_takes_effect(reason, exit_date) or next_month(month)) > month
    ]
    # Few leave in a month: they are found by date alone (an index the planner then
    # prefers to the zone's), and kept to the zone here.
    zone = (contract.region_code, set(contract.township_codes or []))
    exited = []
    for rid, reason, exit_date, start, region, township in db.session.execute(
        facts.add_columns(Recipient.region_code, Recipient.township_code)
        .where(
            Recipient.exit_date >= previous_month(month),
            Recipient.exit_date < next_month(month),
            Recipient.service_start.is_not(None),
        )
        .order_by(*order)
    ):
        if region != zone[0] or township not in zone[1]:
            continue
        effective = _takes_effect(reason, exit_date)
        if month <= effective < next_month(month) and start < effective:
            exited.append((rid, effective))
    people = _recipients([*started[:limit], *(rid for rid, _e in exited[:limit])])
    return MonthlyChanges(
        contract,
        month,
        [people[rid] for rid in started[:limit]],
        [(people[rid], effective) for rid, effective in exited[:limit]],
        started_total=len(started),
        exited_total=len(exited),
    )


def _takes_effect(reason: str | None, exit_date: date | None) -> date | None:
    if reason is None or exit_date is None:
        return None
    return exit_takes_effect(ExitReason(reason), exit_date)


def _recipients(ids: list[int]) -> dict[int, Recipient]:
    found: dict[int, Recipient] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(
            (r.id, r) for r in db.session.scalars(select(Recipient).where(Recipient.id.in_(chunk)))
        )
    return found


def full_id_numbers(changes: MonthlyChanges) -> dict[int, str]:
    """The full numbers of everyone in a change list, for an export; audited once."""
    people = [*changes.started, *(r for r, _effective in changes.exited)]
    audit.record(
        "export_full_ids",
        entity_type="contracts",
        entity_id=changes.contract.id,
        region_code=changes.contract.region_code,
        after={"month": changes.month.strftime("%Y-%m"), "recipients": len(people)},
    )
    return {r.id: identity.decrypt(r.id_cipher) for r in people}


def default_month() -> date:
    return month_start(today())
