"""Next year's plan under /api/v1."""

from __future__ import annotations

from decimal import Decimal

from flask import g

from procurement.core.api import MoneyString, Schema, api_route
from procurement.core.db import db
from procurement.plans.services import get_plan
from procurement.renewal import services


class ZoneProposalOut(Schema):
    zone_id: int
    name: str
    township_codes: list[str]
    provider: str | None
    expected: int
    served_peak: int
    in_service: int
    proposed: int
    approved: MoneyString
    settled: MoneyString
    execution_rate: float


class ProposalOut(Schema):
    plan_id: int
    year: int
    profile: str | None
    ready: bool
    problems: list[str]
    existing_plan_id: int | None
    zones: list[ZoneProposalOut]
    other_lines_total: MoneyString


class StartedOut(Schema):
    plan_id: int
    year: int
    title: str


def _out(found: services.Proposal) -> ProposalOut:
    return ProposalOut(
        plan_id=found.plan.id,
        year=found.year,
        profile=found.profile_name,
        ready=found.ready,
        problems=found.problems,
        existing_plan_id=found.existing_plan.id if found.existing_plan else None,
        zones=[
            ZoneProposalOut(
                zone_id=z.zone_id,
                name=z.name,
                township_codes=z.township_codes,
                provider=z.provider,
                expected=z.expected,
                served_peak=z.served_peak,
                in_service=z.in_service,
                proposed=z.proposed,
                approved=z.approved,
                settled=z.settled,
                execution_rate=round(z.execution_rate, 4),
            )
            for z in found.zones
        ],
        other_lines_total=sum((Decimal(line["amount"]) for line in found.other_lines), Decimal(0)),
    )


@api_route(
    "/plans/<int:plan_id>/next-year",
    summary="Next year's plan as proposed from this year's execution",
    tag="plans",
    permission="plans.view",
    response=ProposalOut,
)
def next_year_proposal(plan_id: int):
    return _out(services.proposal(get_plan(plan_id)))


@api_route(
    "/plans/<int:plan_id>/next-year",
    method="POST",
    summary="Draft next year's plan from this year's",
    tag="plans",
    permission="plans.edit",
    response=StartedOut,
    status=201,
)
def start_next_year(plan_id: int):
    created = services.start_next_year(get_plan(plan_id), actor=g.user)
    db.session.commit()
    return StartedOut(plan_id=created.id, year=created.year, title=created.title), 201
