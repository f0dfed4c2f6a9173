"""Next year: this year's results steer the choice of providers and the budget.

seed 000 §4 and seed 003: evaluation results are used when choosing providers and
budgeting the next year. Two things happen here:

- ``past_record`` feeds the selection (wired by the app factory, ``awards.services``): last
  year's evaluation total becomes the past-performance score, and a failed grade, a
  failed acceptance or a terminated contract excludes the provider or is shown beside
  its offer, as the policy profile's ``failed_provider_rule`` says;
- ``proposal`` and ``start_next_year`` draft next year's plan from this year's: the same
  zones, items and method, each zone's people taken from what was delivered (the peak
  month served) or from the roster (people in service now), whichever is larger, with
  the budget then computed from next year's policy profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from procurement.accounts.models import User
from procurement.awards import services as awards
from procurement.contracts.models import TERMINATION_REASONS, Contract, ContractStatus
from procurement.core.clock import today
from procurement.core.db import db
from procurement.core.errors import Conflict
from procurement.plans import services as plans
from procurement.plans.execution import execution
from procurement.plans.models import PurchasePlan
from procurement.policies.services import profile_for
from procurement.providers.models import Provider
from procurement.recipients.models import Recipient
from procurement.settlements.models import Settlement, SettlementStatus

ZERO = Decimal("0.00")


# Past records for the selection ------------------------------------------------------


def _terminated(provider_id: int, year: int) -> list[Contract]:
    return list(
        db.session.scalars(
            select(Contract)
            .join(PurchasePlan, PurchasePlan.id == Contract.plan_id)
            .where(
                Contract.provider_id == provider_id,
                Contract.status == ContractStatus.TERMINATED,
                PurchasePlan.year == year,
            )
        )
    )


def past_record(provider: Provider, plan: PurchasePlan) -> awards.PastRecord | None:
    """The provider's record of the year before ``plan``'s, in the caller's region."""
    from procurement.performance.past_records import provider_record

    year = plan.year - 1
    record = provider_record(provider.id, year)
    cautions = []
    for contract in _terminated(provider.id, year):
        cautions.append(
            _(
                "contract %(number)s was terminated on %(date)s (%(reason)s)",
                number=contract.number,
                date=contract.terminated_on.isoformat() if contract.terminated_on else "—",
                reason=TERMINATION_REASONS.get(contract.termination_reason, ""),
            )
        )
    if record is not None:
        cautions += record.failures
    if record is None and not cautions:
        return None
    rule = plan.policy_profile.failed_provider_rule
    return awards.PastRecord(
        score=record.total if record is not None else None,
        caution="；".join(cautions) or None,
        excluded=bool(cautions) and rule == "exclude",
    )


# Next year's plan ----------------------------------------------------------------------


@dataclass
class ZoneProposal:
    zone_id: int
    name: str
    township_codes: list[str]
    township_names: list[str]
    expected: int  # this year's planned people
    served_peak: int  # the most people paid for in one confirmed month
    in_service: int  # people on the roster in service today
    approved: Decimal
    settled: Decimal
    provider: str | None

    @property
    def proposed(self) -> int:
        return max(self.served_peak, self.in_service) or self.expected

    @property
    def execution_rate(self) -> float:
        return float(self.settled / self.approved) if self.approved else 0.0


@dataclass
class Proposal:
    plan: PurchasePlan
    year: int
    zones: list[ZoneProposal]
    other_lines: list[dict]
    profile_name: str | None
    existing_plan: PurchasePlan | None
    problems: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.problems


def _next_title(plan: PurchasePlan) -> str:
    year, following = str(plan.year), str(plan.year + 1)
    return (
        plan.title.replace(year, following)
        if year in plan.title
        else f"{plan.title}（{following}）"
    )


def _shift_year(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _served_peak(contract_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.max(Settlement.recipients)).where(
                Settlement.contract_id == contract_id,
                Settlement.status == SettlementStatus.CONFIRMED,
            )
        )
        or 0
    )


def _in_service(township_codes: list[str]) -> int:
    now = today()
    return int(
        db.session.scalar(
            select(func.count(Recipient.id)).where(
                Recipient.township_code.in_(township_codes),
                Recipient.service_start.is_not(None),
                (Recipient.exit_date.is_(None)) | (Recipient.exit_date >= now),
            )
        )
        or 0
    )


def proposal(plan: PurchasePlan) -> Proposal:
    """Next year's zones and budget, proposed from this year's execution."""
    rows = {row.zone_id: row for row in execution(plan, _("Other lines"))}
    contracts = {
        c.zone_id: c
        for c in db.session.scalars(select(Contract).where(Contract.plan_id == plan.id))
    }
    zones = []
    for zone in plan.zones:
        contract = contracts.get(zone.id)
        row = rows.get(zone.id)
        zones.append(
            ZoneProposal(
                zone_id=zone.id,
                name=zone.name,
                township_codes=zone.township_codes,
                township_names=zone.township_names,
                expected=zone.expected_recipients,
                served_peak=_served_peak(contract.id) if contract else 0,
                in_service=_in_service(zone.township_codes),
                approved=row.approved if row else ZERO,
                settled=row.confirmed if row else ZERO,
                provider=contract.provider.name if contract else None,
            )
        )
    other_lines = [
        line
        for line in (
            plan.approved_version.snapshot["budget_lines"] if plan.approved_version else []
        )
        if line["zone_id"] is None
    ]
    year = plan.year + 1
    profile = profile_for(plan.region_code, year)
    existing = db.session.scalar(
        select(PurchasePlan).where(
            PurchasePlan.region_code == plan.region_code,
            PurchasePlan.year == year,
            PurchasePlan.title == _next_title(plan),
        )
    )
    result = Proposal(
        plan=plan,
        year=year,
        zones=zones,
        other_lines=other_lines,
        profile_name=profile.name if profile else None,
        existing_plan=existing,
    )
    if plan.approved_version is None:
        result.problems.append(_("Only an approved plan can be carried into the next year."))
    if profile is None:
        result.problems.append(
            _(
                "No policy profile covers %(year)d yet: an administrator copies this year's "
                "profile first.",
                year=year,
            )
        )
    if existing is not None:
        result.problems.append(_("The plan for %(year)d was already started.", year=year))
    return result


def start_next_year(plan: PurchasePlan, *, actor: User) -> PurchasePlan:
    """Draft next year's plan from the proposal (the officer then reviews and submits it)."""
    found = proposal(plan)
    if not found.ready:
        raise Conflict(found.problems[0], code="not_ready")
    data = plans.PlanInput(
        title=_next_title(plan),
        year=found.year,
        purchase_method=plan.purchase_method.value,
        service_start=_shift_year(plan.service_start),
        service_end=_shift_year(plan.service_end),
        quality_standard=plan.quality_standard,
        zones=[plans.ZoneInput(z.name, list(z.township_codes), z.proposed) for z in found.zones],
        item_codes=[link.service_item.code for link in plan.items],
    )
    created = plans.create_plan(actor=actor, region_code=plan.region_code, data=data)
    for line in found.other_lines:
        plans.add_budget_line(
            created,
            kind=line["kind"],
            description=line["description"],
            funding_source=line["funding_source"],
            amount=line["amount"],
            lock_version=None,
        )
    return created
