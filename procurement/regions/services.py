"""Looking up and loading administrative divisions."""

from __future__ import annotations

import json
import re
from importlib import resources

from flask_babel import gettext as _
from sqlalchemy import select

from procurement.core.db import db
from procurement.core.errors import NotFound, ValidationError
from procurement.regions.models import Region, RegionLevel

CODE_PATTERN = re.compile(r"^\d{6}(\d{3})?$")
LEVEL_CODE_LENGTH = {
    RegionLevel.PROVINCE: 6,
    RegionLevel.PREFECTURE: 6,
    RegionLevel.COUNTY: 6,
    RegionLevel.TOWNSHIP: 9,
}


def get_region(code: str, *, field: str = "region_code") -> Region:
    """The region with this code, or a clear error naming the unknown code."""
    if not isinstance(code, str) or not CODE_PATTERN.match(code.strip()):
        raise ValidationError(
            _("Region code %(code)s is not a 6- or 9-digit division code.", code=code),
            field=field,
        )
    region = db.session.get(Region, code.strip())
    if region is None:
        raise NotFound(_("Unknown region code %(code)s.", code=code), field=field)
    return region


def townships_of(county: Region) -> list[Region]:
    return [r for r in county.children if r.level is RegionLevel.TOWNSHIP]


def load_reference_regions() -> int:
    """Insert or refresh the shipped divisions (idempotent); returns how many were added."""
    data = json.loads(resources.files("procurement.data").joinpath("regions.json").read_text())
    existing = {r.code: r for r in db.session.scalars(select(Region))}
    added = 0
    for code, name, level, parent in data["regions"]:
        region = existing.get(code)
        if region is None:
            db.session.add(
                Region(code=code, name=name, level=RegionLevel(level), parent_code=parent)
            )
            added += 1
        elif (region.name, region.level.value, region.parent_code) != (name, level, parent):
            region.name, region.level, region.parent_code = name, RegionLevel(level), parent
        db.session.flush()
    return added


def regions_in_scope(scope, levels=None) -> list[Region]:
    """Regions a user with ``scope`` may assign (their own and below), by code."""
    stmt = select(Region).order_by(Region.code)
    if scope is not None:
        stmt = stmt.where(Region.code.startswith(scope.prefix))
    if levels:
        stmt = stmt.where(Region.level.in_(list(levels)))
    return list(db.session.scalars(stmt))


def counties_in_scope() -> list[Region]:
    """The counties the current user's region covers (for pickers)."""
    from procurement.core.scoping import current_scope

    return regions_in_scope(current_scope(), [RegionLevel.COUNTY])
