"""Acceptance (履约验收) and performance evaluation (绩效评价) of contracts.

Acceptance (seed 000 §3(3); 实施条例 art. 45; 政府采购法 art. 41): per contract, for the
whole service period (final) or a stage of it, delivered against contracted is computed
from the confirmed statements, the officer records quality findings and the recipients'
opinions (they must be invited), a team of at least ``MIN_TEAM`` signs, another officer
approves (four eyes) and the certificate (验收书) is generated; the result is then
published.

Evaluation (seed 000 §4; seed 003): after the service period the buyer, finance, the
recipients (a satisfaction survey) and a third party score the contract, each after
declaring no conflict of interest with the provider; the weighted total gives the grade.

``provider_record`` is what next year's selection reads (``procurement.renewal``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, distinct, func, select
from sqlalchemy.orm import selectinload

from procurement.accounts.models import User
from procurement.accounts.roles import ROLE_LABELS, Role
from procurement.contracts.models import Contract, ContractStatus
from procurement.core import audit, spreadsheets
from procurement.core.clock import today, utcnow
from procurement.core.dates import past_date, read_date
from procurement.core.db import db
from procurement.core.errors import (
    Conflict,
    FieldErrors,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from procurement.core.files import read_blob, store_blob
from procurement.performance.models import (
    Acceptance,
    AcceptanceStatus,
    Conclusion,
    Evaluation,
    EvaluationScore,
    EvaluationStatus,
)
from procurement.plans.budget import months_in_period
from procurement.plans.models import PurchasePlan
from procurement.policies.models import GRADE_LABELS, GRADES, EntitlementModel, EvaluationParty
from procurement.public.models import PublicationKind
from procurement.public.services import publish
from procurement.recipients.models import Recipient
from procurement.settlements.importer import read_xlsx
from procurement.settlements.models import ServiceRecord, Settlement, SettlementStatus
from procurement.supervision.models import Complaint, ComplaintStatus

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Contracts that were performed (or partly, until terminated) and can be accepted.
PERFORMED = (
    ContractStatus.SIGNED,
    ContractStatus.IN_FORCE,
    ContractStatus.COMPLETED,
    ContractStatus.TERMINATED,
)
# The acceptance team (验收小组): at least three members, so that the buyer's officer is
# joined by at least two others (e.g. finance or a township, and a recipients'
# representative or an expert) and the team can decide by majority; 政府采购法 art. 41
# wants every member to sign, and local rules commonly ask for three or more.
MIN_TEAM = 3
MAX_ROWS = 50
TEXT_LIMIT = 4000
SHORT_LIMIT = 120

UNIT_LABELS = {"hour": _l("hours"), "visit": _l("visits")}
FINDING_KINDS = {
    "inspection": _l("Routine inspection"),
    "spot_check": _l("Spot check in recipients' homes"),
    "complaints": _l("Complaint verification"),
    "other": _l("Other finding"),
}

# action -> (states it is allowed from, state it leads to or None)
ACCEPTANCE_TRANSITIONS: dict[str, tuple[frozenset[AcceptanceStatus], AcceptanceStatus | None]] = {
    "update": (frozenset({AcceptanceStatus.DRAFT}), None),
    "approve": (frozenset({AcceptanceStatus.DRAFT}), AcceptanceStatus.APPROVED),
    "publish": (frozenset({AcceptanceStatus.APPROVED}), AcceptanceStatus.PUBLISHED),
}
EVALUATION_TRANSITIONS: dict[str, tuple[frozenset[EvaluationStatus], EvaluationStatus | None]] = {
    "score": (frozenset({EvaluationStatus.OPEN}), None),
    "complete": (frozenset({EvaluationStatus.OPEN}), EvaluationStatus.COMPLETED),
    "publish": (frozenset({EvaluationStatus.COMPLETED}), EvaluationStatus.PUBLISHED),
}

# Which role enters which party's scores (seed 000 §4: buyer, finance, recipients, third
# party). The permission ``evaluations.score`` lets the three roles in; this table says
# which form is theirs, so that finance can never enter the buyer's scores.
PARTY_ROLES: dict[EvaluationParty, frozenset[Role]] = {
    EvaluationParty.BUYER: frozenset({Role.OFFICER}),
    EvaluationParty.FINANCE: frozenset({Role.FINANCE}),
    EvaluationParty.RECIPIENTS: frozenset({Role.OFFICER, Role.EVALUATOR}),
    EvaluationParty.THIRD_PARTY: frozenset({Role.EVALUATOR}),
}

# The satisfaction survey: answer -> (count key, points)
SURVEY_ANSWERS = {
    "非常满意": ("very_satisfied", 100),
    "满意": ("satisfied", 80),
    "基本满意": ("basic", 60),
    "不满意": ("unsatisfied", 0),
}
SURVEY_KEYS = tuple(key for key, _points in SURVEY_ANSWERS.values())
SURVEY_POINTS = dict(SURVEY_ANSWERS.values())
SURVEY_COLUMN = "满意度"
GRADE_ORDER = (*GRADES, "fail")

ID_NUMBER = re.compile(r"\d{15,}|\d{17}[Xx]|\d{2,6}\*{4,}[\dXx]{0,4}")


def _text(value: Any) -> str:
    return ("" if value is None else str(value)).strip()


def _point(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def percent(part: Decimal | int, whole: Decimal | int) -> str:
    """``part`` as a percentage of ``whole`` with one decimal (95.3%); — when whole is 0."""
    if not whole:
        return "—"
    rate = Decimal(part) * 100 / Decimal(whole)
    return f"{rate.quantize(Decimal('0.1'), ROUND_HALF_UP)}%"


def _allowed(record, table: dict, action: str):
    """The state ``action`` leads to; refused when the record's state does not allow it."""
    allowed, target = table[action]
    if record.status not in allowed:
        raise Conflict(
            _(
                "This is %(status)s: it cannot be %(action)s.",
                status=record.status.label,
                action=_WORDS[action](),
            ),
            code="invalid_state",
        )
    return target


