"""A contract's ceilings against what its statements settle (issue 14 item 4).

The contract states an amount and a number of people (财政部令第102号 art. 23; seed 001
§6); the bureau may not pay beyond them: an amendment of the contract is the lawful way
to pay more. Every statement shows its *contract position*: the amount, what the
contract's other confirmed statements settled, this statement, the total after it, and
the people contracted against the people served.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import distinct, func, select

from procurement.contracts.models import Contract
from procurement.core.db import db
from procurement.settlements.models import (
    Settlement,
    SettlementStatus,
    StatementLine,
)

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ContractPosition:
    """Where one statement leaves its contract."""

    contract_amount: Decimal
    settled_before: Decimal  # the contract's other confirmed statements
    this_statement: Decimal
    recipients_contracted: int
    recipients_served: int | None  # people paid under the contract up to this month

    @property
    def settled_after(self) -> Decimal:
        return self.settled_before + self.this_statement

    @property
    def remaining(self) -> Decimal:
        return self.contract_amount - self.settled_after

    @property
    def over_amount(self) -> bool:
        return self.settled_after > self.contract_amount

    @property
    def overrun(self) -> Decimal:
        return max(ZERO, self.settled_after - self.contract_amount)

    @property
    def over_recipients(self) -> bool:
        return (self.recipients_served or 0) > self.recipients_contracted

    @property
    def share(self) -> Decimal:
        """Settled after this statement, as a percentage of the contract's amount."""
        if not self.contract_amount:
            return Decimal("0.0")
        return (self.settled_after * 100 / self.contract_amount).quantize(Decimal("0.1"))


def _confirmed_totals(contract_ids: Iterable[int]) -> dict[int, Decimal]:
    rows = db.session.execute(
        select(Settlement.contract_id, func.sum(Settlement.amount))
        .where(
            Settlement.contract_id.in_(list(contract_ids)),
            Settlement.status == SettlementStatus.CONFIRMED,
        )
        .group_by(Settlement.contract_id)
    )
    return {cid: Decimal(total or 0).quantize(Decimal("0.01")) for cid, total in rows}


def _position(settlement: Settlement, confirmed: Decimal, served: int | None):
    own = settlement.amount if settlement.status == SettlementStatus.CONFIRMED else ZERO
    return ContractPosition(
        contract_amount=settlement.contract.amount,
        settled_before=confirmed - own,
        this_statement=settlement.amount,
        recipients_contracted=settlement.contract.recipients,
        recipients_served=served,
    )


def recipients_served(settlement: Settlement) -> int:
    """People paid under the statement's contract from its start up to this month (from
    the statements' lines: a tenth of the rows of the records)."""
    return db.session.scalar(
        select(func.count(distinct(StatementLine.recipient_id)))
        .join(Settlement, Settlement.id == StatementLine.settlement_id)
        .where(
            Settlement.contract_id == settlement.contract_id,
            Settlement.month <= settlement.month,
            StatementLine.paid_visits > 0,
        )
        .execution_options(unscoped=True)  # the statement was found in the caller's scope
    )


def contract_position(settlement: Settlement) -> ContractPosition:
    """The statement's contract position, with the people served."""
    confirmed = _confirmed_totals([settlement.contract_id]).get(settlement.contract_id, ZERO)
    return _position(settlement, confirmed, recipients_served(settlement))


def positions_for(settlements: Iterable[Settlement]) -> dict[int, ContractPosition]:
    """The amounts of the positions of a list of statements, in one query (no head-count)."""
    settlements = list(settlements)
    confirmed = _confirmed_totals({s.contract_id for s in settlements})
    return {s.id: _position(s, confirmed.get(s.contract_id, ZERO), None) for s in settlements}


def lock_contract(contract_id: int) -> None:
    """Take the contract's row until the transaction ends, so that two confirmations of
    its statements at once are made one after the other, the second seeing the first."""
    db.session.execute(
        select(Contract.id).where(Contract.id == contract_id).with_for_update()
    ).one()
