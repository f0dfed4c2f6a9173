"""Performance evaluation (绩效评价) of contracts.

Evaluation (seed 000 §4; seed 003): after the service period the buyer, finance, the
recipients (a satisfaction survey) and a third party score the contract, each after
declaring no conflict of interest with the provider; the weighted total gives the grade.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from procurement.accounts.models import User
from procurement.accounts.roles import ROLE_LABELS, Role
from procurement.contracts.models import Contract
from procurement.core import audit, spreadsheets
from procurement.core.clock import today, utcnow
from procurement.core.db import db
from procurement.core.errors import (
    Conflict,
    FieldErrors,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from procurement.performance.common import (
    CENT,
    SHORT_LIMIT,
    TEXT_LIMIT,
    ZERO,
    clean_text,
    contract_end,
    read_count,
    require_performed,
    to_cent,
    transition,
)
from procurement.performance.models import Evaluation, EvaluationScore, EvaluationStatus
from procurement.policies.models import GRADE_LABELS, EvaluationParty
from procurement.public.models import PublicationKind
from procurement.public.services import publish
from procurement.settlements.reading import read_xlsx

EVALUATION_TRANSITIONS: dict[str, tuple[frozenset[EvaluationStatus], EvaluationStatus | None]] = {
    "score": (frozenset({EvaluationStatus.OPEN}), None),
    "complete": (frozenset({EvaluationStatus.OPEN}), EvaluationStatus.COMPLETED),
    "publish": (frozenset({EvaluationStatus.COMPLETED}), EvaluationStatus.PUBLISHED),
}

# Which role enters which party's scores (seed 000 §4: buyer, finance, recipients, third
# party). The permission ``evaluations.score`` lets the three roles in; this table says
# which form is theirs, so that finance can never enter the buyer's scores.
PARTY_ROLES: dict[EvaluationParty, frozenset[Role]] = {
    EvaluationParty.BUYER: frozenset({Role.OFFICER}),
    EvaluationParty.FINANCE: frozenset({Role.FINANCE}),
    EvaluationParty.RECIPIENTS: frozenset({Role.OFFICER, Role.EVALUATOR}),
    EvaluationParty.THIRD_PARTY: frozenset({Role.EVALUATOR}),
}

# The satisfaction survey: answer -> (count key, points)
SURVEY_ANSWERS = {
    "非常满意": ("very_satisfied", 100),
    "满意": ("satisfied", 80),
    "基本满意": ("basic", 60),
    "不满意": ("unsatisfied", 0),
}
SURVEY_KEYS = tuple(key for key, _points in SURVEY_ANSWERS.values())
SURVEY_POINTS = dict(SURVEY_ANSWERS.values())
SURVEY_COLUMN = "满意度"


def get_evaluation(evaluation_id: int) -> Evaluation:
    evaluation = db.session.get(Evaluation, evaluation_id)
    if evaluation is None:
        raise NotFound(_("Evaluation %(id)s was not found.", id=evaluation_id))
    return evaluation


def evaluation_of(contract: Contract) -> Evaluation | None:
    return db.session.scalar(select(Evaluation).where(Evaluation.contract_id == contract.id))


def evaluations_query(
    *,
    plan_id: int | None = None,
    year: int | None = None,
    provider_id: int | None = None,
    status: str | None = None,
) -> Select:
    """Evaluations matching the filters, newest first (region scoping applies)."""
    stmt = (
        select(Evaluation)
        .join(Contract, Contract.id == Evaluation.contract_id)
        .options(selectinload(Evaluation.contract), selectinload(Evaluation.scores))
        .order_by(Evaluation.year.desc(), Contract.number)
    )
    if plan_id:
        stmt = stmt.where(Contract.plan_id == plan_id)
    if year:
        stmt = stmt.where(Evaluation.year == year)
    if provider_id:
        stmt = stmt.where(Evaluation.provider_id == provider_id)
    if status:
        stmt = stmt.where(Evaluation.status == EvaluationStatus(status))
    return stmt


def grade_label(grade: str | None) -> str:
    return str(GRADE_LABELS[grade]) if grade in GRADE_LABELS else "—"


def party_label(party: str) -> str:
    return EvaluationParty(party).label


def weighted_parties(evaluation: Evaluation) -> list[str]:
    """The parties whose scores count (a weight above zero), in the profile's order."""
    return [w["party"] for w in evaluation.weights if int(w["weight"]) > 0]


def weight_of(evaluation: Evaluation, party: str) -> int:
    return next((int(w["weight"]) for w in evaluation.weights if w["party"] == party), 0)


