"""Performance acceptance (履约验收) per contract and the multi-party performance
evaluation (绩效评价) after the service period (seed 000 §3(3), §4; seed 003).

实施条例 art. 45: the acceptance certificate (验收书) states the result against the
contracted services; for services delivered to the public the service recipients are
invited to give their opinion, and the result is announced. 政府采购法 art. 41: the
members of the acceptance team sign it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procurement.accounts.models import User
from procurement.contracts.models import Contract
from procurement.core.audit import Audited
from procurement.core.db import TimestampMixin, db, str_enum
from procurement.core.scoping import RegionOwned


class AcceptanceStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    PUBLISHED = "published"

    @property
    def label(self) -> str:
        return str(ACCEPTANCE_STATUS_LABELS[self])


ACCEPTANCE_STATUS_LABELS = {
    AcceptanceStatus.DRAFT: _l("Draft"),
    AcceptanceStatus.APPROVED: _l("Approved"),
    AcceptanceStatus.PUBLISHED: _l("Published"),
}


class Conclusion(StrEnum):
    PASS = "pass"  # noqa: S105 - 合格, not a password
    FAIL = "fail"  # 不合格

    @property
    def label(self) -> str:
        return str(CONCLUSION_LABELS[self])


CONCLUSION_LABELS = {Conclusion.PASS: _l("Passed (合格)"), Conclusion.FAIL: _l("Failed (不合格)")}


class Acceptance(Audited, RegionOwned, TimestampMixin, db.Model):
    """One acceptance of a contract: at the end of the period, or of a stage of it."""

    __tablename__ = "acceptances"
    __audit_ignore__ = frozenset({"updated_at", "lock_version"})

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    final: Mapped[bool] = mapped_column(default=True)  # else a stage acceptance
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    accepted_on: Mapped[date] = mapped_column(Date)
    status: Mapped[AcceptanceStatus] = mapped_column(
        str_enum(AcceptanceStatus, 12), default=AcceptanceStatus.DRAFT
    )
    # Delivered against contracted, from the confirmed statements (a snapshot).
    unit: Mapped[str] = mapped_column(String(10))  # hour or visit
    contracted_quantity: Mapped[Decimal]
    delivered_quantity: Mapped[Decimal]
    contracted_recipients: Mapped[int] = mapped_column(Integer)
    recipients_served: Mapped[int] = mapped_column(Integer)
    amount_contracted: Mapped[Decimal]
    amount_settled: Mapped[Decimal]
    # [{"kind": "inspection"|"spot_check"|"complaints"|"other", "date": "2026-12-10",
    #   "description": "...", "result": "..."}]
    findings: Mapped[list] = mapped_column(JSON, default=list)
    verified_complaints: Mapped[int] = mapped_column(Integer, default=0)
    # What the service records and supervision say of the period (issue 14 item 7): flagged
    # records still awaiting review, records refused on review (not proven), visits after
    # the person's death or exit, and sanctions decided against the contract.
    pending_flags: Mapped[int] = mapped_column(Integer, default=0)
    confirmed_flags: Mapped[int] = mapped_column(Integer, default=0)
    visits_after_death: Mapped[int] = mapped_column(Integer, default=0)
    visits_after_exit: Mapped[int] = mapped_column(Integer, default=0)
    sanctions: Mapped[int] = mapped_column(Integer, default=0)
    # Why a 合格 conclusion stands although delivery is under the profile's threshold or
    # flags are unresolved; printed on the certificate.
    explanation: Mapped[str] = mapped_column(Text, default="")
    # The service recipients' opinions (实施条例 art. 45): invited, answered, satisfied.
    recipients_invited: Mapped[int] = mapped_column(Integer, default=0)
    recipients_answered: Mapped[int] = mapped_column(Integer, default=0)
    recipients_satisfied: Mapped[int] = mapped_column(Integer, default=0)
    opinion_summary: Mapped[str] = mapped_column(Text, default="")
    conclusion: Mapped[Conclusion | None] = mapped_column(str_enum(Conclusion, 8))
    conclusion_text: Mapped[str] = mapped_column(Text, default="")
    # [{"name": "张三", "role": "阳城县民政局 组长"}, ...]: the members who sign
    team: Mapped[list] = mapped_column(JSON, default=list)
    certificate_sha256: Mapped[str | None] = mapped_column(String(64))
    drafted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    contract: Mapped[Contract] = relationship()
    drafted_by: Mapped[User | None] = relationship(foreign_keys=[drafted_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])

    __mapper_args__ = {"version_id_col": lock_version}


class EvaluationStatus(StrEnum):
    OPEN = "open"  # parties are entering their scores
    COMPLETED = "completed"
    PUBLISHED = "published"

    @property
    def label(self) -> str:
        return str(EVALUATION_STATUS_LABELS[self])


EVALUATION_STATUS_LABELS = {
    EvaluationStatus.OPEN: _l("Scores being entered"),
    EvaluationStatus.COMPLETED: _l("Completed"),
    EvaluationStatus.PUBLISHED: _l("Published"),
}


class Evaluation(Audited, RegionOwned, TimestampMixin, db.Model):
    """The performance evaluation of one contract, with its weighted total and grade."""

    __tablename__ = "evaluations"
    __audit_ignore__ = frozenset({"updated_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    status: Mapped[EvaluationStatus] = mapped_column(
        str_enum(EvaluationStatus, 12), default=EvaluationStatus.OPEN
    )
    # The profile's weights and indicators as they were when the evaluation opened.
    weights: Mapped[list] = mapped_column(JSON)
    indicators: Mapped[list] = mapped_column(JSON)
    total: Mapped[Decimal | None]
    grade: Mapped[str | None] = mapped_column(String(12))
    completed_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]

    contract: Mapped[Contract] = relationship()
    scores: Mapped[list[EvaluationScore]] = relationship(
        back_populates="evaluation", order_by="EvaluationScore.id"
    )


class EvaluationScore(Audited, RegionOwned, TimestampMixin, db.Model):
    """One party's scores, entered by an evaluator who declared no conflict of interest."""

    __tablename__ = "evaluation_scores"
    __table_args__ = (UniqueConstraint("evaluation_id", "party"),)
    __audit_ignore__ = frozenset({"updated_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"), index=True)
    party: Mapped[str] = mapped_column(String(20))  # policies.models.EvaluationParty
    evaluator_name: Mapped[str] = mapped_column(String(120))
    evaluator_organisation: Mapped[str] = mapped_column(String(200), default="")
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # {"indicator code": score}; the party's total is their sum (at most 100)
    scores: Mapped[dict] = mapped_column(JSON, default=dict)
    total: Mapped[Decimal]
    # Recipients' satisfaction survey: {"very_satisfied": n, "satisfied": n, "basic": n,
    # "unsatisfied": n}; the party's total is computed from it.
    survey: Mapped[dict | None] = mapped_column(JSON)
    no_conflict_declared: Mapped[bool] = mapped_column(default=False)
    declaration: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")

    evaluation: Mapped[Evaluation] = relationship(back_populates="scores")
    entered_by: Mapped[User | None] = relationship()
