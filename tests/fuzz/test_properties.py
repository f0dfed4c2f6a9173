"""Properties of the checks and rules that money and identity depend on (issue 8).

Hypothesis generates the inputs; each test states what must hold for all of them:
credit codes (GB 32100) and ID numbers (GB 11643) with their check characters, the
vectorised ID check against the scalar one, amounts in capitals (facts.md) read back by
an independent parser, and the settlement rules (entitlement, flags, totals).
"""

from __future__ import annotations

import string
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procurement.core.identifiers import (
    CREDIT_ALPHABET,
    ID_CHECK,
    InvalidIdentifier,
    credit_check_character,
    id_check_character,
    parse_credit_code,
    parse_id_number,
    valid_id_numbers,
)
from procurement.core.money import amount_in_capitals
from procurement.policies.models import EntitlementModel
from procurement.settlements import rules
from procurement.settlements.models import Flag, Review, Unpaid
from tests.core.test_money import FACTS
from tests.settlements.test_rules import ZONE, person, profile, terms

# Reproducible in CI, no example database left behind, no deadline on a shared machine.
FAST = settings(max_examples=200, deadline=None, derandomize=True, database=None)
SLOW = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# ---------------------------------------------------------------- credit codes

first17_credit = st.builds(
    lambda head, division, organisation: head + division + organisation,
    st.text(CREDIT_ALPHABET, min_size=2, max_size=2),
    st.text(string.digits, min_size=6, max_size=6),
    st.text(CREDIT_ALPHABET, min_size=9, max_size=9),
)


@FAST
@given(first17_credit)
def test_a_code_with_its_computed_check_character_is_accepted(first17):
    code = first17 + credit_check_character(first17)
    parsed = parse_credit_code(code)
    assert parsed.check_ok and parsed.expected_check == code[17]
    assert parsed.division_code == code[2:8]
    assert parse_credit_code(f"  {code.lower()} ").code == code  # spaces and case forgiven


@FAST
@given(first17_credit, st.integers(0, 17), st.data())
def test_changing_one_character_of_a_code_is_caught(first17, position, data):
    code = first17 + credit_check_character(first17)
    other = data.draw(st.sampled_from([c for c in CREDIT_ALPHABET if c != code[position]]))
    changed = code[:position] + other + code[position + 1 :]
    try:
        parsed = parse_credit_code(changed)
    except InvalidIdentifier as error:  # a letter among the division's digits
        assert 2 <= position <= 7 and error.reason == "division"
        return
    # MOD 31 with weights prime to 31: every single substitution changes the sum.
    assert not parsed.check_ok
    if position < 17:
        assert parsed.expected_check != code[17]


@FAST
@given(st.text(max_size=20))
def test_a_credit_code_is_parsed_or_refused_with_a_reason(raw):
    try:
        parsed = parse_credit_code(raw)
    except InvalidIdentifier as error:
        assert error.reason in {"length", "characters", "division"}
    else:
        assert len(parsed.code) == 18 and set(parsed.code) <= set(CREDIT_ALPHABET)


# ---------------------------------------------------------------- ID numbers

birth_dates = st.dates(date(1880, 1, 1), date(2026, 12, 31))
first17_id = st.builds(
    lambda address, birth, sequence: address + birth.strftime("%Y%m%d") + sequence,
    st.text(string.digits, min_size=6, max_size=6),
    birth_dates,
    st.text(string.digits, min_size=3, max_size=3),
)


@FAST
@given(first17_id)
def test_an_id_number_with_its_check_character_gives_birth_date_and_sex(first17):
    number = first17 + id_check_character(first17)
    parsed = parse_id_number(number.lower())  # a lower-case x is the same X
    assert parsed.number == number
    assert parsed.birth_date == date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    assert parsed.sex == ("male" if int(number[16]) % 2 == 1 else "female")
    assert parsed.address_code == number[:6]


@FAST
@given(first17_id, st.integers(0, 17), st.data())
def test_changing_one_character_of_an_id_number_makes_it_invalid(first17, position, data):
    number = first17 + id_check_character(first17)
    alphabet = ID_CHECK if position == 17 else string.digits
    other = data.draw(st.sampled_from([c for c in alphabet if c != number[position]]))
    changed = number[:position] + other + number[position + 1 :]
    # MOD 11-2: 11 is prime and no weight is 0 mod 11, so one changed digit changes the sum.
    with pytest.raises(InvalidIdentifier):
        parse_id_number(changed)


