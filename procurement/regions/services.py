"""Looking up and loading administrative divisions."""

from __future__ import annotations

import json
import re
from datetime import date
from importlib import resources

from flask_babel import gettext as _
from sqlalchemy import select

from procurement.core import audit
from procurement.core.clock import today
from procurement.core.db import db
from procurement.core.errors import FieldErrors, NotFound, PermissionDenied, ValidationError
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


def townships_of(county: Region, *, include_retired: bool = False) -> list[Region]:
    """The county's townships; retired ones only when asked (names of old records)."""
    return [
        r
        for r in county.children
        if r.level is RegionLevel.TOWNSHIP and (include_retired or r.retired_on is None)
    ]


def managed_region(code: str, admin_region: Region, *, field: str = "code") -> Region:
    """A division the administrator of ``admin_region`` may change: inside that region."""
    region = get_region(code, field=field)
    if not admin_region.contains(region.code):
        raise PermissionDenied(
            "region_out_of_scope", _("%(name)s lies outside your region.", name=region.name)
        )
    return region


def _township_name(name: str | None, errors: FieldErrors) -> str:
    text = (name or "").strip()
    if not text:
        errors.add("name", _("This field is required."))
    elif len(text) > 60:
        errors.add("name", _("Must have at most %(n)s characters.", n=60))
    return text


def add_township(county: Region, *, code: str | None, name: str | None) -> Region:
    """Register a new township of a county under its statistical code (issue 18); the
    division importer does the same for many at once."""
    from procurement.regions.divisions import normalise_code

    errors = FieldErrors()
    if county.level is not RegionLevel.COUNTY:
        errors.add("county_code", _("%(name)s is not a county.", name=county.name))
    clean = normalise_code(code)
    if clean is None or len(clean) != 9:
        errors.add(
            "code",
            _("Give the township's 9-digit code (or 12 digits ending in 000)."),
        )
    elif not clean.startswith(county.code):
        errors.add(
            "code",
            _(
                "A township of %(county)s has a code starting with %(code)s.",
                county=county.name,
                code=county.code,
            ),
        )
    elif db.session.get(Region, clean) is not None:
        errors.add("code", _("The code %(code)s is already registered.", code=clean))
    text = _township_name(name, errors)
    errors.raise_if_any()
    assert clean is not None
    township = Region(code=clean, name=text, level=RegionLevel.TOWNSHIP, parent_code=county.code)
    db.session.add(township)
    db.session.flush()
    return township


def _township(region: Region) -> Region:
    if region.level is not RegionLevel.TOWNSHIP:
        raise ValidationError(_("%(name)s is not a township.", name=region.name), field="code")
    return region


def rename_township(township: Region, *, name: str | None) -> Region:
    """A township's new official name; the code stays, the old name is in the audit row."""
    _township(township)
    errors = FieldErrors()
    text = _township_name(name, errors)
    errors.raise_if_any()
    if text != township.name:
        audit.label(township, "rename")
        township.name = text
        db.session.flush()
    return township


def retire_township(township: Region, *, retired_on: date | None = None) -> Region:
    """Retire a merged or abolished township: its row and history stay, but it is no
    longer offered for new recipients or zones (issue 18)."""
    _township(township)
    if township.retired_on is not None:
        raise ValidationError(
            _(
                "%(name)s was already retired on %(day)s.",
                name=township.name,
                day=township.retired_on.isoformat(),
            ),
            field="retired_on",
        )
    day = retired_on or today()
    if day > today():
        raise ValidationError(_("The date cannot lie in the future."), field="retired_on")
    audit.label(township, "retire")
    township.retired_on = day
    db.session.flush()
    return township


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
