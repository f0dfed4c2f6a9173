"""Scoring, ranking and the award rules."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from procurement.awards import services
from procurement.core.db import db
from procurement.core.errors import Conflict, ValidationError
from procurement.providers.models import Provider

KANGLE, FUSHOU, XIYANGHONG = "52140522MJ0A1B2C37", "91140522MA0K3L4M58", "92140522MA0T8U9W1P"


def provider(code):
    return db.session.scalar(select(Provider).where(Provider.credit_code == code))


def test_low_price_first_scoring_and_ranking(world):
    plan = world["plan"]
    zone = plan.zones[0]  # 凤城镇, 河北镇, 蟒河镇, 东冶镇
    services.set_scoring(
        services.selection_for(plan),
        bid_deadline="2026-06-15",
        price_weight=30,
        technical_weight=50,
        performance_weight=20,
    )
    services.save_bid(zone, provider(KANGLE), unit_price="33.00", technical_score="88")
    services.save_bid(zone, provider(FUSHOU), unit_price="30.00", technical_score="85")
    services.save_bid(zone, provider(XIYANGHONG), unit_price="20.00", technical_score="99")
    rows = {row.provider.credit_code: row for row in services.candidates(zone)}
    # The unqualified provider's lower offer is not the benchmark and it is not ranked.
    assert rows[XIYANGHONG].rank is None and rows[XIYANGHONG].total is None
    assert rows[FUSHOU].price_score == Decimal("30.00")  # the benchmark
    assert rows[KANGLE].price_score == Decimal("27.27")  # 30 / 33 x 30
    assert rows[FUSHOU].total == Decimal("72.50")  # 30 + 85 x 0.5
    assert rows[KANGLE].total == Decimal("71.27")
    assert (rows[FUSHOU].rank, rows[KANGLE].rank) == (1, 2)
    assert rows[KANGLE].near and not rows[FUSHOU].near
    assert rows[KANGLE].performance is None  # no evaluation yet: shown as such


def test_ties_go_to_the_provider_near_the_zone(world):
    zone = world["plan"].zones[0]
    services.save_bid(zone, provider(FUSHOU), unit_price="33.00", technical_score="80")
    services.save_bid(zone, provider(KANGLE), unit_price="33.00", technical_score="80")
    ranked = [row.provider.credit_code for row in services.candidates(zone)]
    assert ranked[:2] == [KANGLE, FUSHOU]


@pytest.mark.parametrize(
    ("weights", "field"),
    [
        ((9, 71, 20), "price_weight"),
        ((30, 50, 21), "price_weight"),
        ((30, 101, -31), "technical_weight"),
    ],
)
def test_weights_are_checked(world, weights, field):
    with pytest.raises(ValidationError) as refused:
        services.set_scoring(
            services.selection_for(world["plan"]),
            bid_deadline="2026-06-15",
            price_weight=weights[0],
            technical_weight=weights[1],
            performance_weight=weights[2],
        )
    assert field in refused.value.fields


@pytest.mark.parametrize(
    ("price", "ok"), [("35.00", True), ("35.01", False), ("0", False), ("33.333", False)]
)
def test_an_offer_above_the_cap_or_malformed_is_refused(world, price, ok):
    zone = world["plan"].zones[0]
    if ok:
        assert services.save_bid(zone, provider(KANGLE), unit_price=price).unit_price == Decimal(
            price
        )
    else:
        with pytest.raises(ValidationError) as refused:
            services.save_bid(zone, provider(KANGLE), unit_price=price)
        assert "unit_price" in refused.value.fields


def test_only_a_qualified_provider_is_awarded_and_only_once(world):
    zone = world["plan"].zones[0]
    services.save_bid(zone, provider(XIYANGHONG), unit_price="30.00", technical_score="90")
    services.save_bid(zone, provider(KANGLE), unit_price="33.00", technical_score="88")
    with pytest.raises(ValidationError) as refused:
        services.award_zone(zone, provider(XIYANGHONG), actor=world["officer"], rationale="x")
    assert refused.value.code == "not_qualified" and "无重大违法记录" in refused.value.message
    with pytest.raises(ValidationError):
        services.award_zone(zone, provider(KANGLE), actor=world["officer"], rationale=" ")
    award = services.award_zone(
        zone, provider(KANGLE), actor=world["officer"], rationale="综合得分第一"
    )
    assert award.rank == 1 and "52140522MJ0A1B2C37" in award.notice_text
    assert "凤城镇" in award.notice_text
    with pytest.raises(Conflict):
        services.award_zone(zone, provider(KANGLE), actor=world["officer"], rationale="again")
    with pytest.raises(Conflict):
        services.save_bid(zone, provider(FUSHOU), unit_price="30.00")


def test_a_provider_without_a_check_for_this_plan_cannot_be_awarded(world, ctx):
    from procurement.providers import services as providers
    from tests.providers.conftest import make_provider

    zone = world["plan"].zones[2]
    newcomer = make_provider(world["officer"], credit_code="91140522MA0Y9X8W78", name="新承接主体")
    providers.run_check(newcomer, actor=world["officer"], as_of=world["plan"].service_start)
    services.save_bid(zone, newcomer, unit_price="30.00", technical_score="90")
    with pytest.raises(ValidationError) as refused:
        services.award_zone(zone, newcomer, actor=world["officer"], rationale="x")
    assert refused.value.code == "not_checked"


def test_an_award_on_a_check_overtaken_by_new_records_is_refused(world):
    zone = world["plan"].zones[0]
    services.save_bid(zone, provider(KANGLE), unit_price="33.00", technical_score="88")
    from procurement.providers import services as providers

    providers.add_record(
        provider(KANGLE),
        "violation",
        {"decision_date": "2025-03-01", "violation_kind": "licence_revocation"},
    )
    with pytest.raises(ValidationError) as refused:
        services.award_zone(zone, provider(KANGLE), actor=world["officer"], rationale="x")
    assert refused.value.code == "stale_check"


def test_an_unscored_offer_is_not_ranked_and_sets_no_benchmark(world):
    zone = world["plan"].zones[0]
    services.save_bid(zone, provider(KANGLE), unit_price="33.00", technical_score="88")
    services.save_bid(zone, provider(FUSHOU), unit_price="10.00")
    rows = {row.provider.credit_code: row for row in services.candidates(zone)}
    assert rows[FUSHOU].rank is None and rows[KANGLE].price_score == Decimal("30.00")