id_like = st.one_of(
    st.text(max_size=20),
    st.text("0123456789Xx ", min_size=16, max_size=20),
    first17_id.map(lambda f: f + id_check_character(f)),
    first17_id.flatmap(lambda f: st.sampled_from(ID_CHECK).map(lambda c: f + c)),
    st.builds(  # impossible dates: 30 February, month 13, year 1879
        lambda a, y, m, d, s: f"{a}{y:04d}{m:02d}{d:02d}{s}",
        st.text(string.digits, min_size=6, max_size=6),
        st.integers(1800, 2100),
        st.integers(0, 13),
        st.integers(0, 32),
        st.text(string.digits + "X", min_size=4, max_size=4),
    ),
)


@FAST
@given(st.lists(id_like, max_size=12))
def test_the_vectorised_check_agrees_with_the_scalar_parser(numbers):
    cleaned, valid = valid_id_numbers(numbers)
    assert len(cleaned) == len(numbers) == len(valid)
    for raw, normalised, ok in zip(numbers, cleaned, valid.tolist(), strict=True):
        try:
            parsed = parse_id_number(raw)
        except InvalidIdentifier:
            assert not ok, raw
        else:
            assert ok, raw
            assert normalised == parsed.number


# ---------------------------------------------------------------- amounts in capitals

DIGIT = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
SMALL = {"拾": 10, "佰": 100, "仟": 1000}


def read_capitals(text: str) -> Decimal:
    """An independent reader of 人民币大写: the amount the text says, or AssertionError."""
    body = text.removesuffix("整")
    if "元" in body:
        yuan_text, decimals = body.split("元")
        yuan = _read_integer(yuan_text)
    else:
        yuan, decimals = 0, body
    jiao = fen = 0
    decimals = decimals.removeprefix("零")
    if "角" in decimals:
        head, decimals = decimals.split("角")
        assert len(head) == 1, text
        jiao = DIGIT[head]
    if "分" in decimals:
        head, decimals = decimals.split("分")
        assert len(head) == 1, text
        fen = DIGIT[head]
    assert decimals == "", text
    return Decimal(yuan) + Decimal(jiao) / 10 + Decimal(fen) / 100


def _read_integer(text: str) -> int:
    total = section = digit = 0
    last_unit = 10**5
    for char in text:
        if char in DIGIT:
            digit = DIGIT[char]
        elif char in SMALL:
            assert digit and SMALL[char] < last_unit, text  # 壹拾 is written; units fall
            section += digit * SMALL[char]
            digit, last_unit = 0, SMALL[char]
        elif char == "万":
            section = (section + digit) * 10**4
            digit, last_unit = 0, 10**5
        elif char == "亿":
            total = (total + section + digit) * 10**8
            section = digit = 0
            last_unit = 10**5
        else:
            raise AssertionError(f"unexpected {char!r} in {text}")
    return total + section + digit


amounts = st.integers(0, 10**14).map(lambda fen: Decimal(fen) / 100)


def _zero_runs(yuan: int) -> tuple[int, int]:
    """Inner runs of zeros between non-zero digits: (all, those that need a 零). A run
    whose lowest zero is in the 万 or 亿 place, above a non-zero 千, may go unwritten
    (facts.md: 107000.53 is 壹拾万柒仟元)."""
    digits = str(yuan)[::-1]  # position 0 is the units
    runs = needed = 0
    position = digits.find("0")
    top = len(digits.rstrip("0")) if yuan else 0
    while 0 <= position < top:
        end = position
        while digits[end] == "0":
            end += 1
        if position > 0 and end < top:
            runs += 1
            needed += position % 4 != 0
        position = digits.find("0", end)
    return runs, needed


@FAST
@given(amounts)
def test_capitals_read_back_to_the_amount(amount):
    assert read_capitals(amount_in_capitals(amount)) == amount


@FAST
@given(amounts)
def test_capitals_follow_the_rules_of_facts_md(amount):
    text = amount_in_capitals(amount)
    fen_total = int(amount * 100)
    yuan, jiao, fen = fen_total // 100, fen_total // 10 % 10, fen_total % 10
    assert set(text) <= set("零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整"), text
    assert "零零" not in text, text  # a run of zeros is one 零
    # 整 closes the text exactly when nothing follows 元 or 角
    assert text.endswith("整") == (fen == 0), text
    assert text.count("整") <= 1
    if amount == 0:
        assert text == "零元整"
        return
    assert not text.startswith("零"), text
    for unit in "拾佰仟万亿元角分":
        assert "零" + unit not in text, text  # 零 stands for digits, never before a unit
    if yuan and jiao == 0 and fen:
        assert "元零" in text, text  # 角 is 0 and 分 is not: 零 follows 元
    if yuan:
        runs, needed = _zero_runs(yuan)
        zeros = text.split("元")[0].count("零")
        assert needed <= zeros <= runs, (text, runs, needed)
    else:
        assert "元" not in text, text


