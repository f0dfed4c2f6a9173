"""Overviews of plans for dashboards: what awaits finance, and execution per county."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from procurement.core.db import db
from procurement.plans.execution import execution
from procurement.plans.models import PlanStatus, PurchasePlan

ZERO = Decimal("0.00")


def awaiting_review(region_code: str) -> list[PurchasePlan]:
    """Submitted plans that finance of ``region_code`` decides on (the same level), oldest first."""
    return list(
        db.session.scalars(
            select(PurchasePlan)
            .where(
                PurchasePlan.status == PlanStatus.SUBMITTED, PurchasePlan.region_code == region_code
            )
            .order_by(PurchasePlan.updated_at)
        )
    )


def listed_plans():
    """Plans as lists show them: with their versions and budget lines (for the total)
    loaded in one query each, not one per plan."""
    return select(PurchasePlan).options(
        selectinload(PurchasePlan.versions), selectinload(PurchasePlan.budget_lines)
    )


def plan_list(*, year: int | None = None, status: str | None = None) -> Select:
    """Plans matching the filters, for the list page and the API alike: newest year first,
    then by county, newest first within it."""
    stmt = listed_plans().order_by(
        PurchasePlan.year.desc(), PurchasePlan.region_code, PurchasePlan.id.desc()
    )
    if year:
        stmt = stmt.where(PurchasePlan.year == year)
    if status:
        stmt = stmt.where(PurchasePlan.status == status)
    return stmt


def recent_plans(limit: int = 5) -> list[PurchasePlan]:
    """The most recently changed plans in the caller's region."""
    return list(
        db.session.scalars(listed_plans().order_by(PurchasePlan.updated_at.desc()).limit(limit))
    )


@dataclass
class CountyExecution:
    code: str
    name: str
    plans: int
    approved: Decimal
    committed: Decimal
    confirmed: Decimal
    paid: Decimal


def execution_by_county(year: int) -> list[CountyExecution]:
    """Approved, committed, confirmed and paid money of each county's plans for a year."""
    rows: dict[str, CountyExecution] = {}
    plans = db.session.scalars(
        select(PurchasePlan).where(PurchasePlan.year == year).order_by(PurchasePlan.region_code)
    )
    for plan in plans:
        row = rows.setdefault(
            plan.region_code,
            CountyExecution(plan.region_code, plan.region.name, 0, ZERO, ZERO, ZERO, ZERO),
        )
        row.plans += 1
        for line in execution(plan, ""):
            row.approved += line.approved
            row.committed += line.committed
            row.confirmed += line.confirmed
            row.paid += line.paid
    return list(rows.values())
