"""The bureau's own holiday table and deadlines counted in Chinese working days.

chinesecalendar knows the official holidays and make-up workdays of the years it was
published for; for a later year the bureau fills in that year's exceptions here
(``WorkdayOverride``), and until then a deadline in that year is reported as unknown,
never counted on plain weekdays (shared/docs/facts.md, working days).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import extract, select

from procurement.core.dates import read_date
from procurement.core.db import db
from procurement.core.errors import Conflict, FieldErrors, NotFound
from procurement.core.workdays import CalendarUnknown, add_workdays, is_workday
from procurement.recipients.models import WorkdayOverride

FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass(frozen=True)
class Due:
    """A deadline ``workdays`` working days after ``start``; ``on`` is None when the
    calendar of ``unknown_year`` is not known."""

    start: date
    workdays: int
    on: date | None
    unknown_year: int | None = None

    @property
    def message(self) -> str | None:
        return calendar_unknown_message(self.unknown_year) if self.unknown_year else None


def calendar_unknown_message(year: int) -> str:
    return _(
        "The official working-day calendar of %(year)d is not known here, so the deadline "
        "cannot be counted. Fill in that year's holidays and make-up workdays in the "
        "holiday table.",
        year=year,
    )


def overrides_table() -> dict[date, bool]:
    """Every day of the bureau's table, as ``add_workdays`` takes it."""
    return dict(db.session.execute(select(WorkdayOverride.day, WorkdayOverride.is_workday)).all())


def due_after(start: date, workdays: int, overrides: dict[date, bool]) -> Due:
    """The deadline, or the year whose calendar is missing (seed 000 §3(1) deadlines)."""
    try:
        return Due(start, workdays, add_workdays(start, workdays, overrides))
    except CalendarUnknown as unknown:
        return Due(start, workdays, None, unknown.year)


def calendar_known(year: int) -> bool:
    """Whether chinesecalendar itself knows the year (without the bureau's table)."""
    try:
        is_workday(date(year, 1, 1))
    except CalendarUnknown:
        return False
    return True


def overrides_of_year(year: int) -> list[WorkdayOverride]:
    return list(
        db.session.scalars(
            select(WorkdayOverride)
            .where(extract("year", WorkdayOverride.day) == year)
            .order_by(WorkdayOverride.day)
        )
    )


def get_override(override_id: int) -> WorkdayOverride:
    override = db.session.get(WorkdayOverride, override_id)
    if override is None:
        raise NotFound(_("Calendar day %(id)s was not found.", id=override_id))
    return override


def add_override(*, day: Any, is_workday: Any, note: str = "") -> WorkdayOverride:
    """Record one official holiday or make-up workday of a year chinesecalendar lacks
    (or correct one it has)."""
    errors = FieldErrors()
    found = read_date(day, "day", errors, required=True)
    if found is not None and not FIRST_YEAR <= found.year <= LAST_YEAR:
        errors.add("day", _("Must be a day between %(a)d and %(b)d.", a=FIRST_YEAR, b=LAST_YEAR))
    if not isinstance(is_workday, bool):
        errors.add("is_workday", _("Say whether the day is a working day or a day off."))
    note = (note or "").strip()
    if len(note) > 120:
        errors.add("note", _("Must have at most %(n)s characters.", n=120))
    errors.raise_if_any()
    if db.session.scalar(select(WorkdayOverride.id).where(WorkdayOverride.day == found)):
        raise Conflict(
            _("%(day)s is already in the holiday table.", day=found.isoformat()), field="day"
        )
    override = WorkdayOverride(day=found, is_workday=is_workday, note=note)
    db.session.add(override)
    db.session.flush()
    return override


def remove_override(override: WorkdayOverride) -> None:
    """Take a day out of the table (the audit trail keeps it)."""
    db.session.delete(override)
    db.session.flush()
