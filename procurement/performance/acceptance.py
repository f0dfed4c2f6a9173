"""Acceptance (履约验收) of contracts.

Acceptance (seed 000 §3(3); 实施条例 art. 45; 政府采购法 art. 41): per contract, for the
whole service period (final) or a stage of it, delivered against contracted is computed
from the confirmed statements, the officer records quality findings and the recipients'
opinions (they must be invited), a team of at least ``MIN_TEAM`` signs, another officer
approves (four eyes) and the certificate (验收书) is generated; the result is then
published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, case, distinct, func, select
from sqlalchemy.orm import selectinload

from procurement.accounts.models import User
from procurement.contracts.models import Contract
from procurement.core import audit
from procurement.core.clock import today, utcnow
from procurement.core.dates import past_date, read_date
from procurement.core.db import db
from procurement.core.errors import Conflict, FieldErrors, NotFound, PermissionDenied
from procurement.core.files import read_blob, store_blob
from procurement.performance.common import (
    SHORT_LIMIT,
    TEXT_LIMIT,
    ZERO,
    clean_text,
    contract_end,
    percent,
    read_count,
    require_performed,
    to_cent,
    transition,
)
from procurement.performance.models import (
    Acceptance,
    AcceptanceStatus,
    Conclusion,
    Evaluation,
    EvaluationStatus,
)
from procurement.plans.budget import months_in_period
from procurement.plans.models import PurchasePlan
from procurement.policies.models import EntitlementModel
from procurement.public.models import PublicationKind
from procurement.public.services import publish
from procurement.recipients.models import Recipient
from procurement.settlements.models import (
    FLAGGED,
    Flag,
    Review,
    ServiceRecord,
    Settlement,
    SettlementStatus,
    Unpaid,
)
from procurement.supervision.models import Complaint, ComplaintStatus, Sanction

# wants every member to sign, and local rules commonly ask for three or more.
MIN_TEAM = 3
MAX_ROWS = 50

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

ID_NUMBER = re.compile(r"\d{15,}|\d{17}[Xx]|\d{2,6}\*{4,}[\dXx]{0,4}")


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
    pending_flags: int = 0  # flagged records still awaiting an officer's review
    confirmed_flags: int = 0  # flagged records refused on review (not proven)
    visits_after_death: int = 0
    visits_after_exit: int = 0
    sanctions: int = 0  # decided against the contract from the period's start on
    threshold: Decimal = Decimal("90.00")  # the profile's delivery threshold, percent

    @property
    def months_text(self) -> str:
        return "、".join(f"{month:%Y-%m}" for month in self.confirmed_months)

    @property
    def delivery_rate(self) -> Decimal | None:
        """Delivered as a percentage of contracted (two decimals); None when nothing was owed."""
        if not self.contracted_quantity:
            return None
        return to_cent(self.delivered_quantity * 100 / self.contracted_quantity)

    @property
    def under_threshold(self) -> bool:
        rate = self.delivery_rate
        return rate is not None and rate < self.threshold

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
            "pending_flags": self.pending_flags,
            "confirmed_flags": self.confirmed_flags,
            "visits_after_death": self.visits_after_death,
            "visits_after_exit": self.visits_after_exit,
            "sanctions": self.sanctions,
        }


def acceptance_figures(contract: Contract, start: date, end: date) -> Figures:
    """Contracted and delivered for ``start``..``end``: contracted from the contract's
    people and the profile's entitlement (hours per month or visits per year) over the
    months of the period, its amount prorated; delivered, settled and people served from
    the statements finance confirmed; verified complaints attributable to the provider;
    the period's flagged records (awaiting review, refused on review, after a death or an
    exit) and the sanctions decided against the contract (issue 14 item 7)."""
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
    records = record_checks(contract, first, end)
    sanctions = db.session.scalar(
        select(func.count()).where(
            Sanction.contract_id == contract.id,
            Sanction.decided_on >= start,
            # a final acceptance answers for the whole term, also for what was decided later
            *(() if end >= contract_end(contract) else (Sanction.decided_on <= end,)),
        )
    )
    return Figures(
        unit="hour" if hourly else "visit",
        months=months,
        contracted_quantity=to_cent(contracted),
        delivered_quantity=to_cent(delivered),
        contracted_recipients=contract.recipients,
        recipients_served=int(served or 0),
        amount_contracted=to_cent(prorated),
        amount_settled=to_cent(sum((row.amount for row in confirmed), ZERO)),
        verified_complaints=int(complaints or 0),
        confirmed_months=months_done,
        draft_statements=int(drafts or 0),
        sanctions=int(sanctions or 0),
        threshold=profile.acceptance_threshold,
        **records,
    )


def record_checks(contract: Contract, first: date, end: date) -> dict[str, int]:
    """The contract's flagged service records of the months ``first``..``end``: awaiting
    review, refused on review, after the person's death, after the person's exit."""

    def flagged(flag: Flag):
        return case((ServiceRecord.flags.op("&")(int(flag)) != 0, 1), else_=0)

    row = db.session.execute(
        select(
            func.sum(case((ServiceRecord.unpaid_reason == Unpaid.FLAG_PENDING.value, 1), else_=0)),
            func.sum(case((ServiceRecord.review == Review.CONFIRMED.value, 1), else_=0)),
            func.sum(flagged(Flag.AFTER_DEATH)),
            func.sum(flagged(Flag.AFTER_EXIT)),
        ).where(
            ServiceRecord.contract_id == contract.id,
            ServiceRecord.month >= first,
            ServiceRecord.month <= end,
            FLAGGED,
        )
    ).one()
    pending, confirmed, death, exit_ = (int(value or 0) for value in row)
    return {
        "pending_flags": pending,
        "confirmed_flags": confirmed,
        "visits_after_death": death,
        "visits_after_exit": exit_,
    }


def threshold_text(threshold: Decimal) -> str:
    """90.00 -> 90, 92.50 -> 92.5."""
    return f"{threshold.normalize():f}"


def explanation_reasons(
    figures: Figures, conclusion: Conclusion | None, contract: Contract | None = None
) -> list[str]:
    """Why a 合格 conclusion must be explained in writing: delivery under the profile's
    threshold, flagged records still unresolved, or an evaluation of the same contract
    graded 不合格. Empty for a 不合格 conclusion or when the figures raise no question."""
    if conclusion is not Conclusion.PASS:
        return []
    reasons = []
    if figures.under_threshold:
        reasons.append(
            _(
                "only %(rate)s%% of the contracted %(unit)s were delivered, under the "
                "threshold of %(threshold)s%%",
                rate=f"{figures.delivery_rate:.1f}",
                unit=UNIT_LABELS[figures.unit],
                threshold=threshold_text(figures.threshold),
            )
        )
    if figures.pending_flags:
        reasons.append(
            _(
                "%(n)d flagged service records are still awaiting review",
                n=figures.pending_flags,
            )
        )
    evaluation = disagreeing_evaluation(contract, conclusion) if contract is not None else None
    if evaluation is not None:
        reasons.append(
            _(
                "the evaluation of the contract graded it failed (%(total)s points)",
                total=f"{evaluation.total:.2f}",
            )
        )
    return reasons


def disagreeing_evaluation(contract: Contract, conclusion: Conclusion | None) -> Evaluation | None:
    """The contract's completed evaluation when its grade contradicts ``conclusion``
    (合格 against a failed grade, or 不合格 against a passing one); else None."""
    if conclusion is None:
        return None
    evaluation = db.session.scalar(
        select(Evaluation).where(
            Evaluation.contract_id == contract.id,
            Evaluation.status.in_((EvaluationStatus.COMPLETED, EvaluationStatus.PUBLISHED)),
        )
    )
    if evaluation is None or evaluation.grade is None:
        return None
    failed = evaluation.grade == "fail"
    if failed == (conclusion is Conclusion.FAIL):
        return None
    return evaluation


def _explanation_refused(reasons: list[str]) -> str:
    return _(
        "Explanation: a passed (合格) conclusion needs a written explanation, because %(reasons)s.",
        reasons="；".join(reasons),
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
    explanation: str = ""  # why 合格 stands against the figures (issue 14 item 7)
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
        description, result = clean_text(row.get("description")), clean_text(row.get("result"))
        kind, day = clean_text(row.get("kind")), row.get("date")
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
        name, role = clean_text(row.get("name")), clean_text(row.get("role"))
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
    invited = read_count(data.recipients_invited, "recipients_invited", errors)
    answered = read_count(data.recipients_answered, "recipients_answered", errors)
    satisfied = read_count(data.recipients_satisfied, "recipients_satisfied", errors)
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
    if clean_text(data.conclusion):
        try:
            conclusion = Conclusion(clean_text(data.conclusion))
        except ValueError:
            errors.add("conclusion", _("Choose passed or failed."))
    findings = _findings(data.findings, errors)
    team = _team(data.team, errors)
    summary, verdict = clean_text(data.opinion_summary), clean_text(data.conclusion_text)
    explanation = clean_text(data.explanation)
    for name, text in (
        ("opinion_summary", summary),
        ("conclusion_text", verdict),
        ("explanation", explanation),
    ):
        if len(text) > TEXT_LIMIT:
            errors.add(name, _("Must have at most %(n)s characters.", n=TEXT_LIMIT))
    texts = {"opinion_summary": summary, "conclusion_text": verdict, "explanation": explanation}
    for index, row in enumerate(findings):
        texts[f"findings.{index}.description"] = row["description"]
        texts[f"findings.{index}.result"] = row["result"]
    _no_personal_data(texts, contract, team, errors)
    errors.raise_if_any()
    figures = acceptance_figures(contract, start, end)
    reasons = explanation_reasons(figures, conclusion, contract)
    if reasons and not explanation:
        errors.add("explanation", _explanation_refused(reasons))
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
        "explanation": explanation,
        "team": team,
    }
    return values, figures


# ================================================================== acceptance: actions


def get_acceptance(acceptance_id: int) -> Acceptance:
    acceptance = db.session.get(Acceptance, acceptance_id)
    if acceptance is None:
        raise NotFound(_("Acceptance %(id)s was not found.", id=acceptance_id))
    return acceptance


def draft_acceptance(contract: Contract, data: AcceptanceInput, *, actor: User) -> Acceptance:
    """Record an acceptance of the contract as a draft, with the figures computed now."""
    require_performed(contract)
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
    transition(acceptance, ACCEPTANCE_TRANSITIONS, "update")
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
    reasons = explanation_reasons(figures, acceptance.conclusion, acceptance.contract)
    if reasons and not acceptance.explanation:
        problems.append(_explanation_refused(reasons))
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
    approved = transition(acceptance, ACCEPTANCE_TRANSITIONS, "approve")
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
    published = transition(acceptance, ACCEPTANCE_TRANSITIONS, "publish")
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
