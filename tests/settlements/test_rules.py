"""Each settlement rule and each flag, on both sides of its boundary (rules.evaluate)."""

from datetime import date, datetime
from decimal import Decimal

import pandas as pd
import pytest

from procurement.policies.models import EntitlementModel, PolicyProfile
from procurement.settlements import rules
from procurement.settlements.models import Flag

YANGCHENG_RULES = [
    {"category": "extreme_poverty", "min_age": 60, "min_capability_level": None},
    {"category": "minimum_living", "min_age": 60, "min_capability_level": 1},
    {"category": "minimum_living", "min_age": 80, "min_capability_level": None},
]
ZONE = "140522100"
OTHER_TOWNSHIP = "140522202"


def profile(**changes) -> PolicyProfile:
    values = dict(
        id=1,
        entitlement_model=EntitlementModel.HOURS_PER_MONTH,
        hours_per_month=Decimal("4.00"),
        hourly_rate_cap=Decimal("35.00"),
        visits_per_year=None,
        unit_price_per_visit=None,
        visits_must_be_split=True,
        eligibility_rules=YANGCHENG_RULES,
        exclude_long_term_care=True,
        requires_residence=True,
        min_visit_minutes=15,
        max_visit_minutes=480,
    )
    values.update(changes)
    return PolicyProfile(**values)


def terms(p=None, **changes) -> dict[int, rules.Terms]:
    p = p or profile()
    hourly = p.entitlement_model is EntitlementModel.HOURS_PER_MONTH
    values = dict(
        contract_id=1,
        provider_id=1,
        region_code="140522",
        townships=frozenset({ZONE, "140522107"}),
        items=frozenset({"life-meal", "life-clean"}),
        start=date(2026, 7, 1),
        end=date(2026, 12, 31),
        profile=p,
        hourly=hourly,
        rate=Decimal("35.00") if hourly else Decimal("50.00"),
        cap_minutes=int(p.hours_per_month * 60) if hourly else None,
        visits_per_year=None if hourly else p.visits_per_year,
        min_minutes=p.min_visit_minutes,
        max_minutes=p.max_visit_minutes,
        must_split=p.visits_must_be_split,
    )
    values.update(changes)
    return {1: rules.Terms(**values)}


def person(
    rid=1,
    *,
    birth=date(1940, 3, 1),
    category="extreme_poverty",
    level=None,
    ltc=False,
    start=date(2026, 7, 1),
    exit_reason=None,
    exit_date=None,
    township=ZONE,
):
    return (rid, birth, category, level, ltc, True, True, start, exit_reason, exit_date, township)


def visit(
    start: str,
    minutes: int,
    *,
    rid=1,
    worker="W1",
    item="life-meal",
    township=ZONE,
    record=None,
    review=None,
):
    begin = datetime.fromisoformat(start)
    return {
        "contract_id": 1,
        "provider_id": 1,
        "record_id": record or f"{rid}-{worker}-{start}",
        "recipient_id": rid,
        "worker_id": worker,
        "item_code": item,
        "township_code": township,
        "started_at": begin,
        "ended_at": begin + pd.Timedelta(minutes=minutes),
        "minutes": minutes,
        "month": pd.Timestamp(begin.year, begin.month, 1),
        "review": review,
    }


def run(visits, people=None, contract_terms=None, prior_visits=None, prior=None):
    frame = pd.DataFrame(visits)
    for column in ("started_at", "ended_at", "month"):
        frame[column] = frame[column].astype("datetime64[s]")
    standing = rules.Standing(people or [person()])
    return rules.evaluate(frame, contract_terms or terms(), standing, prior_visits, prior)


def result(out, i):
    row = out.iloc[i]
    return int(row["flags"]), int(row["paid_minutes"]), row["unpaid_reason"]


def test_four_hours_are_paid_and_a_minute_more_is_not():
    out = run([visit("2026-07-03 09:00", 120), visit("2026-07-10 09:00", 120)])
    assert [result(out, i) for i in range(2)] == [(0, 120, None), (0, 120, None)]
    out = run([visit("2026-07-03 09:00", 120), visit("2026-07-10 09:00", 121)])
    assert result(out, 1) == (0, 120, "over_entitlement")


