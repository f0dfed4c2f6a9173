"""The provider register (承接主体), its compliance records, evidence and qualification checks.

seed 000 §3(2), seed 001 §5(2), 政府采购法 art. 22: a provider must be registered,
have the qualifications, staff and premises needed and a price list, a good record of
paying tax and social security, no major violation in the 3 years before bidding, its
annual reports filed, and good credit. Every check is kept as it was on the day.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procurement.accounts.models import User
from procurement.core.audit import Audited
from procurement.core.db import TimestampMixin, db, str_enum
from procurement.core.scoping import RegionOwned
from procurement.regions.models import Region


class _Labelled(StrEnum):
    @property
    def label(self) -> str:
        return str(LABELS[self])


class RegistrationAuthority(_Labelled):
    CIVIL_AFFAIRS = "civil_affairs"
    MARKET_REGULATION = "market_regulation"
    ADMINISTRATIVE_APPROVAL = "administrative_approval"


class ProviderStatus(_Labelled):
    ACTIVE = "active"  # 存续
    DEREGISTERED = "deregistered"  # 注销
    REVOKED = "revoked"  # 吊销


class RecordKind(_Labelled):
    TAX = "tax"
    SOCIAL_SECURITY = "social_security"
    VIOLATION = "violation"
    ANNUAL_REPORT = "annual_report"
    CREDIT_LISTING = "credit_listing"


class PaymentStatus(_Labelled):
    NORMAL = "normal"
    ARREARS = "arrears"


class ViolationKind(_Labelled):
    CRIMINAL_PENALTY = "criminal_penalty"
    SUSPENSION = "suspension"
    LICENCE_REVOCATION = "licence_revocation"
    FINE = "fine"
    OTHER = "other"


class DocumentKind(_Labelled):
    BUSINESS_LICENCE = "business_licence"
    QUALIFICATION = "qualification"
    TAX_PROOF = "tax_proof"
    SOCIAL_SECURITY_PROOF = "social_security_proof"
    DECLARATION = "declaration"  # 无重大违法记录书面声明 (实施条例 art. 17)
    ANNUAL_REPORT = "annual_report"
    CREDIT_REPORT = "credit_report"
    PENALTY_DECISION = "penalty_decision"
    FINANCIAL_REPORT = "financial_report"
    OTHER = "other"


# Staff skills named by seed 001 §9(3)
STAFF_SKILLS = ("nursing", "barber", "foot_care", "plumber_electrician", "appliance_repair")

LABELS = {
    RegistrationAuthority.CIVIL_AFFAIRS: _l("Civil affairs bureau"),
    RegistrationAuthority.MARKET_REGULATION: _l("Market regulation bureau"),
    RegistrationAuthority.ADMINISTRATIVE_APPROVAL: _l("Administrative approval bureau"),
    ProviderStatus.ACTIVE: _l("In existence"),
    ProviderStatus.DEREGISTERED: _l("Deregistered"),
    ProviderStatus.REVOKED: _l("Licence revoked"),
    RecordKind.TAX: _l("Tax payment"),
    RecordKind.SOCIAL_SECURITY: _l("Social-security contributions"),
    RecordKind.VIOLATION: _l("Violation"),
    RecordKind.ANNUAL_REPORT: _l("Annual report"),
    RecordKind.CREDIT_LISTING: _l("Dishonesty listing"),
    PaymentStatus.NORMAL: _l("Paid normally"),
    PaymentStatus.ARREARS: _l("In arrears"),
    ViolationKind.CRIMINAL_PENALTY: _l("Criminal penalty"),
    ViolationKind.SUSPENSION: _l("Order to suspend business"),
    ViolationKind.LICENCE_REVOCATION: _l("Licence revocation"),
    ViolationKind.FINE: _l("Fine"),
    ViolationKind.OTHER: _l("Other"),
    DocumentKind.BUSINESS_LICENCE: _l("Registration certificate or business licence"),
    DocumentKind.QUALIFICATION: _l("Professional qualification"),
    DocumentKind.TAX_PROOF: _l("Tax payment proof"),
    DocumentKind.SOCIAL_SECURITY_PROOF: _l("Social-security payment proof"),
    DocumentKind.DECLARATION: _l("Declaration of no major violation"),
    DocumentKind.ANNUAL_REPORT: _l("Annual report"),
    DocumentKind.CREDIT_REPORT: _l("Credit report"),
    DocumentKind.PENALTY_DECISION: _l("Penalty decision"),
    DocumentKind.FINANCIAL_REPORT: _l("Financial report"),
    DocumentKind.OTHER: _l("Other"),
}

STAFF_LABELS = {
    "nursing": _l("Nursing staff"),
    "barber": _l("Barbers"),
    "foot_care": _l("Foot-care staff"),
    "plumber_electrician": _l("Plumbers and electricians"),
    "appliance_repair": _l("Appliance repairers"),
}


class Provider(Audited, RegionOwned, TimestampMixin, db.Model):
    __tablename__ = "providers"
    __table_args__ = (UniqueConstraint("region_code", "credit_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    # An early code that fails its check character, kept because an officer confirmed it.
    credit_code_warning: Mapped[str | None] = mapped_column(String(300))
    registration_authority: Mapped[RegistrationAuthority] = mapped_column(
        str_enum(RegistrationAuthority)
    )
    registration_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[ProviderStatus] = mapped_column(str_enum(ProviderStatus, 14))
    status_date: Mapped[date | None] = mapped_column(Date)
    legal_representative: Mapped[str] = mapped_column(String(60), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    township_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    contact_name: Mapped[str] = mapped_column(String(60), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    staff: Mapped[dict] = mapped_column(JSON, default=dict)
    premises: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    township: Mapped[Region | None] = relationship(foreign_keys=[township_code], lazy="joined")
    qualifications: Mapped[list[ProviderQualification]] = relationship(
        back_populates="provider",
        order_by="ProviderQualification.expires_on",
        cascade="all, delete-orphan",
    )
    prices: Mapped[list[PriceItem]] = relationship(
        back_populates="provider", order_by="PriceItem.id", cascade="all, delete-orphan"
    )
    records: Mapped[list[ComplianceRecord]] = relationship(
        back_populates="provider", order_by="ComplianceRecord.id", cascade="all, delete-orphan"
    )
    documents: Mapped[list[EvidenceDocument]] = relationship(
        back_populates="provider", order_by="EvidenceDocument.uploaded_at.desc()"
    )
    checks: Mapped[list[QualificationCheck]] = relationship(
        back_populates="provider", order_by="QualificationCheck.id.desc()"
    )

    def records_of(self, kind: RecordKind) -> list[ComplianceRecord]:
        return [r for r in self.records if r.kind is kind]


class EvidenceDocument(Audited, RegionOwned, db.Model):
    """An uploaded PDF or image, stored under instance/ by its SHA-256."""

    __tablename__ = "evidence_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(str_enum(DocumentKind))
    title: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime]

    provider: Mapped[Provider] = relationship(back_populates="documents")
    uploaded_by: Mapped[User | None] = relationship()


class ProviderQualification(Audited, RegionOwned, db.Model):
    """A professional qualification or licence, with its validity."""

    __tablename__ = "provider_qualifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    number: Mapped[str] = mapped_column(String(80), default="")
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_documents.id"))

    provider: Mapped[Provider] = relationship(back_populates="qualifications")
    evidence: Mapped[EvidenceDocument | None] = relationship()


class PriceItem(Audited, RegionOwned, db.Model):
    """A line of the provider's price list (seed 001 §5(2)2)."""

    __tablename__ = "price_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    service: Mapped[str] = mapped_column(String(80))
    unit: Mapped[str] = mapped_column(String(20))
    price: Mapped[Decimal]

    provider: Mapped[Provider] = relationship(back_populates="prices")


