"""Business dates read from forms and JSON: one parser, one wording for its refusals."""

from __future__ import annotations

import re
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


def read_month(value: Any, name: str, errors: FieldErrors, *, required: bool) -> date | None:
    """A month given as 2026-07 (or a date in it): the first day of that month."""
    if value in (None, ""):
        if required:
            errors.add(name, _("This field is required."))
        return None
    if isinstance(value, date):
        return value.replace(day=1)
    match = re.fullmatch(r"(\d{4})-(\d{1,2})(-\d{1,2})?", str(value).strip()[:10])
    if match and 1 <= int(match.group(2)) <= 12 and 2000 <= int(match.group(1)) <= 2100:
        return date(int(match.group(1)), int(match.group(2)), 1)
    errors.add(name, _("Must be a month such as 2026-07."))
    return None


def month_of(value: Any, name: str = "month") -> date:
    """A required month, or a refusal naming the field."""
    errors = FieldErrors()
    month = read_month(value, name, errors, required=True)
    errors.raise_if_any()
    return month
