"""The provider register's rules: registration, records, evidence, qualification checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from procurement.accounts.models import User
from procurement.core import audit
from procurement.core.clock import today, utcnow
from procurement.core.dates import past_date
from procurement.core.db import db
from procurement.core.errors import Conflict, FieldErrors, NotFound, ValidationError
from procurement.core.files import EXTENSIONS, sniff, store_blob
from procurement.core.identifiers import InvalidIdentifier, parse_credit_code
from procurement.core.money import parse_amount
from procurement.plans.models import PurchasePlan
from procurement.policies.services import profile_for
from procurement.providers import qualification
from procurement.providers.models import (
    STAFF_SKILLS,
    ComplianceRecord,
    DocumentKind,
    EvidenceDocument,
    PaymentStatus,
    PriceItem,
    Provider,
    ProviderQualification,
    ProviderStatus,
    QualificationCheck,
    RecordKind,
    RegistrationAuthority,
    ViolationKind,
)
from procurement.regions.models import RegionLevel
from procurement.regions.services import get_region

DEFAULT_LOOKBACK_YEARS = 3
DEFAULT_MAJOR_FINE = Decimal("2000000.00")
EXPIRY_WARNING_DAYS = 60
ACCEPTED = ("application/pdf", "image/png", "image/jpeg")  # evidence: scans and photos


def _text(value: Any, limit: int) -> str:
    return ("" if value is None else str(value)).strip()[:limit]


# ------------------------------------------------------------------ reading


def get_provider(provider_id: int) -> Provider:
    provider = db.session.get(Provider, provider_id)
    if provider is None:
        raise NotFound(_("Provider %(id)s was not found.", id=provider_id))
    return provider


def describe_credit_code(code: str) -> dict:
    """What a credit code says about itself (for the form and the API)."""
    try:
        parsed = parse_credit_code(code)
    except InvalidIdentifier as invalid:
        return {"valid": False, "check_ok": False, "message": _credit_code_message(invalid)}
    return {
        "valid": True,
        "check_ok": parsed.check_ok,
        "expected_check": parsed.expected_check,
        "authority": parsed.authority_label,
        "organisation_type": parsed.organisation_type_label,
        "division_code": parsed.division_code,
    }


def _credit_code_message(invalid: InvalidIdentifier) -> str:
    if invalid.reason == "length":
        return _(
            "A unified social credit code has 18 characters (this one has %(n)s).", n=invalid.detail
        )
    if invalid.reason == "characters":
        return _(
            "These characters never appear in a credit code: %(chars)s (I, O, Z, S, V "
            "are not used).",
            chars=invalid.detail,
        )
    return _("Characters 3 to 8 must be the administrative division code.")


def expiring_qualifications(provider: Provider, within_days: int = EXPIRY_WARNING_DAYS):
    """Qualifications that expire within the coming days (or have expired)."""
    horizon = today() + timedelta(days=within_days)
    return [
        q for q in provider.qualifications if q.expires_on is not None and q.expires_on <= horizon
    ]


def latest_checks(provider: Provider) -> list[QualificationCheck]:
    """The newest check per plan (and the newest without a plan)."""
    seen, latest = set(), []
    for check in provider.checks:  # newest first
        if check.plan_id not in seen:
            seen.add(check.plan_id)
            latest.append(check)
    return latest


# ------------------------------------------------------------------ the register


@dataclass
class ProviderInput:
    name: str
    credit_code: str
    registration_authority: str
    registration_date: Any
    status: str = ProviderStatus.ACTIVE.value
    status_date: Any = None
    legal_representative: str = ""
    address: str = ""
    township_code: str | None = None
    contact_name: str = ""
    contact_phone: str = ""
    staff: dict[str, Any] = field(default_factory=dict)
    premises: str = ""
    notes: str = ""
    # An officer keeps a code that fails its check character only by confirming it.
    acknowledge_check_failure: bool = False
    acknowledgement_reason: str = ""


def _clean_provider(data: ProviderInput, region_code: str, errors: FieldErrors) -> dict:
    values: dict[str, Any] = {"name": _text(data.name, 120)}
    if not values["name"]:
        errors.add("name", _("This field is required."))
    code = (data.credit_code or "").strip().upper()
    values["credit_code"] = code
    values["credit_code_warning"] = None
    try:
        parsed = parse_credit_code(code)
    except InvalidIdentifier as invalid:
        errors.add("credit_code", _credit_code_message(invalid))
    else:
        if not parsed.check_ok:
            reason = _text(data.acknowledgement_reason, 200)
            if not (data.acknowledge_check_failure and reason):
                errors.add(
                    "credit_code",
                    _(
                        "The check character should be %(expected)s, not %(actual)s. If this is a "
                        "real early code, confirm it and give the reason.",
                        expected=parsed.expected_check,
                        actual=code[-1],
                    ),
                )
            else:
                values["credit_code_warning"] = _(
                    "Check character fails (expected %(expected)s); kept on confirmation: "
                    "%(reason)s",
                    expected=parsed.expected_check,
                    reason=reason,
                )
    try:
        values["registration_authority"] = RegistrationAuthority(data.registration_authority)
    except ValueError:
        errors.add(
            "registration_authority",
            _(
                "Registered with civil affairs, market regulation or the administrative "
                "approval bureau."
            ),
        )
    values["registration_date"] = past_date(
        data.registration_date, "registration_date", errors, required=True
    )
    try:
        values["status"] = ProviderStatus(data.status or ProviderStatus.ACTIVE.value)
    except ValueError:
        errors.add("status", _("Unknown status."))
    values["status_date"] = past_date(data.status_date, "status_date", errors, required=False)
    ended = values.get("status") not in (None, ProviderStatus.ACTIVE)
    if ended and not values["status_date"] and "status_date" not in errors.fields:
        errors.add("status_date", _("Give the date of deregistration or revocation."))
    values["township_code"] = None
    if data.township_code:
        township = None
        try:
            township = get_region(data.township_code, field="township_code")
        except (ValidationError, NotFound) as error:
            errors.add("township_code", error.message)
        if township is not None:
            if township.level is not RegionLevel.TOWNSHIP or not township.code.startswith(
                region_code
            ):
                errors.add(
                    "township_code",
                    _("%(name)s is not a township of this county.", name=township.name),
                )
            else:
                values["township_code"] = township.code
    staff = {}
    for skill in STAFF_SKILLS:
        raw = (data.staff or {}).get(skill, 0)
        raw = 0 if raw in (None, "") else raw
        try:
            number = int(raw)
            if number < 0 or number > 100000 or (isinstance(raw, float) and raw != number):
                raise ValueError
        except (TypeError, ValueError):
            errors.add(f"staff.{skill}", _("Must be a whole number."))
            continue
        staff[skill] = number
    values["staff"] = staff
    for name, limit in (
        ("legal_representative", 60),
        ("address", 200),
        ("contact_name", 60),
        ("contact_phone", 40),
        ("premises", 4000),
        ("notes", 4000),
    ):
        values[name] = _text(getattr(data, name), limit)
    return values


def _county(region_code: str):
    region = get_region(region_code)
    if region.level is not RegionLevel.COUNTY:
        raise ValidationError(_("The provider register is kept by a county."), field="region_code")
    return region


def register_provider(*, region_code: str, data: ProviderInput) -> Provider:
    """Add a provider to a county's register; its credit code is checked (GB 32100-2015)."""
    county = _county(region_code)
    errors = FieldErrors()
    values = _clean_provider(data, county.code, errors)
    errors.raise_if_any()
    duplicate = db.session.scalar(
        select(Provider.name).where(
            Provider.region_code == county.code, Provider.credit_code == values["credit_code"]
        )
    )
    if duplicate:
        raise Conflict(
            _(
                "Credit code %(code)s is already registered (%(name)s).",
                code=values["credit_code"],
                name=duplicate,
            ),
            field="credit_code",
        )
    provider = Provider(region_code=county.code, **values)
    db.session.add(provider)
    db.session.flush()
    return provider