class ComplianceRecord(Audited, RegionOwned, db.Model):
    """A dated fact about a provider's compliance, tied to its evidence.

    Which columns apply depends on ``kind``: tax and social security use the period,
    ``payment_status`` and ``settled_on``; violations the decision date, authority,
    ``violation_kind``, ``fine_amount`` and the officer's ``major_override``; annual
    reports ``report_year`` and ``filed_on``; dishonesty listings ``listed_from`` and
    ``listed_until``.
    """

    __tablename__ = "compliance_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    kind: Mapped[RecordKind] = mapped_column(str_enum(RecordKind), index=True)
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    payment_status: Mapped[PaymentStatus | None] = mapped_column(str_enum(PaymentStatus, 10))
    settled_on: Mapped[date | None] = mapped_column(Date)
    decision_date: Mapped[date | None] = mapped_column(Date)
    authority: Mapped[str] = mapped_column(String(120), default="")
    violation_kind: Mapped[ViolationKind | None] = mapped_column(str_enum(ViolationKind))
    fine_amount: Mapped[Decimal | None]
    major_override: Mapped[bool | None] = mapped_column(Boolean)
    major_override_reason: Mapped[str | None] = mapped_column(String(500))
    report_year: Mapped[int | None] = mapped_column(Integer)
    filed_on: Mapped[date | None] = mapped_column(Date)
    listed_from: Mapped[date | None] = mapped_column(Date)
    listed_until: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_documents.id"))

    provider: Mapped[Provider] = relationship(back_populates="records")
    evidence: Mapped[EvidenceDocument | None] = relationship()


class QualificationCheck(Audited, RegionOwned, db.Model):
    """A qualification check as it was made: never changed, a rerun makes a new one."""

    __tablename__ = "qualification_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_plans.id"), index=True)
    as_of: Mapped[date] = mapped_column(Date)
    policy_profile_id: Mapped[int | None] = mapped_column(ForeignKey("policy_profiles.id"))
    lookback_years: Mapped[int] = mapped_column(Integer)
    major_fine_threshold: Mapped[Decimal]
    window_start: Mapped[date] = mapped_column(Date)
    qualified: Mapped[bool] = mapped_column(Boolean)
    # [{"code", "result", "reason", "mandatory", "evidence": [...]}], as shown on the day
    criteria: Mapped[list] = mapped_column(JSON)
    provider_snapshot: Mapped[dict] = mapped_column(JSON)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime]

    provider: Mapped[Provider] = relationship(back_populates="checks")
    checked_by: Mapped[User | None] = relationship()


@event.listens_for(QualificationCheck, "before_update")
@event.listens_for(QualificationCheck, "before_delete")
def _checks_are_kept_unchanged(mapper, connection, target) -> None:
    raise RuntimeError("qualification checks are never changed: run a new check")
