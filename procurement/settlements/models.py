"""Service records from the smart elderly-care platform, their imports, and the monthly
settlement per contract (seed 001 §7(2)(3)).

``service_records`` is the one big table (a province writes about a million rows a
month), so it is narrow and written by the raw driver on the import's hot path
(``procurement.settlements.settling``); the ORM class serves reading and review.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import IntFlag, StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procurement.accounts.models import User
from procurement.contracts.models import Contract
from procurement.core.audit import Audited
from procurement.core.db import db, str_enum
from procurement.core.scoping import RegionOwned
from procurement.recipients.models import Recipient


class Flag(IntFlag):
    """Fraud and quality signals on a service record (seed 001 §8(2)2(2); issue 6)."""

    WORKER_OVERLAP = 1  # one worker in two visits at once
    AFTER_DEATH = 2
    AFTER_EXIT = 4
    DUPLICATE = 8  # the same recipient visited twice at the same time
    TOO_SHORT = 16
    TOO_LONG = 32
    WHOLE_ENTITLEMENT = 64  # one visit uses the month's hours where visits must be split
    OUTSIDE_ZONE = 128  # the person's roster township is not in the contract's zone
    TOWNSHIP_MISMATCH = 256  # the platform's township differs from the roster's
    OTHER_CONTRACT = 512  # the person was also served under another contract that month

    @property
    def label(self) -> str:
        return str(FLAG_LABELS[self])


FLAG_LABELS = {
    Flag.WORKER_OVERLAP: _l("Worker in two visits at once"),
    Flag.AFTER_DEATH: _l("Visit after the recipient's death"),
    Flag.AFTER_EXIT: _l("Visit after the recipient's exit"),
    Flag.DUPLICATE: _l("Duplicate visit"),
    Flag.TOO_SHORT: _l("Implausibly short"),
    Flag.TOO_LONG: _l("Implausibly long"),
    Flag.WHOLE_ENTITLEMENT: _l("One visit uses the whole monthly entitlement"),
    Flag.OUTSIDE_ZONE: _l("Outside the contract's zone"),
    Flag.TOWNSHIP_MISMATCH: _l("The platform's township differs from the roster's"),
    Flag.OTHER_CONTRACT: _l("Also served under another contract this month"),
}


def flag_labels(flags: int) -> list[str]:
    return [flag.label for flag in Flag if flags & flag]


class Review(StrEnum):
    """An officer's decision on a flagged record: pay it after all, or refuse it."""

    CLEARED = "cleared"
    CONFIRMED = "confirmed"

    @property
    def label(self) -> str:
        return str(REVIEW_LABELS[self])


REVIEW_LABELS = {
    Review.CLEARED: _l("Cleared: paid"),
    Review.CONFIRMED: _l("Confirmed: not paid"),
}


class Unpaid(StrEnum):
    """Why time on a record is not paid; one reason per record (the first that applies)."""

    NOT_REGISTERED = "not_registered"  # service had not started (not approved, or later)
    EXITED = "exited"
    DIED = "died"
    INELIGIBLE = "ineligible"  # fails the profile's eligibility that month
    LONG_TERM_CARE = "long_term_care"
    OUTSIDE_ZONE = "outside_zone"
    ITEM_NOT_IN_CONTRACT = "item_not_in_contract"
    # seed 000 §2(3): an insured person's time on an item long-term-care insurance pays for
    LTC_COVERED_ITEM = "ltc_covered_item"
    OUTSIDE_TERM = "outside_term"  # before the contract's service start or after its end
    FLAG_PENDING = "flag_pending"
    FLAG_CONFIRMED = "flag_confirmed"
    OVER_ENTITLEMENT = "over_entitlement"  # hours beyond the month's entitlement
    OVER_VISITS = "over_visits"  # visits beyond the year's entitlement
    USED_ELSEWHERE = "used_elsewhere"  # the entitlement went to another contract's visits

    @property
    def label(self) -> str:
        return str(UNPAID_LABELS[self])


UNPAID_LABELS = {
    Unpaid.NOT_REGISTERED: _l("Service had not started for this person"),
    Unpaid.EXITED: _l("The person had left the programme"),
    Unpaid.DIED: _l("After the person's death"),
    Unpaid.INELIGIBLE: _l("Not eligible under the policy that month"),
    Unpaid.LONG_TERM_CARE: _l("Receives long-term-care insurance"),
    Unpaid.OUTSIDE_ZONE: _l("Outside the contract's zone"),
    Unpaid.ITEM_NOT_IN_CONTRACT: _l("Service item not in the contract"),
    Unpaid.LTC_COVERED_ITEM: _l(
        "Long-term-care insurance already pays this person for this service item"
    ),
    Unpaid.OUTSIDE_TERM: _l("Outside the contract's service period"),
    Unpaid.FLAG_PENDING: _l("Flagged, awaiting review"),
    Unpaid.FLAG_CONFIRMED: _l("Flag confirmed on review"),
    Unpaid.OVER_ENTITLEMENT: _l("Beyond the monthly entitlement (no carry-over)"),
    Unpaid.OVER_VISITS: _l("Beyond the yearly number of visits"),
    Unpaid.USED_ELSEWHERE: _l("The entitlement was already used under another contract"),
}


class RecordImport(Audited, RegionOwned, db.Model):
    """One file (or API push) of service records and what became of each row."""

    __tablename__ = "record_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(10))  # csv, xlsx, api
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer)
    already_imported: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    flagged: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[dict] = mapped_column(JSON)  # rejection reason -> count
    months: Mapped[list] = mapped_column(JSON)  # ["2026-06", ...] touched
    seconds: Mapped[float | None]
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[datetime]

    imported_by: Mapped[User | None] = relationship()


