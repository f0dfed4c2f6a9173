"""Who is entitled to service in a month, and why not (seed 000 §2(1), §3(1); seed 001 §3).

One place for the rules: the roster pages explain them, and settlement pays by them.
Age is taken on the first day of the month (an elder who turns 80 during June is
entitled from July under an "80+" rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from procurement.policies.models import PolicyProfile, RecipientCategory
from procurement.recipients.models import CAPABILITY_LEVELS, ExitReason, Recipient


class MonthStatus(StrEnum):
    ENTITLED = "entitled"
    NOT_STARTED = "not_started"  # no approval yet, or service starts in a later month
    EXITED = "exited"  # left the programme in an earlier month
    DIED = "died"  # died before the month (or, within the month, from that day)
    INELIGIBLE = "ineligible"
    LONG_TERM_CARE = "long_term_care"

    @property
    def label(self) -> str:
        return str(MONTH_STATUS_LABELS[self])


MONTH_STATUS_LABELS = {
    MonthStatus.ENTITLED: _l("Entitled"),
    MonthStatus.NOT_STARTED: _l("Service not started"),
    MonthStatus.EXITED: _l("Left the programme"),
    MonthStatus.DIED: _l("Deceased"),
    MonthStatus.INELIGIBLE: _l("Not eligible"),
    MonthStatus.LONG_TERM_CARE: _l("Receives long-term-care insurance"),
}


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def assessment_problem(recipient: Recipient, month: date) -> str | None:
    """Why the person's capability level does not count in ``month`` under a profile that
    requires a third-party assessment (seed 000 §2(1), GB/T 42195-2022), or None: the
    assessor, date, level and validity must all be known, the assessment made by the first
    day of the month and still valid on it (the day age is taken too)."""
    month = month_start(month)
    valid_until = getattr(recipient, "assessment_valid_until", None)
    missing = [
        str(label)
        for label, value in (
            (_l("assessor"), (recipient.assessor or "").strip()),
            (_l("assessment date"), recipient.assessed_on),
            (_l("capability level"), recipient.capability_level is not None),
            (_l("valid until"), valid_until),
        )
        if not value
    ]
    if missing:
        return _(
            "no third-party capability assessment (missing: %(fields)s)",
            fields="、".join(missing),
        )
    assert recipient.assessed_on is not None and valid_until is not None
    if recipient.assessed_on > month:
        return _(
            "the third-party assessment was made only on %(day)s",
            day=recipient.assessed_on.isoformat(),
        )
    if valid_until < month:
        return _(
            "the third-party assessment expired on %(day)s; a new assessment is needed",
            day=valid_until.isoformat(),
        )
    return None


@dataclass
class Eligibility:
    eligible: bool
    status: MonthStatus
    reasons: list[str] = field(default_factory=list)


def eligibility(recipient: Recipient, profile: PolicyProfile, month: date) -> Eligibility:
    """Whether the person meets the profile's conditions in ``month``, with the reasons."""
    month = month_start(month)
    age = age_on(recipient.birth_date, month)
    reasons: list[str] = []
    if profile.exclude_long_term_care and recipient.long_term_care:
        return Eligibility(
            False,
            MonthStatus.LONG_TERM_CARE,
            [_("Receives long-term-care insurance, which this policy excludes.")],
        )
    if profile.requires_residence and not (
        recipient.registered_in_county and recipient.lives_in_county
    ):
        return Eligibility(
            False,
            MonthStatus.INELIGIBLE,
            [_("The policy requires household registration in the county and living there.")],
        )
    category = RecipientCategory(recipient.category)
    level = recipient.capability_level
    unassessed = assessment_problem(recipient, month) if profile.requires_assessment else None
    for rule in profile.eligibility_rules:
        if rule["category"] != category.value:
            continue
        wanted = rule.get("min_capability_level")
        text = _(
            "%(category)s, aged %(min_age)d or over",
            category=category.label,
            min_age=rule["min_age"],
        )
        if wanted:
            text += _(", capability level %(level)d or worse", level=wanted)
        if age < rule["min_age"]:
            reasons.append(_("%(rule)s: aged %(age)d.", rule=text, age=age))
        elif wanted and unassessed:
            reasons.append(_("%(rule)s: %(problem)s.", rule=text, problem=unassessed))
        elif wanted and level is None:
            reasons.append(_("%(rule)s: no capability assessment.", rule=text))
        elif wanted and level < wanted:
            reasons.append(
                _("%(rule)s: assessed %(level)s.", rule=text, level=CAPABILITY_LEVELS[level])
            )
        else:
            return Eligibility(True, MonthStatus.ENTITLED, [_("Meets: %(rule)s.", rule=text)])
    if not reasons:
        reasons.append(
            _("The policy has no rule for the category %(category)s.", category=category.label)
        )
    return Eligibility(False, MonthStatus.INELIGIBLE, reasons)


@dataclass(frozen=True)
class MonthEntitlement:
    status: MonthStatus
    # Death within the month: visits from this day on are not entitled.
    died_on: date | None = None

    @property
    def entitled(self) -> bool:
        return self.status == MonthStatus.ENTITLED


def entitlement(recipient: Recipient, profile: PolicyProfile, month: date) -> MonthEntitlement:
    """The person's standing in ``month``: the programme's dates first, then eligibility."""
    month = month_start(month)
    if recipient.service_start is None or recipient.service_start > month:
        return MonthEntitlement(MonthStatus.NOT_STARTED)
    if recipient.exit_date is not None:
        if recipient.exit_reason == ExitReason.DEATH:
            if recipient.exit_date < month:
                return MonthEntitlement(MonthStatus.DIED)
            if recipient.exit_date < next_month(month):
                died_on = recipient.exit_date
                status = eligibility(recipient, profile, month).status
                return MonthEntitlement(status, died_on if status == MonthStatus.ENTITLED else None)
        elif next_month(recipient.exit_date) <= month:
            return MonthEntitlement(MonthStatus.EXITED)
    return MonthEntitlement(eligibility(recipient, profile, month).status)


def exit_takes_effect(reason: ExitReason, on: date) -> date:
    """The first day without entitlement: the day of death, else the next month."""
    return on if reason == ExitReason.DEATH else next_month(on)
