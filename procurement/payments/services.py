"""Recording what finance paid (资金拨付) against confirmed statements, and reversing it.

The rule: money is paid only for what finance confirmed. A contract's paid total never
exceeds its confirmed total, nor a statement's paid total its amount; the check runs
under a lock on the contract's row, so that two payments recorded at the same moment
cannot together pass it. A payment is dated on or after the statement's confirmation and
never in the future. A wrong payment is corrected by a reversing entry, not by editing.
Knows nothing of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from procurement.accounts.models import User
from procurement.contracts.models import Contract
from procurement.core import audit
from procurement.core.clock import CHINA, utcnow
from procurement.core.dates import past_date
from procurement.core.db import db
from procurement.core.errors import Conflict, FieldErrors, NotFound
from procurement.core.money import format_amount, parse_amount
from procurement.payments.models import Payment
from procurement.plans.models import PurchasePlan
from procurement.settlements.models import Settlement, SettlementStatus

ZERO = Decimal("0.00")
LARGEST = Decimal("999999999999.99")  # NUMERIC(14, 2)


def get_payment(payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(_("No such payment."))
    return payment


def confirmed_on(settlement: Settlement) -> date | None:
    """The business day (China) on which finance confirmed the statement."""
    if settlement.confirmed_at is None:
        return None
    return settlement.confirmed_at.astimezone(CHINA).date()


def _lock_contract(contract_id: int) -> None:
    """Hold the contract's row until the transaction ends (PostgreSQL: FOR UPDATE), so that
    payments to one contract are checked one after the other. SQLite allows one writer."""
    db.session.execute(
        select(Contract.id).where(Contract.id == contract_id).with_for_update()
    ).all()


def _sum(query) -> Decimal:
    return Decimal(db.session.scalar(query) or 0).quantize(Decimal("0.01"))


def paid_total(contract_id: int) -> Decimal:
    """What was paid to the contract, net of reversals."""
    return _sum(select(func.sum(Payment.amount)).where(Payment.contract_id == contract_id))


def confirmed_total(contract_id: int) -> Decimal:
    """What finance confirmed for the contract: the sum of its confirmed statements."""
    return _sum(
        select(func.sum(Settlement.amount)).where(
            Settlement.contract_id == contract_id,
            Settlement.status == SettlementStatus.CONFIRMED,
        )
    )


def paid_on_statement(settlement_id: int) -> Decimal:
    return _sum(select(func.sum(Payment.amount)).where(Payment.settlement_id == settlement_id))


@dataclass(frozen=True)
class Balance:
    """What remains payable on a statement and on its contract (confirmed minus paid)."""

    statement_confirmed: Decimal
    statement_paid: Decimal
    contract_confirmed: Decimal
    contract_paid: Decimal

    @property
    def statement_unpaid(self) -> Decimal:
        return self.statement_confirmed - self.statement_paid

    @property
    def contract_unpaid(self) -> Decimal:
        return self.contract_confirmed - self.contract_paid

    @property
    def payable(self) -> Decimal:
        return min(self.statement_unpaid, self.contract_unpaid)


def balance(settlement: Settlement) -> Balance:
    confirmed = settlement.amount if settlement.status == SettlementStatus.CONFIRMED else ZERO
    return Balance(
        confirmed,
        paid_on_statement(settlement.id),
        confirmed_total(settlement.contract_id),
        paid_total(settlement.contract_id),
    )


def _text(value: Any, name: str, errors: FieldErrors, limit: int, *, required: bool) -> str:
    text = str(value or "").strip()
    if required and not text:
        errors.add(name, _("This field is required."))
    elif len(text) > limit:
        errors.add(name, _("Must have at most %(n)s characters.", n=limit))
    return text


def record_payment(
    settlement: Settlement,
    *,
    actor: User,
    paid_on: Any,
    amount: Any,
    voucher_number: Any,
    payee_account: Any,
    treasury_reference: Any = "",
    note: Any = "",
) -> Payment:
    """Finance records money paid against a confirmed statement (资金拨付): never before the
    confirmation, never in the future, never beyond what was confirmed."""
    if settlement.status != SettlementStatus.CONFIRMED:
        raise Conflict(
            _("Only a statement confirmed by finance can be paid."), code="not_confirmed"
        )
    errors = FieldErrors()
    day = past_date(paid_on, "paid_on", errors, required=True)
    confirmed = confirmed_on(settlement)
    if day is not None and confirmed is not None and day < confirmed:
        errors.add(
            "paid_on",
            _(
                "The payment date %(date)s is before the statement was confirmed (%(confirmed)s).",
                date=day.isoformat(),
                confirmed=confirmed.isoformat(),
            ),
        )
    value = None
    try:
        value = parse_amount(amount)
    except (ValueError, ArithmeticError):
        errors.add("amount", _("Must be an amount such as 1234.50."))
    if value is not None and value <= 0:
        errors.add("amount", _("The amount must be more than zero."))
    elif value is not None and value > LARGEST:
        errors.add("amount", _("Must be at most %(n)s.", n=format_amount(LARGEST)))
    voucher = _text(voucher_number, "voucher_number", errors, 40, required=True)
    account = _text(payee_account, "payee_account", errors, 40, required=True)
    treasury = _text(treasury_reference, "treasury_reference", errors, 60, required=False)
    remark = _text(note, "note", errors, 500, required=False)
    errors.raise_if_any()

    _lock_contract(settlement.contract_id)
    money = balance(settlement)
    if value > money.statement_unpaid:
        raise Conflict(
            _(
                "The payment of %(amount)s yuan exceeds what remains unpaid on the statement "
                "for %(month)s: confirmed %(confirmed)s, paid %(paid)s, unpaid %(unpaid)s yuan.",
                amount=format_amount(value),
                month=f"{settlement.month:%Y-%m}",
                confirmed=format_amount(money.statement_confirmed),
                paid=format_amount(money.statement_paid),
                unpaid=format_amount(money.statement_unpaid),
            ),
            code="over_confirmed",
        )
    if value > money.contract_unpaid:
        raise Conflict(
            _(
                "The payment of %(amount)s yuan would take contract %(number)s beyond its "
                "confirmed total: confirmed %(confirmed)s, paid %(paid)s yuan.",
                amount=format_amount(value),
                number=settlement.contract.number,
                confirmed=format_amount(money.contract_confirmed),
                paid=format_amount(money.contract_paid),
            ),
            code="over_confirmed",
        )
    payment = Payment(
        contract_id=settlement.contract_id,
        settlement_id=settlement.id,
        region_code=settlement.region_code,
        paid_on=day,
        amount=value,
        voucher_number=voucher,
        payee_account=account,
        treasury_reference=treasury,
        note=remark,
        recorded_by_id=actor.id,
        recorded_at=utcnow(),
    )
    db.session.add(payment)
    audit.label(payment, "pay")
    db.session.flush()
    return payment


def reverse_payment(
    payment: Payment, *, actor: User, paid_on: Any, voucher_number: Any, note: Any
) -> Payment:
    """Undo a wrong payment by a reversing entry of the opposite amount (nothing is edited);
    the reason is required, and the payment can be paid again correctly afterwards."""
    if payment.is_reversal:
        raise Conflict(_("A reversal cannot itself be reversed."), code="reversal")
    errors = FieldErrors()
    day = past_date(paid_on, "paid_on", errors, required=True)
    if day is not None and day < payment.paid_on:
        errors.add(
            "paid_on",
            _(
                "A reversal cannot be dated before the payment it reverses (%(date)s).",
                date=payment.paid_on.isoformat(),
            ),
        )
    voucher = _text(voucher_number, "voucher_number", errors, 40, required=True)
    reason = _text(note, "note", errors, 500, required=True)
    errors.raise_if_any()
    _lock_contract(payment.contract_id)
    already = db.session.scalar(select(Payment.id).where(Payment.reverses_id == payment.id))
    if already is not None:
        raise Conflict(_("This payment has already been reversed."), code="reversed")
    reversal = Payment(
        contract_id=payment.contract_id,
        settlement_id=payment.settlement_id,
        region_code=payment.region_code,
        paid_on=day,
        amount=-payment.amount,
        voucher_number=voucher,
        payee_account=payment.payee_account,
        treasury_reference="",
        note=reason,
        reverses_id=payment.id,
        recorded_by_id=actor.id,
        recorded_at=utcnow(),
    )
    db.session.add(reversal)
    audit.label(reversal, "reverse")
    db.session.flush()
    return reversal


def payments_query(*, contract_id: int | None = None, settlement_id: int | None = None):
    """Payments newest first, optionally of one contract or statement."""
    query = select(Payment).order_by(Payment.paid_on.desc(), Payment.id.desc())
    if contract_id is not None:
        query = query.where(Payment.contract_id == contract_id)
    if settlement_id is not None:
        query = query.where(Payment.settlement_id == settlement_id)
    return query


# Budget execution ----------------------------------------------------------------------


def paid_by_zone(plan: PurchasePlan) -> dict[int | None, Decimal]:
    """Money actually paid (net of reversals), per zone of the plan."""
    rows = db.session.execute(
        select(Contract.zone_id, func.sum(Payment.amount))
        .join(Contract, Contract.id == Payment.contract_id)
        .where(Contract.plan_id == plan.id)
        .group_by(Contract.zone_id)
    ).all()
    return {zone_id: Decimal(amount or 0).quantize(Decimal("0.01")) for zone_id, amount in rows}