_WORDS = {
    "update": lambda: _("changed"),
    "approve": lambda: _("approved"),
    "publish": lambda: _("published"),
    "score": lambda: _("scored"),
    "complete": lambda: _("closed as complete"),
}


def contract_end(contract: Contract) -> date:
    """The last day of service: the termination date of a terminated contract."""
    if contract.status is ContractStatus.TERMINATED and contract.terminated_on:
        return min(contract.terminated_on, contract.service_end)
    return contract.service_end


def _performed(contract: Contract) -> None:
    if contract.status not in PERFORMED:
        raise Conflict(
            _("Contract %(number)s has not been signed.", number=contract.number),
            code="not_signed",
        )


# ================================================================== acceptance: figures


@dataclass(frozen=True)
class Figures:
    """Delivered against contracted for one contract and period (what the certificate states)."""

    unit: str  # hour or visit
    months: int
    contracted_quantity: Decimal
    delivered_quantity: Decimal
    contracted_recipients: int
    recipients_served: int
    amount_contracted: Decimal
    amount_settled: Decimal
    verified_complaints: int
    confirmed_months: tuple[date, ...]
    draft_statements: int  # statements of the period finance has not confirmed yet

    @property
    def months_text(self) -> str:
        return "、".join(f"{month:%Y-%m}" for month in self.confirmed_months)

    def stored(self) -> dict:
        """The values an Acceptance keeps as its snapshot."""
        return {
            "unit": self.unit,
            "contracted_quantity": self.contracted_quantity,
            "delivered_quantity": self.delivered_quantity,
            "contracted_recipients": self.contracted_recipients,
            "recipients_served": self.recipients_served,
            "amount_contracted": self.amount_contracted,
            "amount_settled": self.amount_settled,
            "verified_complaints": self.verified_complaints,
        }


def acceptance_figures(contract: Contract, start: date, end: date) -> Figures:
    """Contracted and delivered for ``start``..``end``: contracted from the contract's
    people and the profile's entitlement (hours per month or visits per year) over the
    months of the period, its amount prorated; delivered, settled and people served from
    the statements finance confirmed; verified complaints attributable to the provider."""
    profile = contract.plan.policy_profile
    months = months_in_period(start, end)
    hourly = profile.entitlement_model is EntitlementModel.HOURS_PER_MONTH
    if hourly:
        contracted = Decimal(contract.recipients) * profile.hours_per_month * months
    else:
        contracted = Decimal(contract.recipients * profile.visits_per_year * months) / 12
    term = months_in_period(contract.service_start, contract.service_end)
    prorated = contract.amount * months / term
    first = start.replace(day=1)
    in_period = (
        Settlement.contract_id == contract.id,
        Settlement.month >= first,
        Settlement.month <= end,
    )
    confirmed = db.session.execute(
        select(Settlement.month, Settlement.paid_minutes, Settlement.paid_visits, Settlement.amount)
        .where(*in_period, Settlement.status == SettlementStatus.CONFIRMED)
        .order_by(Settlement.month)
    ).all()
    drafts = db.session.scalar(
        select(func.count()).where(*in_period, Settlement.status == SettlementStatus.DRAFT)
    )
    months_done = tuple(row.month for row in confirmed)
    if hourly:
        delivered = Decimal(sum(row.paid_minutes for row in confirmed)) / 60
    else:
        delivered = Decimal(sum(row.paid_visits for row in confirmed))
    served = 0
    if months_done:
        served = db.session.scalar(
            select(func.count(distinct(ServiceRecord.recipient_id))).where(
                ServiceRecord.contract_id == contract.id,
                ServiceRecord.month.in_(months_done),
                ServiceRecord.paid_minutes > 0,
            )
        )
    complaints = db.session.scalar(
        select(func.count()).where(
            Complaint.contract_id == contract.id,
            Complaint.status == ComplaintStatus.VERIFIED,
            Complaint.attributable.is_(True),
            Complaint.received_on >= start,
            Complaint.received_on <= end,
        )
    )
    return Figures(
        unit="hour" if hourly else "visit",
        months=months,
        contracted_quantity=_point(contracted),
        delivered_quantity=_point(delivered),
        contracted_recipients=contract.recipients,
        recipients_served=int(served or 0),
        amount_contracted=_point(prorated),
        amount_settled=_point(sum((row.amount for row in confirmed), ZERO)),
        verified_complaints=int(complaints or 0),
        confirmed_months=months_done,
        draft_statements=int(drafts or 0),
    )


def figures_of(acceptance: Acceptance) -> Figures:
    """The figures as they are now for the acceptance's contract and period."""
    return acceptance_figures(acceptance.contract, acceptance.period_start, acceptance.period_end)


# ================================================================== acceptance: input


@dataclass
class AcceptanceInput:
    """What the officer enters; everything else is computed."""

    final: bool = True
    period_start: Any = None
    period_end: Any = None
    accepted_on: Any = None
    findings: list[dict] = field(default_factory=list)
    recipients_invited: Any = 0
    recipients_answered: Any = 0
    recipients_satisfied: Any = 0
    opinion_summary: str = ""
    conclusion: str | None = None
    conclusion_text: str = ""
    team: list[dict] = field(default_factory=list)


def default_period(contract: Contract) -> tuple[date, date]:
    """The whole service period (a final acceptance)."""
    return contract.service_start, contract_end(contract)


def _last_of_month(day: date) -> bool:
    return (day + timedelta(days=1)).day == 1


