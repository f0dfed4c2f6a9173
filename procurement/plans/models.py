"""Annual purchase plans: zones (片区), service items, budget lines and frozen versions.

seed 000 §3(3): the plan states purchase method, service items with quantity and
quality, and the budget, and must be approved by finance at the same level before
providers are chosen. Every submission freezes a numbered version; an approved plan is
locked and an adjustment (调整) opens a new version while the approved one stays in force.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procurement.accounts.models import User
from procurement.core.audit import Audited
from procurement.core.db import TimestampMixin, db, str_enum
from procurement.core.scoping import RegionOwned, RegionShared
from procurement.policies.models import EntitlementModel, PolicyProfile
from procurement.regions.models import Region


class PurchaseMethod(StrEnum):
    """Government procurement methods (政府采购法 art. 26, 框架协议采购)."""

    OPEN_TENDER = "open_tender"
    INVITED_TENDER = "invited_tender"
    COMPETITIVE_NEGOTIATION = "competitive_negotiation"
    COMPETITIVE_CONSULTATION = "competitive_consultation"
    SINGLE_SOURCE = "single_source"
    REQUEST_FOR_QUOTATION = "request_for_quotation"
    FRAMEWORK_AGREEMENT = "framework_agreement"

    @property
    def label(self) -> str:
        return str(METHOD_LABELS[self])


METHOD_LABELS = {
    PurchaseMethod.OPEN_TENDER: _l("Open tender"),
    PurchaseMethod.INVITED_TENDER: _l("Invited tender"),
    PurchaseMethod.COMPETITIVE_NEGOTIATION: _l("Competitive negotiation"),
    PurchaseMethod.COMPETITIVE_CONSULTATION: _l("Competitive consultation"),
    PurchaseMethod.SINGLE_SOURCE: _l("Single source"),
    PurchaseMethod.REQUEST_FOR_QUOTATION: _l("Request for quotation"),
    PurchaseMethod.FRAMEWORK_AGREEMENT: _l("Framework agreement"),
}


class PlanStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    ADJUSTING = "adjusting"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])

    @property
    def editable(self) -> bool:
        return self in EDITABLE


STATUS_LABELS = {
    PlanStatus.DRAFT: _l("Draft"),
    PlanStatus.SUBMITTED: _l("Awaiting finance review"),
    PlanStatus.RETURNED: _l("Returned for revision"),
    PlanStatus.APPROVED: _l("Approved"),
    PlanStatus.ADJUSTING: _l("Being adjusted"),
}
EDITABLE = frozenset({PlanStatus.DRAFT, PlanStatus.RETURNED, PlanStatus.ADJUSTING})

# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[PlanStatus], PlanStatus]] = {
    "submit": (EDITABLE, PlanStatus.SUBMITTED),
    "approve": (frozenset({PlanStatus.SUBMITTED}), PlanStatus.APPROVED),
    "return": (frozenset({PlanStatus.SUBMITTED}), PlanStatus.RETURNED),
    "adjust": (frozenset({PlanStatus.APPROVED}), PlanStatus.ADJUSTING),
}


class LineKind(StrEnum):
    SERVICE = "service"  # computed per zone from the policy profile
    ASSESSMENT = "assessment"
    EVALUATION = "evaluation"
    TRAINING = "training"
    PLATFORM = "platform"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(LINE_KIND_LABELS[self])


LINE_KIND_LABELS = {
    LineKind.SERVICE: _l("Home-care services"),
    LineKind.ASSESSMENT: _l("Capability assessment"),
    LineKind.EVALUATION: _l("Third-party evaluation"),
    LineKind.TRAINING: _l("Training"),
    LineKind.PLATFORM: _l("Information platform"),
    LineKind.OTHER: _l("Other"),
}


class FundingSource(StrEnum):
    LOCAL_FINANCE = "local_finance"
    SUPERIOR_SUBSIDY = "superior_subsidy"
    WELFARE_LOTTERY = "welfare_lottery"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(FUNDING_LABELS[self])


FUNDING_LABELS = {
    FundingSource.LOCAL_FINANCE: _l("Local finance"),
    FundingSource.SUPERIOR_SUBSIDY: _l("Subsidy from higher levels"),
    FundingSource.WELFARE_LOTTERY: _l("Welfare lottery fund"),
    FundingSource.OTHER: _l("Other"),
}


class ItemStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"

    @property
    def label(self) -> str:
        return str(ITEM_STATUS_LABELS[self])


ITEM_STATUS_LABELS = {
    ItemStatus.ACTIVE: _l("In use"),
    ItemStatus.RETIRED: _l("Retired"),
}


class ServiceItem(Audited, RegionShared, TimestampMixin, db.Model):
    """One entry of the service catalogue of a policy profile and its year (issue 18).

    Yangcheng's comes from seed 001 annex 1, Xinjiang's from seed 000 §2(2) and seed 002's
    basic service list. An edit raises ``version`` and is kept in the audit trail; a plan's
    link keeps the version it chose. An item is retired, never deleted. Items made before
    catalogues had a profile (0017) may have none: old plans still point at them.
    """

    __tablename__ = "service_items"
    __table_args__ = (UniqueConstraint("policy_profile_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_profile_id: Mapped[int | None] = mapped_column(
        ForeignKey("policy_profiles.id"), index=True
    )
    year: Mapped[int | None] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(60))
    # 服务内容
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(20), default="")
    # 服务标准: the price or standard as the source words it
    standard: Mapped[str] = mapped_column(Text, default="")
    # A price per unit, only when the source gives one (never invented)
    price: Mapped[Decimal | None]
    model: Mapped[EntitlementModel] = mapped_column(
        str_enum(EntitlementModel), default=EntitlementModel.HOURS_PER_MONTH
    )
    # Where the item comes from (seed and section), empty for a locally added one
    source: Mapped[str] = mapped_column(String(200), default="")
    # Service content that long-term-care insurance pays for: an insured person's time on
    # it is not paid again (seed 000 §2(3)); ltc_source says where the coverage is stated.
    ltc_covered: Mapped[bool] = mapped_column(default=False)
    ltc_source: Mapped[str] = mapped_column(String(200), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)

    policy_profile: Mapped[PolicyProfile | None] = relationship()

    @property
    def status(self) -> ItemStatus:
        return ItemStatus.ACTIVE if self.active else ItemStatus.RETIRED


class PurchasePlan(Audited, RegionOwned, TimestampMixin, db.Model):
    __tablename__ = "purchase_plans"
    __audit_ignore__ = frozenset({"updated_at", "lock_version"})
    __table_args__ = (UniqueConstraint("region_code", "year", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    title: Mapped[str] = mapped_column(String(200))
    policy_profile_id: Mapped[int] = mapped_column(ForeignKey("policy_profiles.id"))
    purchase_method: Mapped[PurchaseMethod] = mapped_column(str_enum(PurchaseMethod, 30))
    service_start: Mapped[date] = mapped_column(Date)
    service_end: Mapped[date] = mapped_column(Date)
    quality_standard: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[PlanStatus] = mapped_column(str_enum(PlanStatus, 12), default=PlanStatus.DRAFT)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_versions.id", use_alter=True)
    )
    # Optimistic lock: a form or request based on an older state is refused.
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    region: Mapped[Region] = relationship(lazy="joined")
    policy_profile: Mapped[PolicyProfile] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    zones: Mapped[list[PlanZone]] = relationship(
        back_populates="plan", order_by="PlanZone.position", cascade="all, delete-orphan"
    )
    items: Mapped[list[PlanItem]] = relationship(cascade="all, delete-orphan")
    budget_lines: Mapped[list[BudgetLine]] = relationship(
        back_populates="plan", order_by="BudgetLine.position", cascade="all, delete-orphan"
    )
    versions: Mapped[list[PlanVersion]] = relationship(
        back_populates="plan",
        order_by="PlanVersion.number",
        foreign_keys="PlanVersion.plan_id",
    )
    approved_version: Mapped[PlanVersion | None] = relationship(
        foreign_keys=[approved_version_id], post_update=True
    )

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.budget_lines), Decimal("0.00"))

    @property
    def version(self) -> int:
        """The number of the latest submitted version (0 before the first submission)."""
        return len(self.versions)

    @property
    def pending_version(self) -> PlanVersion | None:
        if self.status is PlanStatus.SUBMITTED and self.versions:
            return self.versions[-1]
        return None

    def can(self, action: str) -> bool:
        """Whether ``action`` is allowed from the current status (TRANSITIONS)."""
        return self.status in TRANSITIONS[action][0]


class PlanZone(Audited, RegionOwned, db.Model):
    """A zone (片区, the lot): townships served by one provider (seed 001 annex 2)."""

    __tablename__ = "plan_zones"
    __table_args__ = (UniqueConstraint("plan_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("purchase_plans.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(Integer, default=0)
    expected_recipients: Mapped[int] = mapped_column(Integer)

    plan: Mapped[PurchasePlan] = relationship(back_populates="zones")
    # Loaded with the zones, in one query for all of them: a plan may have a hundred.
    townships: Mapped[list[ZoneTownship]] = relationship(
        back_populates="zone",
        cascade="all, delete-orphan",
        order_by="ZoneTownship.region_code",
        lazy="selectin",
    )

    @property
    def township_codes(self) -> list[str]:
        return [t.region_code for t in self.townships]

    @property
    def township_names(self) -> list[str]:
        return [t.township.name for t in self.townships]

    @property
    def retired_townships(self) -> list:
        """Townships of the zone retired since it was drawn (issue 18): said on its page."""
        return [t.township for t in self.townships if t.township.retired_on is not None]


class ZoneTownship(Audited, RegionOwned, db.Model):
    """A township in a zone; the unique key keeps a township in at most one zone of a plan."""

    __tablename__ = "zone_townships"
    __table_args__ = (UniqueConstraint("plan_id", "region_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("purchase_plans.id"), index=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("plan_zones.id"), index=True)

    zone: Mapped[PlanZone] = relationship(back_populates="townships")
    township: Mapped[Region] = relationship(lazy="joined")


class PlanItem(Audited, RegionOwned, db.Model):
    """A catalogue item the plan buys."""

    __tablename__ = "plan_items"
    __table_args__ = (UniqueConstraint("plan_id", "service_item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("purchase_plans.id"), index=True)
    service_item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id"))
    # The item's version when the plan chose it (a later edit does not change the choice)
    item_version: Mapped[int] = mapped_column(Integer, default=1)

    service_item: Mapped[ServiceItem] = relationship(lazy="joined")


class BudgetLine(Audited, RegionOwned, db.Model):
    """A line of the plan's budget; service lines are computed per zone."""

    __tablename__ = "budget_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("purchase_plans.id"), index=True)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("plan_zones.id"), index=True)
    kind: Mapped[LineKind] = mapped_column(str_enum(LineKind, 16))
    description: Mapped[str] = mapped_column(String(200))
    funding_source: Mapped[FundingSource] = mapped_column(str_enum(FundingSource, 20))
    # What the policy profile gives (service lines only), and what the plan asks for.
    computed_amount: Mapped[Decimal | None]
    amount: Mapped[Decimal]
    override_reason: Mapped[str | None] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(Integer, default=0)

    plan: Mapped[PurchasePlan] = relationship(back_populates="budget_lines")
    zone: Mapped[PlanZone | None] = relationship()

    @property
    def overridden(self) -> bool:
        return self.computed_amount is not None and self.amount != self.computed_amount


class Decision(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    RETURNED = "returned"

    @property
    def label(self) -> str:
        return str(DECISION_LABELS[self])


DECISION_LABELS = {
    Decision.PENDING: _l("Awaiting review"),
    Decision.APPROVED: _l("Approved"),
    Decision.RETURNED: _l("Returned"),
}


class PlanVersion(Audited, RegionOwned, db.Model):
    """A submitted version of a plan, frozen as it was, with finance's decision."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("purchase_plans.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict] = mapped_column(JSON)
    total: Mapped[Decimal]
    note: Mapped[str | None] = mapped_column(Text)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime]
    decision: Mapped[Decision] = mapped_column(str_enum(Decision, 12), default=Decision.PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)

    plan: Mapped[PurchasePlan] = relationship(back_populates="versions", foreign_keys=[plan_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
