"""Business dates read from forms and JSON: one parser, one wording for its refusals."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _

from procurement.core.clock import today
from procurement.core.errors import FieldErrors


def read_date(value: Any, name: str, errors: FieldErrors, *, required: bool) -> date | None:
    """A date given as a date or an ISO text; a problem is added to ``errors`` under ``name``."""
    if value in (None, ""):
        if required:
            errors.add(name, _("This field is required."))
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        errors.add(name, _("Must be a date such as 2026-01-31."))
        return None


def past_date(value: Any, name: str, errors: FieldErrors, *, required: bool) -> date | None:
    """A date that is not in the future (events are recorded after they happen)."""
    day = read_date(value, name, errors, required=required)
    if day is not None and day > today():
        errors.add(name, _("The date %(date)s lies in the future.", date=day.isoformat()))
        return None
    return day