def _period(
    contract: Contract, data: AcceptanceInput, errors: FieldErrors, *, exclude: int | None
) -> tuple[date | None, date | None, date | None]:
    """The period lies in the service term, in whole months, and is over; a final
    acceptance runs to the end of the term; acceptances of one contract do not overlap."""
    start = read_date(data.period_start, "period_start", errors, required=True)
    end = read_date(data.period_end, "period_end", errors, required=True)
    accepted_on = past_date(data.accepted_on, "accepted_on", errors, required=True)
    if start is None or end is None:
        return start, end, accepted_on
    last = contract_end(contract)
    if end < start:
        errors.add("period_end", _("The period ends before it starts."))
        return start, end, accepted_on
    if start < contract.service_start or end > last:
        errors.add(
            "period_start",
            _(
                "The period must lie within the service term, %(start)s to %(end)s.",
                start=contract.service_start.isoformat(),
                end=last.isoformat(),
            ),
        )
    if start.day != 1 and start != contract.service_start:
        errors.add("period_start", _("Statements are monthly: start on the first of a month."))
    if not _last_of_month(end) and end != last:
        errors.add("period_end", _("Statements are monthly: end on the last day of a month."))
    if data.final and end != last:
        errors.add(
            "period_end",
            _("A final acceptance runs to the end of the term (%(end)s).", end=last.isoformat()),
        )
    if end >= today():
        errors.add(
            "period_end",
            _("The period is accepted after it is over (it ends on %(end)s).", end=end.isoformat()),
        )
    if accepted_on is not None and accepted_on < end:
        errors.add(
            "accepted_on",
            _("The acceptance takes place after the period (%(end)s).", end=end.isoformat()),
        )
    others = db.session.scalars(
        select(Acceptance).where(
            Acceptance.contract_id == contract.id, Acceptance.id != (exclude or 0)
        )
    ).all()
    for other in others:
        if data.final and other.final:
            errors.add("final", _("The contract already has a final acceptance."))
        elif (
            not data.final
            and not other.final
            and (other.period_start <= end and start <= other.period_end)
        ):
            errors.add(
                "period_start",
                _(
                    "The period overlaps the stage accepted from %(start)s to %(end)s.",
                    start=other.period_start.isoformat(),
                    end=other.period_end.isoformat(),
                ),
            )
    return start, end, accepted_on


def _count(value: Any, name: str, errors: FieldErrors) -> int | None:
    text = _text(value) or "0"
    if not (text.isascii() and text.isdecimal()) or int(text) > 10_000_000:
        errors.add(name, _("Must be a whole number, 0 or more."))
        return None
    return int(text)


def _personal_names(contract: Contract, team: list[dict]) -> list[str]:
    """Names on the roster of the contract's townships (the certificate is public)."""
    signers = {member["name"] for member in team}
    names = db.session.scalars(
        select(Recipient.name)
        .where(Recipient.township_code.in_(contract.township_codes))
        .distinct()
    )
    return [name for name in names if len(name) >= 2 and name not in signers]


def _no_personal_data(
    texts: dict[str, str], contract: Contract, team: list[dict], errors: FieldErrors
) -> None:
    """Refuse ID numbers and recipients' names in the texts of a public certificate."""
    filled = {name: text for name, text in texts.items() if text}
    if not filled:
        return
    names = _personal_names(contract, team)
    for name, text in filled.items():
        if ID_NUMBER.search(text):
            errors.add(
                name,
                _("The certificate is published: leave out ID numbers and other long numbers."),
            )
            continue
        found = next((person for person in names if person in text), None)
        if found:
            errors.add(
                name,
                _(
                    "The certificate is published: leave out the names of service recipients "
                    "(“%(name)s”). Rephrase if this is not a recipient's name.",
                    name=found,
                ),
            )


def _findings(rows: list, errors: FieldErrors) -> list[dict]:
    cleaned = []
    if len(rows or []) > MAX_ROWS:
        errors.add("findings", _("At most %(n)d rows.", n=MAX_ROWS))
        return cleaned
    for index, row in enumerate(rows or []):
        row = row if isinstance(row, dict) else {}
        name = f"findings.{index}"
        description, result = _text(row.get("description")), _text(row.get("result"))
        kind, day = _text(row.get("kind")), row.get("date")
        if not (description or result or day):
            continue  # a blank row of the form
        if kind not in FINDING_KINDS:
            errors.add(f"{name}.kind", _("Choose the kind of finding."))
        found_on = past_date(day, f"{name}.date", errors, required=False)
        if not description:
            errors.add(f"{name}.description", _("Describe what was checked and found."))
        for key, text in (("description", description), ("result", result)):
            if len(text) > TEXT_LIMIT:
                errors.add(f"{name}.{key}", _("Must have at most %(n)s characters.", n=TEXT_LIMIT))
        cleaned.append(
            {
                "kind": kind,
                "date": found_on.isoformat() if found_on else "",
                "description": description,
                "result": result,
            }
        )
    return cleaned


def _team(rows: list, errors: FieldErrors) -> list[dict]:
    cleaned, seen = [], set()
    if len(rows or []) > MAX_ROWS:
        errors.add("team", _("At most %(n)d rows.", n=MAX_ROWS))
        return cleaned
    for index, row in enumerate(rows or []):
        row = row if isinstance(row, dict) else {}
        name, role = _text(row.get("name")), _text(row.get("role"))
        if not (name or role):
            continue
        if not name:
            errors.add(f"team.{index}.name", _("Give the member's name."))
        elif name in seen:
            errors.add(f"team.{index}.name", _("Each member appears once."))
        if not role:
            errors.add(f"team.{index}.role", _("Give the member's organisation and position."))
        if len(name) > SHORT_LIMIT or len(role) > SHORT_LIMIT:
            errors.add(
                f"team.{index}.name", _("Must have at most %(n)s characters.", n=SHORT_LIMIT)
            )
        seen.add(name)
        cleaned.append({"name": name, "role": role})
    return cleaned


