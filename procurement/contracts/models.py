"""Zoned contracts (one per zone), their document versions, and contract templates.

财政部令第102号 art. 23-24 and seed 001 §6, §8(2): the written contract states scope,
items, quantity, quality, term, price, settlement, rights and duties and liability; it is
signed, may be amended (each amendment a new document version), and is terminated for
the reasons of seed 001 §8(2)2.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procurement.accounts.models import User
from procurement.awards.models import Award
from procurement.core.audit import Audited
from procurement.core.db import TimestampMixin, db, str_enum
from procurement.core.scoping import RegionOwned, RegionShared
from procurement.plans.models import PlanZone, PurchasePlan
from procurement.providers.models import Provider


class ContractStatus(StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"
    IN_FORCE = "in_force"
    COMPLETED = "completed"
    TERMINATED = "terminated"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    ContractStatus.DRAFT: _l("Draft"),
    ContractStatus.SIGNED: _l("Signed"),
    ContractStatus.IN_FORCE: _l("In force"),
    ContractStatus.COMPLETED: _l("Completed"),
    ContractStatus.TERMINATED: _l("Terminated"),
}

TRANSITIONS: dict[str, tuple[frozenset[ContractStatus], ContractStatus]] = {
    "sign": (frozenset({ContractStatus.DRAFT}), ContractStatus.SIGNED),
    "start": (frozenset({ContractStatus.SIGNED}), ContractStatus.IN_FORCE),
    "complete": (frozenset({ContractStatus.IN_FORCE}), ContractStatus.COMPLETED),
    "terminate": (
        frozenset({ContractStatus.SIGNED, ContractStatus.IN_FORCE}),
        ContractStatus.TERMINATED,
    ),
    "amend": (
        frozenset({ContractStatus.DRAFT, ContractStatus.SIGNED, ContractStatus.IN_FORCE}),
        None,
    ),
}

# seed 001 §8(2)2: the grounds on which the bureau terminates the contract
TERMINATION_REASONS = {
    "lost_qualification": _l("No longer holds the required qualifications"),
    "false_records": _l("Recorded false services to claim subsidies"),
    "sold_health_products": _l("Promoted or sold health products to the elderly"),
    "defrauded_elders": _l("Defrauded elderly people of money"),
    "prepaid_cards": _l("Had elderly people top up its own prepaid cards"),
    "parent_fraud": _l("Its parent company is suspected of fraud or illegal fund-raising"),
    "ignored_complaints": _l("Repeated complaints not corrected after measures"),
    "other_serious": _l("Other serious breach of the public-welfare purpose or of the law"),
}

# seed 001 §8(2)1: grounds for interviews, rectification or suspension of settlement
SANCTION_CLAUSES = [
    "（一）不按承诺提供服务或者经考核评价服务质量低于规定标准的；",
    "（二）接到服务对象投诉拒绝处理的；",
    "（三）服务期限内三次被服务对象投诉，经核实责任在服务机构的；",
    "（四）发布虚假广告，造成不良影响的；",
    "（五）合同约定的其他情形。",
]
TERMINATION_CLAUSES = [
    "（一）不再具备相应资质的；",
    "（二）以各种方式记录虚假服务并以此作为政府补贴依据的；",
    "（三）承接主体或联合其他单位向老年人推销、销售保健品的；",
    "（四）承接主体或联合其他单位诈骗老人钱财的；",
    "（五）使用本机构自行发行卡让老人充值的；",
    "（六）承接主体的上级单位（或母公司）开展涉嫌诈骗或非法集资活动的；",
    "（七）多次被服务对象投诉，甲方采取约谈、督促整改、暂停资金结算等措施处理，仍不整改的；",
    "（八）有其他严重违背公益性养老服务方向或违法违纪行为的。",
]


class ContractTemplate(Audited, RegionShared, db.Model):
    """An uploaded version of a .docx template; the newest one of a region is used."""

    __tablename__ = "contract_templates"
    __table_args__ = (UniqueConstraint("region_code", "kind", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="contract")
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(120))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    fields: Mapped[list] = mapped_column(JSON)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime]

    uploaded_by: Mapped[User | None] = relationship()


class Contract(Audited, RegionOwned, TimestampMixin, db.Model):
    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("purchase_plans.id"), index=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("plan_zones.id"), unique=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    status: Mapped[ContractStatus] = mapped_column(
        str_enum(ContractStatus, 12), default=ContractStatus.DRAFT
    )
    unit_price: Mapped[Decimal]
    unit: Mapped[str] = mapped_column(String(10))
    recipients: Mapped[int] = mapped_column(Integer)
    township_codes: Mapped[list] = mapped_column(JSON)
    service_start: Mapped[date] = mapped_column(Date)
    service_end: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal]
    signed_on: Mapped[date | None] = mapped_column(Date)
    signed_scan_sha256: Mapped[str | None] = mapped_column(String(64))
    signed_scan_type: Mapped[str | None] = mapped_column(String(60))
    # why it was signed after the service started or before the award notice was public
    signing_reason: Mapped[str | None] = mapped_column(Text)
    terminated_on: Mapped[date | None] = mapped_column(Date)
    termination_reason: Mapped[str | None] = mapped_column(String(40))
    termination_note: Mapped[str | None] = mapped_column(Text)

    plan: Mapped[PurchasePlan] = relationship()
    zone: Mapped[PlanZone] = relationship()
    award: Mapped[Award] = relationship()
    provider: Mapped[Provider] = relationship()
    versions: Mapped[list[ContractVersion]] = relationship(
        back_populates="contract", order_by="ContractVersion.number"
    )

    @property
    def document(self) -> ContractVersion:
        return self.versions[-1]

    def can(self, action: str) -> bool:
        return self.status in TRANSITIONS[action][0]


class ContractVersion(Audited, RegionOwned, db.Model):
    """One generated document of a contract: the first, then one per amendment."""

    __tablename__ = "contract_versions"
    __table_args__ = (UniqueConstraint("contract_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal]
    terms: Mapped[dict] = mapped_column(JSON)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("contract_templates.id"))
    template_sha256: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]

    contract: Mapped[Contract] = relationship(back_populates="versions")