def update_provider(provider: Provider, data: ProviderInput) -> Provider:
    """Change a provider's register entry (the audit trail keeps the old values).

    An early code confirmed before stays confirmed while it is not changed."""
    if (
        provider.credit_code_warning
        and (data.credit_code or "").strip().upper() == provider.credit_code
        and not data.acknowledgement_reason
    ):
        data.acknowledge_check_failure = True
        data.acknowledgement_reason = provider.credit_code_warning.rsplit("：", 1)[-1]
    errors = FieldErrors()
    values = _clean_provider(data, provider.region_code, errors)
    errors.raise_if_any()
    duplicate = db.session.scalar(
        select(Provider.name).where(
            Provider.region_code == provider.region_code,
            Provider.credit_code == values["credit_code"],
            Provider.id != provider.id,
        )
    )
    if duplicate:
        raise Conflict(
            _(
                "Credit code %(code)s is already registered (%(name)s).",
                code=values["credit_code"],
                name=duplicate,
            ),
            field="credit_code",
        )
    for name, value in values.items():
        setattr(provider, name, value)
    db.session.flush()
    return provider


# ------------------------------------------------------------------ records


def _evidence(provider: Provider, evidence_id: Any, errors: FieldErrors) -> int | None:
    if evidence_id in (None, ""):
        return None
    document = (
        db.session.get(EvidenceDocument, int(evidence_id)) if str(evidence_id).isdigit() else None
    )
    if document is None or document.provider_id != provider.id:
        errors.add("evidence_id", _("Choose one of this provider's documents."))
        return None
    return document.id


