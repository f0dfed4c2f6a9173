"""How a zone's service budget follows from the policy profile (one place for the formula)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _

from procurement.policies.models import EntitlementModel, PolicyProfile

CENT = Decimal("0.01")


def months_in_period(start: date, end: date) -> int:
    """Calendar months the service period touches: the entitlement is granted per month."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


@dataclass(frozen=True)
class ServiceBudget:
    amount: Decimal
    formula: str


def service_budget(profile: PolicyProfile, recipients: int, months: int) -> ServiceBudget:
    """The service line of one zone.

    Hours model (seed 001 §3(3)): people x hours/month x hourly cap x months.
    Visits model (seed 000 §2(3)): people x visits/year x unit price x months / 12.
    """
    if profile.entitlement_model is EntitlementModel.HOURS_PER_MONTH:
        amount = recipients * profile.hours_per_month * profile.hourly_rate_cap * months
        formula = _(
            "%(people)d people × %(hours)s h/month × %(rate)s yuan/h × %(months)d months",
            people=recipients,
            hours=profile.hours_per_month.normalize(),
            rate=profile.hourly_rate_cap,
            months=months,
        )
    else:
        amount = (
            Decimal(recipients)
            * profile.visits_per_year
            * profile.unit_price_per_visit
            * months
            / 12
        )
        formula = _(
            "%(people)d people × %(visits)d visits/year × %(price)s yuan × %(months)d/12 years",
            people=recipients,
            visits=profile.visits_per_year,
            price=profile.unit_price_per_visit,
            months=months,
        )
    return ServiceBudget(amount.quantize(CENT, ROUND_HALF_UP), formula)
