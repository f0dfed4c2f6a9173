"""Policy profiles under /api/v1."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field
from sqlalchemy import select

from procurement.core.api import MoneyString, Schema, api_route
from procurement.core.db import db
from procurement.core.errors import NotFound
from procurement.policies import services
from procurement.policies.models import EntitlementModel, PolicyProfile


class EligibilityRule(Schema):
    category: str
    min_age: int
    min_capability_level: int | None = None


class EvaluationWeight(Schema):
    party: str
    weight: int


class EvaluationIndicator(Schema):
    code: str = Field(max_length=40)
    party: str
    name: str = Field(max_length=60)
    max: int = Field(ge=1, le=100, description="Points; a party's indicators add up to 100.")


class CopyIn(Schema):
    year: int = Field(ge=2000, le=2100)


class ProfileRules(Schema):
    name: str
    source_document: str | None = None
    entitlement_model: EntitlementModel
    hours_per_month: MoneyString | None = None
    hourly_rate_cap: MoneyString | None = None
    visits_per_year: int | None = None
    unit_price_per_visit: MoneyString | None = None
    visits_must_be_split: bool
    eligibility_rules: list[EligibilityRule]
    exclude_long_term_care: bool
    requires_residence: bool
    requires_assessment: bool = False
    qualification_lookback_years: int
    major_fine_threshold: MoneyString
    evaluation_weights: list[EvaluationWeight]
    grade_thresholds: dict[str, int]
    evaluation_indicators: list[EvaluationIndicator] = Field(default_factory=list)
    failed_provider_rule: str = "exclude"
    acceptance_threshold: MoneyString = Decimal("90.00")
    min_visit_minutes: int
    max_visit_minutes: int
    notes: str | None = None
    settlement_platform: str | None = None
    settlement_platform_source: str | None = None
    settlement_period: str | None = None
    settlement_period_source: str | None = None
    records_deadline: str | None = None
    records_deadline_source: str | None = None
    sanction_clauses: list[str] = Field(default_factory=list)
    sanction_clauses_source: str | None = None
    termination_clauses: list[str] = Field(default_factory=list)
    termination_clauses_source: str | None = None


class ProfileOut(ProfileRules):
    id: int
    region_code: str
    year: int
    updated_at: datetime


class ProfileList(Schema):
    items: list[ProfileOut]


class ProfileQuery(Schema):
    region_code: str | None = None
    year: int | None = Field(None, ge=2000, le=2100)


class EffectiveQuery(Schema):
    region_code: str = Field(min_length=6, max_length=12)
    year: int = Field(ge=2000, le=2100)


class RulesIn(Schema):
    """Rules as sent; the service checks them together and names each wrong field."""

    name: str | None = Field(None, max_length=120)
    source_document: str | None = Field(None, max_length=200)
    entitlement_model: EntitlementModel | None = None
    hours_per_month: Decimal | None = None
    hourly_rate_cap: Decimal | None = None
    visits_per_year: int | None = None
    unit_price_per_visit: Decimal | None = None
    visits_must_be_split: bool | None = None
    eligibility_rules: list[EligibilityRule] | None = None
    exclude_long_term_care: bool | None = None
    requires_residence: bool | None = None
    requires_assessment: bool | None = None
    qualification_lookback_years: int | None = None
    major_fine_threshold: Decimal | None = None
    evaluation_weights: list[EvaluationWeight] | None = None
    grade_thresholds: dict[str, int] | None = None
    evaluation_indicators: list[EvaluationIndicator] | None = None
    failed_provider_rule: Literal["exclude", "flag"] | None = None
    acceptance_threshold: Decimal | None = None
    min_visit_minutes: int | None = None
    max_visit_minutes: int | None = None
    notes: str | None = None
    settlement_platform: str | None = Field(None, max_length=120)
    settlement_platform_source: str | None = Field(None, max_length=200)
    settlement_period: Literal["月", "季度", ""] | None = Field(
        None, description="The settlement unit; empty: to be agreed in the contract."
    )
    settlement_period_source: str | None = Field(None, max_length=200)
    records_deadline: str | None = Field(None, max_length=120)
    records_deadline_source: str | None = Field(None, max_length=200)
    sanction_clauses: list[str] | None = Field(None, max_length=20)
    sanction_clauses_source: str | None = Field(None, max_length=200)
    termination_clauses: list[str] | None = Field(None, max_length=20)
    termination_clauses_source: str | None = Field(None, max_length=200)


class ProfileCreate(Schema):
    region_code: str = Field(min_length=6, max_length=12)
    year: int = Field(ge=2000, le=2100)
    rules: RulesIn


class ProfileUpdate(Schema):
    """Only the rules sent are changed."""

    rules: RulesIn


@api_route(
    "/policy-profiles",
    summary="List policy profiles visible to the caller",
    tag="policies",
    permission="policies.view",
    query=ProfileQuery,
    response=ProfileList,
)
def list_profiles(query: ProfileQuery):
    stmt = select(PolicyProfile).order_by(PolicyProfile.year.desc(), PolicyProfile.region_code)
    if query.region_code:
        stmt = stmt.where(PolicyProfile.region_code == query.region_code)
    if query.year:
        stmt = stmt.where(PolicyProfile.year == query.year)
    return {"items": [ProfileOut.model_validate(p) for p in db.session.scalars(stmt)]}


@api_route(
    "/policy-profiles/effective",
    summary="The profile in force for a region and year",
    tag="policies",
    permission="policies.view",
    query=EffectiveQuery,
    response=ProfileOut,
    description="The region's own profile for the year, else the nearest one above it.",
)
def effective_profile(query: EffectiveQuery):
    profile = services.profile_for(query.region_code, query.year)
    if profile is None:
        raise NotFound()
    return ProfileOut.model_validate(profile)


@api_route(
    "/policy-profiles/<int:profile_id>",
    summary="Read a policy profile",
    tag="policies",
    permission="policies.view",
    response=ProfileOut,
)
def get_profile(profile_id: int):
    return ProfileOut.model_validate(services.get_profile(profile_id))


@api_route(
    "/policy-profiles",
    method="POST",
    summary="Create a policy profile",
    tag="policies",
    permission="policies.edit",
    body=ProfileCreate,
    response=ProfileOut,
    status=201,
)
def create_profile(body: ProfileCreate):
    profile = services.create_profile(
        region_code=body.region_code,
        year=body.year,
        values=body.rules.model_dump(exclude_unset=True),
    )
    db.session.commit()
    return ProfileOut.model_validate(profile), 201


@api_route(
    "/policy-profiles/<int:profile_id>",
    method="PATCH",
    summary="Change a profile's rules",
    tag="policies",
    permission="policies.edit",
    body=ProfileUpdate,
    response=ProfileOut,
)
def update_profile(profile_id: int, body: ProfileUpdate):
    profile = services.update_profile(
        services.get_profile(profile_id), body.rules.model_dump(exclude_unset=True)
    )
    db.session.commit()
    return ProfileOut.model_validate(profile)


@api_route(
    "/policy-profiles/<int:profile_id>/copy",
    method="POST",
    summary="Copy a profile's rules to another year (next year's plan needs its own)",
    tag="policies",
    permission="policies.edit",
    body=CopyIn,
    response=ProfileOut,
    status=201,
)
def copy_profile(profile_id: int, body: CopyIn):
    profile = services.copy_profile(services.get_profile(profile_id), body.year)
    db.session.commit()
    return ProfileOut.model_validate(profile), 201