def test_no_carry_over_to_the_next_month():
    out = run(
        [
            visit("2026-07-03 09:00", 60),
            visit("2026-08-03 09:00", 200),
            visit("2026-08-10 09:00", 100),
        ]
    )
    assert result(out, 1) == (0, 200, None)
    assert result(out, 2) == (0, 40, "over_entitlement")  # 240 in August, July's rest is gone


def test_entitlement_is_used_in_the_order_of_the_visits():
    out = run([visit("2026-07-20 09:00", 200), visit("2026-07-03 09:00", 100)])
    assert result(out, 1) == (0, 100, None)
    assert result(out, 0) == (0, 140, "over_entitlement")


@pytest.mark.parametrize(("minutes", "flagged"), [(15, False), (14, True)])
def test_too_short(minutes, flagged):
    flags, paid, reason = result(run([visit("2026-07-03 09:00", minutes)]), 0)
    assert bool(flags & Flag.TOO_SHORT) is flagged
    assert (paid, reason) == ((0, "flag_pending") if flagged else (minutes, None))


@pytest.mark.parametrize(("minutes", "flagged"), [(480, False), (481, True)])
def test_too_long(minutes, flagged):
    p = profile(visits_must_be_split=False, hours_per_month=Decimal("10.00"))
    flags, _paid, _reason = result(
        run([visit("2026-07-03 08:00", minutes)], contract_terms=terms(p)), 0
    )
    assert bool(flags & Flag.TOO_LONG) is flagged


@pytest.mark.parametrize(("minutes", "flagged"), [(239, False), (240, True)])
def test_one_visit_using_the_whole_month_when_visits_must_be_split(minutes, flagged):
    flags, _paid, reason = result(run([visit("2026-07-03 08:00", minutes)]), 0)
    assert bool(flags & Flag.WHOLE_ENTITLEMENT) is flagged
    assert reason == ("flag_pending" if flagged else None)


def test_whole_month_in_one_visit_is_fine_where_splitting_is_not_required():
    p = profile(visits_must_be_split=False)
    flags, paid, _ = result(run([visit("2026-07-03 08:00", 240)], contract_terms=terms(p)), 0)
    assert (flags, paid) == (0, 240)


def test_a_cleared_flag_is_paid_and_a_confirmed_one_is_not():
    out = run(
        [
            visit("2026-07-03 09:00", 10, review="cleared"),
            visit("2026-07-04 09:00", 10, review="confirmed"),
        ]
    )
    assert result(out, 0) == (int(Flag.TOO_SHORT), 10, None)
    assert result(out, 1) == (int(Flag.TOO_SHORT), 0, "flag_confirmed")


def test_one_worker_in_two_homes_at_once():
    people = [person(1), person(2)]
    touching = run(
        [visit("2026-07-03 09:00", 60, rid=1), visit("2026-07-03 10:00", 60, rid=2)], people
    )
    assert list(touching["flags"]) == [0, 0]
    overlapping = run(
        [visit("2026-07-03 09:00", 60, rid=1), visit("2026-07-03 09:59", 60, rid=2)], people
    )
    assert all(f & Flag.WORKER_OVERLAP for f in overlapping["flags"])
    two_workers = run(
        [
            visit("2026-07-03 09:00", 60, rid=1, worker="W1"),
            visit("2026-07-03 09:30", 60, rid=2, worker="W2"),
        ],
        people,
    )
    assert list(two_workers["flags"]) == [0, 0]


def test_duplicate_visits_to_one_person():
    same = run(
        [
            visit("2026-07-03 09:00", 60, worker="W1", record="a"),
            visit("2026-07-03 09:00", 60, worker="W2", record="b"),
        ]
    )
    assert all(f & Flag.DUPLICATE for f in same["flags"])
    later = run(
        [visit("2026-07-03 09:00", 60, worker="W1"), visit("2026-07-03 10:00", 60, worker="W2")]
    )
    assert list(later["flags"]) == [0, 0]


def test_visits_after_death_are_flagged_and_not_paid():
    people = [person(exit_reason="death", exit_date=date(2026, 7, 15))]
    out = run(
        [
            visit("2026-07-14 23:00", 30),
            visit("2026-07-15 08:00", 30),
            visit("2026-08-02 08:00", 30),
        ],
        people,
    )
    assert result(out, 0) == (0, 30, None)
    assert result(out, 1) == (int(Flag.AFTER_DEATH), 0, "died")
    assert result(out, 2) == (int(Flag.AFTER_DEATH), 0, "died")


