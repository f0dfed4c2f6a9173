"""Service recipients (服务对象台账), their applications and exits.

seed 000 §3(1) and seed 001 §3, §7, §8(1): an elder applies, the village checks within
10 working days, the township reviews within 5, the county approves or rejects with a
reason; service starts the month after approval. Death ends the entitlement at once;
moving away, no longer being eligible or taking cash or goods instead of service end it
from the next month.

The ID number is personal data: it is stored encrypted (``id_cipher``), found and
de-duplicated by a keyed hash (``id_hash``), and shown masked (``id_masked``) except to
roles that need the full number (see ``procurement.recipients.identity``).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procurement.accounts.models import User
from procurement.core.audit import Audited, current_actor
from procurement.core.db import TimestampMixin, db, str_enum
from procurement.core.scoping import RegionOwned, province_of
from procurement.policies.models import RecipientCategory
from procurement.regions.models import Region

# GB/T 42195-2022 (facts.md): level -> name
CAPABILITY_LEVELS = {
    0: _l("Capable (level 0)"),
    1: _l("Mildly disabled (level 1)"),
    2: _l("Moderately disabled (level 2)"),
    3: _l("Severely disabled (level 3)"),
    4: _l("Completely disabled (level 4)"),
}


class ExitReason(StrEnum):
    DEATH = "death"  # ends at once
    MOVED_AWAY = "moved_away"  # from the next month
    NO_LONGER_ELIGIBLE = "no_longer_eligible"  # from the next month
    ABUSE = "abuse"  # cash or goods instead of service, from the next month

    @property
    def label(self) -> str:
        return str(EXIT_LABELS[self])


EXIT_LABELS = {
    ExitReason.DEATH: _l("Death"),
    ExitReason.MOVED_AWAY: _l("Moved away"),
    ExitReason.NO_LONGER_ELIGIBLE: _l("No longer eligible"),
    ExitReason.ABUSE: _l("Took cash or goods instead of service"),
}


class ApplicationStatus(StrEnum):
    AWAITING_VILLAGE = "awaiting_village"
    AWAITING_TOWNSHIP = "awaiting_township"
    AWAITING_COUNTY = "awaiting_county"
    APPROVED = "approved"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return str(APPLICATION_STATUS_LABELS[self])


APPLICATION_STATUS_LABELS = {
    ApplicationStatus.AWAITING_VILLAGE: _l("Awaiting the village check"),
    ApplicationStatus.AWAITING_TOWNSHIP: _l("Awaiting the township review"),
    ApplicationStatus.AWAITING_COUNTY: _l("Awaiting the county decision"),
    ApplicationStatus.APPROVED: _l("Approved"),
    ApplicationStatus.REJECTED: _l("Rejected"),
}


class Recipient(Audited, RegionOwned, TimestampMixin, db.Model):
    """One elder on the county's roster; ``region_code`` is the county."""

    __tablename__ = "recipients"
    __audit_redact__ = frozenset({"id_cipher", "id_hash"})
    __audit_ignore__ = frozenset({"updated_at"})
    # The roster's order (township, name): a page of 100,000 people without a sort.
    __table_args__ = (Index("ix_recipients_township_name", "township_code", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_cipher: Mapped[str] = mapped_column(Text)
    id_masked: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(60))
    sex: Mapped[str] = mapped_column(String(6))
    birth_date: Mapped[date] = mapped_column(Date)
    township_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    village: Mapped[str] = mapped_column(String(60), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    category: Mapped[RecipientCategory] = mapped_column(str_enum(RecipientCategory))
    capability_level: Mapped[int | None] = mapped_column(Integer)
    assessed_on: Mapped[date | None] = mapped_column(Date)
    assessor: Mapped[str] = mapped_column(String(120), default="")
    # The last day the third-party assessment holds (seed 000 §2(1); GB/T 42195-2022)
    assessment_valid_until: Mapped[date | None] = mapped_column(Date)
    long_term_care: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_in_county: Mapped[bool] = mapped_column(Boolean, default=True)
    lives_in_county: Mapped[bool] = mapped_column(Boolean, default=True)

    # Set by the county's approval (the first of the following month) and by an exit.
    service_start: Mapped[date | None] = mapped_column(Date, index=True)
    exit_reason: Mapped[ExitReason | None] = mapped_column(str_enum(ExitReason, 20))
    exit_date: Mapped[date | None] = mapped_column(Date, index=True)
    exit_note: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    township: Mapped[Region] = relationship(foreign_keys=[township_code], lazy="joined")
    applications: Mapped[list[Application]] = relationship(
        back_populates="recipient", order_by="Application.applied_on"
    )
    moves: Mapped[list[RecipientMove]] = relationship(
        back_populates="recipient", order_by="RecipientMove.effective_from"
    )


class RecipientMove(Audited, RegionOwned, TimestampMixin, db.Model):
    """A move from one township of the county to another, taking effect the month after
    the move (seed 000 §3(1)): visits before ``effective_from`` belong to the zone of
    ``from_township``, from then on to that of ``to_township`` (settlements.rules)."""

    __tablename__ = "recipient_moves"
    __audit_ignore__ = frozenset({"updated_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"), index=True)
    from_township: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    to_township: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    moved_on: Mapped[date] = mapped_column(Date)
    effective_from: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")

    recipient: Mapped[Recipient] = relationship(back_populates="moves")
    destination: Mapped[Region] = relationship(foreign_keys=[to_township], lazy="joined")
    origin: Mapped[Region] = relationship(foreign_keys=[from_township], lazy="joined")


class Application(Audited, RegionOwned, TimestampMixin, db.Model):
    """One application for home-care service and its three steps (seed 000 §3(1))."""

    __tablename__ = "recipient_applications"
    __audit_ignore__ = frozenset({"updated_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"), index=True)
    applied_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ApplicationStatus] = mapped_column(
        str_enum(ApplicationStatus), default=ApplicationStatus.AWAITING_VILLAGE
    )
    village_checked_on: Mapped[date | None] = mapped_column(Date)
    village_passed: Mapped[bool | None] = mapped_column(Boolean)
    village_note: Mapped[str] = mapped_column(Text, default="")
    township_reviewed_on: Mapped[date | None] = mapped_column(Date)
    township_passed: Mapped[bool | None] = mapped_column(Boolean)
    township_note: Mapped[str] = mapped_column(Text, default="")
    decided_on: Mapped[date | None] = mapped_column(Date)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    recipient: Mapped[Recipient] = relationship(back_populates="applications")
    decided_by: Mapped[User | None] = relationship()


class WorkdayOverride(Audited, TimestampMixin, db.Model):
    """A day of the official calendar, for years chinesecalendar lacks; one table for
    every county, kept by the province's administrators."""

    __tablename__ = "workday_overrides"
    __audit_ignore__ = frozenset({"updated_at"})

    def audit_region_code(self) -> str | None:
        """The trail files a change under the acting user's province, never a county."""
        code = current_actor().region_code
        return province_of(code) if code else None

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(120), default="")
