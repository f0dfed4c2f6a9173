"""The provider register's list, one query for the page and the API alike."""

from __future__ import annotations

from sqlalchemy import Select, func, or_, select

from procurement.providers.models import Provider, QualificationCheck

QUALIFICATION_FILTERS = ("qualified", "not_qualified", "unchecked")


def latest_check_ids() -> Select:
    """The id of the newest check of each provider."""
    return select(func.max(QualificationCheck.id)).group_by(QualificationCheck.provider_id)


def provider_list(
    *, q: str | None = None, township_code: str | None = None, qualification: str | None = None
) -> Select:
    """Providers matching the filters, by county then name (region scoping applies on
    execution): ``q`` in the name or credit code, as typed; ``qualification`` by the
    newest check (one of QUALIFICATION_FILTERS)."""
    stmt = select(Provider).order_by(Provider.region_code, Provider.name, Provider.id)
    if q and q.strip():
        text = q.strip()
        stmt = stmt.where(
            or_(  # % and _ are searched for as typed
                Provider.name.icontains(text, autoescape=True),
                Provider.credit_code.icontains(text, autoescape=True),
            )
        )
    if township_code:
        stmt = stmt.where(Provider.township_code == township_code)
    if qualification == "unchecked":
        stmt = stmt.where(~Provider.checks.any())
    elif qualification in {"qualified", "not_qualified"}:
        wanted = qualification == "qualified"
        stmt = stmt.where(
            Provider.checks.any(
                QualificationCheck.id.in_(latest_check_ids())
                & QualificationCheck.qualified.is_(wanted)
            )
        )
    return stmt