def party_indicators(evaluation: Evaluation, party: str) -> list[dict]:
    """The party's indicators; a party without any enters one score out of 100."""
    own = [i for i in evaluation.indicators if i["party"] == party]
    return own or [{"code": party, "party": party, "name": party_label(party), "max": 100}]


def score_of(evaluation: Evaluation, party: str) -> EvaluationScore | None:
    return next((s for s in evaluation.scores if s.party == party), None)


def missing_parties(evaluation: Evaluation) -> list[str]:
    return [p for p in weighted_parties(evaluation) if score_of(evaluation, p) is None]


def can_score(user: User | None, party: str) -> bool:
    """Whether the user's role enters this party's scores."""
    return (
        user is not None
        and user.can("evaluations.score")
        and user.role in PARTY_ROLES.get(EvaluationParty(party), ())
    )


def check_scorer(user: User | None, party: str) -> None:
    """Refuse a user whose role does not enter this party's scores (finance never enters
    the buyer's, an officer never the third party's)."""
    if not can_score(user, party):
        party = EvaluationParty(party)
        roles = "、".join(str(ROLE_LABELS[role]) for role in sorted(PARTY_ROLES[party]))
        raise PermissionDenied(
            message=_(
                "The scores of %(party)s are entered by: %(roles)s.", party=party.label, roles=roles
            ),
            code="wrong_party",
        )


def _snapshot(profile) -> tuple[list[dict], list[dict]]:
    """The profile's weights and indicators, checked: weights add up to 100; each party's
    indicators add up to 100 points."""
    errors = FieldErrors()
    weights, seen = [], set()
    for item in profile.evaluation_weights or []:
        try:
            party = EvaluationParty(item.get("party"))
            weight = int(item.get("weight"))
        except (AttributeError, TypeError, ValueError):
            errors.add("weights", _("The policy profile's evaluation weights are not readable."))
            break
        if party in seen or not 0 <= weight <= 100:
            errors.add("weights", _("The policy profile's evaluation weights are not readable."))
            break
        seen.add(party)
        weights.append({"party": party.value, "weight": weight})
    total = sum(w["weight"] for w in weights)
    if not errors.fields and total != 100:
        errors.add(
            "weights",
            _(
                "The evaluation weights of the policy profile add up to %(total)d%%, not "
                "100%%: an administrator must correct the profile first.",
                total=total,
            ),
        )
    indicators = [dict(i) for i in profile.evaluation_indicators or []]
    for party in {i.get("party") for i in indicators}:
        points = sum(int(i.get("max") or 0) for i in indicators if i.get("party") == party)
        if party not in {p.value for p in EvaluationParty} or points != 100:
            errors.add(
                "indicators",
                _(
                    "The indicators of %(party)s add up to %(total)d points, not 100: an "
                    "administrator must correct the profile first.",
                    party=party,
                    total=points,
                ),
            )
    errors.raise_if_any()
    return weights, indicators


def open_evaluation(contract: Contract, *, actor: User) -> Evaluation:
    """Open the evaluation after the service period (seed 000 §3(3): 服务期满后), with the
    profile's weights and indicators as they are today."""
    require_performed(contract)
    end = contract_end(contract)
    if today() <= end:
        raise Conflict(
            _(
                "The service period ends on %(date)s: the evaluation opens after it.",
                date=end.isoformat(),
            ),
            code="too_early",
        )
    if evaluation_of(contract) is not None:
        raise Conflict(_("The contract already has an evaluation."), code="exists")
    weights, indicators = _snapshot(contract.plan.policy_profile)
    evaluation = Evaluation(
        contract_id=contract.id,
        provider_id=contract.provider_id,
        region_code=contract.region_code,
        year=contract.plan.year,
        status=EvaluationStatus.OPEN,
        weights=weights,
        indicators=indicators,
    )
    evaluation.contract = contract
    db.session.add(evaluation)
    db.session.flush()
    return evaluation


@dataclass
class ScoreInput:
    """One party's entry: who scores, their declaration, and the scores or the survey."""

    party: str
    evaluator_name: str = ""
    evaluator_organisation: str = ""
    # False: declares no conflict of interest with the provider; True or None: refused
    conflict_of_interest: bool | None = None
    declaration: str = ""
    scores: dict | None = None  # indicator code -> points
    survey: dict | None = None  # the recipients' party: the four counts
    note: str = ""


