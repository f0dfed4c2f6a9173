"""Acceptance and performance evaluation under /api/v1 (seed 000 §3(3), §4)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from typing import Annotated, Literal

from flask import g, send_file
from flask_babel import gettext as _
from pydantic import Field, PlainSerializer, WithJsonSchema, model_validator

from procurement.contracts.services import get_contract
from procurement.core.api import MoneyString, Page, PageQuery, Schema, api_route, paginate
from procurement.core.db import db
from procurement.core.errors import NotFound, ValidationError
from procurement.core.money import amount_in_capitals
from procurement.core.office import DOCX
from procurement.performance import acceptance as acceptance_rules
from procurement.performance import common as performance_common
from procurement.performance import evaluation as evaluation_rules
from procurement.performance import past_records
from procurement.performance.models import (
    Acceptance,
    AcceptanceStatus,
    Conclusion,
    Evaluation,
    EvaluationStatus,
)
from procurement.policies.models import EvaluationParty

Points = Annotated[
    Decimal,
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["89.95"]}),
]
TEXT = performance_common.TEXT_LIMIT
SHORT = performance_common.SHORT_LIMIT


# ------------------------------------------------------------------ acceptance schemas


class FindingIn(Schema):
    kind: Literal[*acceptance_rules.FINDING_KINDS]
    date: dt.date | None = None
    description: str = Field(max_length=TEXT)
    result: str = Field("", max_length=TEXT)


class MemberIn(Schema):
    name: str = Field(max_length=SHORT)
    role: str = Field(max_length=SHORT, description="Organisation and position")


class AcceptanceIn(Schema):
    final: bool = Field(True, description="The whole service period; false: a stage of it")
    period_start: date = Field(description="The first of a month (or the service start)")
    period_end: date = Field(description="The last of a month (or the service end); over")
    accepted_on: date = Field(description="After the period, not in the future")
    findings: list[FindingIn] = Field(default_factory=list, max_length=acceptance_rules.MAX_ROWS)
    recipients_invited: int = Field(0, ge=0, description="At least 1 before approval")
    recipients_answered: int = Field(0, ge=0, description="At most those invited")
    recipients_satisfied: int = Field(0, ge=0, description="At most those who answered")
    opinion_summary: str = Field("", max_length=TEXT, description="No recipients' names")
    conclusion: Conclusion | None = None
    conclusion_text: str = Field("", max_length=TEXT)
    explanation: str = Field(
        "",
        max_length=TEXT,
        description="Why a passed conclusion stands when delivery is under the profile's "
        "threshold, flagged records await review or the evaluation failed the contract",
    )
    team: list[MemberIn] = Field(
        default_factory=list,
        max_length=acceptance_rules.MAX_ROWS,
        description=f"At least {acceptance_rules.MIN_TEAM} members before approval; each signs",
    )


class AcceptancePatch(Schema):
    """Only the fields given change; ``lock_version`` refuses a stale edit."""

    lock_version: int | None = None
    final: bool | None = None
    period_start: date | None = None
    period_end: date | None = None
    accepted_on: date | None = None
    findings: list[FindingIn] | None = Field(None, max_length=acceptance_rules.MAX_ROWS)
    recipients_invited: int | None = Field(None, ge=0)
    recipients_answered: int | None = Field(None, ge=0)
    recipients_satisfied: int | None = Field(None, ge=0)
    opinion_summary: str | None = Field(None, max_length=TEXT)
    conclusion: Conclusion | None = None
    conclusion_text: str | None = Field(None, max_length=TEXT)
    explanation: str | None = Field(None, max_length=TEXT)
    team: list[MemberIn] | None = Field(None, max_length=acceptance_rules.MAX_ROWS)


class FiguresOut(Schema):
    """Delivered against contracted, from the statements finance confirmed."""

    unit: Literal["hour", "visit"]
    months: int
    contracted_quantity: Points
    delivered_quantity: Points
    contracted_recipients: int
    recipients_served: int
    amount_contracted: MoneyString
    amount_contracted_in_capitals: str
    amount_settled: MoneyString
    amount_settled_in_capitals: str
    verified_complaints: int
    pending_flags: int = Field(description="Flagged service records awaiting review")
    confirmed_flags: int = Field(description="Flagged service records refused on review")
    visits_after_death: int
    visits_after_exit: int
    sanctions: int = Field(description="Sanctions decided against the contract")
    delivery_rate: Points | None = Field(description="Delivered / contracted, percent")
    threshold: Points = Field(description="The profile's threshold, percent")
    under_threshold: bool
    confirmed_months: list[str] = Field(description="2026-07, ...")
    draft_statements: int = Field(description="Statements of the period not yet confirmed")


class FiguresQuery(Schema):
    period_start: date
    period_end: date


class FindingOut(Schema):
    kind: str
    date: str
    description: str
    result: str


class MemberOut(Schema):
    name: str
    role: str


class DisagreementOut(Schema):
    evaluation_id: int
    grade: str
    total: Points | None
    status: str


class AcceptanceOut(Schema):
    id: int
    region_code: str
    contract_id: int
    contract_number: str
    provider_id: int
    provider_name: str
    final: bool
    period_start: date
    period_end: date
    accepted_on: date
    status: AcceptanceStatus
    unit: str
    contracted_quantity: Points
    delivered_quantity: Points
    contracted_recipients: int
    recipients_served: int
    amount_contracted: MoneyString
    amount_settled: MoneyString
    findings: list[FindingOut]
    verified_complaints: int
    pending_flags: int
    confirmed_flags: int
    visits_after_death: int
    visits_after_exit: int
    sanctions: int
    recipients_invited: int
    recipients_answered: int
    recipients_satisfied: int
    opinion_summary: str
    conclusion: Conclusion | None
    conclusion_text: str
    explanation: str
    team: list[MemberOut]
    problems: list[str] = Field(description="What keeps a draft from approval")
    disagreeing_evaluation: DisagreementOut | None = Field(
        description="The contract's evaluation when its grade contradicts the conclusion"
    )
    certificate_sha256: str | None
    drafted_by: str | None
    approved_by: str | None
    approved_at: datetime | None
    published_at: datetime | None
    lock_version: int

    @model_validator(mode="before")
    @classmethod
    def _from_record(cls, value):
        if not isinstance(value, Acceptance):
            return value
        contract = value.contract
        draft = value.status is AcceptanceStatus.DRAFT
        other = acceptance_rules.disagreeing_evaluation(contract, value.conclusion)
        return {
            **{name: getattr(value, name) for name in _ACCEPTANCE_COLUMNS},
            "contract_number": contract.number,
            "provider_id": contract.provider_id,
            "provider_name": contract.provider.name,
            "problems": acceptance_rules.approval_problems(value) if draft else [],
            "disagreeing_evaluation": None
            if other is None
            else {
                "evaluation_id": other.id,
                "grade": other.grade,
                "total": other.total,
                "status": other.status.value,
            },
            "drafted_by": value.drafted_by.username if value.drafted_by else None,
            "approved_by": value.approved_by.username if value.approved_by else None,
        }


_ACCEPTANCE_COLUMNS = (
    "id",
    "region_code",
    "contract_id",
    "final",
    "period_start",
    "period_end",
    "accepted_on",
    "status",
    "unit",
    "contracted_quantity",
    "delivered_quantity",
    "contracted_recipients",
    "recipients_served",
    "amount_contracted",
    "amount_settled",
    "findings",
    "verified_complaints",
    "pending_flags",
    "confirmed_flags",
    "visits_after_death",
    "visits_after_exit",
    "sanctions",
    "recipients_invited",
    "recipients_answered",
    "recipients_satisfied",
    "opinion_summary",
    "conclusion",
    "conclusion_text",
    "explanation",
    "team",
    "certificate_sha256",
    "approved_at",
    "published_at",
    "lock_version",
)


class AcceptanceQuery(PageQuery):
    plan_id: int | None = None
    year: int | None = None
    contract_id: int | None = None
    status: AcceptanceStatus | None = None


# ------------------------------------------------------------------ evaluation schemas


class Declaration(Schema):
    evaluator_name: str = Field(max_length=SHORT)
    evaluator_organisation: str = Field("", max_length=200)
    conflict_of_interest: bool | None = Field(
        None,
        description=(
            "false declares no conflict of interest with the provider; true or missing is refused"
        ),
    )
    declaration: str = Field("", max_length=TEXT, description="Added to the standard text")
    note: str = Field("", max_length=TEXT)


class SurveyIn(Schema):
    very_satisfied: int = Field(0, ge=0)
    satisfied: int = Field(0, ge=0)
    basic: int = Field(0, ge=0, description="基本满意")
    unsatisfied: int = Field(0, ge=0)


class ScoresIn(Declaration):
    party: EvaluationParty
    scores: dict[str, str | float | int] | None = Field(
        None, description='Indicator code -> points, e.g. {"buyer-quality": "27.5"}'
    )
    survey: SurveyIn | None = Field(None, description="The recipients' party only")


class SurveyImportIn(Declaration):
    filename: str = Field(max_length=200)
    file_base64: str = Field(description="An .xlsx with one answer per row in 满意度")


class IndicatorOut(Schema):
    code: str
    party: str
    name: str
    max: int


class WeightOut(Schema):
    party: EvaluationParty
    weight: int


class PartyScoreOut(Schema):
    party: EvaluationParty
    evaluator_name: str
    evaluator_organisation: str
    no_conflict_declared: bool
    declaration: str
    scores: dict[str, str]
    survey: SurveyIn | None
    total: Points
    note: str
    entered_by: str | None


class EvaluationOut(Schema):
    id: int
    region_code: str
    contract_id: int
    contract_number: str
    provider_id: int
    provider_name: str
    year: int
    status: EvaluationStatus
    weights: list[WeightOut]
    indicators: list[IndicatorOut]
    scores: list[PartyScoreOut]
    missing_parties: list[EvaluationParty]
    total: Points | None
    grade: Literal["excellent", "good", "pass", "fail"] | None
    grade_label: str | None
    completed_at: datetime | None
    published_at: datetime | None

    @model_validator(mode="before")
    @classmethod
    def _from_record(cls, value):
        if not isinstance(value, Evaluation):
            return value
        return {
            **{name: getattr(value, name) for name in _EVALUATION_COLUMNS},
            "contract_number": value.contract.number,
            "provider_name": value.contract.provider.name,
            "scores": [
                {
                    **{name: getattr(score, name) for name in _SCORE_COLUMNS},
                    "entered_by": score.entered_by.username if score.entered_by else None,
                }
                for score in value.scores
            ],
            "missing_parties": evaluation_rules.missing_parties(value),
            "grade_label": evaluation_rules.grade_label(value.grade) if value.grade else None,
        }


_EVALUATION_COLUMNS = (
    "id",
    "region_code",
    "contract_id",
    "provider_id",
    "year",
    "status",
    "weights",
    "indicators",
    "total",
    "grade",
    "completed_at",
    "published_at",
)
_SCORE_COLUMNS = (
    "party",
    "evaluator_name",
    "evaluator_organisation",
    "no_conflict_declared",
    "declaration",
    "scores",
    "survey",
    "total",
    "note",
)


class EvaluationQuery(PageQuery):
    plan_id: int | None = None
    year: int | None = None
    provider_id: int | None = None
    status: EvaluationStatus | None = None


class ProviderRecordQuery(Schema):
    year: int = Field(ge=2000, le=2100)


class ProviderRecordOut(Schema):
    provider_id: int
    year: int
    total: Points | None
    grade: str | None
    acceptance: Conclusion | None
    evaluations: int
    acceptances: int
    failures: list[str]
    explanation: str


# ------------------------------------------------------------------ acceptance


def _figures_out(figures: acceptance_rules.Figures) -> FiguresOut:
    return FiguresOut(
        **figures.stored(),
        months=figures.months,
        amount_contracted_in_capitals=amount_in_capitals(figures.amount_contracted),
        amount_settled_in_capitals=amount_in_capitals(figures.amount_settled),
        confirmed_months=[f"{month:%Y-%m}" for month in figures.confirmed_months],
        draft_statements=figures.draft_statements,
        delivery_rate=figures.delivery_rate,
        threshold=figures.threshold,
        under_threshold=figures.under_threshold,
    )


def _acceptance_input(body: Schema) -> acceptance_rules.AcceptanceInput:
    values = body.model_dump(exclude={"lock_version"})
    values["conclusion"] = body.conclusion.value if body.conclusion else None
    return acceptance_rules.AcceptanceInput(**values)


@api_route(
    "/contracts/<int:contract_id>/acceptance-figures",
    summary="Delivered against contracted for a period (before recording an acceptance)",
    tag="performance",
    permission="performance.view",
    query=FiguresQuery,
    response=FiguresOut,
)
def acceptance_figures(contract_id: int, query: FiguresQuery):
    if query.period_end < query.period_start:
        raise ValidationError(_("The period ends before it starts."), field="period_end")
    contract = get_contract(contract_id)
    return _figures_out(
        acceptance_rules.acceptance_figures(contract, query.period_start, query.period_end)
    )


@api_route(
    "/acceptances",
    summary="List acceptances",
    tag="performance",
    permission="performance.view",
    query=AcceptanceQuery,
    response=Page[AcceptanceOut],
)
def list_acceptances(query: AcceptanceQuery):
    stmt = acceptance_rules.acceptances_query(
        plan_id=query.plan_id, year=query.year, contract_id=query.contract_id, status=query.status
    )
    return paginate(stmt, query, AcceptanceOut)


@api_route(
    "/contracts/<int:contract_id>/acceptances",
    method="POST",
    summary="Record an acceptance as a draft (figures computed from confirmed statements)",
    tag="performance",
    permission="acceptance.manage",
    body=AcceptanceIn,
    response=AcceptanceOut,
    status=201,
)
def create_acceptance(contract_id: int, body: AcceptanceIn):
    acceptance = acceptance_rules.draft_acceptance(
        get_contract(contract_id), _acceptance_input(body), actor=g.user
    )
    db.session.commit()
    return AcceptanceOut.model_validate(acceptance), 201


@api_route(
    "/acceptances/<int:acceptance_id>",
    summary="Read an acceptance",
    tag="performance",
    permission="performance.view",
    response=AcceptanceOut,
)
def get_acceptance(acceptance_id: int):
    return AcceptanceOut.model_validate(acceptance_rules.get_acceptance(acceptance_id))


@api_route(
    "/acceptances/<int:acceptance_id>",
    method="PATCH",
    summary="Change a draft acceptance (figures computed again)",
    tag="performance",
    permission="acceptance.manage",
    body=AcceptancePatch,
    response=AcceptanceOut,
)
def update_acceptance(acceptance_id: int, body: AcceptancePatch):
    acceptance = acceptance_rules.get_acceptance(acceptance_id)
    current = AcceptanceIn(
        final=acceptance.final,
        period_start=acceptance.period_start,
        period_end=acceptance.period_end,
        accepted_on=acceptance.accepted_on,
        findings=[{**row, "date": row["date"] or None} for row in acceptance.findings],
        recipients_invited=acceptance.recipients_invited,
        recipients_answered=acceptance.recipients_answered,
        recipients_satisfied=acceptance.recipients_satisfied,
        opinion_summary=acceptance.opinion_summary,
        conclusion=acceptance.conclusion,
        conclusion_text=acceptance.conclusion_text,
        explanation=acceptance.explanation,
        team=acceptance.team,
    )
    merged = current.model_copy(
        update=body.model_dump(exclude_unset=True, exclude={"lock_version"})
    )
    acceptance_rules.update_acceptance(
        acceptance, _acceptance_input(merged), actor=g.user, lock_version=body.lock_version
    )
    db.session.commit()
    return AcceptanceOut.model_validate(acceptance)


@api_route(
    "/acceptances/<int:acceptance_id>/approve",
    method="POST",
    summary="Approve (another officer than the drafter) and generate the certificate",
    tag="performance",
    permission="acceptance.manage",
    response=AcceptanceOut,
)
def approve_acceptance(acceptance_id: int):
    acceptance = acceptance_rules.approve_acceptance(
        acceptance_rules.get_acceptance(acceptance_id), actor=g.user
    )
    db.session.commit()
    return AcceptanceOut.model_validate(acceptance)


@api_route(
    "/acceptances/<int:acceptance_id>/publish",
    method="POST",
    summary="Publish an approved acceptance result",
    tag="performance",
    permission="publications.publish",
    response=AcceptanceOut,
)
def publish_acceptance(acceptance_id: int):
    acceptance = acceptance_rules.publish_acceptance(
        acceptance_rules.get_acceptance(acceptance_id), actor=g.user
    )
    db.session.commit()
    return AcceptanceOut.model_validate(acceptance)


@api_route(
    "/acceptances/<int:acceptance_id>/certificate.docx",
    summary="The acceptance certificate (验收书), once approved",
    tag="performance",
    permission="performance.view",
    content_type=DOCX,
)
def acceptance_certificate(acceptance_id: int):
    acceptance = acceptance_rules.get_acceptance(acceptance_id)
    return send_file(
        BytesIO(acceptance_rules.certificate_bytes(acceptance)),
        mimetype=DOCX,
        as_attachment=True,
        download_name=acceptance_rules.certificate_filename(acceptance),
    )


# ------------------------------------------------------------------ evaluation


def _score_input(body: Declaration, **extra) -> evaluation_rules.ScoreInput:
    values = body.model_dump(exclude={"filename", "file_base64"})
    values.update(extra)
    return evaluation_rules.ScoreInput(**values)


@api_route(
    "/evaluations",
    summary="List evaluations",
    tag="performance",
    permission="performance.view",
    query=EvaluationQuery,
    response=Page[EvaluationOut],
)
def list_evaluations(query: EvaluationQuery):
    stmt = evaluation_rules.evaluations_query(
        plan_id=query.plan_id, year=query.year, provider_id=query.provider_id, status=query.status
    )
    return paginate(stmt, query, EvaluationOut)


@api_route(
    "/contracts/<int:contract_id>/evaluation",
    method="POST",
    summary="Open the evaluation after the service period (weights and indicators snapshot)",
    tag="performance",
    permission="evaluations.manage",
    response=EvaluationOut,
    status=201,
)
def open_evaluation(contract_id: int):
    evaluation = evaluation_rules.open_evaluation(get_contract(contract_id), actor=g.user)
    db.session.commit()
    return EvaluationOut.model_validate(evaluation), 201


@api_route(
    "/evaluations/<int:evaluation_id>",
    summary="Read an evaluation",
    tag="performance",
    permission="performance.view",
    response=EvaluationOut,
)
def get_evaluation(evaluation_id: int):
    return EvaluationOut.model_validate(evaluation_rules.get_evaluation(evaluation_id))


@api_route(
    "/evaluations/<int:evaluation_id>/scores",
    method="POST",
    summary="Enter one party's scores (buyer: officer; finance; recipients: officer or "
    "evaluator; third party: evaluator)",
    tag="performance",
    permission="evaluations.score",
    body=ScoresIn,
    response=EvaluationOut,
)
def enter_evaluation_scores(evaluation_id: int, body: ScoresIn):
    evaluation = evaluation_rules.get_evaluation(evaluation_id)
    survey = body.survey.model_dump() if body.survey else None
    evaluation_rules.enter_scores(
        evaluation, _score_input(body, party=body.party.value, survey=survey), actor=g.user
    )
    db.session.commit()
    return EvaluationOut.model_validate(evaluation)


@api_route(
    "/evaluations/<int:evaluation_id>/survey",
    method="POST",
    summary="Import the recipients' satisfaction survey (.xlsx) as their party's score",
    tag="performance",
    permission="evaluations.score",
    body=SurveyImportIn,
    response=EvaluationOut,
)
def import_evaluation_survey(evaluation_id: int, body: SurveyImportIn):
    try:
        data = base64.b64decode(body.file_base64, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(_("The file is not valid base64."), field="file_base64") from None
    evaluation = evaluation_rules.get_evaluation(evaluation_id)
    evaluation_rules.import_survey(
        evaluation, BytesIO(data), _score_input(body, party=""), actor=g.user
    )
    db.session.commit()
    return EvaluationOut.model_validate(evaluation)


@api_route(
    "/evaluations/<int:evaluation_id>/complete",
    method="POST",
    summary="Complete: weighted total and grade (every weighted party must have scored)",
    tag="performance",
    permission="evaluations.manage",
    response=EvaluationOut,
)
def complete_evaluation(evaluation_id: int):
    evaluation = evaluation_rules.complete_evaluation(
        evaluation_rules.get_evaluation(evaluation_id), actor=g.user
    )
    db.session.commit()
    return EvaluationOut.model_validate(evaluation)


@api_route(
    "/evaluations/<int:evaluation_id>/publish",
    method="POST",
    summary="Publish a completed evaluation result",
    tag="performance",
    permission="publications.publish",
    response=EvaluationOut,
)
def publish_evaluation(evaluation_id: int):
    evaluation = evaluation_rules.publish_evaluation(
        evaluation_rules.get_evaluation(evaluation_id), actor=g.user
    )
    db.session.commit()
    return EvaluationOut.model_validate(evaluation)


@api_route(
    "/providers/<int:provider_id>/performance-record",
    summary="A provider's evaluation total, worst grade and final acceptance for a plan year",
    tag="performance",
    permission="performance.view",
    query=ProviderRecordQuery,
    response=ProviderRecordOut,
)
def get_provider_performance_record(provider_id: int, query: ProviderRecordQuery):
    from procurement.providers.services import get_provider

    get_provider(provider_id)
    record = past_records.provider_record(provider_id, query.year)
    if record is None:
        raise NotFound(
            _("No completed evaluation or final acceptance for %(year)d.", year=query.year)
        )
    return ProviderRecordOut.model_validate(record, from_attributes=True)
