"""What acceptance (``acceptance``) and evaluation (``evaluation``) of contracts share:
the contracts that can be judged, their last day of service, state transitions and the
small readers of the officer's input."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import gettext as _

from procurement.contracts.models import Contract, ContractStatus
from procurement.core.errors import Conflict, FieldErrors

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Contracts that were performed (or partly, until terminated) and can be accepted.
PERFORMED = (
    ContractStatus.SIGNED,
    ContractStatus.IN_FORCE,
    ContractStatus.COMPLETED,
    ContractStatus.TERMINATED,
)
# The acceptance team (验收小组): at least three members, so that the buyer's officer is
# joined by at least two others (e.g. finance or a township, and a recipients'
# representative or an expert) and the team can decide by majority; 政府采购法 art. 41
TEXT_LIMIT = 4000
SHORT_LIMIT = 120


def clean_text(value: Any) -> str:
    return ("" if value is None else str(value)).strip()


def to_cent(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def percent(part: Decimal | int, whole: Decimal | int) -> str:
    """``part`` as a percentage of ``whole`` with one decimal (95.3%); — when whole is 0."""
    if not whole:
        return "—"
    rate = Decimal(part) * 100 / Decimal(whole)
    return f"{rate.quantize(Decimal('0.1'), ROUND_HALF_UP)}%"


def transition(record, table: dict, action: str):
    """The state ``action`` leads to; refused when the record's state does not allow it."""
    allowed, target = table[action]
    if record.status not in allowed:
        raise Conflict(
            _(
                "This is %(status)s: it cannot be %(action)s.",
                status=record.status.label,
                action=_WORDS[action](),
            ),
            code="invalid_state",
        )
    return target


_WORDS = {
    "update": lambda: _("changed"),
    "approve": lambda: _("approved"),
    "publish": lambda: _("published"),
    "score": lambda: _("scored"),
    "complete": lambda: _("closed as complete"),
}


def contract_end(contract: Contract) -> date:
    """The last day of service: the termination date of a terminated contract."""
    if contract.status is ContractStatus.TERMINATED and contract.terminated_on:
        return min(contract.terminated_on, contract.service_end)
    return contract.service_end


def require_performed(contract: Contract) -> None:
    if contract.status not in PERFORMED:
        raise Conflict(
            _("Contract %(number)s has not been signed.", number=contract.number),
            code="not_signed",
        )


def read_count(value: Any, name: str, errors: FieldErrors) -> int | None:
    text = clean_text(value) or "0"
    if not (text.isascii() and text.isdecimal()) or int(text) > 10_000_000:
        errors.add(name, _("Must be a whole number, 0 or more."))
        return None
    return int(text)