def test_moving_away_ends_the_entitlement_from_the_next_month():
    people = [person(exit_reason="moved_away", exit_date=date(2026, 7, 20))]
    out = run([visit("2026-07-25 09:00", 60), visit("2026-08-01 09:00", 60)], people)
    assert result(out, 0) == (0, 60, None)
    assert result(out, 1) == (int(Flag.AFTER_EXIT), 0, "exited")


def test_service_starts_the_month_after_approval():
    people = [person(start=date(2026, 8, 1))]
    out = run([visit("2026-07-31 09:00", 60), visit("2026-08-01 09:00", 60)], people)
    assert result(out, 0) == (0, 0, "not_registered")
    assert result(out, 1) == (0, 60, None)


def test_long_term_care_insurance_excludes():
    out = run([visit("2026-07-03 09:00", 60)], [person(ltc=True)])
    assert result(out, 0) == (0, 0, "long_term_care")


def test_eighty_on_the_first_of_the_month_is_entitled_that_month():
    people = [
        person(1, birth=date(1946, 7, 1), category="minimum_living", level=0),
        person(2, birth=date(1946, 7, 2), category="minimum_living", level=0),
    ]
    out = run(
        [
            visit("2026-07-03 09:00", 60, rid=1, worker="A"),
            visit("2026-07-03 09:00", 60, rid=2, worker="B"),
            visit("2026-08-03 09:00", 60, rid=2, worker="B"),
        ],
        people,
    )
    assert result(out, 0) == (0, 60, None)
    assert result(out, 1) == (0, 0, "ineligible")  # 79 on 1 July
    assert result(out, 2) == (0, 60, None)


def test_minimum_living_under_80_needs_a_disability():
    people = [
        person(1, birth=date(1955, 1, 1), category="minimum_living", level=1),
        person(2, birth=date(1955, 1, 1), category="minimum_living", level=0),
    ]
    out = run(
        [
            visit("2026-07-03 09:00", 60, rid=1, worker="A"),
            visit("2026-07-03 09:00", 60, rid=2, worker="B"),
        ],
        people,
    )
    assert result(out, 0)[2] is None
    assert result(out, 1)[2] == "ineligible"


def test_outside_the_zone_and_items_outside_the_contract():
    out = run(
        [visit("2026-07-03 09:00", 60, township=OTHER_TOWNSHIP)], [person(township=OTHER_TOWNSHIP)]
    )
    assert result(out, 0) == (int(Flag.OUTSIDE_ZONE), 0, "outside_zone")
    out = run([visit("2026-07-04 09:00", 60, item="medical-checkup")])
    assert result(out, 0) == (0, 0, "item_not_in_contract")


def test_the_zone_is_the_rosters_township_not_the_platforms():
    """Issue 14: a provider writing its own township for an elder of another zone is not
    paid; an elder of the zone is paid whatever the platform wrote, and a mismatch shows."""
    mismatch, outside = int(Flag.TOWNSHIP_MISMATCH), int(Flag.OUTSIDE_ZONE)
    out = run([visit("2026-07-03 09:00", 60)], [person(township=OTHER_TOWNSHIP)])
    assert result(out, 0) == (outside | mismatch, 0, "outside_zone")
    out = run([visit("2026-07-03 09:00", 60, township=OTHER_TOWNSHIP)], [person()])
    assert result(out, 0) == (mismatch, 60, None)
    out = run([visit("2026-07-03 09:00", 60)], [person()])
    assert result(out, 0) == (0, 60, None)


def two_contracts() -> dict[int, rules.Terms]:
    second = terms(contract_id=2, provider_id=2)[1]
    return {**terms(), 2: second}


def under(contract_id: int, record: dict) -> dict:
    return {**record, "contract_id": contract_id, "provider_id": contract_id}


