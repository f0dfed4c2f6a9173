"""What has been published to the public site, the Atom feed and the open data."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procurement.accounts.models import User
from procurement.core.audit import Audited
from procurement.core.db import db, str_enum
from procurement.core.scoping import RegionOwned


class PublicationKind(StrEnum):
    AWARD = "award"  # 中标（成交）公告
    CONTRACT = "contract"  # 合同公告
    ACCEPTANCE = "acceptance"  # 验收结果公告
    EVALUATION = "evaluation"  # 绩效评价结果公告

    @property
    def label(self) -> str:
        return str(PUBLICATION_LABELS[self])


PUBLICATION_LABELS = {
    PublicationKind.AWARD: _l("Award notice"),
    PublicationKind.CONTRACT: _l("Contract"),
    PublicationKind.ACCEPTANCE: _l("Acceptance result"),
    PublicationKind.EVALUATION: _l("Performance evaluation result"),
}


class Publication(Audited, RegionOwned, db.Model):
    """One record made public; withdrawing keeps the row (the feed says so)."""

    __tablename__ = "publications"
    __table_args__ = (UniqueConstraint("kind", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PublicationKind] = mapped_column(str_enum(PublicationKind, 12))
    object_id: Mapped[int] = mapped_column(Integer)
    plan_id: Mapped[int] = mapped_column(ForeignKey("purchase_plans.id"), index=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    title: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[datetime]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None]

    published_by: Mapped[User | None] = relationship()
