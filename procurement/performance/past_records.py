"""A provider's past record (evaluations and final acceptances of one plan year): what
next year's selection reads (``procurement.renewal``)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from procurement.contracts.models import Contract
from procurement.core.db import db
from procurement.performance.common import ZERO, to_cent
from procurement.performance.evaluation import grade_label
from procurement.performance.models import (
    Acceptance,
    AcceptanceStatus,
    Conclusion,
    Evaluation,
    EvaluationStatus,
)
from procurement.plans.models import PurchasePlan
from procurement.policies.models import GRADES

GRADE_ORDER = (*GRADES, "fail")


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
        total = to_cent(sum((e.total for e in evaluations), ZERO) / len(evaluations))
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