def _clean(
    contract: Contract, data: AcceptanceInput, *, exclude: int | None = None
) -> tuple[dict, Figures]:
    """Check the officer's input (a draft may be incomplete; approval asks for the rest)."""
    errors = FieldErrors()
    start, end, accepted_on = _period(contract, data, errors, exclude=exclude)
    invited = _count(data.recipients_invited, "recipients_invited", errors)
    answered = _count(data.recipients_answered, "recipients_answered", errors)
    satisfied = _count(data.recipients_satisfied, "recipients_satisfied", errors)
    if invited is not None and answered is not None and answered > invited:
        errors.add(
            "recipients_answered",
            _("More recipients answered than were invited (%(n)d).", n=invited),
        )
    if answered is not None and satisfied is not None and satisfied > answered:
        errors.add(
            "recipients_satisfied",
            _("More recipients were satisfied than answered (%(n)d).", n=answered),
        )
    conclusion = None
    if _text(data.conclusion):
        try:
            conclusion = Conclusion(_text(data.conclusion))
        except ValueError:
            errors.add("conclusion", _("Choose passed or failed."))
    findings = _findings(data.findings, errors)
    team = _team(data.team, errors)
    summary, verdict = _text(data.opinion_summary), _text(data.conclusion_text)
    for name, text in (("opinion_summary", summary), ("conclusion_text", verdict)):
        if len(text) > TEXT_LIMIT:
            errors.add(name, _("Must have at most %(n)s characters.", n=TEXT_LIMIT))
    texts = {"opinion_summary": summary, "conclusion_text": verdict}
    for index, row in enumerate(findings):
        texts[f"findings.{index}.description"] = row["description"]
        texts[f"findings.{index}.result"] = row["result"]
    _no_personal_data(texts, contract, team, errors)
    errors.raise_if_any()
    values = {
        "final": bool(data.final),
        "period_start": start,
        "period_end": end,
        "accepted_on": accepted_on,
        "findings": findings,
        "recipients_invited": invited,
        "recipients_answered": answered,
        "recipients_satisfied": satisfied,
        "opinion_summary": summary,
        "conclusion": conclusion,
        "conclusion_text": verdict,
        "team": team,
    }
    return values, acceptance_figures(contract, start, end)


# ================================================================== acceptance: actions


def get_acceptance(acceptance_id: int) -> Acceptance:
    acceptance = db.session.get(Acceptance, acceptance_id)
    if acceptance is None:
        raise NotFound(_("Acceptance %(id)s was not found.", id=acceptance_id))
    return acceptance


def draft_acceptance(contract: Contract, data: AcceptanceInput, *, actor: User) -> Acceptance:
    """Record an acceptance of the contract as a draft, with the figures computed now."""
    _performed(contract)
    values, figures = _clean(contract, data)
    acceptance = Acceptance(
        contract_id=contract.id,
        region_code=contract.region_code,
        status=AcceptanceStatus.DRAFT,
        drafted_by_id=actor.id if actor else None,
        **values,
        **figures.stored(),
    )
    acceptance.contract = contract
    db.session.add(acceptance)
    db.session.flush()
    return acceptance


def update_acceptance(
    acceptance: Acceptance,
    data: AcceptanceInput,
    *,
    actor: User,
    lock_version: int | None = None,
) -> Acceptance:
    """Change a draft; the figures are computed again for its period."""
    _allowed(acceptance, ACCEPTANCE_TRANSITIONS, "update")
    if lock_version is not None and lock_version != acceptance.lock_version:
        raise Conflict(
            _("The acceptance was changed by someone else meanwhile. Reload and try again."),
            code="stale",
        )
    values, figures = _clean(acceptance.contract, data, exclude=acceptance.id)
    for name, value in {**values, **figures.stored()}.items():
        setattr(acceptance, name, value)
    db.session.flush()
    return acceptance


def _editors(acceptance: Acceptance) -> set[int]:
    """Everyone who wrote the draft: its drafter and whoever changed it since."""
    event = audit.AuditEvent
    editors = set(
        db.session.scalars(
            select(event.actor_id).where(
                event.entity_type == Acceptance.__tablename__,
                event.entity_id == str(acceptance.id),
                event.action.in_(("create", "update")),
                event.actor_id.is_not(None),
            )
        )
    )
    if acceptance.drafted_by_id:
        editors.add(acceptance.drafted_by_id)
    return editors


def approval_problems(acceptance: Acceptance, figures: Figures | None = None) -> list[str]:
    """What keeps the draft from approval (shown on its page before anyone tries)."""
    figures = figures or figures_of(acceptance)
    problems = []
    if figures.draft_statements:
        problems.append(
            _(
                "%(n)d statements of the period await finance's confirmation: the delivered "
                "figures are not final.",
                n=figures.draft_statements,
            )
        )
    if figures.stored() != {name: getattr(acceptance, name) for name in figures.stored()}:
        problems.append(
            _(
                "The figures changed since the draft was saved (statements were confirmed): "
                "save it again."
            )
        )
    if not acceptance.recipients_invited:
        problems.append(
            _(
                "Service recipients must be invited to take part and give their opinion "
                "(实施条例 art. 45): record how many were invited."
            )
        )
    if not acceptance.opinion_summary:
        problems.append(_("Summarise the recipients' opinions."))
    if acceptance.conclusion is None or not acceptance.conclusion_text:
        problems.append(_("State the conclusion, passed or failed, with its reasons."))
    if len(acceptance.team) < MIN_TEAM:
        problems.append(
            _(
                "The acceptance team has %(n)d members; at least %(min)d sign the certificate.",
                n=len(acceptance.team),
                min=MIN_TEAM,
            )
        )
    return problems


