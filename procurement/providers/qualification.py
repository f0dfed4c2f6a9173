"""The qualification criteria, each on both sides of its edges (政府采购法 art. 22, seed 000 §3(2)).

The look-back window of a check made as of day D with N years is [D − N years, D],
both ends included: an event dated exactly N years before D still counts, one dated a
day earlier does not, and events after D are not considered (they had not happened on
the day). Listings count on D when they had started by D and had not ended before D
(an end date equal to D still counts). Tax and social security fail on arrears still
unpaid on D (however old), and on any arrears of a period in the window even if since
settled: the law asks for a good payment record, not only for no debt today.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from procurement.providers.models import (
    DocumentKind,
    PaymentStatus,
    Provider,
    ProviderStatus,
    RecordKind,
    RegistrationAuthority,
    ViolationKind,
)

PASS, FAIL, MISSING = "pass", "fail", "missing"
CRITERIA = (
    "registration",
    "qualifications",
    "tax",
    "social_security",
    "major_violation",
    "annual_reports",
    "credit",
    "price_list",
)


CRITERION_LABELS = {
    "registration": _l("Legal registration"),
    "qualifications": _l("Professional qualifications"),
    "tax": _l("Tax payment"),
    "social_security": _l("Social-security contributions"),
    "major_violation": _l("No major violation"),
    "annual_reports": _l("Annual reports"),
    "credit": _l("Credit"),
    "price_list": _l("Price list"),
}


@dataclass
class Criterion:
    code: str
    result: str
    reason: str
    mandatory: bool = True
    evidence: list[str] = field(default_factory=list)


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (29 February falls back to the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def annual_report_deadline(year: int, authority: RegistrationAuthority) -> date:
    """Companies report by 30 June of the next year (企业信息公示暂行条例 art. 8);
    social organisations registered with civil affairs by 31 May."""
    if authority is RegistrationAuthority.CIVIL_AFFAIRS:
        return date(year + 1, 5, 31)
    return date(year + 1, 6, 30)


def is_major(record, threshold: Decimal) -> bool:
    """实施条例 art. 19 and 财库〔2022〕3号: criminal penalty, suspension, revocation, or a
    fine of at least the threshold (2,000,000 yuan); an officer's override wins."""
    if record.major_override is not None:
        return record.major_override
    if record.violation_kind in {
        ViolationKind.CRIMINAL_PENALTY,
        ViolationKind.SUSPENSION,
        ViolationKind.LICENCE_REVOCATION,
    }:
        return True
    return record.fine_amount is not None and record.fine_amount >= threshold


def _evidence(record) -> list[str]:
    return [f"document:{record.evidence_id}"] if record.evidence_id else []


def _registration(provider: Provider, day: date) -> Criterion:
    if provider.registration_date is None:
        return Criterion("registration", MISSING, _("No registration date is recorded."))
    if provider.registration_date > day:
        return Criterion(
            "registration",
            FAIL,
            _("Registered on %(date)s, after the check date.", date=provider.registration_date),
        )
    ended = provider.status is not ProviderStatus.ACTIVE and (
        provider.status_date is None or provider.status_date <= day
    )
    if ended:
        return Criterion(
            "registration",
            FAIL,
            _(
                "%(status)s on %(date)s.",
                status=provider.status.label,
                date=provider.status_date or "—",
            ),
        )
    return Criterion(
        "registration",
        PASS,
        _(
            "Registered with the %(authority)s on %(date)s and in existence on the check date.",
            authority=provider.registration_authority.label,
            date=provider.registration_date,
        ),
        evidence=[
            f"document:{d.id}"
            for d in provider.documents
            if d.kind is DocumentKind.BUSINESS_LICENCE
        ],
    )


def _qualifications(provider: Provider, day: date) -> Criterion:
    """Each required qualification (by name) must have one record valid on the day: a
    renewed licence replaces the expired one."""
    held = [q for q in provider.qualifications if q.issued_on <= day]
    required: dict[str, list] = {}
    for item in held:
        if item.required:
            required.setdefault(item.name, []).append(item)
    if not required:
        return Criterion(
            "qualifications", MISSING, _("No required professional qualification is recorded.")
        )
    valid = {
        name: [q for q in items if q.expires_on is None or q.expires_on >= day]
        for name, items in required.items()
    }
    expired = [
        max(items, key=lambda q: q.expires_on)
        for name, items in required.items()
        if not valid[name]
    ]
    evidence = [f"qualification:{q.id}" for items in valid.values() for q in items]
    if expired:
        names = "、".join(f"{q.name}（{q.expires_on}）" for q in expired)
        return Criterion(
            "qualifications",
            FAIL,
            _("Required qualifications expired before the check date: %(names)s.", names=names),
            evidence=evidence,
        )
    return Criterion(
        "qualifications",
        PASS,
        _("%(n)d required qualifications valid on the check date.", n=len(required)),
        evidence=evidence,
    )


