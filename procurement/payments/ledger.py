"""The finance ledger: per contract and month, what the statement owes, what is held and
why, what finance confirmed and what was paid, with totals per contract and overall.

Read from the statements and payments of the caller's region (scoping applies), one
query each; the hold reasons come from the suspensions in force today.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import extract, func, select

from procurement.contracts.models import Contract
from procurement.core.db import db
from procurement.payments.models import Payment
from procurement.providers.models import Provider
from procurement.settlements.models import Settlement, SettlementStatus

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class LedgerFilter:
    plan_id: int | None = None
    contract_id: int | None = None
    year: int | None = None


@dataclass(frozen=True)
class LedgerRow:
    contract_id: int
    contract_number: str
    provider_name: str
    month: date
    settlement_id: int
    status: str
    status_label: str
    owed: Decimal
    held: Decimal
    hold_reason: str
    confirmed: Decimal
    paid: Decimal

    @property
    def unpaid(self) -> Decimal:
        """Confirmed but not yet paid."""
        return self.confirmed - self.paid


@dataclass
class Totals:
    owed: Decimal = ZERO
    held: Decimal = ZERO
    confirmed: Decimal = ZERO
    paid: Decimal = ZERO

    @property
    def unpaid(self) -> Decimal:
        return self.confirmed - self.paid

    def add(self, row: LedgerRow | Totals) -> None:
        self.owed += row.owed
        self.held += row.held
        self.confirmed += row.confirmed
        self.paid += row.paid


@dataclass
class ContractLedger:
    contract_id: int
    contract_number: str
    provider_name: str
    rows: list[LedgerRow] = field(default_factory=list)
    total: Totals = field(default_factory=Totals)


@dataclass
class Ledger:
    contracts: list[ContractLedger]
    total: Totals

    @property
    def rows(self) -> list[LedgerRow]:
        return [row for contract in self.contracts for row in contract.rows]


def hold_reasons(settlements: list[Settlement]) -> dict[int, str]:
    """Why each statement that is not confirmed is held, for those held: the suspension of
    settlement in force today (seed 001 §8(2)1), or a reason the statement itself carries."""
    from procurement.supervision.services import active_suspensions

    suspensions = active_suspensions(
        {s.contract_id for s in settlements if s.status != SettlementStatus.CONFIRMED}
    )
    reasons = {}
    for settlement in settlements:
        if settlement.status == SettlementStatus.CONFIRMED:
            continue
        own = getattr(settlement, "hold_reason", None)  # a statement hold, where one exists
        sanction = suspensions.get(settlement.contract_id)
        if own:
            reasons[settlement.id] = str(own)
        elif sanction is not None:
            reasons[settlement.id] = _(
                "Settlement suspended since %(date)s: %(note)s",
                date=sanction.decided_on.isoformat(),
                note=sanction.note or sanction.ground,
            )
    return reasons


def ledger(filters: LedgerFilter) -> Ledger:
    """The ledger for the statements matching ``filters``, by contract then month."""
    query = (
        select(Settlement, Contract.number, Provider.name)
        .join(Contract, Contract.id == Settlement.contract_id)
        .join(Provider, Provider.id == Contract.provider_id)
        .order_by(Contract.number, Settlement.month)
    )
    if filters.plan_id is not None:
        query = query.where(Contract.plan_id == filters.plan_id)
    if filters.contract_id is not None:
        query = query.where(Settlement.contract_id == filters.contract_id)
    if filters.year is not None:
        query = query.where(extract("year", Settlement.month) == filters.year)
    found = db.session.execute(query).all()
    settlements = [row[0] for row in found]
    paid: dict[int, Decimal] = {}
    if settlements:
        paid = {
            settlement_id: Decimal(amount or 0).quantize(Decimal("0.01"))
            for settlement_id, amount in db.session.execute(
                select(Payment.settlement_id, func.sum(Payment.amount))
                .where(Payment.settlement_id.in_([s.id for s in settlements]))
                .group_by(Payment.settlement_id)
            )
        }
    reasons = hold_reasons(settlements)
    contracts: dict[int, ContractLedger] = {}
    total = Totals()
    for settlement, number, provider in found:
        confirmed = settlement.status == SettlementStatus.CONFIRMED
        row = LedgerRow(
            contract_id=settlement.contract_id,
            contract_number=number,
            provider_name=provider,
            month=settlement.month,
            settlement_id=settlement.id,
            status=settlement.status.value,
            status_label=settlement.status.label,
            owed=settlement.amount,
            held=settlement.amount if settlement.id in reasons else ZERO,
            hold_reason=reasons.get(settlement.id, ""),
            confirmed=settlement.amount if confirmed else ZERO,
            paid=paid.get(settlement.id, ZERO),
        )
        entry = contracts.setdefault(
            row.contract_id, ContractLedger(row.contract_id, number, provider)
        )
        entry.rows.append(row)
        entry.total.add(row)
        total.add(row)
    return Ledger(list(contracts.values()), total)