class ImportRejection(db.Model):
    """A row of an import that was not taken in, and why (read through its import)."""

    __tablename__ = "import_rejections"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("record_imports.id"), index=True)
    row: Mapped[int] = mapped_column(Integer)
    record_id: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(String(200), default="")


class ServiceRecord(RegionOwned, db.Model):
    """One visit as the platform recorded it, with its flags and what of it is paid.

    Times are local (China) wall-clock times, as the platform exports them.
    """

    __tablename__ = "service_records"
    __table_args__ = (
        UniqueConstraint("provider_id", "record_id"),
        # Covering what a statement groups per person (its lines, unpaid reasons, pending
        # reviews): a month of a third of a million records is read from the index alone.
        Index(
            "ix_service_records_contract_month",
            "contract_id",
            "month",
            "recipient_id",
            "minutes",
            "paid_minutes",
            "unpaid_reason",
        ),
        # Flagged records are few among millions: a partial index finds them per provider
        # and month. Queries must say FLAGGED literally for the planner to use it.
        Index(
            "ix_service_records_flagged",
            "provider_id",
            "month",
            sqlite_where=text("flags != 0"),
            postgresql_where=text("flags != 0"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Not indexed: scoping filters by code prefix, which no index answers, and a province's
    # month of a million rows would grow one more index on every import.
    region_code: Mapped[str] = mapped_column(String(12), ForeignKey("regions.code"))
    import_id: Mapped[int] = mapped_column(ForeignKey("record_imports.id"))
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    record_id: Mapped[str] = mapped_column(String(64))
    # Not indexed alone: a statement reads its people from the contract-month index, and a
    # province's import would grow one more index of a million rows.
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    worker_id: Mapped[str] = mapped_column(String(64))
    item_code: Mapped[str] = mapped_column(String(40))
    township_code: Mapped[str] = mapped_column(String(12))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime] = mapped_column(DateTime)
    minutes: Mapped[int] = mapped_column(Integer)
    month: Mapped[date] = mapped_column(Date)
    flags: Mapped[int] = mapped_column(Integer, default=0)
    review: Mapped[str | None] = mapped_column(String(10))
    paid_minutes: Mapped[int] = mapped_column(Integer, default=0)
    unpaid_reason: Mapped[str | None] = mapped_column(String(30))

    recipient: Mapped[Recipient] = relationship()
    contract: Mapped[Contract] = relationship()

    @property
    def flag_labels(self) -> list[str]:
        return flag_labels(self.flags)


# The partial index's own condition, with a literal 0 (a bound parameter would hide the match).
FLAGGED = ServiceRecord.flags != literal_column("0")


class SettlementStatus(StrEnum):
    DRAFT = "draft"
    CONFIRMED = "confirmed"

    @property
    def label(self) -> str:
        return str(SETTLEMENT_STATUS_LABELS[self])


SETTLEMENT_STATUS_LABELS = {
    SettlementStatus.DRAFT: _l("Draft"),
    SettlementStatus.CONFIRMED: _l("Confirmed by finance"),
}


class Settlement(Audited, RegionOwned, db.Model):
    """The statement of one contract for one month; its lines are its records."""

    __tablename__ = "settlements"
    __table_args__ = (UniqueConstraint("contract_id", "month"),)
    __audit_ignore__ = frozenset({"computed_at", "lock_version", "shortfall", "unpaid"})

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    month: Mapped[date] = mapped_column(Date)
    status: Mapped[SettlementStatus] = mapped_column(
        str_enum(SettlementStatus, 12), default=SettlementStatus.DRAFT
    )
    unit: Mapped[str] = mapped_column(String(10))  # hour or visit
    rate: Mapped[Decimal]
    records: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[int] = mapped_column(Integer, default=0)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    paid_minutes: Mapped[int] = mapped_column(Integer, default=0)
    paid_visits: Mapped[int] = mapped_column(Integer, default=0)
    amount: Mapped[Decimal]
    computed_at: Mapped[datetime]
    # Under-delivery of the month as computed with the statement (``delivery.SUMMARY``:
    # entitled, short, unserved, owed, delivered); None for one computed before it was kept.
    shortfall: Mapped[dict | None] = mapped_column(JSON)
    # What is not paid, per reason: {reason: [records, minutes]}, as computed with the
    # statement; None for one computed before it was kept (``statement_unpaid`` then).
    unpaid: Mapped[dict | None] = mapped_column(JSON)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(String(500), default="")
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    contract: Mapped[Contract] = relationship()
    confirmed_by: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}


class StatementLine(db.Model):
    """One person's month on a statement, written with the statement by ``settle`` (in the
    same transaction as the records it sums), so that a statement of a third of a million
    records reads a page of its lines without grouping them. The person's name and
    township are read from the roster when shown, never copied here."""

    __tablename__ = "statement_lines"

    settlement_id: Mapped[int] = mapped_column(
        ForeignKey("settlements.id", ondelete="CASCADE"), primary_key=True
    )
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"), primary_key=True)
    visits: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)
    paid_minutes: Mapped[int] = mapped_column(Integer)
    paid_visits: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class StatementUnpaid(db.Model):
    """What a statement does not pay a person, per reason: records and minutes."""

    __tablename__ = "statement_unpaid"

    settlement_id: Mapped[int] = mapped_column(
        ForeignKey("settlements.id", ondelete="CASCADE"), primary_key=True
    )
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(30), primary_key=True)
    records: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)