def _payments(provider: Provider, kind: RecordKind, day: date, start: date) -> Criterion:
    code = kind.value
    records = [
        r for r in provider.records_of(kind) if r.period_start is not None and r.period_start <= day
    ]
    in_window = [r for r in records if r.period_end is None or r.period_end >= start]
    # Arrears still unpaid on the day count however old they are.
    unsettled = [
        r
        for r in records
        if r.payment_status is PaymentStatus.ARREARS
        and (r.settled_on is None or r.settled_on > day)
    ]
    if not in_window and not unsettled:
        return Criterion(
            code,
            MISSING,
            _(
                "No %(kind)s record covers the window from %(start)s to %(end)s.",
                kind=kind.label,
                start=start,
                end=day,
            ),
        )
    arrears = [r for r in in_window if r.payment_status is PaymentStatus.ARREARS]
    evidence = [e for r in in_window for e in _evidence(r)] + [f"record:{r.id}" for r in in_window]
    if unsettled:
        first = unsettled[0]
        return Criterion(
            code,
            FAIL,
            _(
                "Arrears for %(start)s to %(end)s were unsettled on the check date.",
                start=first.period_start,
                end=first.period_end or "—",
            ),
            evidence=evidence,
        )
    if arrears:
        first = arrears[0]
        return Criterion(
            code,
            FAIL,
            _(
                "Arrears for %(start)s to %(end)s (settled %(settled)s) fall in the look-back "
                "window.",
                start=first.period_start,
                end=first.period_end or "—",
                settled=first.settled_on,
            ),
            evidence=evidence,
        )
    return Criterion(
        code,
        PASS,
        _("%(n)d records in the window, no arrears.", n=len(in_window)),
        evidence=evidence,
    )


def _major_violation(provider: Provider, day: date, start: date, threshold: Decimal) -> Criterion:
    violations = [
        r
        for r in provider.records_of(RecordKind.VIOLATION)
        if r.decision_date is not None and start <= r.decision_date <= day
    ]
    major = [r for r in violations if is_major(r, threshold)]
    if major:
        first = major[0]
        detail = first.violation_kind.label if first.violation_kind else ""
        if first.fine_amount is not None:
            detail += f" {first.fine_amount:,.2f}"
        return Criterion(
            "major_violation",
            FAIL,
            _(
                "Major violation decided on %(date)s by %(authority)s: %(detail)s.",
                date=first.decision_date,
                authority=first.authority or "—",
                detail=detail.strip(),
            ),
            evidence=[f"record:{r.id}" for r in major],
        )
    # The upload time is when it was filed here, not when it was made: any declaration on
    # file counts (the bid's declaration is often scanned in after the deadline).
    declarations = [d for d in provider.documents if d.kind is DocumentKind.DECLARATION]
    if not declarations:
        return Criterion(
            "major_violation",
            MISSING,
            _("No written declaration of no major violation is on file (实施条例 art. 17)."),
        )
    minor = _(" (%(n)d minor violations in the window)", n=len(violations)) if violations else ""
    return Criterion(
        "major_violation",
        PASS,
        _(
            "No major violation from %(start)s to %(end)s%(minor)s.",
            start=start,
            end=day,
            minor=minor,
        ),
        evidence=[f"document:{d.id}" for d in declarations],
    )


def _annual_reports(provider: Provider, day: date, start: date) -> Criterion:
    first_year = provider.registration_date.year if provider.registration_date else None
    due = [
        year
        for year in range(start.year - 2, day.year + 1)
        if start <= annual_report_deadline(year, provider.registration_authority) <= day
        and (first_year is None or year >= first_year)
    ]
    filed = {
        r.report_year: r
        for r in provider.records_of(RecordKind.ANNUAL_REPORT)
        if r.filed_on is not None and r.filed_on <= day
    }
    missing = [year for year in due if year not in filed]
    if missing:
        return Criterion(
            "annual_reports",
            FAIL,
            _("No annual report filed for %(years)s.", years="、".join(map(str, missing))),
        )
    late = [
        year
        for year in due
        if filed[year].filed_on > annual_report_deadline(year, provider.registration_authority)
    ]
    note = _(" (filed late: %(years)s)", years="、".join(map(str, late))) if late else ""
    if not due:
        return Criterion("annual_reports", PASS, _("No annual report was due in the window."))
    return Criterion(
        "annual_reports",
        PASS,
        _("Annual reports filed for %(years)s%(note)s.", years="、".join(map(str, due)), note=note),
        evidence=[f"record:{filed[y].id}" for y in due],
    )


def _credit(provider: Provider, day: date) -> Criterion:
    listings = [
        r
        for r in provider.records_of(RecordKind.CREDIT_LISTING)
        if r.listed_from is not None
        and r.listed_from <= day
        and (r.listed_until is None or r.listed_until >= day)
    ]
    if listings:
        first = listings[0]
        return Criterion(
            "credit",
            FAIL,
            _(
                "On a dishonesty list (%(authority)s) from %(start)s until %(end)s.",
                authority=first.authority or "—",
                start=first.listed_from,
                end=first.listed_until or _("further notice"),
            ),
            evidence=[f"record:{first.id}"],
        )
    return Criterion(
        "credit",
        PASS,
        _("Not on a dishonesty list on the check date."),
        evidence=[
            f"document:{d.id}" for d in provider.documents if d.kind is DocumentKind.CREDIT_REPORT
        ],
    )


def _price_list(provider: Provider) -> Criterion:
    if not provider.prices:
        return Criterion("price_list", MISSING, _("No price list is recorded."))
    return Criterion("price_list", PASS, _("%(n)d priced services.", n=len(provider.prices)))


def evaluate(
    provider: Provider, day: date, lookback_years: int, major_fine_threshold: Decimal
) -> tuple[bool, date, list[dict]]:
    """Every criterion as of ``day``; qualified only if every mandatory one passes."""
    start = years_before(day, lookback_years)
    criteria = [
        _registration(provider, day),
        _qualifications(provider, day),
        _payments(provider, RecordKind.TAX, day, start),
        _payments(provider, RecordKind.SOCIAL_SECURITY, day, start),
        _major_violation(provider, day, start, major_fine_threshold),
        _annual_reports(provider, day, start),
        _credit(provider, day),
        _price_list(provider),
    ]
    qualified = all(c.result == PASS for c in criteria if c.mandatory)
    return qualified, start, [asdict(c) for c in criteria]