def add_record(provider: Provider, kind: str, values: dict[str, Any]) -> ComplianceRecord:
    """Record a dated compliance fact (tax, social security, violation, report, listing)."""
    errors = FieldErrors()
    try:
        kind = RecordKind(kind)
    except ValueError:
        raise ValidationError(_("Unknown record kind %(kind)s.", kind=kind), field="kind") from None
    record = ComplianceRecord(
        provider_id=provider.id,
        region_code=provider.region_code,
        kind=kind,
        description=_text(values.get("description"), 2000),
        authority=_text(values.get("authority"), 120),
    )
    record.evidence_id = _evidence(provider, values.get("evidence_id"), errors)
    if kind in (RecordKind.TAX, RecordKind.SOCIAL_SECURITY):
        record.period_start = past_date(
            values.get("period_start"), "period_start", errors, required=True
        )
        record.period_end = past_date(values.get("period_end"), "period_end", errors, required=True)
        if record.period_start and record.period_end and record.period_end < record.period_start:
            errors.add("period_end", _("The period ends before it starts."))
        try:
            record.payment_status = PaymentStatus(values.get("payment_status") or "normal")
        except ValueError:
            errors.add("payment_status", _("Paid normally, or in arrears."))
        record.settled_on = past_date(
            values.get("settled_on"), "settled_on", errors, required=False
        )
        if record.settled_on and record.payment_status is not PaymentStatus.ARREARS:
            errors.add("settled_on", _("Only arrears are settled."))
        if record.settled_on and record.period_start and record.settled_on < record.period_start:
            errors.add("settled_on", _("Arrears cannot be settled before the period starts."))
    elif kind is RecordKind.VIOLATION:
        record.decision_date = past_date(
            values.get("decision_date"), "decision_date", errors, required=True
        )
        try:
            record.violation_kind = ViolationKind(values.get("violation_kind"))
        except ValueError:
            errors.add("violation_kind", _("Choose the kind of violation."))
        if values.get("fine_amount") not in (None, ""):
            try:
                record.fine_amount = parse_amount(values["fine_amount"])
                if record.fine_amount <= 0:
                    raise ValueError
            except ValueError:
                errors.add(
                    "fine_amount",
                    _("Must be an amount in yuan with at most two decimals, such as 1234.50."),
                )
        elif record.violation_kind is ViolationKind.FINE:
            errors.add("fine_amount", _("Give the amount of the fine."))
        override = values.get("major_override")
        if override not in (None, ""):
            record.major_override = override in (True, "true", "1", "yes", "major")
            record.major_override_reason = _text(values.get("major_override_reason"), 500)
            if not record.major_override_reason:
                errors.add(
                    "major_override_reason",
                    _("Overriding whether a violation is major needs a reason."),
                )
    elif kind is RecordKind.ANNUAL_REPORT:
        year = values.get("report_year")
        text = str(year or "").strip()
        if not (text.isascii() and text.isdecimal()) or not 1990 <= int(text) < today().year:
            errors.add("report_year", _("Must be a past year."))
        else:
            record.report_year = int(text)
        record.filed_on = past_date(values.get("filed_on"), "filed_on", errors, required=True)
        if record.report_year and record.filed_on and record.filed_on.year <= record.report_year:
            errors.add("filed_on", _("A year's report is filed in a later year."))
    else:
        record.listed_from = past_date(
            values.get("listed_from"), "listed_from", errors, required=True
        )
        until = values.get("listed_until")
        if until not in (None, ""):
            try:
                record.listed_until = date.fromisoformat(str(until)[:10])
            except ValueError:
                errors.add("listed_until", _("Must be a date such as 2026-01-31."))
        if record.listed_from and record.listed_until and record.listed_until < record.listed_from:
            errors.add("listed_until", _("The listing ends before it starts."))
    errors.raise_if_any()
    if any(_same_record(existing, record) for existing in provider.records):
        raise Conflict(
            _("The same %(kind)s record is already in the register.", kind=kind.label),
            code="duplicate",
        )
    provider.records.append(record)
    db.session.flush()
    return record