def approve_acceptance(acceptance: Acceptance, *, actor: User) -> Acceptance:
    """Another officer approves the complete draft (four eyes, like a plan's approval);
    the certificate (验收书) is generated and kept."""
    from procurement.performance.certificate import render_certificate

    if actor is None or actor.id in _editors(acceptance):
        raise PermissionDenied(
            message=_("You drafted or changed this acceptance: another officer must approve it."),
            code="own_acceptance",
        )
    approved = _allowed(acceptance, ACCEPTANCE_TRANSITIONS, "approve")
    problems = approval_problems(acceptance)
    if problems:
        raise Conflict(" ".join(problems), code="incomplete")
    acceptance.status = approved
    acceptance.approved_by_id = actor.id
    acceptance.approved_by = actor
    acceptance.approved_at = utcnow()
    acceptance.certificate_sha256 = store_blob(render_certificate(acceptance))
    audit.label(acceptance, "approve", note=acceptance.conclusion.value)
    db.session.flush()
    return acceptance


def acceptance_title(acceptance: Acceptance) -> str:
    """The public notice's title: 阳城县2026年政府购买居家养老服务第一片区履约验收结果公告."""
    contract = acceptance.contract
    plan = contract.plan
    stage = (
        ""
        if acceptance.final
        else f"（{acceptance.period_start:%Y年%m月}至{acceptance.period_end:%Y年%m月}阶段）"
    )
    return (
        f"{plan.region.name}{plan.year}年政府购买居家养老服务{contract.zone.name}"
        f"履约验收结果公告{stage}"
    )


def publish_acceptance(acceptance: Acceptance, *, actor: User) -> Acceptance:
    """Announce an approved acceptance to the public (seed 000 §3(3): 验收结果应当向社会公开)."""
    published = _allowed(acceptance, ACCEPTANCE_TRANSITIONS, "publish")
    contract = acceptance.contract
    publication = publish(
        PublicationKind.ACCEPTANCE,
        acceptance.id,
        region_code=acceptance.region_code,
        plan_id=contract.plan_id,
        provider_id=contract.provider_id,
        year=contract.plan.year,
        title=acceptance_title(acceptance),
        actor=actor,
    )
    acceptance.status = published
    acceptance.published_at = publication.published_at
    audit.label(acceptance, "publish")
    db.session.flush()
    return acceptance


def certificate_bytes(acceptance: Acceptance) -> bytes:
    if not acceptance.certificate_sha256:
        raise NotFound(_("The certificate is generated when the acceptance is approved."))
    return read_blob(acceptance.certificate_sha256)


def certificate_filename(acceptance: Acceptance) -> str:
    stage = (
        "" if acceptance.final else f"-{acceptance.period_start:%Y%m}-{acceptance.period_end:%Y%m}"
    )
    return f"{acceptance.contract.number}{stage}-验收书.docx"


def acceptances_query(
    *,
    plan_id: int | None = None,
    year: int | None = None,
    contract_id: int | None = None,
    status: str | None = None,
) -> Select:
    """Acceptances matching the filters, newest first (region scoping applies)."""
    stmt = (
        select(Acceptance)
        .join(Contract, Contract.id == Acceptance.contract_id)
        .options(selectinload(Acceptance.contract))
        .order_by(Acceptance.period_end.desc(), Contract.number, Acceptance.id.desc())
    )
    if plan_id:
        stmt = stmt.where(Contract.plan_id == plan_id)
    if year:
        stmt = stmt.join(PurchasePlan, PurchasePlan.id == Contract.plan_id).where(
            PurchasePlan.year == year
        )
    if contract_id:
        stmt = stmt.where(Acceptance.contract_id == contract_id)
    if status:
        stmt = stmt.where(Acceptance.status == AcceptanceStatus(status))
    return stmt


def satisfaction_rate(acceptance: Acceptance) -> str:
    """The satisfied share of the recipients who answered (95.0%; — when nobody answered)."""
    return percent(acceptance.recipients_satisfied, acceptance.recipients_answered)


# ================================================================== evaluation


def get_evaluation(evaluation_id: int) -> Evaluation:
    evaluation = db.session.get(Evaluation, evaluation_id)
    if evaluation is None:
        raise NotFound(_("Evaluation %(id)s was not found.", id=evaluation_id))
    return evaluation


def evaluation_of(contract: Contract) -> Evaluation | None:
    return db.session.scalar(select(Evaluation).where(Evaluation.contract_id == contract.id))


def evaluations_query(
    *,
    plan_id: int | None = None,
    year: int | None = None,
    provider_id: int | None = None,
    status: str | None = None,
) -> Select:
    """Evaluations matching the filters, newest first (region scoping applies)."""
    stmt = (
        select(Evaluation)
        .join(Contract, Contract.id == Evaluation.contract_id)
        .options(selectinload(Evaluation.contract), selectinload(Evaluation.scores))
        .order_by(Evaluation.year.desc(), Contract.number)
    )
    if plan_id:
        stmt = stmt.where(Contract.plan_id == plan_id)
    if year:
        stmt = stmt.where(Evaluation.year == year)
    if provider_id:
        stmt = stmt.where(Evaluation.provider_id == provider_id)
    if status:
        stmt = stmt.where(Evaluation.status == EvaluationStatus(status))
    return stmt


def grade_label(grade: str | None) -> str:
    return str(GRADE_LABELS[grade]) if grade in GRADE_LABELS else "—"


def party_label(party: str) -> str:
    return EvaluationParty(party).label


