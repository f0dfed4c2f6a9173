"""Region pickers for forms and pages."""

from flask import abort, g, request
from wtforms.fields.choices import SelectChoice

from procurement.core.db import db
from procurement.core.forms import choices
from procurement.core.scoping import current_scope
from procurement.regions.models import USER_LEVELS, Region, RegionLevel
from procurement.regions.services import regions_in_scope


def administrable_region_choices() -> list[SelectChoice]:
    """Provinces, prefectures and counties the current user may assign (own and below)."""
    return choices(
        (r.code, f"{r.code} {r.full_name}") for r in regions_in_scope(current_scope(), USER_LEVELS)
    )


def requested_county() -> Region:
    """The county a page works on: ``?region_code=`` or the user's own; 400 outside scope."""
    code = request.values.get("region_code") or g.user.region_code
    region = db.session.get(Region, code)
    if (
        region is None
        or region.level is not RegionLevel.COUNTY
        or not g.user.region.contains(region.code)
    ):
        abort(400)
    return region