def settle_arrears(record: ComplianceRecord, settled_on: Any) -> ComplianceRecord:
    """Record that arrears were paid (the record keeps its period; the audit trail the change)."""
    if record.payment_status is not PaymentStatus.ARREARS or record.settled_on is not None:
        raise Conflict(_("Only unsettled arrears can be settled."), code="not_arrears")
    errors = FieldErrors()
    day = past_date(settled_on, "settled_on", errors, required=True)
    if day and record.period_start and day < record.period_start:
        errors.add("settled_on", _("Arrears cannot be settled before the period starts."))
    errors.raise_if_any()
    record.settled_on = day
    audit.label(record, "settle")
    db.session.flush()
    return record


def get_record(provider: Provider, record_id: int) -> ComplianceRecord:
    record = db.session.get(ComplianceRecord, record_id)
    if record is None or record.provider_id != provider.id:
        raise NotFound(_("Record %(id)s was not found.", id=record_id))
    return record


SAME_RECORD_KEYS = {
    RecordKind.TAX: ("period_start", "period_end", "payment_status", "settled_on"),
    RecordKind.SOCIAL_SECURITY: ("period_start", "period_end", "payment_status", "settled_on"),
    RecordKind.VIOLATION: ("decision_date", "violation_kind", "fine_amount", "authority"),
    RecordKind.ANNUAL_REPORT: ("report_year",),  # one report per year
    RecordKind.CREDIT_LISTING: ("listed_from", "listed_until", "authority"),
}


def _same_record(existing: ComplianceRecord, new: ComplianceRecord) -> bool:
    """Whether two records state the same fact (importing a file twice adds nothing)."""
    return existing.kind is new.kind and all(
        getattr(existing, key) == getattr(new, key) for key in SAME_RECORD_KEYS[new.kind]
    )


def add_qualification(provider: Provider, values: dict[str, Any]) -> ProviderQualification:
    """Record a professional qualification; it cannot expire before it was issued."""
    errors = FieldErrors()
    name = _text(values.get("name"), 120)
    if not name:
        errors.add("name", _("This field is required."))
    issued = past_date(values.get("issued_on"), "issued_on", errors, required=True)
    expires = None
    if values.get("expires_on") not in (None, ""):
        try:
            expires = date.fromisoformat(str(values["expires_on"])[:10])
        except ValueError:
            errors.add("expires_on", _("Must be a date such as 2026-01-31."))
    if issued and expires and expires < issued:
        errors.add(
            "expires_on",
            _(
                "It cannot expire (%(expires)s) before it was issued (%(issued)s).",
                expires=expires,
                issued=issued,
            ),
        )
    evidence_id = _evidence(provider, values.get("evidence_id"), errors)
    errors.raise_if_any()
    item = ProviderQualification(
        region_code=provider.region_code,
        name=name,
        number=_text(values.get("number"), 80),
        issued_on=issued,
        expires_on=expires,
        evidence_id=evidence_id,
        required=values.get("required", True) not in (False, "false", "0", "", None),
    )
    provider.qualifications.append(item)
    db.session.flush()
    return item