def test_the_month_is_the_persons_across_contracts_earliest_visit_first():
    """Issue 14: two providers bill one elder 3 h each in July: 4 h are paid in all, the
    earlier visit first, and the later one says the entitlement went to another contract."""
    other = int(Flag.OTHER_CONTRACT)
    first = under(1, visit("2026-07-03 09:00", 180, worker="A"))
    second = under(2, visit("2026-07-05 09:00", 180, worker="B"))
    out = run([first, second], contract_terms=two_contracts())
    assert result(out, 0) == (other, 180, None)
    assert result(out, 1) == (other, 60, "used_elsewhere")
    # the other way round: the order of the visits decides, not the contract or the file
    out = run(
        [under(1, visit("2026-07-06 09:00", 180, worker="A")), second],
        contract_terms=two_contracts(),
    )
    assert result(out, 0) == (other, 60, "used_elsewhere")
    assert result(out, 1) == (other, 180, None)
    # one contract's own visits past the entitlement stay "over the entitlement"
    out = run(
        [first, under(1, visit("2026-07-04 09:00", 180, worker="A")), second],
        contract_terms=two_contracts(),
    )
    assert [result(out, i)[1:] for i in range(3)] == [
        (180, None),
        (60, "over_entitlement"),
        (0, "used_elsewhere"),
    ]


def test_one_elder_at_the_same_time_under_two_providers_is_a_duplicate():
    out = run(
        [
            under(1, visit("2026-07-03 09:00", 60, worker="A")),
            under(2, visit("2026-07-03 09:30", 60, worker="B")),
        ],
        contract_terms=two_contracts(),
    )
    for i in range(2):
        flags, paid, reason = result(out, i)
        assert flags & Flag.DUPLICATE and (paid, reason) == (0, "flag_pending")


def test_a_confirmed_statement_elsewhere_is_taken_first():
    july = date(2026, 7, 1)
    out = run([visit("2026-07-03 09:00", 60)], prior={(1, july): 200})
    assert result(out, 0) == (0, 40, "used_elsewhere")
    out = run([visit("2026-07-03 09:00", 40)], prior={(1, july): 200})
    assert result(out, 0) == (0, 40, None)
    out = run([visit("2026-08-03 09:00", 60)], prior={(1, july): 240})
    assert result(out, 0) == (0, 60, None)  # another month: nothing carried over


def xinjiang() -> PolicyProfile:
    """The visits model: 36 visits a person a year (seed 000 §2(3))."""
    return profile(
        entitlement_model=EntitlementModel.VISITS_PER_YEAR,
        hours_per_month=None,
        hourly_rate_cap=None,
        visits_per_year=36,
        unit_price_per_visit=Decimal("50.00"),
        visits_must_be_split=False,
    )


def test_visits_model_pays_each_visit_up_to_the_year():
    p = xinjiang()
    out = run(
        [visit("2026-07-03 09:00", 60), visit("2026-07-10 09:00", 60)],
        contract_terms=terms(p),
        prior_visits={(1, 2026, 9): 35},  # under another contract, earlier in the year
    )
    assert result(out, 0) == (0, 60, None)
    assert result(out, 1) == (0, 0, "over_visits")


def test_visits_model_pays_within_the_contracts_share_of_the_year():
    """Issue 14: a contract of July to December pays 18 of the 36 visits a year (its
    budget was reckoned so); the floor is owed, not a reason to pay twice the budget."""
    p = xinjiang()
    half_year = terms(p)
    assert half_year[1].visits_share(2026) == 18 and half_year[1].visits_share(2027) == 0
    seven_months = terms(p, start=date(2026, 6, 1))[1]
    assert seven_months.visits_share(2026) == 21
    spanning = terms(p, start=date(2026, 10, 1), end=date(2027, 9, 30))[1]
    assert (spanning.visits_share(2026), spanning.visits_share(2027)) == (9, 27)
    visits = [visit("2026-12-03 09:00", 60, record="a"), visit("2026-12-10 09:00", 60, record="b")]
    out = run(visits, contract_terms=half_year, prior_visits={(1, 2026, 1): 17})
    assert [result(out, i)[1:] for i in range(2)] == [(60, None), (0, "over_visits")]
    out = run(visits, contract_terms=half_year, prior_visits={(1, 2026, 1): 16})
    assert [result(out, i)[1:] for i in range(2)] == [(60, None), (60, None)]


