"""Region pickers for forms."""

from wtforms.fields.choices import SelectChoice

from procurement.core.forms import choices
from procurement.core.scoping import current_scope
from procurement.regions.models import USER_LEVELS
from procurement.regions.services import regions_in_scope


def administrable_region_choices() -> list[SelectChoice]:
    """Provinces, prefectures and counties the current user may assign (own and below)."""
    return choices(
        (r.code, f"{r.code} {r.full_name}") for r in regions_in_scope(current_scope(), USER_LEVELS)
    )
