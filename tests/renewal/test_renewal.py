"""Next year: past records in the selection, and a plan proposed from this year's execution."""

from datetime import date
from decimal import Decimal

import pytest
from flask import current_app
from sqlalchemy import select

from procurement.awards import services as awards
from procurement.contracts import services as contracts
from procurement.contracts.models import Contract
from procurement.core.db import db
from procurement.core.errors import Conflict, ValidationError
from procurement.demo.care import load_demo_records
from procurement.performance.models import Evaluation, EvaluationStatus
from procurement.plans.models import PurchasePlan
from procurement.policies.models import PolicyProfile
from procurement.policies.services import copy_profile
from procurement.providers.models import Provider
from procurement.renewal import services
from procurement.settlements import services as settlements
from procurement.settlements.models import ServiceRecord, Settlement, Unpaid

KANGLE, FUSHOU = "52140522MJ0A1B2C37", "91140522MA0K3L4M58"


def provider(code):
    return db.session.scalar(select(Provider).where(Provider.credit_code == code))


def next_year_plan(plan) -> PurchasePlan:
    """A 2027 plan standing in for next year's (only its year and profile matter here)."""
    return PurchasePlan(
        year=plan.year + 1, region_code=plan.region_code, policy_profile=plan.policy_profile
    )


def evaluated(contract, total, grade):
    evaluation = Evaluation(
        region_code=contract.region_code,
        contract_id=contract.id,
        provider_id=contract.provider_id,
        year=contract.plan.year,
        status=EvaluationStatus.COMPLETED,
        weights=[],
        indicators=[],
        total=Decimal(total),
        grade=grade,
    )
    db.session.add(evaluation)
    db.session.flush()
    return evaluation


def test_last_years_score_becomes_the_past_performance(care):
    contract = db.session.scalars(select(Contract).order_by(Contract.id)).first()
    evaluated(contract, "86.50", "good")
    record = services.past_record(contract.provider, next_year_plan(care["plan"]))
    assert record.score == Decimal("86.50")
    assert (record.caution, record.excluded) == (None, False)
    other = provider(KANGLE) if contract.provider.credit_code != KANGLE else provider(FUSHOU)
    assert services.past_record(other, next_year_plan(care["plan"])) is None


def test_a_failed_grade_excludes_or_flags_as_the_profile_says(care):
    contract = db.session.scalars(select(Contract).order_by(Contract.id)).first()
    evaluated(contract, "55.00", "fail")
    plan = next_year_plan(care["plan"])
    record = services.past_record(contract.provider, plan)
    assert record.excluded and record.caution
    plan.policy_profile.failed_provider_rule = "flag"
    record = services.past_record(contract.provider, plan)
    assert not record.excluded and record.caution


def test_a_terminated_contract_is_named(care):
    contract = db.session.scalars(select(Contract).order_by(Contract.id)).first()
    contracts.terminate_contract(
        contract, reason="false_records", note="虚报服务记录", on="2026-09-01"
    )
    record = services.past_record(contract.provider, next_year_plan(care["plan"]))
    assert record.excluded and contract.number in record.caution and record.score is None


def test_an_excluded_offer_is_listed_but_neither_ranked_nor_awarded(world, bid_season, monkeypatch):
    plan = world["plan"]
    zone = plan.zones[0]
    awards.set_scoring(
        awards.selection_for(plan),
        bid_deadline="2026-06-15",
        price_weight=30,
        technical_weight=50,
        performance_weight=20,
    )
    awards.save_bid(zone, provider(KANGLE), unit_price="33.00", technical_score="88")
    awards.save_bid(zone, provider(FUSHOU), unit_price="30.00", technical_score="85")
    fushou = provider(FUSHOU).id

    def source(candidate, _plan):
        if candidate.id == fushou:
            return awards.PastRecord(Decimal("50"), "2025年绩效评价不合格", excluded=True)
        return awards.PastRecord(Decimal("92"))

    monkeypatch.setitem(current_app.extensions, awards.EXTENSION, (source,))
    rows = {row.provider.credit_code: row for row in awards.candidates(zone)}
    assert rows[FUSHOU].rank is None and rows[FUSHOU].caution == "2025年绩效评价不合格"
    assert rows[KANGLE].rank == 1 and rows[KANGLE].performance == Decimal("92")
    with pytest.raises(ValidationError) as caught:
        awards.award_zone(zone, provider(FUSHOU), actor=world["officer"], rationale="x")
    assert caught.value.code == "excluded"


def _confirm_july(care):
    load_demo_records(care["officer"], care["plan"])
    for statement in db.session.scalars(
        select(Settlement).where(Settlement.month == date(2026, 7, 1))
    ):
        pending = db.session.scalars(
            select(ServiceRecord.id).where(
                ServiceRecord.contract_id == statement.contract_id,
                ServiceRecord.month == statement.month,
                ServiceRecord.unpaid_reason == Unpaid.FLAG_PENDING.value,
            )
        ).all()
        if pending:
            settlements.review(
                list(pending), decision="cleared", note="核实", actor=care["officer"]
            )
        settlements.confirm(statement, actor=care["finance"], amount_seen=str(statement.amount))


def test_next_years_plan_is_proposed_from_execution(care):
    _confirm_july(care)
    plan = care["plan"]
    found = services.proposal(plan)
    assert not found.ready  # no 2027 profile yet
    assert "2027" in found.problems[0]
    copy_profile(db.session.get(PolicyProfile, plan.policy_profile_id), 2027)
    found = services.proposal(plan)
    assert found.ready, found.problems
    for zone in found.zones:
        statement_peak = max(
            s.recipients
            for s in db.session.scalars(select(Settlement).join(Contract))
            if s.contract.zone_id == zone.zone_id
        )
        assert zone.served_peak == statement_peak
        assert zone.proposed == max(zone.served_peak, zone.in_service)
        assert zone.settled > 0
    created = services.start_next_year(plan, actor=care["officer"])
    assert created.year == 2027 and "2027" in created.title
    assert created.service_start == date(2027, 7, 1)
    assert [z.expected_recipients for z in created.zones] == [z.proposed for z in found.zones]
    assert [z.township_codes for z in created.zones] == [z.township_codes for z in plan.zones]
    assert len(created.budget_lines) == len(plan.budget_lines)
    with pytest.raises(Conflict):
        services.start_next_year(plan, actor=care["officer"])


def test_next_year_api(care, app):
    plan_id = care["plan"].id
    copy_profile(db.session.get(PolicyProfile, care["plan"].policy_profile_id), 2027)
    db.session.commit()
    with app.test_client() as http:
        from procurement.accounts import services as accounts

        _token, secret = accounts.issue_token(care["officer"])
        db.session.commit()
        headers = {"Authorization": f"Bearer {secret}"}
        proposal = http.get(f"/api/v1/plans/{plan_id}/next-year", headers=headers)
    assert proposal.status_code == 200
    assert proposal.get_json()["ready"] is True
    assert len(proposal.get_json()["zones"]) == 3