@pytest.mark.parametrize(("amount", "capitals"), FACTS)
def test_the_reader_reads_the_facts_md_table(amount, capitals):
    """The test's own reader is right on the reference table, so it can judge the rest."""
    assert read_capitals(capitals) == Decimal(amount)


# ---------------------------------------------------------------- settlement rules

PEOPLE = [person(1), person(2), person(3, start=date(2026, 8, 1)), person(4, level=2)]
MONTHS = [date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1)]

visits = st.builds(
    lambda rid, month, day, minute_of_day, minutes, worker, township, item, review: {
        "rid": rid,
        "start": datetime(month.year, month.month, day) + timedelta(minutes=minute_of_day),
        "minutes": minutes,
        "worker": worker,
        "township": township,
        "item": item,
        "review": review,
    },
    st.sampled_from([p[0] for p in PEOPLE]),
    st.sampled_from(MONTHS),
    st.integers(1, 28),
    st.integers(6 * 60, 20 * 60),
    st.one_of(st.integers(1, 300), st.integers(1, 600)),
    st.sampled_from(["W1", "W2", "W3"]),
    st.sampled_from([ZONE, ZONE, ZONE, "140522202"]),
    st.sampled_from(["life-meal", "life-meal", "life-clean", "life-bath"]),
    st.sampled_from([None, None, None, Review.CLEARED.value, Review.CONFIRMED.value]),
)


def frame_of(drawn: list[dict]) -> pd.DataFrame:
    rows = [
        {
            "contract_id": 1,
            "provider_id": 1,
            "record_id": f"r{index:03d}",
            "recipient_id": v["rid"],
            "worker_id": v["worker"],
            "item_code": v["item"],
            "township_code": v["township"],
            "started_at": v["start"],
            "ended_at": v["start"] + timedelta(minutes=v["minutes"]),
            "minutes": v["minutes"],
            "month": pd.Timestamp(v["start"].year, v["start"].month, 1),
            "review": v["review"],
        }
        for index, v in enumerate(drawn)
    ]
    frame = pd.DataFrame(rows)
    for column in ("started_at", "ended_at", "month"):
        frame[column] = frame[column].astype("datetime64[s]")
    return frame


def hourly_terms(rate: Decimal, split: bool):
    return terms(profile(visits_must_be_split=split), rate=rate)


def evaluate(frame, contract_terms):
    return rules.evaluate(frame, contract_terms, rules.Standing(PEOPLE))


rates = st.integers(100, 3500).map(lambda fen: Decimal(fen) / 100)  # at most the 35.00 cap
visit_lists = st.lists(visits, min_size=1, max_size=25)


@SLOW
@given(visit_lists, rates, st.booleans())
def test_paid_time_stays_within_the_visit_and_the_months_entitlement(drawn, rate, split):
    frame = frame_of(drawn)
    contract_terms = hourly_terms(rate, split)
    out = evaluate(frame, contract_terms)
    paid, minutes = out["paid_minutes"], frame["minutes"]
    assert ((paid >= 0) & (paid <= minutes)).all()
    cap = contract_terms[1].cap_minutes
    per_month = paid.groupby([frame["recipient_id"], frame["month"]]).sum()
    assert (per_month <= cap).all(), per_month[per_month > cap]
    # a record is unpaid in part or whole only with a reason, and paid in full without one
    short = paid < minutes
    assert out["unpaid_reason"][short].notna().all()
    assert (paid[out["unpaid_reason"].isna()] == minutes[out["unpaid_reason"].isna()]).all()


@SLOW
@given(visit_lists, rates, st.booleans())
def test_flagged_records_are_unpaid_until_cleared(drawn, rate, split):
    frame = frame_of(drawn)
    out = evaluate(frame, hourly_terms(rate, split))
    holding = (out["flags"] & rules.HOLDING_FLAGS) != 0
    review = frame["review"]
    unreviewed = holding & review.isna()
    confirmed = holding & (review == Review.CONFIRMED.value)
    assert (out["paid_minutes"][unreviewed | confirmed] == 0).all()
    pending = out["unpaid_reason"][unreviewed]
    assert pending.isin([Unpaid.FLAG_PENDING.value, *_earlier_reasons()]).all(), pending
    outside = (out["flags"] & int(Flag.OUTSIDE_ZONE)) != 0
    assert (out["paid_minutes"][outside] == 0).all()  # never paid, whatever the review
    not_started = (frame["recipient_id"] == 3) & (frame["month"] < pd.Timestamp(2026, 8, 1))
    assert (out["paid_minutes"][not_started] == 0).all()