def weighted_parties(evaluation: Evaluation) -> list[str]:
    """The parties whose scores count (a weight above zero), in the profile's order."""
    return [w["party"] for w in evaluation.weights if int(w["weight"]) > 0]


def weight_of(evaluation: Evaluation, party: str) -> int:
    return next((int(w["weight"]) for w in evaluation.weights if w["party"] == party), 0)


def party_indicators(evaluation: Evaluation, party: str) -> list[dict]:
    """The party's indicators; a party without any enters one score out of 100."""
    own = [i for i in evaluation.indicators if i["party"] == party]
    return own or [{"code": party, "party": party, "name": party_label(party), "max": 100}]


def score_of(evaluation: Evaluation, party: str) -> EvaluationScore | None:
    return next((s for s in evaluation.scores if s.party == party), None)


def missing_parties(evaluation: Evaluation) -> list[str]:
    return [p for p in weighted_parties(evaluation) if score_of(evaluation, p) is None]


def can_score(user: User | None, party: str) -> bool:
    """Whether the user's role enters this party's scores."""
    return (
        user is not None
        and user.can("evaluations.score")
        and user.role in PARTY_ROLES.get(EvaluationParty(party), ())
    )


def check_scorer(user: User | None, party: str) -> None:
    """Refuse a user whose role does not enter this party's scores (finance never enters
    the buyer's, an officer never the third party's)."""
    if not can_score(user, party):
        party = EvaluationParty(party)
        roles = "、".join(str(ROLE_LABELS[role]) for role in sorted(PARTY_ROLES[party]))
        raise PermissionDenied(
            message=_(
                "The scores of %(party)s are entered by: %(roles)s.", party=party.label, roles=roles
            ),
            code="wrong_party",
        )


def _snapshot(profile) -> tuple[list[dict], list[dict]]:
    """The profile's weights and indicators, checked: weights add up to 100; each party's
    indicators add up to 100 points."""
    errors = FieldErrors()
    weights, seen = [], set()
    for item in profile.evaluation_weights or []:
        try:
            party = EvaluationParty(item.get("party"))
            weight = int(item.get("weight"))
        except (AttributeError, TypeError, ValueError):
            errors.add("weights", _("The policy profile's evaluation weights are not readable."))
            break
        if party in seen or not 0 <= weight <= 100:
            errors.add("weights", _("The policy profile's evaluation weights are not readable."))
            break
        seen.add(party)
        weights.append({"party": party.value, "weight": weight})
    total = sum(w["weight"] for w in weights)
    if not errors.fields and total != 100:
        errors.add(
            "weights",
            _(
                "The evaluation weights of the policy profile add up to %(total)d%%, not "
                "100%%: an administrator must correct the profile first.",
                total=total,
            ),
        )
    indicators = [dict(i) for i in profile.evaluation_indicators or []]
    for party in {i.get("party") for i in indicators}:
        points = sum(int(i.get("max") or 0) for i in indicators if i.get("party") == party)
        if party not in {p.value for p in EvaluationParty} or points != 100:
            errors.add(
                "indicators",
                _(
                    "The indicators of %(party)s add up to %(total)d points, not 100: an "
                    "administrator must correct the profile first.",
                    party=party,
                    total=points,
                ),
            )
    errors.raise_if_any()
    return weights, indicators


def open_evaluation(contract: Contract, *, actor: User) -> Evaluation:
    """Open the evaluation after the service period (seed 000 §3(3): 服务期满后), with the
    profile's weights and indicators as they are today."""
    _performed(contract)
    end = contract_end(contract)
    if today() <= end:
        raise Conflict(
            _(
                "The service period ends on %(date)s: the evaluation opens after it.",
                date=end.isoformat(),
            ),
            code="too_early",
        )
    if evaluation_of(contract) is not None:
        raise Conflict(_("The contract already has an evaluation."), code="exists")
    weights, indicators = _snapshot(contract.plan.policy_profile)
    evaluation = Evaluation(
        contract_id=contract.id,
        provider_id=contract.provider_id,
        region_code=contract.region_code,
        year=contract.plan.year,
        status=EvaluationStatus.OPEN,
        weights=weights,
        indicators=indicators,
    )
    evaluation.contract = contract
    db.session.add(evaluation)
    db.session.flush()
    return evaluation


@dataclass
class ScoreInput:
    """One party's entry: who scores, their declaration, and the scores or the survey."""

    party: str
    evaluator_name: str = ""
    evaluator_organisation: str = ""
    # False: declares no conflict of interest with the provider; True or None: refused
    conflict_of_interest: bool | None = None
    declaration: str = ""
    scores: dict | None = None  # indicator code -> points
    survey: dict | None = None  # the recipients' party: the four counts
    note: str = ""


def survey_score(counts: dict) -> Decimal:
    """(100 x very satisfied + 80 x satisfied + 60 x basically + 0 x unsatisfied) / n."""
    answers = sum(counts[key] for key in SURVEY_KEYS)
    points = sum(counts[key] * SURVEY_POINTS[key] for key in SURVEY_KEYS)
    return _point(Decimal(points) / answers)


def _survey(survey: Any, errors: FieldErrors) -> dict | None:
    survey = survey if isinstance(survey, dict) else {}
    counts = {}
    for key in SURVEY_KEYS:
        counts[key] = _count(survey.get(key), f"survey.{key}", errors)
    if any(value is None for value in counts.values()):
        return None
    if sum(counts.values()) == 0:
        errors.add("survey", _("Enter the survey's answers: none were given."))
        return None
    return counts


def _points(value: Any) -> Decimal | None:
    try:
        number = Decimal(_text(value))
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.quantize(CENT):
        return None
    return number


