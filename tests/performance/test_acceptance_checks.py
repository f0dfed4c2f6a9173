"""Acceptance that cannot contradict the data (issue 14 item 7): the draft shows the
flagged records, visits after a death or an exit, complaints and sanctions; a 合格
conclusion under the profile's threshold, with records awaiting review, or against a
failed evaluation needs a written explanation, which the certificate prints; the
certificate's findings are written from the figures."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from procurement.core.db import db
from procurement.core.errors import Conflict, ValidationError
from procurement.performance import acceptance as acceptance_rules
from procurement.performance.models import Evaluation, EvaluationStatus
from procurement.settlements.models import Flag, Review, ServiceRecord, Unpaid
from procurement.supervision.models import Sanction, SanctionKind
from tests.helpers import in_app
from tests.performance.conftest import STAGE, stage_input
from tests.performance.test_acceptance import docx_text
from tests.performance.test_api import STAGE as API_STAGE
from tests.performance.test_pages import STAGE_FORM

EXPLAINED = "首两个月为服务对象入户评估和建档期，服务量按计划逐月增加。"


def draft(world, contract=None, **changes):
    return acceptance_rules.draft_acceptance(
        contract or world["contracts"][0], stage_input(**changes), actor=world["people"]["drafter"]
    )


def set_threshold(contract, threshold: Decimal) -> None:
    contract.plan.policy_profile.acceptance_threshold = threshold
    db.session.flush()


def rate_of(contract) -> Decimal:
    rate = acceptance_rules.acceptance_figures(contract, *STAGE).delivery_rate
    assert rate is not None and Decimal("0") < rate < Decimal("100")
    return rate


def records(contract, n: int, month: date = STAGE[0]) -> list[ServiceRecord]:
    found = db.session.scalars(
        select(ServiceRecord)
        .where(ServiceRecord.contract_id == contract.id, ServiceRecord.month == month)
        .order_by(ServiceRecord.id)
        .limit(n)
    ).all()
    assert len(found) == n
    return list(found)


# ------------------------------------------------------------------ the threshold


@pytest.mark.parametrize(("above", "refused"), [(Decimal("0.00"), False), (Decimal("0.01"), True)])
def test_a_pass_under_the_threshold_needs_an_explanation(world, above, refused):
    contract = world["contracts"][0]
    rate = rate_of(contract)
    set_threshold(contract, rate + above)  # delivered exactly at it, or 0.01% under it
    if not refused:
        assert draft(world, explanation="").explanation == ""
        return
    with pytest.raises(ValidationError) as error:
        draft(world, explanation="")
    message = error.value.fields["explanation"][0]
    assert "合格结论的说明" in message and f"{rate:.1f}%" in message
    assert draft(world, explanation=EXPLAINED).explanation == EXPLAINED


def test_a_failed_conclusion_needs_no_explanation(world):
    contract = world["contracts"][0]
    set_threshold(contract, Decimal("100.00"))
    acceptance = draft(
        world, conclusion="fail", conclusion_text="服务量远低于合同约定。", explanation=""
    )
    assert acceptance.explanation == ""


def test_the_profile_sets_the_threshold_default_90(world):
    assert world["contracts"][0].plan.policy_profile.acceptance_threshold == Decimal("90.00")


# ------------------------------------------------------------------ the records


@pytest.mark.parametrize("pending", [0, 1])
def test_records_awaiting_review_need_an_explanation(world, pending):
    contract = world["contracts"][0]
    set_threshold(contract, rate_of(contract))
    for record in records(contract, pending):
        record.flags, record.review = int(Flag.DUPLICATE), None
        record.unpaid_reason = Unpaid.FLAG_PENDING.value
    db.session.flush()
    assert acceptance_rules.acceptance_figures(contract, *STAGE).pending_flags == pending
    if not pending:
        assert draft(world, explanation="").pending_flags == 0
        return
    with pytest.raises(ValidationError) as error:
        draft(world, explanation="")
    assert "1条标记的服务记录尚待复核" in error.value.fields["explanation"][0]
    assert draft(world, explanation=EXPLAINED).pending_flags == 1


def test_flags_deaths_and_exits_of_the_period_are_counted(world):
    contract = world["contracts"][0]
    before = acceptance_rules.acceptance_figures(contract, *STAGE)
    july = records(contract, 5)
    for record in july[:2]:
        record.flags |= int(Flag.AFTER_DEATH)
    july[2].flags |= int(Flag.AFTER_EXIT)
    july[3].flags |= int(Flag.TOO_SHORT)
    july[3].review = Review.CONFIRMED.value
    # the same in September: outside the stage, not counted
    july[4].flags |= int(Flag.AFTER_DEATH)
    july[4].month = date(2026, 9, 1)
    db.session.flush()
    figures = acceptance_rules.acceptance_figures(contract, *STAGE)
    assert figures.visits_after_death == before.visits_after_death + 2
    assert figures.visits_after_exit == before.visits_after_exit + 1
    assert figures.confirmed_flags == before.confirmed_flags + 1
    acceptance = draft(world)
    assert acceptance.visits_after_death == figures.visits_after_death
    assert acceptance.confirmed_flags == figures.confirmed_flags


def test_sanctions_decided_in_the_period_are_counted(world):
    contract = world["contracts"][0]
    for day in (
        STAGE[0] - timedelta(days=1),
        STAGE[0],
        STAGE[1],
        STAGE[1] + timedelta(days=1),
    ):
        db.session.add(
            Sanction(
                provider_id=contract.provider_id,
                contract_id=contract.id,
                region_code=contract.region_code,
                kind=SanctionKind.INTERVIEW,
                ground="complaints",
                decided_on=day,
            )
        )
    db.session.flush()
    assert acceptance_rules.acceptance_figures(contract, *STAGE).sanctions == 2
    assert draft(world).sanctions == 2


# ------------------------------------------------------------------ approval and certificate


def test_a_draft_the_figures_turned_against_is_not_approved_unexplained(world):
    contract = world["contracts"][0]
    set_threshold(contract, rate_of(contract))
    acceptance = draft(world, explanation="")
    assert acceptance_rules.approval_problems(acceptance) == []
    set_threshold(contract, Decimal("90.00"))
    problems = acceptance_rules.approval_problems(acceptance)
    assert any("合格结论的说明" in problem for problem in problems)
    with pytest.raises(Conflict):
        acceptance_rules.approve_acceptance(acceptance, actor=world["people"]["approver"])


def test_the_certificate_is_written_from_the_figures_and_prints_the_explanation(world):
    contract = world["contracts"][0]
    july = records(contract, 3)
    july[0].flags |= int(Flag.AFTER_DEATH)
    july[1].flags |= int(Flag.AFTER_EXIT)
    july[2].flags |= int(Flag.TOO_LONG)
    july[2].review = Review.CONFIRMED.value
    db.session.flush()
    acceptance = acceptance_rules.approve_acceptance(
        draft(world), actor=world["people"]["approver"]
    )
    text = docx_text(acceptance_rules.certificate_bytes(acceptance))
    rate = acceptance_rules.percent(acceptance.delivered_quantity, acceptance.contracted_quantity)
    assert (
        f"经核查，本期合同约定服务{acceptance.contracted_quantity:,.2f}小时，"
        f"已结算{acceptance.delivered_quantity:,.2f}小时，完成率{rate}，低于90%的验收标准"
    ) in text
    served, owed = acceptance.recipients_served, acceptance.contracted_recipients
    assert f"合同约定服务对象{owed}人，实际服务{served}人" in text
    assert f"服务对象死亡后的服务记录{acceptance.visits_after_death}条" in text
    assert f"经复核不予结算{acceptance.confirmed_flags}条" in text
    assert f"合格结论的说明：{stage_input().explanation}" in text
    assert "均达到合同约定" not in text


def test_a_certificate_above_the_threshold_says_so_and_has_no_explanation(world):
    contract = world["contracts"][0]
    set_threshold(contract, Decimal("1.00"))
    acceptance = acceptance_rules.approve_acceptance(
        draft(world, explanation=""), actor=world["people"]["approver"]
    )
    text = docx_text(acceptance_rules.certificate_bytes(acceptance))
    assert "达到1%的验收标准" in text and "低于" not in text.split("验收意见：")[1][:60]
    assert "合格结论的说明" not in text


# ------------------------------------------------------------------ against the evaluation


def failed_evaluation(contract, grade: str = "fail", total: str = "53.95") -> Evaluation:
    evaluation = Evaluation(
        contract_id=contract.id,
        provider_id=contract.provider_id,
        region_code=contract.region_code,
        year=contract.plan.year,
        status=EvaluationStatus.PUBLISHED,
        weights=[],
        indicators=[],
        total=Decimal(total),
        grade=grade,
    )
    db.session.add(evaluation)
    db.session.flush()
    return evaluation


@pytest.mark.parametrize(("grade", "refused"), [("pass", False), ("fail", True)])
def test_a_pass_against_a_failed_evaluation_needs_an_explanation(world, grade, refused):
    contract = world["contracts"][0]
    set_threshold(contract, rate_of(contract))
    evaluation = failed_evaluation(contract, grade=grade)
    if not refused:
        acceptance = draft(world, explanation="")
        assert acceptance_rules.disagreeing_evaluation(contract, acceptance.conclusion) is None
        return
    with pytest.raises(ValidationError) as error:
        draft(world, explanation="")
    assert "绩效评价为不合格（53.95分）" in error.value.fields["explanation"][0]
    acceptance = draft(world, explanation=EXPLAINED)
    assert acceptance_rules.disagreeing_evaluation(contract, acceptance.conclusion) is evaluation


def test_the_approver_sees_acceptance_and_evaluation_side_by_side(app, client, site):
    from procurement.contracts.models import Contract

    contract_id = site["contracts"][0]
    in_app(app, lambda: failed_evaluation(db.session.get(Contract, contract_id)))
    client.login("drafter")
    saved = client.post(f"/performance/contracts/{contract_id}/acceptances/new", STAGE_FORM)
    assert saved.status_code == 302, saved.get_data(as_text=True)[-1500:]
    client.logout()
    client.login("approver")
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert 'data-test="disagreement"' in page and "履约验收与绩效评价结论不一致" in page
    side = page.split('data-test="disagreement"')[1]
    assert "合格" in side.split('data-test="disagreement-acceptance">')[1][:20]
    assert "53.95" in side.split('data-test="disagreement-evaluation">')[1][:300]
    assert 'data-test="pending-flags"' in page and 'data-test="after-death"' in page


def test_the_form_refuses_an_unexplained_pass_next_to_the_field(client, site):
    client.login("drafter")
    refused = client.post(
        f"/performance/contracts/{site['contracts'][0]}/acceptances/new",
        {**STAGE_FORM, "explanation": ""},
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="explanation-error"' in page and "合格结论的说明" in page


def test_the_api_shows_the_checks_and_refuses_an_unexplained_pass(api, site, make_token):
    token = make_token("drafter")
    contract = site["contracts"][0]
    figures = api.get(
        f"/api/v1/contracts/{contract}/acceptance-figures"
        "?period_start=2026-07-01&period_end=2026-08-31",
        token=token,
    ).json
    assert figures["threshold"] == "90.00" and figures["under_threshold"] is True
    for name in ("pending_flags", "visits_after_death", "visits_after_exit", "sanctions"):
        assert isinstance(figures[name], int)
    refused = api.post(
        f"/api/v1/contracts/{contract}/acceptances",
        json={**API_STAGE, "explanation": ""},
        token=token,
    )
    assert refused.status_code == 422
    assert "合格结论的说明" in refused.json["error"]["fields"]["explanation"][0]
    created = api.post(f"/api/v1/contracts/{contract}/acceptances", json=API_STAGE, token=token)
    assert created.status_code == 201, created.json
    assert created.json["explanation"] == API_STAGE["explanation"]
    assert created.json["disagreeing_evaluation"] is None