def survey_score(counts: dict) -> Decimal:
    """(100 x very satisfied + 80 x satisfied + 60 x basically + 0 x unsatisfied) / n."""
    answers = sum(counts[key] for key in SURVEY_KEYS)
    points = sum(counts[key] * SURVEY_POINTS[key] for key in SURVEY_KEYS)
    return to_cent(Decimal(points) / answers)


def _survey(survey: Any, errors: FieldErrors) -> dict | None:
    survey = survey if isinstance(survey, dict) else {}
    counts = {}
    for key in SURVEY_KEYS:
        counts[key] = read_count(survey.get(key), f"survey.{key}", errors)
    if any(value is None for value in counts.values()):
        return None
    if sum(counts.values()) == 0:
        errors.add("survey", _("Enter the survey's answers: none were given."))
        return None
    return counts


def _points(value: Any) -> Decimal | None:
    try:
        number = Decimal(clean_text(value))
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.quantize(CENT):
        return None
    return number


def _indicator_scores(indicators: list[dict], given: Any, errors: FieldErrors) -> dict:
    given = given if isinstance(given, dict) else {}
    codes = {i["code"] for i in indicators}
    for code in given:
        if code not in codes:
            errors.add(f"scores.{code}", _("Unknown indicator %(code)s.", code=code))
    scores = {}
    for indicator in indicators:
        code, name, top = indicator["code"], indicator["name"], int(indicator["max"])
        raw = given.get(code)
        if clean_text(raw) == "":
            errors.add(f"scores.{code}", _("%(indicator)s: enter the score.", indicator=name))
            continue
        points = _points(raw)
        if points is None or not 0 <= points <= top:
            errors.add(
                f"scores.{code}",
                _(
                    "%(indicator)s: the score must be between 0 and %(max)d, with at most "
                    "two decimals.",
                    indicator=name,
                    max=top,
                ),
            )
            continue
        scores[code] = points
    return scores


def enter_scores(evaluation: Evaluation, data: ScoreInput, *, actor: User) -> EvaluationScore:
    """Record (or correct, while open) one party's scores, from an evaluator who declared
    no conflict of interest with the provider."""
    transition(evaluation, EVALUATION_TRANSITIONS, "score")
    try:
        party = EvaluationParty(clean_text(data.party))
    except ValueError:
        raise ValidationError(_("Unknown evaluation party."), field="party") from None
    if party.value not in weighted_parties(evaluation):
        raise ValidationError(
            _("%(party)s carries no weight in this evaluation.", party=party.label), field="party"
        )
    check_scorer(actor, party)
    provider = evaluation.contract.provider
    errors = FieldErrors()
    name, organisation = clean_text(data.evaluator_name), clean_text(data.evaluator_organisation)
    if not name:
        errors.add("evaluator_name", _("Give the evaluator's name."))
    if len(name) > SHORT_LIMIT or len(organisation) > 200:
        errors.add("evaluator_name", _("Must have at most %(n)s characters.", n=SHORT_LIMIT))
    if data.conflict_of_interest is None:
        errors.add(
            "conflict_of_interest",
            _(
                "Declare whether you have a conflict of interest with %(provider)s: scores are "
                "accepted only from evaluators without one.",
                provider=provider.name,
            ),
        )
    elif data.conflict_of_interest:
        errors.add(
            "conflict_of_interest",
            _(
                "You declared a conflict of interest with %(provider)s: you may not score this "
                "evaluation; another evaluator without one must.",
                provider=provider.name,
            ),
        )
    note, supplement = clean_text(data.note), clean_text(data.declaration)
    if len(note) > TEXT_LIMIT or len(supplement) > TEXT_LIMIT:
        errors.add("note", _("Must have at most %(n)s characters.", n=TEXT_LIMIT))
    indicators = party_indicators(evaluation, party.value)
    survey = None
    if party is EvaluationParty.RECIPIENTS:
        survey = _survey(data.survey, errors)
        total = survey_score(survey) if survey else None
        top = sum(Decimal(i["max"]) for i in indicators)
        scores = {
            i["code"]: to_cent(total * Decimal(i["max"]) / top) if total is not None else None
            for i in indicators
        }
    else:
        scores = _indicator_scores(indicators, data.scores, errors)
        total = sum(scores.values(), ZERO)
    errors.raise_if_any()
    declaration = (
        f"本人（{name}{'，' + organisation if organisation else ''}）声明：与承接主体"
        f"{provider.name}不存在利害关系，未在其任职、持股或受其委托，与其负责人无近亲属关系。"
    )
    values = {
        "evaluator_name": name,
        "evaluator_organisation": organisation,
        "entered_by_id": actor.id,
        "scores": {code: f"{points:.2f}" for code, points in scores.items()},
        "total": to_cent(total),
        "survey": survey,
        "no_conflict_declared": True,
        "declaration": f"{declaration}{supplement}",
        "note": note,
    }
    score = score_of(evaluation, party.value)
    if score is None:
        score = EvaluationScore(
            evaluation_id=evaluation.id, region_code=evaluation.region_code, party=party.value
        )
        evaluation.scores.append(score)
    for key, value in values.items():
        setattr(score, key, value)
    db.session.flush()
    return score


