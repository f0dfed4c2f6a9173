"""Why a statement is held: the one place that says whether finance may confirm it.

A statement is held, with its reasons, while its month has not ended (China time), while
settlement of its contract is suspended (seed 001 §8(2)1), while flagged records await
review (seed 001 §8(2)2(2)), or when it would take the contract beyond its amount (an
amendment is the lawful way to pay more). The pages, the API and ``confirm`` all read
the holds from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from procurement.core.clock import today
from procurement.core.errors import Conflict
from procurement.recipients.entitlement import next_month
from procurement.settlements.ceilings import ContractPosition
from procurement.settlements.models import Settlement, SettlementStatus


class HoldReason(StrEnum):
    MONTH_NOT_ENDED = "month_not_ended"
    SUSPENDED = "suspended"
    PENDING_REVIEW = "pending_review"
    OVER_CONTRACT = "over_contract"

    @property
    def label(self) -> str:
        return str(HOLD_LABELS[self])


HOLD_LABELS = {
    HoldReason.MONTH_NOT_ENDED: _l("Month not ended"),
    HoldReason.SUSPENDED: _l("Settlement suspended"),
    HoldReason.PENDING_REVIEW: _l("Flags awaiting review"),
    HoldReason.OVER_CONTRACT: _l("Beyond the contract amount"),
}


@dataclass(frozen=True)
class Hold:
    reason: HoldReason
    message: str


def month_ended(settlement: Settlement) -> bool:
    """A month can be settled from the first day of the next (China time)."""
    return today() >= next_month(settlement.month)


def holds(
    settlement: Settlement,
    *,
    position: ContractPosition,
    pending_reviews: int | None = None,
    suspension=None,
) -> list[Hold]:
    """The reasons the draft ``settlement`` cannot be confirmed now (none once confirmed).

    ``pending_reviews``: its records awaiting review; ``suspension``: the suspension of
    settlement in force for its contract, if any."""
    if settlement.status == SettlementStatus.CONFIRMED:
        return []
    found: list[Hold] = []
    if not month_ended(settlement):
        found.append(
            Hold(
                HoldReason.MONTH_NOT_ENDED,
                _(
                    "The month %(month)s has not ended: it can be confirmed from %(day)s.",
                    month=f"{settlement.month:%Y-%m}",
                    day=next_month(settlement.month).isoformat(),
                ),
            )
        )
    if suspension is not None:
        found.append(
            Hold(
                HoldReason.SUSPENDED,
                _(
                    "Settlement of this contract is suspended since %(date)s: "
                    "the statement is held.",
                    date=suspension.decided_on.isoformat(),
                ),
            )
        )
    if pending_reviews:
        found.append(
            Hold(
                HoldReason.PENDING_REVIEW,
                _(
                    "%(count)d flagged records await review before confirmation.",
                    count=pending_reviews,
                ),
            )
        )
    if position.over_amount:
        found.append(
            Hold(
                HoldReason.OVER_CONTRACT,
                _(
                    "Confirming it would settle %(after)s yuan against a contract of "
                    "%(amount)s yuan, %(overrun)s yuan beyond: amend the contract first.",
                    after=f"{position.settled_after:,.2f}",
                    amount=f"{position.contract_amount:,.2f}",
                    overrun=f"{position.overrun:,.2f}",
                ),
            )
        )
    return found


def holds_for(
    settlements: Iterable[Settlement],
    *,
    positions: dict[int, ContractPosition],
    pending: dict[int, int],
) -> dict[int, list[Hold]]:
    """The holds of a list of statements (one more query, for the suspensions).

    ``positions`` and ``pending`` (records awaiting review) by statement id."""
    from procurement.supervision.services import active_suspensions

    settlements = list(settlements)
    suspended = active_suspensions({s.contract_id for s in settlements})
    return {
        s.id: holds(
            s,
            position=positions[s.id],
            pending_reviews=pending.get(s.id),
            suspension=suspended.get(s.contract_id),
        )
        for s in settlements
    }


def refuse_if_held(found: list[Hold]) -> None:
    """Refuse a confirmation with the first hold's reason (409 in the API)."""
    if found:
        raise Conflict(found[0].message, code=found[0].reason.value)
