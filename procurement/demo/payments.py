"""Demo disbursements (资金拨付): finance pays each confirmed statement of the demo plan
some days after confirming it, never after today; the last month's statements are paid
in a first instalment only, so the ledger shows money confirmed and not yet paid."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from procurement.accounts.models import User
from procurement.contracts.models import Contract
from procurement.core.clock import today
from procurement.core.db import db
from procurement.payments import services as payments
from procurement.payments.models import Payment
from procurement.plans.models import PurchasePlan
from procurement.settlements.models import Settlement, SettlementStatus

DAYS_TO_PAY = 7  # the treasury pays about a week after finance confirms
FIRST_INSTALMENT = Decimal("0.70")


def demo_account(provider_id: int) -> str:
    """A made-up bank account per provider (not a real one)."""
    return f"6217 0000 {provider_id:04d} 0001"


def pay_demo_statements(plan: PurchasePlan, finance: User) -> int:
    """Pay the plan's confirmed statements that have no payment yet; returns how many."""
    paid = set(db.session.scalars(select(Payment.settlement_id)))
    statements = [
        s
        for s in db.session.scalars(
            select(Settlement)
            .join(Contract, Contract.id == Settlement.contract_id)
            .where(Contract.plan_id == plan.id, Settlement.status == SettlementStatus.CONFIRMED)
            .order_by(Settlement.month, Settlement.id)
        )
        if s.id not in paid and s.amount > 0
    ]
    if not statements:
        return 0
    last_month = statements[-1].month
    for number, statement in enumerate(statements, start=1):
        paid_on = min(payments.confirmed_on(statement) + timedelta(days=DAYS_TO_PAY), today())
        amount = statement.amount
        if statement.month == last_month:
            amount = (amount * FIRST_INSTALMENT).quantize(Decimal("0.01"), ROUND_HALF_UP)
        payments.record_payment(
            statement,
            actor=finance,
            paid_on=paid_on,
            amount=str(amount),
            voucher_number=f"记-{paid_on:%Y%m}-{number:03d}",
            payee_account=demo_account(statement.contract.provider_id),
            treasury_reference=f"GK{paid_on:%Y%m%d}{number:03d}",
            note="按财政确认的结算单拨付。",
        )
    return len(statements)
