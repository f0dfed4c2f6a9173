"""Disbursements (资金拨付): the money finance actually paid against confirmed statements.

A payment is never edited or deleted: a wrong one is undone by a reversing entry (a
negative payment naming the one it reverses), so the paid total and its history agree.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procurement.accounts.models import User
from procurement.contracts.models import Contract
from procurement.core.audit import Audited
from procurement.core.clock import utcnow
from procurement.core.db import db
from procurement.core.scoping import RegionOwned
from procurement.settlements.models import Settlement


class Payment(Audited, RegionOwned, db.Model):
    """One payment (or the reversal of one) against a finance-confirmed monthly statement."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id"), index=True)
    paid_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal]  # negative for a reversal
    voucher_number: Mapped[str] = mapped_column(String(40))
    payee_account: Mapped[str] = mapped_column(String(40))
    treasury_reference: Mapped[str] = mapped_column(String(60), default="")
    note: Mapped[str] = mapped_column(String(500), default="")
    # A payment is reversed at most once: the reversal names it, uniquely.
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    contract: Mapped[Contract] = relationship()
    settlement: Mapped[Settlement] = relationship()
    recorded_by: Mapped[User | None] = relationship()
    reverses: Mapped[Payment | None] = relationship(remote_side=[id], back_populates="reversed_by")
    reversed_by: Mapped[Payment | None] = relationship(back_populates="reverses")

    @property
    def is_reversal(self) -> bool:
        return self.reverses_id is not None
