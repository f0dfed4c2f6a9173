"""Supervision: complaints, and the sanctions of seed 001 §8(2).

Interview (约谈), rectification (整改) and suspension of settlement (暂停结算) follow
the grounds of §8(2)1, among them three verified complaints attributable to the
provider within the service term; termination (终止合同) follows §8(2)2.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procurement.accounts.models import User
from procurement.contracts.models import Contract
from procurement.core.audit import Audited
from procurement.core.db import TimestampMixin, db, str_enum
from procurement.core.scoping import RegionOwned
from procurement.providers.models import Provider
from procurement.recipients.models import Recipient


class ComplaintStatus(StrEnum):
    RECEIVED = "received"
    VERIFIED = "verified"  # the facts were found true
    UNFOUNDED = "unfounded"

    @property
    def label(self) -> str:
        return str(COMPLAINT_STATUS_LABELS[self])


COMPLAINT_STATUS_LABELS = {
    ComplaintStatus.RECEIVED: _l("Received, being verified"),
    ComplaintStatus.VERIFIED: _l("Verified"),
    ComplaintStatus.UNFOUNDED: _l("Unfounded"),
}

COMPLAINT_CHANNELS = {
    "phone": _l("Telephone"),
    "visit": _l("In person"),
    "letter": _l("Letter"),
    "platform": _l("Smart elderly-care platform"),
    "inspection": _l("Found in an inspection"),
    "other": _l("Other"),
}


class Complaint(Audited, RegionOwned, TimestampMixin, db.Model):
    __tablename__ = "complaints"
    __audit_ignore__ = frozenset({"updated_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipients.id"))
    received_on: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    status: Mapped[ComplaintStatus] = mapped_column(
        str_enum(ComplaintStatus, 12), default=ComplaintStatus.RECEIVED
    )
    verified_on: Mapped[date | None] = mapped_column(Date)
    findings: Mapped[str] = mapped_column(Text, default="")
    # Whether the responsibility lies with the provider (only for verified complaints).
    attributable: Mapped[bool | None] = mapped_column(Boolean)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    provider: Mapped[Provider] = relationship()
    contract: Mapped[Contract | None] = relationship()
    recipient: Mapped[Recipient | None] = relationship()
    recorded_by: Mapped[User | None] = relationship()


class SanctionKind(StrEnum):
    INTERVIEW = "interview"  # 约谈
    RECTIFICATION = "rectification"  # 督促整改
    SUSPEND_SETTLEMENT = "suspend_settlement"  # 暂停资金结算
    TERMINATE = "terminate"  # 终止合同

    @property
    def label(self) -> str:
        return str(SANCTION_LABELS[self])


SANCTION_LABELS = {
    SanctionKind.INTERVIEW: _l("Interview"),
    SanctionKind.RECTIFICATION: _l("Rectification"),
    SanctionKind.SUSPEND_SETTLEMENT: _l("Suspension of settlement"),
    SanctionKind.TERMINATE: _l("Termination of the contract"),
}


class Sanction(Audited, RegionOwned, TimestampMixin, db.Model):
    __tablename__ = "sanctions"
    __audit_ignore__ = frozenset({"updated_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    kind: Mapped[SanctionKind] = mapped_column(str_enum(SanctionKind, 20))
    # seed 001 §8(2)1 clause number ("1".."5") or a termination ground (TERMINATION_REASONS)
    ground: Mapped[str] = mapped_column(String(40))
    decided_on: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date | None] = mapped_column(Date)  # for rectification
    lifted_on: Mapped[date | None] = mapped_column(Date)  # a suspension ends when lifted
    note: Mapped[str] = mapped_column(Text, default="")
    complaint_ids: Mapped[list] = mapped_column(JSON, default=list)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    provider: Mapped[Provider] = relationship()
    contract: Mapped[Contract] = relationship()
    decided_by: Mapped[User | None] = relationship()
