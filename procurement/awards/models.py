"""Selection per zone: bids, comprehensive scoring, and one award per zone (seed 001 §6)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procurement.accounts.models import User
from procurement.core.audit import Audited
from procurement.core.db import TimestampMixin, db
from procurement.core.scoping import RegionOwned
from procurement.plans.models import PlanZone, PurchasePlan
from procurement.providers.models import Provider, QualificationCheck


class Selection(Audited, RegionOwned, TimestampMixin, db.Model):
    """The scoring rules of one plan's procurement (财政部令第87号 art. 55)."""

    __tablename__ = "selections"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("purchase_plans.id"), unique=True)
    bid_deadline: Mapped[date] = mapped_column(Date)
    price_weight: Mapped[int] = mapped_column(Integer, default=30)
    technical_weight: Mapped[int] = mapped_column(Integer, default=50)
    performance_weight: Mapped[int] = mapped_column(Integer, default=20)

    plan: Mapped[PurchasePlan] = relationship()


class Bid(Audited, RegionOwned, TimestampMixin, db.Model):
    """A provider's offer for a zone, with the panel's technical score."""

    __tablename__ = "bids"
    __table_args__ = (UniqueConstraint("zone_id", "provider_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("purchase_plans.id"), index=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("plan_zones.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    # Yuan per hour (hours model) or per visit (visits model)
    unit_price: Mapped[Decimal]
    technical_score: Mapped[Decimal | None]
    note: Mapped[str] = mapped_column(Text, default="")

    zone: Mapped[PlanZone] = relationship()
    provider: Mapped[Provider] = relationship(lazy="joined")


class Award(Audited, RegionOwned, db.Model):
    """The award of a zone, with its rationale and the notice ready for publication."""

    __tablename__ = "awards"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("purchase_plans.id"), index=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("plan_zones.id"), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"))
    qualification_check_id: Mapped[int] = mapped_column(ForeignKey("qualification_checks.id"))
    total_score: Mapped[Decimal]
    rank: Mapped[int] = mapped_column(Integer)
    rationale: Mapped[str] = mapped_column(Text)
    # The ranking as it was when the award was decided, and the notice (中标/成交公告).
    ranking: Mapped[list] = mapped_column(JSON)
    notice_title: Mapped[str] = mapped_column(String(200))
    notice_text: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime]

    zone: Mapped[PlanZone] = relationship()
    provider: Mapped[Provider] = relationship()
    bid: Mapped[Bid] = relationship()
    qualification_check: Mapped[QualificationCheck] = relationship()
    decided_by: Mapped[User | None] = relationship()
