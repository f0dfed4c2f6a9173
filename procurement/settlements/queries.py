"""The list of monthly statements, one query for the page and the API alike."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, select

from procurement.contracts.models import Contract
from procurement.settlements.models import Settlement


def settlement_list(
    *,
    plan_id: int | None = None,
    contract_id: int | None = None,
    month: date | None = None,
    status: str | None = None,
) -> Select:
    """Statements matching the filters, newest month first, then by contract number
    (region scoping applies on execution)."""
    stmt = (
        select(Settlement)
        .join(Contract, Contract.id == Settlement.contract_id)
        .order_by(Settlement.month.desc(), Contract.number, Settlement.id)
    )
    if plan_id is not None:
        stmt = stmt.where(Contract.plan_id == plan_id)
    if contract_id is not None:
        stmt = stmt.where(Settlement.contract_id == contract_id)
    if month is not None:
        stmt = stmt.where(Settlement.month == month)
    if status:
        stmt = stmt.where(Settlement.status == status)
    return stmt