def survey_counts(data: bytes) -> dict:
    """The counts of an .xlsx survey with one answer per row in the column 满意度."""
    # a spreadsheet of people's answers: the limit of the other spreadsheet imports, not
    # the much larger one of the platform's record exports that read_xlsx applies
    spreadsheets.check_size(data, current_app.config["IMPORT_MAX_BYTES"])
    frame = read_xlsx(data)
    if SURVEY_COLUMN not in frame.columns:
        raise ValidationError(
            _("The workbook needs a column %(name)s.", name=SURVEY_COLUMN), field="file"
        )
    counts = dict.fromkeys(SURVEY_KEYS, 0)
    errors = FieldErrors()
    allowed = "、".join(SURVEY_ANSWERS)
    for index, value in enumerate(frame[SURVEY_COLUMN].tolist()):
        answer = clean_text(value)
        if not answer:
            continue
        if answer not in SURVEY_ANSWERS:
            if len(errors.fields.get("file", [])) < 20:
                errors.add(
                    "file",
                    _(
                        "Row %(row)d: %(answer)s is not one of %(allowed)s.",
                        row=index + 2,
                        answer=answer[:20],
                        allowed=allowed,
                    ),
                )
            continue
        counts[SURVEY_ANSWERS[answer][0]] += 1
    errors.raise_if_any()
    if not sum(counts.values()):
        raise ValidationError(_("The workbook holds no answers."), field="file")
    return counts


def import_survey(
    evaluation: Evaluation, stream: IO[bytes], data: ScoreInput, *, actor: User
) -> EvaluationScore:
    """The recipients' satisfaction from a survey workbook (one answer per row)."""
    data.party = EvaluationParty.RECIPIENTS.value
    data.survey = survey_counts(stream.read())
    return enter_scores(evaluation, data, actor=actor)


def complete_evaluation(evaluation: Evaluation, *, actor: User) -> Evaluation:
    """Total = sum of weight x party total / 100 (two decimals) and its grade, once every
    party with a weight has scored."""
    completed = transition(evaluation, EVALUATION_TRANSITIONS, "complete")
    missing = missing_parties(evaluation)
    if missing:
        raise Conflict(
            _(
                "Scores are still missing from: %(parties)s.",
                parties="、".join(party_label(p) for p in missing),
            ),
            code="incomplete",
        )
    total = sum(
        (
            Decimal(weight_of(evaluation, party)) * score_of(evaluation, party).total / 100
            for party in weighted_parties(evaluation)
        ),
        ZERO,
    )
    evaluation.status = completed
    evaluation.total = to_cent(total)
    evaluation.grade = evaluation.contract.plan.policy_profile.grade_for(evaluation.total)
    evaluation.completed_at = utcnow()
    audit.label(evaluation, "complete", note=evaluation.grade)
    db.session.flush()
    return evaluation


def evaluation_title(evaluation: Evaluation) -> str:
    contract = evaluation.contract
    plan = contract.plan
    return (
        f"{plan.region.name}{plan.year}年政府购买居家养老服务{contract.zone.name}绩效评价结果公告"
    )


def publish_evaluation(evaluation: Evaluation, *, actor: User) -> Evaluation:
    """Announce a completed evaluation (seed 000 §4: 及时向社会公布绩效考评结果)."""
    published = transition(evaluation, EVALUATION_TRANSITIONS, "publish")
    contract = evaluation.contract
    publication = publish(
        PublicationKind.EVALUATION,
        evaluation.id,
        region_code=evaluation.region_code,
        plan_id=contract.plan_id,
        provider_id=evaluation.provider_id,
        year=evaluation.year,
        title=evaluation_title(evaluation),
        actor=actor,
    )
    evaluation.status = published
    evaluation.published_at = publication.published_at
    audit.label(evaluation, "publish")
    db.session.flush()
    return evaluation
