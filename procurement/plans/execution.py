"""Budget execution: approved budget against committed (contracts), confirmed (statements
finance confirmed) and paid (money actually disbursed).

Where committed, confirmed and paid money comes from is named by the app factory
(``procurement.web``), so that this module does not need to know about contracts,
settlements or payments, and a feature left out fails loudly instead of showing nothing:

    execution.init_app(
        app, commitments=[committed_by_zone], settlements=[settled_by_zone],
        payments=[paid_by_zone],
    )

Each source maps a plan to ``{zone_id: Decimal(...)}``; a key of ``None`` means money not
tied to a zone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from flask import Flask, current_app

from procurement.plans.models import PurchasePlan

Source = Callable[[PurchasePlan], dict[int | None, Decimal]]
ZERO = Decimal("0.00")
EXTENSION = "procurement.budget_execution"


@dataclass(frozen=True)
class Sources:
    """Where an application's committed, confirmed and paid money comes from."""

    commitments: tuple[Source, ...]
    settlements: tuple[Source, ...]
    payments: tuple[Source, ...]


def init_app(
    app: Flask,
    *,
    commitments: Iterable[Source],
    settlements: Iterable[Source],
    payments: Iterable[Source],
) -> None:
    """Name the features that commit, confirm and pay money against a plan's budget."""
    app.extensions[EXTENSION] = Sources(tuple(commitments), tuple(settlements), tuple(payments))


def sources() -> Sources:
    """The current application's sources; an application not built by the factory has none
    rather than silently showing nothing committed or settled."""
    try:
        return current_app.extensions[EXTENSION]
    except KeyError:
        raise RuntimeError(
            "Budget execution is not wired: build the app with create_app()."
        ) from None


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


def _collect(sources: Iterable[Source], plan: PurchasePlan) -> dict[int | None, Decimal]:
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
    wired = sources()
    committed = _collect(wired.commitments, plan)
    confirmed = _collect(wired.settlements, plan)
    paid = _collect(wired.payments, plan)
    keys = [k for k in labels if k is not None]
    amounts = (approved, committed, confirmed, paid)
    keys += [None] if any(None in source for source in amounts) else []
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