def add_price(provider: Provider, values: dict[str, Any]) -> PriceItem:
    """Add a line to the provider's price list."""
    errors = FieldErrors()
    service = _text(values.get("service"), 80)
    unit = _text(values.get("unit"), 20)
    if not service:
        errors.add("service", _("This field is required."))
    if not unit:
        errors.add("unit", _("This field is required."))
    price = None
    try:
        price = parse_amount(values.get("price"))
        if price <= 0 or price > Decimal("100000"):
            raise ValueError
    except ValueError:
        errors.add(
            "price", _("Must be an amount in yuan with at most two decimals, such as 1234.50.")
        )
    errors.raise_if_any()
    item = PriceItem(region_code=provider.region_code, service=service, unit=unit, price=price)
    provider.prices.append(item)
    db.session.flush()
    return item


# ------------------------------------------------------------------ evidence


def store_document(
    provider: Provider,
    *,
    actor: User | None,
    kind: str,
    title: str,
    filename: str,
    stream: IO[bytes],
) -> EvidenceDocument:
    """Keep an uploaded PDF or image (checked by content and size) under instance/ by hash."""
    errors = FieldErrors()
    try:
        kind = DocumentKind(kind)
    except ValueError:
        errors.add("kind", _("Choose the kind of document."))
    limit = current_app.config["EVIDENCE_MAX_BYTES"]
    data = stream.read(limit + 1)
    if not data:
        errors.add("file", _("The file is empty."))
    elif len(data) > limit:
        errors.add("file", _("The file is larger than %(mb)d MB.", mb=limit // (1024 * 1024)))
    content_type = sniff(data[:16]) if data else None
    extension = Path(filename or "").suffix.lower()
    if data and len(data) <= limit:
        if content_type not in ACCEPTED:
            errors.add("file", _("Only PDF, PNG and JPEG files are accepted."))
        elif extension not in EXTENSIONS[content_type]:
            errors.add(
                "file",
                _(
                    "The file's name (%(ext)s) does not match its content (%(type)s).",
                    ext=extension or "—",
                    type=content_type,
                ),
            )
    errors.raise_if_any()
    digest = store_blob(data)
    document = EvidenceDocument(
        provider_id=provider.id,
        region_code=provider.region_code,
        kind=kind,
        title=_text(title, 200) or Path(filename).stem[:200],
        filename=Path(filename).name[:200],
        content_type=content_type,
        size=len(data),
        sha256=digest,
        uploaded_by_id=actor.id if actor else None,
        uploaded_at=utcnow(),
    )
    db.session.add(document)
    db.session.flush()
    return document


# ------------------------------------------------------------------ checks


def run_check(
    provider: Provider, *, actor: User | None, as_of: date, plan: PurchasePlan | None = None
) -> QualificationCheck:
    """Check every criterion as of a date (normally the bid deadline) and keep the result."""
    if not isinstance(as_of, date):
        raise ValidationError(_("Must be a date such as 2026-01-31."), field="as_of")
    if plan is not None and plan.region_code != provider.region_code:
        raise ValidationError(_("The plan belongs to another county."), field="plan_id")
    profile = plan.policy_profile if plan else profile_for(provider.region_code, as_of.year)
    lookback = profile.qualification_lookback_years if profile else DEFAULT_LOOKBACK_YEARS
    threshold = profile.major_fine_threshold if profile else DEFAULT_MAJOR_FINE
    qualified, start, criteria = qualification.evaluate(provider, as_of, lookback, threshold)
    check = QualificationCheck(
        provider_id=provider.id,
        region_code=provider.region_code,
        plan_id=plan.id if plan else None,
        as_of=as_of,
        policy_profile_id=profile.id if profile else None,
        lookback_years=lookback,
        major_fine_threshold=threshold,
        window_start=start,
        qualified=qualified,
        criteria=criteria,
        provider_snapshot={
            "name": provider.name,
            "credit_code": provider.credit_code,
            "status": provider.status.value,
        },
        checked_by_id=actor.id if actor else None,
        checked_at=utcnow(),
    )
    db.session.add(check)
    audit.label(check, "qualification_check", note="qualified" if qualified else "not qualified")
    db.session.flush()
    return check
