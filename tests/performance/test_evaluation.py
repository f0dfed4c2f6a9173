"""Performance evaluation: opened after the service period with the profile's weights and
indicators, each party's scores from its own role after a conflict-of-interest
declaration, the survey formula, the weighted total and grade, publication, and the
provider's record for next year's selection."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook

from procurement.core.db import db
from procurement.core.errors import Conflict, PermissionDenied, ValidationError
from procurement.performance import acceptance as acceptance_rules
from procurement.performance import evaluation as evaluation_rules
from procurement.performance import past_records
from procurement.performance.models import Conclusion, EvaluationStatus
from procurement.public.models import PublicationKind
from procurement.public.services import is_public, publication_of
from tests.performance.conftest import stage_input
from tests.settlements.conftest import at

BUYER = {
    "buyer-coverage": "18",
    "buyer-delivery": "27",
    "buyer-quality": "27",
    "buyer-complaints": "18",
}
FINANCE = {"finance-compliance": "36", "finance-records": "27", "finance-budget": "27"}
THIRD = {
    "third-quantity": "22.5",
    "third-quality": "31.5",
    "third-staff": "18",
    "third-records": "18",
}
SURVEY_90 = {"very_satisfied": 1, "satisfied": 1, "basic": 0, "unsatisfied": 0}


def entry(party: str, **changes) -> evaluation_rules.ScoreInput:
    values = {
        "party": party,
        "evaluator_name": "周评审",
        "evaluator_organisation": "山西某绩效评价事务所",
        "conflict_of_interest": False,
    }
    values.update(changes)
    return evaluation_rules.ScoreInput(**values)


def opened(world, contract=None):
    return evaluation_rules.open_evaluation(
        contract or world["contracts"][0], actor=world["officer"]
    )


def score_all(world, evaluation, *, third=THIRD, survey=SURVEY_90, skip=()):
    evaluator = world["people"]["yc-evaluator"]
    parties = {
        "buyer": (world["officer"], {"scores": BUYER}),
        "finance": (world["finance"], {"scores": FINANCE}),
        "recipients": (evaluator, {"survey": survey}),
        "third_party": (evaluator, {"scores": third}),
    }
    for party, (actor, values) in parties.items():
        if party not in skip:
            evaluation_rules.enter_scores(evaluation, entry(party, **values), actor=actor)


@pytest.fixture
def evaluation(world, after_term):
    return opened(world)


# ------------------------------------------------------------------ opening


def test_opens_only_after_the_service_period(world):
    with pytest.raises(Conflict) as early:
        opened(world)
    assert early.value.code == "too_early" and "2026-12-31" in early.value.message
    at(2027, 1, 10)
    found = opened(world)
    assert found.status is EvaluationStatus.OPEN and found.year == 2026
    assert found.provider_id == world["contracts"][0].provider_id
    assert sum(w["weight"] for w in found.weights) == 100
    assert {i["party"] for i in found.indicators} == {
        "buyer",
        "finance",
        "recipients",
        "third_party",
    }
    with pytest.raises(Conflict):
        opened(world)


def test_the_snapshot_keeps_the_weights_of_the_day(world, evaluation):
    profile = world["plan"].policy_profile
    profile.evaluation_weights = [
        {"party": "buyer", "weight": 50},
        {"party": "recipients", "weight": 50},
    ]
    db.session.flush()
    assert evaluation_rules.weighted_parties(evaluation) == [
        "buyer",
        "finance",
        "recipients",
        "third_party",
    ]


def test_weights_that_do_not_add_up_to_100_are_refused(world, after_term):
    profile = world["plan"].policy_profile
    profile.evaluation_weights = [
        {"party": "buyer", "weight": 30},
        {"party": "finance", "weight": 20},
        {"party": "recipients", "weight": 40},
        {"party": "third_party", "weight": 20},
    ]
    db.session.flush()
    with pytest.raises(ValidationError) as refused:
        opened(world)
    assert "110%" in refused.value.message and "weights" in refused.value.fields


def test_indicators_that_do_not_add_up_to_100_are_refused(world, after_term):
    profile = world["plan"].policy_profile
    profile.evaluation_indicators = [
        {**i, "max": 25} if i["code"] == "buyer-coverage" else i
        for i in profile.evaluation_indicators
    ]
    db.session.flush()
    with pytest.raises(ValidationError) as refused:
        opened(world)
    assert "105" in refused.value.message


# ------------------------------------------------------------------ entering scores


def test_a_party_enters_its_indicators(world, evaluation):
    score = evaluation_rules.enter_scores(
        evaluation, entry("buyer", scores=BUYER), actor=world["officer"]
    )
    assert score.total == Decimal("90.00")
    assert score.scores == {
        "buyer-coverage": "18.00",
        "buyer-delivery": "27.00",
        "buyer-quality": "27.00",
        "buyer-complaints": "18.00",
    }
    assert score.no_conflict_declared
    assert world["contracts"][0].provider.name in score.declaration
    assert score.entered_by_id == world["officer"].id
    # Corrected while open: the same row, the new values.
    again = evaluation_rules.enter_scores(
        evaluation, entry("buyer", scores={**BUYER, "buyer-quality": "30"}), actor=world["officer"]
    )
    assert again.id == score.id and again.total == Decimal("93.00")


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("31", "buyer-quality"),
        ("-1", "buyer-quality"),
        ("27.555", "buyer-quality"),
        ("", "buyer-quality"),
    ],
)
def test_scores_out_of_range_are_refused_naming_the_indicator(world, evaluation, value, field):
    with pytest.raises(ValidationError) as refused:
        evaluation_rules.enter_scores(
            evaluation, entry("buyer", scores={**BUYER, field: value}), actor=world["officer"]
        )
    assert list(refused.value.fields) == [f"scores.{field}"]
    assert "服务质量与规范" in refused.value.message
    if value:
        assert "30" in refused.value.message


def test_unknown_indicators_are_refused(world, evaluation):
    with pytest.raises(ValidationError) as refused:
        evaluation_rules.enter_scores(
            evaluation, entry("buyer", scores={**BUYER, "bonus": "5"}), actor=world["officer"]
        )
    assert "scores.bonus" in refused.value.fields


@pytest.mark.parametrize("conflict", [None, True])
def test_a_conflict_of_interest_or_no_declaration_is_refused(world, evaluation, conflict):
    provider = world["contracts"][0].provider.name
    with pytest.raises(ValidationError) as refused:
        evaluation_rules.enter_scores(
            evaluation,
            entry("buyer", scores=BUYER, conflict_of_interest=conflict),
            actor=world["officer"],
        )
    assert list(refused.value.fields) == ["conflict_of_interest"]
    assert provider in refused.value.message
    assert evaluation_rules.score_of(evaluation, "buyer") is None


def test_the_evaluator_must_be_named(world, evaluation):
    with pytest.raises(ValidationError) as refused:
        evaluation_rules.enter_scores(
            evaluation, entry("buyer", scores=BUYER, evaluator_name=" "), actor=world["officer"]
        )
    assert "evaluator_name" in refused.value.fields


@pytest.mark.parametrize(
    ("party", "who"),
    [
        ("buyer", "finance"),
        ("buyer", "evaluator"),
        ("finance", "officer"),
        ("third_party", "officer"),
        ("third_party", "finance"),
        ("recipients", "finance"),
    ],
)
def test_each_party_is_entered_by_its_own_role(world, evaluation, party, who):
    actor = {
        "finance": world["finance"],
        "evaluator": world["people"]["yc-evaluator"],
        "officer": world["officer"],
    }[who]
    values = {"survey": SURVEY_90} if party == "recipients" else {"scores": BUYER}
    with pytest.raises(PermissionDenied) as refused:
        evaluation_rules.enter_scores(evaluation, entry(party, **values), actor=actor)
    assert refused.value.code == "wrong_party"


def test_the_recipients_survey_is_entered_by_an_officer_or_an_evaluator(world, evaluation):
    for actor in (world["officer"], world["people"]["yc-evaluator"]):
        score = evaluation_rules.enter_scores(
            evaluation, entry("recipients", survey=SURVEY_90), actor=actor
        )
        assert score.entered_by_id == actor.id


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ((10, 5, 3, 2), "79.00"),  # (1000 + 400 + 180 + 0) / 20
        ((1, 1, 1, 0), "80.00"),
        ((1, 0, 0, 2), "33.33"),
        ((2, 0, 1, 0), "86.67"),
        ((0, 0, 0, 5), "0.00"),
        ((7, 0, 0, 0), "100.00"),
    ],
)
def test_survey_score_formula(world, evaluation, counts, expected):
    survey = dict(zip(("very_satisfied", "satisfied", "basic", "unsatisfied"), counts, strict=True))
    assert evaluation_rules.survey_score(survey) == Decimal(expected)
    score = evaluation_rules.enter_scores(
        evaluation, entry("recipients", survey=survey), actor=world["people"]["yc-evaluator"]
    )
    assert score.total == Decimal(expected)
    assert score.survey == survey
    assert score.scores == {"recipients-satisfaction": expected}


def test_an_empty_survey_is_refused(world, evaluation):
    with pytest.raises(ValidationError) as refused:
        evaluation_rules.enter_scores(
            evaluation,
            entry("recipients", survey=dict.fromkeys(evaluation_rules.SURVEY_KEYS, 0)),
            actor=world["officer"],
        )
    assert "survey" in refused.value.fields


def survey_workbook(answers, column="满意度") -> io.BytesIO:
    book = Workbook()
    sheet = book.active
    sheet.append(["序号", column])
    for number, answer in enumerate(answers, start=1):
        sheet.append([number, answer])
    output = io.BytesIO()
    book.save(output)
    output.seek(0)
    return output


def test_the_survey_imported_from_a_workbook(world, evaluation):
    answers = ["非常满意"] * 10 + ["满意"] * 5 + ["基本满意"] * 3 + ["不满意"] * 2 + [None]
    score = evaluation_rules.import_survey(
        evaluation, survey_workbook(answers), entry(""), actor=world["people"]["yc-evaluator"]
    )
    assert score.party == "recipients"
    assert score.survey == {"very_satisfied": 10, "satisfied": 5, "basic": 3, "unsatisfied": 2}
    assert score.total == Decimal("79.00")


def test_a_bad_survey_workbook_is_refused_naming_the_row(world, evaluation):
    with pytest.raises(ValidationError) as refused:
        evaluation_rules.import_survey(
            evaluation,
            survey_workbook(["满意", "一般", "满意"]),
            entry(""),
            actor=world["officer"],
        )
    assert "第 3 行" in refused.value.message and "一般" in refused.value.message
    with pytest.raises(ValidationError) as no_column:
        evaluation_rules.import_survey(
            evaluation, survey_workbook(["满意"], column="评价"), entry(""), actor=world["officer"]
        )
    assert "满意度" in no_column.value.message


# ------------------------------------------------------------------ completion and grade


def test_completion_needs_every_weighted_party(world, evaluation):
    score_all(world, evaluation, skip=("finance",))
    with pytest.raises(Conflict) as refused:
        evaluation_rules.complete_evaluation(evaluation, actor=world["officer"])
    assert refused.value.code == "incomplete"
    assert evaluation_rules.missing_parties(evaluation) == ["finance"]
    assert evaluation.status is EvaluationStatus.OPEN


@pytest.mark.parametrize(
    ("third", "total", "grade"),
    [
        (THIRD, "90.00", "excellent"),  # exactly the threshold
        ({**THIRD, "third-quality": "31.45"}, "89.99", "good"),  # 20% x 89.95 = 17.99
        ({**THIRD, "third-quality": "0"}, "83.70", "good"),
    ],
)
def test_total_and_grade_boundaries(world, evaluation, third, total, grade):
    score_all(world, evaluation, third=third)
    evaluation_rules.complete_evaluation(evaluation, actor=world["officer"])
    assert evaluation.status is EvaluationStatus.COMPLETED and evaluation.completed_at
    assert evaluation.total == Decimal(total)
    assert evaluation.grade == grade


def test_low_totals_grade_pass_and_fail(world, after_term):
    low = {"very_satisfied": 0, "satisfied": 0, "basic": 1, "unsatisfied": 1}  # 30.00
    first, second = world["contracts"][:2]
    passed, failed = opened(world, first), opened(world, second)
    score_all(world, passed, survey={**low, "basic": 3})  # 45.00 -> 25x.9+15x.9+40x.45+20x.9
    score_all(world, failed, survey=low, third={k: "0" for k in THIRD})
    for found in (passed, failed):
        evaluation_rules.complete_evaluation(found, actor=world["officer"])
    assert (passed.total, passed.grade) == (Decimal("72.00"), "pass")
    assert (failed.total, failed.grade) == (Decimal("48.00"), "fail")


def test_a_party_without_weight_is_not_needed(world, after_term):
    profile = world["plan"].policy_profile
    profile.evaluation_weights = [
        {"party": "buyer", "weight": 40},
        {"party": "finance", "weight": 0},
        {"party": "recipients", "weight": 60},
        {"party": "third_party", "weight": 0},
    ]
    db.session.flush()
    found = opened(world)
    score_all(world, found, skip=("finance", "third_party"))
    with pytest.raises(ValidationError):
        evaluation_rules.enter_scores(
            found, entry("finance", scores=FINANCE), actor=world["finance"]
        )
    evaluation_rules.complete_evaluation(found, actor=world["officer"])
    assert found.total == Decimal("90.00")


def test_a_profile_without_indicators_takes_one_score_per_party(world, after_term):
    world["plan"].policy_profile.evaluation_indicators = []
    db.session.flush()
    found = opened(world)
    assert evaluation_rules.party_indicators(found, "finance")[0]["max"] == 100
    with pytest.raises(ValidationError) as refused:
        evaluation_rules.enter_scores(
            found, entry("finance", scores={"finance": "100.5"}), actor=world["finance"]
        )
    assert "scores.finance" in refused.value.fields
    evaluation_rules.enter_scores(
        found, entry("buyer", scores={"buyer": "80"}), actor=world["officer"]
    )
    evaluation_rules.enter_scores(
        found, entry("finance", scores={"finance": "70"}), actor=world["finance"]
    )
    evaluator = world["people"]["yc-evaluator"]
    evaluation_rules.enter_scores(found, entry("recipients", survey=SURVEY_90), actor=evaluator)
    evaluation_rules.enter_scores(
        found, entry("third_party", scores={"third_party": "85"}), actor=evaluator
    )
    evaluation_rules.complete_evaluation(found, actor=world["officer"])
    # 25% x 80 + 15% x 70 + 40% x 90 + 20% x 85
    assert found.total == Decimal("83.50") and found.grade == "good"


# ------------------------------------------------------------------ publication


def test_only_a_completed_evaluation_is_published(world, evaluation):
    with pytest.raises(Conflict):
        evaluation_rules.publish_evaluation(evaluation, actor=world["officer"])
    score_all(world, evaluation)
    evaluation_rules.complete_evaluation(evaluation, actor=world["officer"])
    with pytest.raises(Conflict):
        evaluation_rules.enter_scores(
            evaluation, entry("buyer", scores=BUYER), actor=world["officer"]
        )
    evaluation_rules.publish_evaluation(evaluation, actor=world["officer"])
    assert evaluation.status is EvaluationStatus.PUBLISHED and evaluation.published_at
    assert is_public(PublicationKind.EVALUATION, evaluation.id)
    publication = publication_of(PublicationKind.EVALUATION, evaluation.id)
    assert publication.title == "阳城县2026年政府购买居家养老服务第一片区绩效评价结果公告"
    assert publication.provider_id == evaluation.provider_id


# ------------------------------------------------------------------ next year's selection


def test_provider_record_for_next_years_selection(world, after_term):
    first, second, third = world["contracts"]
    assert past_records.provider_record(first.provider_id, 2026) is None
    second.provider_id = first.provider_id  # the same provider won two zones
    db.session.flush()
    excellent, weaker = opened(world, first), opened(world, second)
    score_all(world, excellent)
    score_all(world, weaker, third={k: "0" for k in THIRD})
    for found in (excellent, weaker):
        evaluation_rules.complete_evaluation(found, actor=world["officer"])
    record = past_records.provider_record(first.provider_id, 2026)
    assert record.total == Decimal("81.00")  # (90.00 + 72.00) / 2
    assert record.grade == "pass" and record.evaluations == 2
    assert record.acceptance is None and record.failures == []
    assert "81.00" in record.explanation

    final = {"final": True, "period_end": date(2026, 12, 31), "accepted_on": date(2027, 1, 8)}
    for contract, conclusion in ((first, "pass"), (second, "fail")):
        acceptance = acceptance_rules.draft_acceptance(
            contract,
            stage_input(**final, conclusion=conclusion),
            actor=world["people"]["drafter"],
        )
        acceptance_rules.approve_acceptance(acceptance, actor=world["people"]["approver"])
    record = past_records.provider_record(first.provider_id, 2026)
    assert record.acceptance is Conclusion.FAIL and record.acceptances == 2
    assert len(record.failures) == 1 and second.number in record.failures[0]
    assert past_records.provider_record(first.provider_id, 2025) is None
    assert past_records.provider_record(third.provider_id, 2026) is None
