"""Budget execution: approved budget against committed (contracts), confirmed (statements
finance confirmed) and paid (money actually disbursed).

Later features register where committed, confirmed and paid money comes from, so that
this module does not need to know about contracts, settlements or payments:

    register_commitments(lambda plan: {zone_id: Decimal(...)})
    register_settlements(lambda plan: {zone_id: Decimal(...)})
    register_payments(lambda plan: {zone_id: Decimal(...)})

A key of ``None`` means money not tied to a zone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from procurement.plans.models import PurchasePlan

Source = Callable[[PurchasePlan], dict[int | None, Decimal]]
_COMMITMENTS: list[Source] = []
_SETTLEMENTS: list[Source] = []
_PAYMENTS: list[Source] = []
ZERO = Decimal("0.00")


def register_commitments(source: Source) -> Source:
    if source not in _COMMITMENTS:
        _COMMITMENTS.append(source)
    return source


def register_settlements(source: Source) -> Source:
    if source not in _SETTLEMENTS:
        _SETTLEMENTS.append(source)
    return source


def register_payments(source: Source) -> Source:
    if source not in _PAYMENTS:
        _PAYMENTS.append(source)
    return source


@dataclass(frozen=True)
class ExecutionRow:
    zone_id: int | None
    label: str
    approved: Decimal
    committed: Decimal
    confirmed: Decimal
    paid: Decimal

    @property
    def available(self) -> Decimal:
        return self.approved - self.committed

    def share(self, part: Decimal) -> float:
        return float(part / self.approved) if self.approved else 0.0


def _collect(sources: list[Source], plan: PurchasePlan) -> dict[int | None, Decimal]:
    totals: dict[int | None, Decimal] = {}
    for source in sources:
        for zone_id, amount in source(plan).items():
            totals[zone_id] = totals.get(zone_id, ZERO) + amount
    return totals


def execution(plan: PurchasePlan, other_label: str) -> list[ExecutionRow]:
    """Per zone (and one row for lines outside zones), from the version in force."""
    approved: dict[int | None, Decimal] = {}
    labels: dict[int | None, str] = {None: other_label}
    version = plan.approved_version
    if version is not None:
        for zone in version.snapshot["zones"]:
            labels[zone["id"]] = zone["name"]
        for line in version.snapshot["budget_lines"]:
            zone_id = line["zone_id"]
            approved[zone_id] = approved.get(zone_id, ZERO) + Decimal(line["amount"])
    committed = _collect(_COMMITMENTS, plan)
    confirmed = _collect(_SETTLEMENTS, plan)
    paid = _collect(_PAYMENTS, plan)
    keys = [k for k in labels if k is not None]
    sources = (approved, committed, confirmed, paid)
    keys += [None] if any(None in source for source in sources) else []
    return [
        ExecutionRow(
            key,
            labels.get(key, str(key)),
            approved.get(key, ZERO),
            committed.get(key, ZERO),
            confirmed.get(key, ZERO),
            paid.get(key, ZERO),
        )
        for key in keys
    ]


def totals(rows: list[ExecutionRow], label: str) -> ExecutionRow:
    return ExecutionRow(
        None,
        label,
        sum((r.approved for r in rows), ZERO),
        sum((r.committed for r in rows), ZERO),
        sum((r.confirmed for r in rows), ZERO),
        sum((r.paid for r in rows), ZERO),
    )