def _indicator_scores(indicators: list[dict], given: Any, errors: FieldErrors) -> dict:
    given = given if isinstance(given, dict) else {}
    codes = {i["code"] for i in indicators}
    for code in given:
        if code not in codes:
            errors.add(f"scores.{code}", _("Unknown indicator %(code)s.", code=code))
    scores = {}
    for indicator in indicators:
        code, name, top = indicator["code"], indicator["name"], int(indicator["max"])
        raw = given.get(code)
        if _text(raw) == "":
            errors.add(f"scores.{code}", _("%(indicator)s: enter the score.", indicator=name))
            continue
        points = _points(raw)
        if points is None or not 0 <= points <= top:
            errors.add(
                f"scores.{code}",
                _(
                    "%(indicator)s: the score must be between 0 and %(max)d, with at most "
                    "two decimals.",
                    indicator=name,
                    max=top,
                ),
            )
            continue
        scores[code] = points
    return scores


def enter_scores(evaluation: Evaluation, data: ScoreInput, *, actor: User) -> EvaluationScore:
    """Record (or correct, while open) one party's scores, from an evaluator who declared
    no conflict of interest with the provider."""
    _allowed(evaluation, EVALUATION_TRANSITIONS, "score")
    try:
        party = EvaluationParty(_text(data.party))
    except ValueError:
        raise ValidationError(_("Unknown evaluation party."), field="party") from None
    if party.value not in weighted_parties(evaluation):
        raise ValidationError(
            _("%(party)s carries no weight in this evaluation.", party=party.label), field="party"
        )
    check_scorer(actor, party)
    provider = evaluation.contract.provider
    errors = FieldErrors()
    name, organisation = _text(data.evaluator_name), _text(data.evaluator_organisation)
    if not name:
        errors.add("evaluator_name", _("Give the evaluator's name."))
    if len(name) > SHORT_LIMIT or len(organisation) > 200:
        errors.add("evaluator_name", _("Must have at most %(n)s characters.", n=SHORT_LIMIT))
    if data.conflict_of_interest is None:
        errors.add(
            "conflict_of_interest",
            _(
                "Declare whether you have a conflict of interest with %(provider)s: scores are "
                "accepted only from evaluators without one.",
                provider=provider.name,
            ),
        )
    elif data.conflict_of_interest:
        errors.add(
            "conflict_of_interest",
            _(
                "You declared a conflict of interest with %(provider)s: you may not score this "
                "evaluation; another evaluator without one must.",
                provider=provider.name,
            ),
        )
    note, supplement = _text(data.note), _text(data.declaration)
    if len(note) > TEXT_LIMIT or len(supplement) > TEXT_LIMIT:
        errors.add("note", _("Must have at most %(n)s characters.", n=TEXT_LIMIT))
    indicators = party_indicators(evaluation, party.value)
    survey = None
    if party is EvaluationParty.RECIPIENTS:
        survey = _survey(data.survey, errors)
        total = survey_score(survey) if survey else None
        top = sum(Decimal(i["max"]) for i in indicators)
        scores = {
            i["code"]: _point(total * Decimal(i["max"]) / top) if total is not None else None
            for i in indicators
        }
    else:
        scores = _indicator_scores(indicators, data.scores, errors)
        total = sum(scores.values(), ZERO)
    errors.raise_if_any()
    declaration = (
        f"本人（{name}{'，' + organisation if organisation else ''}）声明：与承接主体"
        f"{provider.name}不存在利害关系，未在其任职、持股或受其委托，与其负责人无近亲属关系。"
    )
    values = {
        "evaluator_name": name,
        "evaluator_organisation": organisation,
        "entered_by_id": actor.id,
        "scores": {code: f"{points:.2f}" for code, points in scores.items()},
        "total": _point(total),
        "survey": survey,
        "no_conflict_declared": True,
        "declaration": f"{declaration}{supplement}",
        "note": note,
    }
    score = score_of(evaluation, party.value)
    if score is None:
        score = EvaluationScore(
            evaluation_id=evaluation.id, region_code=evaluation.region_code, party=party.value
        )
        evaluation.scores.append(score)
    for key, value in values.items():
        setattr(score, key, value)
    db.session.flush()
    return score


def survey_counts(data: bytes) -> dict:
    """The counts of an .xlsx survey with one answer per row in the column 满意度."""
    # a spreadsheet of people's answers: the limit of the other spreadsheet imports, not
    # the much larger one of the platform's record exports that read_xlsx applies
    spreadsheets.check_size(data, current_app.config["IMPORT_MAX_BYTES"])
    frame = read_xlsx(data)
    if SURVEY_COLUMN not in frame.columns:
        raise ValidationError(
            _("The workbook needs a column %(name)s.", name=SURVEY_COLUMN), field="file"
        )
    counts = dict.fromkeys(SURVEY_KEYS, 0)
    errors = FieldErrors()
    allowed = "、".join(SURVEY_ANSWERS)
    for index, value in enumerate(frame[SURVEY_COLUMN].tolist()):
        answer = _text(value)
        if not answer:
            continue
        if answer not in SURVEY_ANSWERS:
            if len(errors.fields.get("file", [])) < 20:
                errors.add(
                    "file",
                    _(
                        "Row %(row)d: %(answer)s is not one of %(allowed)s.",
                        row=index + 2,
                        answer=answer[:20],
                        allowed=allowed,
                    ),
                )
            continue
        counts[SURVEY_ANSWERS[answer][0]] += 1
    errors.raise_if_any()
    if not sum(counts.values()):
        raise ValidationError(_("The workbook holds no answers."), field="file")
    return counts


def import_survey(
    evaluation: Evaluation, stream: IO[bytes], data: ScoreInput, *, actor: User
) -> EvaluationScore:
    """The recipients' satisfaction from a survey workbook (one answer per row)."""
    data.party = EvaluationParty.RECIPIENTS.value
    data.survey = survey_counts(stream.read())
    return enter_scores(evaluation, data, actor=actor)