def _earlier_reasons() -> list[str]:
    """Reasons that come before a flag in the order of rules.py's docstring."""
    return [
        *(reason.value for reason in rules.STANDING_REASONS.values()),
        Unpaid.DIED.value,
        Unpaid.OUTSIDE_ZONE.value,
        Unpaid.ITEM_NOT_IN_CONTRACT.value,
    ]


@SLOW
@given(visit_lists, rates, st.booleans())
def test_no_carry_over_between_months(drawn, rate, split):
    """Each month is settled as if it were alone: nothing unused or overdrawn moves on."""
    frame = frame_of(drawn)
    contract_terms = hourly_terms(rate, split)
    together = evaluate(frame, contract_terms)
    for _month, part in frame.groupby("month"):
        alone = evaluate(part, contract_terms)
        pd.testing.assert_frame_equal(alone, together.loc[part.index])


@SLOW
@given(visit_lists, rates, st.booleans(), st.randoms(use_true_random=False))
def test_the_order_of_the_rows_changes_nothing(drawn, rate, split, random):
    frame = frame_of(drawn)
    contract_terms = hourly_terms(rate, split)
    out = evaluate(frame, contract_terms)
    order = list(frame.index)
    random.shuffle(order)
    shuffled = frame.loc[order]
    again = evaluate(shuffled, contract_terms)
    pd.testing.assert_frame_equal(again.loc[frame.index], out)
    first = rules.totals(frame, out, contract_terms)
    second = rules.totals(shuffled, again, contract_terms)
    assert first == second


@SLOW
@given(visit_lists, rates, st.booleans())
def test_the_amount_is_paid_hours_times_the_rate(drawn, rate, split):
    frame = frame_of(drawn)
    contract_terms = hourly_terms(rate, split)
    out = evaluate(frame, contract_terms)
    found = rules.totals(frame, out, contract_terms)
    paid = out["paid_minutes"]
    for (contract_id, month), month_totals in found.items():
        mask = (frame["contract_id"] == contract_id) & (frame["month"] == pd.Timestamp(month))
        people = paid[mask].groupby(frame["recipient_id"][mask]).sum()
        # each person's month: hours x rate, rounded half up to the fen
        expected = sum(
            (Decimal(int(m)) / 60 * rate).quantize(Decimal("0.01"), ROUND_HALF_UP) * 100
            for m in people
        )
        assert month_totals.amount_fen == expected
        assert month_totals.paid_minutes == int(paid[mask].sum())
        assert month_totals.minutes == int(frame["minutes"][mask].sum())
        assert month_totals.records == int(mask.sum())
        assert month_totals.recipients == frame["recipient_id"][mask].nunique()
        assert month_totals.flagged == int((out["flags"][mask] != 0).sum())
        cap = contract_terms[1].profile.hourly_rate_cap
        assert Decimal(month_totals.amount_fen) <= (
            Decimal(month_totals.paid_minutes) / 60 * cap * 100 + len(people) / Decimal(2)
        )


@FAST
@given(
    st.integers(100, 20000).map(lambda fen: Decimal(fen) / 100),
    st.one_of(st.none(), st.integers(100, 10000).map(lambda fen: Decimal(fen) / 100)),
)
def test_the_contract_rate_never_exceeds_the_profiles_cap(price, cap):
    """Terms.of: the rate paid is the contract's price, capped by the profile."""
    policy = profile(hourly_rate_cap=cap)
    plan = SimpleNamespace(policy_profile=policy, items=[])
    contract = SimpleNamespace(
        id=1,
        provider_id=1,
        region_code="140522",
        township_codes=[ZONE],
        plan=plan,
        unit_price=price,
        service_start=date(2026, 7, 1),
        service_end=date(2026, 12, 31),
        terminated_on=None,
    )
    found = rules.Terms.of(contract)
    assert found.hourly and policy.entitlement_model is EntitlementModel.HOURS_PER_MONTH
    assert found.rate == (price if cap is None else min(price, cap))
    assert found.rate_fen == int(found.rate * 100)