def test_amounts_round_half_up_per_person():
    assert int(rules.line_amount_fen(240, 0, 3500, True)) == 14000
    assert int(rules.line_amount_fen(250, 0, 3500, True)) == 14583  # 145.833...
    assert int(rules.line_amount_fen(3, 0, 3510, True)) == 176  # 1.755 -> 1.76
    assert int(rules.line_amount_fen(0, 3, 5000, False)) == 15000


def test_totals_per_contract_month():
    visits = [
        visit("2026-07-03 09:00", 200),
        visit("2026-07-10 09:00", 100),
        visit("2026-07-11 09:00", 10),
    ]
    frame = pd.DataFrame(visits)
    for column in ("started_at", "ended_at", "month"):
        frame[column] = frame[column].astype("datetime64[s]")
    standing = rules.Standing([person()])
    out = rules.evaluate(frame, terms(), standing)
    totals = rules.totals(frame, out, terms())[(1, date(2026, 7, 1))]
    assert (totals.records, totals.flagged, totals.recipients) == (3, 1, 1)
    assert (totals.minutes, totals.paid_minutes, totals.amount_fen) == (310, 240, 14000)


def test_a_move_takes_the_zone_from_the_month_after():
    """Issue 14 and seed 000 §3(1): the zone is the township the person lived in on the
    visit's date; a move takes effect the month after it (the roster holds the new one)."""
    moves = pd.DataFrame([(1, ZONE, OTHER_TOWNSHIP, date(2026, 8, 1))], columns=rules.MOVE_COLUMNS)
    people = [person(township=OTHER_TOWNSHIP)]  # moved away from the zone in July
    frame = pd.DataFrame([visit("2026-07-31 09:00", 60), visit("2026-08-01 09:00", 60)])
    for column in ("started_at", "ended_at", "month"):
        frame[column] = frame[column].astype("datetime64[s]")
    out = rules.evaluate(frame, terms(), rules.Standing(people, moves))
    assert result(out, 0) == (0, 60, None)
    outside = int(Flag.OUTSIDE_ZONE | Flag.TOWNSHIP_MISMATCH)
    assert result(out, 1) == (outside, 0, "outside_zone")
    # without the move the roster's township decides both visits
    out = rules.evaluate(frame, terms(), rules.Standing(people))
    assert result(out, 0)[2] == result(out, 1)[2] == "outside_zone"
    # moved into the zone: before the move's month the old township's zone (not this one)
    moves_in = pd.DataFrame(
        [(1, OTHER_TOWNSHIP, ZONE, date(2026, 8, 1))], columns=rules.MOVE_COLUMNS
    )
    out = rules.evaluate(frame, terms(), rules.Standing([person()], moves_in))
    assert result(out, 0)[2] == "outside_zone" and result(out, 1) == (0, 60, None)


def test_a_visit_beyond_one_contracts_share_leaves_the_persons_year_to_another():
    """A visit refused for contract 1's share of the year does not use up the person's
    year: contract 2's visit after it is paid while the person's 36 are not reached."""
    p = xinjiang()
    both = {**terms(p), 2: terms(p, contract_id=2, provider_id=2)[1]}
    visits = [
        under(1, visit("2026-12-03 09:00", 60, record="a")),
        under(2, visit("2026-12-10 09:00", 60, record="b", worker="B")),
    ]
    # 18 paid under contract 1 (its share), 17 under contract 2: 35 of the person's 36
    prior = {(1, 2026, 1): 18, (1, 2026, 2): 17}
    out = run(visits, contract_terms=both, prior_visits=prior)
    assert result(out, 0)[1:] == (0, "over_visits") and result(out, 1)[1:] == (60, None)


def xinjiang_ltc(**changes) -> PolicyProfile:
    """Xinjiang's rules: no blanket long-term-care exclusion, a third-party assessment."""
    return profile(
        **{
            **dict(
                entitlement_model=EntitlementModel.VISITS_PER_YEAR,
                hours_per_month=None,
                hourly_rate_cap=None,
                visits_per_year=36,
                unit_price_per_visit=Decimal("50.00"),
                visits_must_be_split=False,
                exclude_long_term_care=False,
                requires_assessment=False,
                eligibility_rules=[
                    {"category": c, "min_age": 60, "min_capability_level": 1}
                    for c in ("extreme_poverty", "minimum_living", "near_minimum")
                ],
            ),
            **changes,
        }
    )


