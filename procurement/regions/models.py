"""Administrative divisions (GB/T 2260 codes): province > prefecture > county > township."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from procurement.core.audit import Audited
from procurement.core.db import TimestampMixin, db, str_enum
from procurement.core.scoping import RegionScope, ancestor_codes, scope_prefix


class RegionLevel(StrEnum):
    PROVINCE = "province"
    PREFECTURE = "prefecture"
    COUNTY = "county"
    TOWNSHIP = "township"

    @property
    def label(self) -> str:
        return str(LEVEL_LABELS[self])

    @property
    def depth(self) -> int:
        return list(RegionLevel).index(self)


LEVEL_LABELS = {
    RegionLevel.PROVINCE: _l("Province"),
    RegionLevel.PREFECTURE: _l("Prefecture"),
    RegionLevel.COUNTY: _l("County"),
    RegionLevel.TOWNSHIP: _l("Township"),
}

# Users are scoped to one of these; townships are too small to administer.
USER_LEVELS = (RegionLevel.PROVINCE, RegionLevel.PREFECTURE, RegionLevel.COUNTY)


class Region(Audited, TimestampMixin, db.Model):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    level: Mapped[RegionLevel] = mapped_column(str_enum(RegionLevel, 12))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    # A township merged away or abolished keeps its row, for the records that name it; it
    # is no longer offered for new recipients or zones.
    retired_on: Mapped[date | None] = mapped_column(default=None)

    parent: Mapped[Region | None] = relationship(remote_side=[code], back_populates="children")
    children: Mapped[list[Region]] = relationship(back_populates="parent", order_by="Region.code")

    def audit_region_code(self) -> str:
        return self.code

    @property
    def scope(self) -> RegionScope:
        """What a user of this region may reach."""
        return RegionScope(
            prefix=scope_prefix(self.code, self.level.value),
            ancestors=ancestor_codes(self.code, self.level.value),
        )

    @property
    def lineage(self) -> list[str]:
        """This region's code, then the codes above it, nearest first: the order in which
        a setting of the region's own wins over the ones above it."""
        return [self.code, *reversed(ancestor_codes(self.code, self.level.value))]

    @property
    def retired(self) -> bool:
        return self.retired_on is not None

    def contains(self, code: str) -> bool:
        return code.startswith(self.scope.prefix)

    @property
    def full_name(self) -> str:
        """Name with its ancestors, e.g. 山西省晋城市阳城县."""
        names, node = [], self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return "".join(reversed(names))

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"
