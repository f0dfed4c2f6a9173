"""Policy profiles: the configurable rules of one region and year.

A county (or a whole province) sets its entitlement model, eligibility, qualification
look-back, evaluation parties and weights, grade thresholds and settlement rules here,
so that no rule of one locality is hard-coded (shared/docs/domain.md).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procurement.core.audit import Audited
from procurement.core.db import TimestampMixin, db, str_enum
from procurement.core.scoping import RegionShared
from procurement.regions.models import Region


class EntitlementModel(StrEnum):
    HOURS_PER_MONTH = "hours_per_month"  # Yangcheng: 4 h/person/month, rate cap (seed 001 §3(3))
    VISITS_PER_YEAR = "visits_per_year"  # Xinjiang: at least 36 visits/person/year (seed 000 §2(3))

    @property
    def label(self) -> str:
        return str(ENTITLEMENT_LABELS[self])


ENTITLEMENT_LABELS = {
    EntitlementModel.HOURS_PER_MONTH: _l("Hours per person per month, with an hourly rate cap"),
    EntitlementModel.VISITS_PER_YEAR: _l("Visits per person per year, at a unit price"),
}


class RecipientCategory(StrEnum):
    """Economic categories that can make an elder eligible (seed 000 §2(1), seed 001 §3(2))."""

    EXTREME_POVERTY = "extreme_poverty"  # 分散供养特困人员
    MINIMUM_LIVING = "minimum_living"  # 低保
    NEAR_MINIMUM = "near_minimum"  # 低保边缘
    LOW_INCOME = "low_income"  # 低收入

    @property
    def label(self) -> str:
        return str(CATEGORY_LABELS[self])


CATEGORY_LABELS = {
    RecipientCategory.EXTREME_POVERTY: _l("Dispersed extreme-poverty support"),
    RecipientCategory.MINIMUM_LIVING: _l("Minimum living allowance"),
    RecipientCategory.NEAR_MINIMUM: _l("Near minimum living allowance"),
    RecipientCategory.LOW_INCOME: _l("Low income"),
}


class EvaluationParty(StrEnum):
    """The parties of the performance evaluation (seed 000 §4)."""

    BUYER = "buyer"
    FINANCE = "finance"
    RECIPIENTS = "recipients"
    THIRD_PARTY = "third_party"

    @property
    def label(self) -> str:
        return str(PARTY_LABELS[self])


PARTY_LABELS = {
    EvaluationParty.BUYER: _l("Buyer (civil affairs)"),
    EvaluationParty.FINANCE: _l("Finance department"),
    EvaluationParty.RECIPIENTS: _l("Service recipients' satisfaction"),
    EvaluationParty.THIRD_PARTY: _l("Third-party evaluator"),
}

GRADES = ("excellent", "good", "pass")
GRADE_LABELS = {
    "excellent": _l("Excellent"),
    "good": _l("Good"),
    "pass": _l("Pass"),
    "fail": _l("Fail"),
}


class PolicyProfile(Audited, RegionShared, TimestampMixin, db.Model):
    __tablename__ = "policy_profiles"
    __table_args__ = (UniqueConstraint("region_code", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(120))
    source_document: Mapped[str | None] = mapped_column(String(200))

    entitlement_model: Mapped[EntitlementModel] = mapped_column(str_enum(EntitlementModel))
    hours_per_month: Mapped[Decimal | None]
    hourly_rate_cap: Mapped[Decimal | None]
    visits_per_year: Mapped[int | None] = mapped_column(Integer)
    unit_price_per_visit: Mapped[Decimal | None]
    visits_must_be_split: Mapped[bool] = mapped_column(Boolean, default=False)

    # [{"category": "minimum_living", "min_age": 60, "min_capability_level": 1}, ...]
    eligibility_rules: Mapped[list] = mapped_column(JSON, default=list)
    exclude_long_term_care: Mapped[bool] = mapped_column(Boolean, default=True)
    requires_residence: Mapped[bool] = mapped_column(Boolean, default=True)
    # The capability level counts only from a third-party assessment (assessor, date,
    # level) still valid in the month (seed 000 §2(1)); Yangcheng does not ask for one.
    requires_assessment: Mapped[bool] = mapped_column(Boolean, default=False)

    qualification_lookback_years: Mapped[int] = mapped_column(Integer, default=3)
    major_fine_threshold: Mapped[Decimal]

    # [{"party": "buyer", "weight": 25}, ...]; weights sum to 100
    evaluation_weights: Mapped[list] = mapped_column(JSON, default=list)
    # {"excellent": 90, "good": 80, "pass": 60}: lowest total for each grade
    grade_thresholds: Mapped[dict] = mapped_column(JSON, default=dict)
    # [{"code": "b1", "party": "buyer", "name": "服务对象覆盖", "max": 20}, ...]: each party's
    # indicators add up to 100 points
    evaluation_indicators: Mapped[list] = mapped_column(JSON, default=list)
    # Next year's selection: a provider graded 不合格 (or whose contract was terminated)
    # is "exclude"d or only "flag"ged
    failed_provider_rule: Mapped[str] = mapped_column(String(10), default="exclude")
    # Acceptance (issue 14 item 7): a 合格 conclusion with less delivered than this share
    # (percent) of the contracted quantity needs a written explanation on the certificate.
    acceptance_threshold: Mapped[Decimal] = mapped_column(default=Decimal("90.00"))

    # Contract texts (issue 18 part 5): each with where it comes from ("seed 001 §8",
    # "local default, not from policy"); empty means the contract says "to be agreed".
    # settlement_period is the unit, "月" or "季度" ("按月结算", "上月服务记录").
    settlement_platform: Mapped[str | None] = mapped_column(String(120))
    settlement_platform_source: Mapped[str | None] = mapped_column(String(200))
    settlement_period: Mapped[str | None] = mapped_column(String(10))
    settlement_period_source: Mapped[str | None] = mapped_column(String(200))
    # When the provider hands in the period's service records, e.g. "次月5个工作日内"
    records_deadline: Mapped[str | None] = mapped_column(String(120))
    records_deadline_source: Mapped[str | None] = mapped_column(String(200))
    sanction_clauses: Mapped[list] = mapped_column(JSON, default=list)
    sanction_clauses_source: Mapped[str | None] = mapped_column(String(200))
    termination_clauses: Mapped[list] = mapped_column(JSON, default=list)
    termination_clauses_source: Mapped[str | None] = mapped_column(String(200))

    min_visit_minutes: Mapped[int] = mapped_column(Integer, default=15)
    max_visit_minutes: Mapped[int] = mapped_column(Integer, default=480)
    notes: Mapped[str | None] = mapped_column(Text)

    region: Mapped[Region] = relationship(lazy="joined")

    def grade_for(self, total: Decimal) -> str:
        """The grade of an evaluation total under this profile's thresholds."""
        for grade in GRADES:
            if total >= Decimal(str(self.grade_thresholds[grade])):
                return grade
        return "fail"