def test_long_term_care_refuses_only_the_items_it_pays_for():
    """seed 000 §2(3): the same service content is not paid twice; other items are."""
    contract_terms = terms(xinjiang_ltc(), ltc_items=frozenset({"life-clean"}))
    visits = [
        visit("2026-07-03 09:00", 60, item="life-clean"),
        visit("2026-07-10 09:00", 60, item="life-meal"),
        visit("2026-07-03 09:00", 60, item="life-clean", rid=2, worker="W2"),
    ]
    people = [person(1, ltc=True, level=2), person(2, level=2)]
    out = run(visits, people, contract_terms=contract_terms)
    assert result(out, 0) == (0, 0, "ltc_covered_item")
    assert result(out, 1) == (0, 60, None)
    assert result(out, 2) == (0, 60, None)  # not insured: paid


def test_an_item_refused_for_long_term_care_takes_no_visit_of_the_year():
    contract_terms = terms(xinjiang_ltc(), ltc_items=frozenset({"life-clean"}))
    visits = [
        visit("2026-07-03 09:00", 60, item="life-clean"),
        visit("2026-07-10 09:00", 60, item="life-meal"),
    ]
    out = run(
        visits,
        [person(ltc=True, level=2)],
        contract_terms=contract_terms,
        prior_visits={(1, 2026, 1): 17},
    )
    assert result(out, 0) == (0, 0, "ltc_covered_item")
    assert result(out, 1) == (0, 60, None)  # the 18th visit of the contract's share


def test_yangcheng_still_excludes_the_insured_person_whatever_the_item():
    out = run(
        [visit("2026-07-03 09:00", 60, item="life-meal")],
        [person(ltc=True)],
        contract_terms=terms(ltc_items=frozenset({"life-clean"})),
    )
    assert result(out, 0) == (0, 0, "long_term_care")


def assessed(rid=1, *, level=2, assessed_on=date(2026, 1, 10), until=date(2026, 7, 31), **kw):
    """A person row with the assessment columns (settlements read them after the township)."""
    row = person(rid, category="minimum_living", level=level, **kw)
    return (*row, assessed_on, "第三方评估中心", until)


def test_settlement_pays_only_while_the_third_party_assessment_holds():
    contract_terms = terms(xinjiang_ltc(requires_assessment=True))
    visits = [visit("2026-07-03 09:00", 60), visit("2026-08-03 09:00", 60)]
    out = run(visits, [assessed()], contract_terms=contract_terms)
    assert result(out, 0) == (0, 60, None)
    assert result(out, 1) == (0, 0, "ineligible")  # expired on 31 July
    renewed = run(visits, [assessed(until=date(2027, 1, 31))], contract_terms=contract_terms)
    assert result(renewed, 1) == (0, 60, None)
    unassessed = [(*person(category="minimum_living", level=2), None, "", None)]
    out = run(visits, unassessed, contract_terms=contract_terms)
    assert result(out, 0) == (0, 0, "ineligible")
    # the same row where no assessment is required: paid
    out = run(visits, unassessed, contract_terms=terms(xinjiang_ltc()))
    assert result(out, 1) == (0, 60, None)


def test_contract_terms_take_the_long_term_care_items_from_the_catalogue():
    from types import SimpleNamespace

    p = xinjiang_ltc()
    items = [
        SimpleNamespace(service_item=SimpleNamespace(code="xj-home-01", ltc_covered=True)),
        SimpleNamespace(service_item=SimpleNamespace(code="xj-home-06", ltc_covered=False)),
    ]
    contract = SimpleNamespace(
        id=1,
        provider_id=1,
        region_code="654002",
        township_codes=[ZONE],
        plan=SimpleNamespace(policy_profile=p, items=items),
        unit_price=Decimal("50.00"),
        service_start=date(2026, 7, 1),
        service_end=date(2026, 12, 31),
        terminated_on=None,
    )
    found = rules.Terms.of(contract)
    assert found.items == {"xj-home-01", "xj-home-06"}
    assert found.ltc_items == {"xj-home-01"}
