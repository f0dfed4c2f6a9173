"""Region pickers for forms and pages."""

from flask import abort, g, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, HiddenField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

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


class DivisionFileForm(FlaskForm):
    file = FileField(_l("Division file (.csv or .xlsx)"), validators=[FileRequired()])


class ConfirmDivisionsForm(FlaskForm):
    token = HiddenField(validators=[InputRequired()])


class TownshipForm(FlaskForm):
    code = StringField(_l("Township code"), validators=[InputRequired(), Length(max=12)])
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=60)])


class RenameForm(FlaskForm):
    name = StringField(_l("New name"), validators=[InputRequired(), Length(max=60)])


class RetireForm(FlaskForm):
    retired_on = DateField(_l("Retired on"), validators=[Optional()])