def complete_evaluation(evaluation: Evaluation, *, actor: User) -> Evaluation:
    """Total = sum of weight x party total / 100 (two decimals) and its grade, once every
    party with a weight has scored."""
    completed = _allowed(evaluation, EVALUATION_TRANSITIONS, "complete")
    missing = missing_parties(evaluation)
    if missing:
        raise Conflict(
            _(
                "Scores are still missing from: %(parties)s.",
                parties="、".join(party_label(p) for p in missing),
            ),
            code="incomplete",
        )
    total = sum(
        (
            Decimal(weight_of(evaluation, party)) * score_of(evaluation, party).total / 100
            for party in weighted_parties(evaluation)
        ),
        ZERO,
    )
    evaluation.status = completed
    evaluation.total = _point(total)
    evaluation.grade = evaluation.contract.plan.policy_profile.grade_for(evaluation.total)
    evaluation.completed_at = utcnow()
    audit.label(evaluation, "complete", note=evaluation.grade)
    db.session.flush()
    return evaluation


def evaluation_title(evaluation: Evaluation) -> str:
    contract = evaluation.contract
    plan = contract.plan
    return (
        f"{plan.region.name}{plan.year}年政府购买居家养老服务{contract.zone.name}绩效评价结果公告"
    )


def publish_evaluation(evaluation: Evaluation, *, actor: User) -> Evaluation:
    """Announce a completed evaluation (seed 000 §4: 及时向社会公布绩效考评结果)."""
    published = _allowed(evaluation, EVALUATION_TRANSITIONS, "publish")
    contract = evaluation.contract
    publication = publish(
        PublicationKind.EVALUATION,
        evaluation.id,
        region_code=evaluation.region_code,
        plan_id=contract.plan_id,
        provider_id=evaluation.provider_id,
        year=evaluation.year,
        title=evaluation_title(evaluation),
        actor=actor,
    )
    evaluation.status = published
    evaluation.published_at = publication.published_at
    audit.label(evaluation, "publish")
    db.session.flush()
    return evaluation


# ================================================================== next year's selection


@dataclass(frozen=True)
class ProviderRecord:
    """A provider's results for the contracts of one plan year (seed 000 §4: an important
    reference for choosing providers and budgeting the next year)."""

    provider_id: int
    year: int
    total: Decimal | None  # mean of the completed evaluations' totals (0-100)
    grade: str | None  # the worst grade among them: excellent, good, pass or fail
    acceptance: Conclusion | None  # FAIL if any final acceptance failed, else PASS
    evaluations: int
    acceptances: int
    failures: list[str]  # a failed grade or a failed final acceptance, one phrase each
    explanation: str


def provider_record(provider_id: int, year: int) -> ProviderRecord | None:
    """The provider's completed evaluations and approved final acceptances for contracts
    of plans of ``year``, in the caller's region; ``None`` when there are neither.

    Several contracts give the mean total (two decimals), the worst grade, and a failed
    acceptance if any failed. ``failures`` lists each failed grade and failed acceptance
    (a caution for the selection); ``explanation`` says it all in one line."""
    contracts = (
        select(Contract.id)
        .join(PurchasePlan, PurchasePlan.id == Contract.plan_id)
        .where(Contract.provider_id == provider_id, PurchasePlan.year == year)
    )
    evaluations = db.session.scalars(
        select(Evaluation)
        .where(
            Evaluation.contract_id.in_(contracts),
            Evaluation.status.in_((EvaluationStatus.COMPLETED, EvaluationStatus.PUBLISHED)),
        )
        .order_by(Evaluation.id)
    ).all()
    acceptances = db.session.scalars(
        select(Acceptance)
        .where(
            Acceptance.contract_id.in_(contracts),
            Acceptance.final.is_(True),
            Acceptance.status.in_((AcceptanceStatus.APPROVED, AcceptanceStatus.PUBLISHED)),
        )
        .order_by(Acceptance.id)
    ).all()
    if not evaluations and not acceptances:
        return None
    total = grade = None
    if evaluations:
        total = _point(sum((e.total for e in evaluations), ZERO) / len(evaluations))
        grade = max((e.grade for e in evaluations), key=GRADE_ORDER.index)
    failed = [a for a in acceptances if a.conclusion is Conclusion.FAIL]
    acceptance = (Conclusion.FAIL if failed else Conclusion.PASS) if acceptances else None
    failures = [
        _(
            "contract %(number)s was graded %(grade)s in the %(year)d evaluation (%(total)s)",
            number=e.contract.number,
            grade=grade_label(e.grade),
            year=year,
            total=f"{e.total:.2f}",
        )
        for e in evaluations
        if e.grade == "fail"
    ] + [
        _(
            "the final acceptance of contract %(number)s on %(date)s failed",
            number=a.contract.number,
            date=a.accepted_on.isoformat(),
        )
        for a in failed
    ]
    parts = []
    if evaluations:
        parts.append(
            _(
                "%(year)d evaluation: %(total)s points (mean of %(n)d), grade %(grade)s",
                year=year,
                total=f"{total:.2f}",
                n=len(evaluations),
                grade=grade_label(grade),
            )
        )
    else:
        parts.append(_("%(year)d: not evaluated yet", year=year))
    if acceptance is not None:
        parts.append(
            _("final acceptance: %(result)s", result=acceptance.label)
            if not failed
            else _("%(n)d final acceptance(s) failed", n=len(failed))
        )
    return ProviderRecord(
        provider_id=provider_id,
        year=year,
        total=total,
        grade=grade,
        acceptance=acceptance,
        evaluations=len(evaluations),
        acceptances=len(acceptances),
        failures=failures,
        explanation="；".join(parts),
    )
