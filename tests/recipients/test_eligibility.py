"""Who is eligible in a month under the Yangcheng and Xinjiang policy profiles."""

from datetime import date

import pytest
from sqlalchemy import select

from procurement.core.db import db
from procurement.core.identifiers import parse_id_number
from procurement.policies.models import PolicyProfile
from procurement.policies.services import profile_for
from procurement.recipients import services
from procurement.recipients.entitlement import MonthStatus, age_on, eligibility
from procurement.recipients.models import Recipient
from tests.recipients.conftest import FACTS_ID, id_number


@pytest.fixture
def yangcheng_2026(officer):
    return profile_for("140522", 2026)


@pytest.fixture
def xinjiang_2025(officer):
    return db.session.scalar(select(PolicyProfile).where(PolicyProfile.region_code == "650000"))


def elder(born: date, category: str, level: int | None = None, **flags) -> Recipient:
    """A person as the rules see them (not stored)."""
    values = {"long_term_care": False, "registered_in_county": True, "lives_in_county": True}
    values.update(flags)
    return Recipient(birth_date=born, category=category, capability_level=level, **values)


def eligible_months(person, profile, year=2026) -> list[int]:
    return [m for m in range(1, 13) if eligibility(person, profile, date(year, m, 1)).eligible]


def test_dispersed_extreme_poverty_from_60(yangcheng_2026):
    person = elder(date(1966, 10, 20), "extreme_poverty")
    assert eligible_months(person, yangcheng_2026) == [11, 12]  # 60 on 1 November
    refused = eligibility(person, yangcheng_2026, date(2026, 10, 1))
    assert refused.status is MonthStatus.INELIGIBLE
    assert "59" in refused.reasons[0]


def test_minimum_living_60_needs_a_disability_until_80(yangcheng_2026):
    capable = elder(date(1950, 1, 1), "minimum_living", level=0)
    assert eligible_months(capable, yangcheng_2026) == []
    reasons = eligibility(capable, yangcheng_2026, date(2026, 6, 1)).reasons
    assert len(reasons) == 2  # the 60+ disabled rule and the 80+ rule each say why not
    unassessed = elder(date(1950, 1, 1), "minimum_living")
    assert not eligibility(unassessed, yangcheng_2026, date(2026, 6, 1)).eligible
    mildly = elder(date(1950, 1, 1), "minimum_living", level=1)
    assert eligible_months(mildly, yangcheng_2026) == list(range(1, 13))


def test_minimum_living_80_without_disability_from_the_month_after_the_birthday(
    yangcheng_2026,
):
    # facts.md: 140522194506150028 is 80 on 2026-06-01 (since 15 June 2025), so eligible
    # as 低保 without disability all through 2026.
    born = parse_id_number(FACTS_ID).birth_date
    assert age_on(born, date(2026, 6, 1)) == 80
    person = elder(born, "minimum_living", level=0)
    assert eligibility(person, yangcheng_2026, date(2026, 6, 1)).eligible
    # Age counts on the first of the month: one who turns 80 on 15 May 2026 is
    # eligible from June, not in May.
    turning = elder(date(1946, 5, 15), "minimum_living", level=0)
    assert not eligibility(turning, yangcheng_2026, date(2026, 5, 1)).eligible
    assert eligibility(turning, yangcheng_2026, date(2026, 6, 1)).eligible
    assert eligible_months(turning, yangcheng_2026) == list(range(6, 13))


def test_long_term_care_insurance_excludes(yangcheng_2026):
    person = elder(date(1940, 1, 1), "extreme_poverty", long_term_care=True)
    found = eligibility(person, yangcheng_2026, date(2026, 6, 1))
    assert found.status is MonthStatus.LONG_TERM_CARE and not found.eligible


def test_yangcheng_requires_registration_and_residence(yangcheng_2026):
    away = elder(date(1940, 1, 1), "extreme_poverty", lives_in_county=False)
    assert not eligibility(away, yangcheng_2026, date(2026, 6, 1)).eligible
    low_income = elder(date(1940, 1, 1), "low_income", level=3)
    assert eligible_months(low_income, yangcheng_2026) == []


ASSESSED = {
    "assessed_on": date(2024, 12, 1),
    "assessor": "伊犁州第三方老年人能力评估中心",
    "assessment_valid_until": date(2025, 12, 31),
}
WHOLE_YEAR = list(range(1, 13))


def xinjiang_elder(category: str, level: int | None = 1, **values) -> Recipient:
    """A person of 67 in 2025 with a valid third-party assessment, unless told otherwise."""
    return elder(date(1958, 1, 1), category, level, **{**ASSESSED, **values})


def test_xinjiang_requires_registration_in_the_region_and_living_there(xinjiang_2025):
    assert eligible_months(xinjiang_elder("minimum_living"), xinjiang_2025, 2025) == WHOLE_YEAR
    for flag in ("registered_in_county", "lives_in_county"):
        away = xinjiang_elder("minimum_living", **{flag: False})
        assert eligible_months(away, xinjiang_2025, 2025) == []
        found = eligibility(away, xinjiang_2025, date(2025, 6, 1))
        assert "household registration" in found.reasons[0]


def test_xinjiang_extreme_poverty_is_eligible_when_disabled(xinjiang_2025):
    poverty = xinjiang_elder("extreme_poverty", level=1)
    assert eligible_months(poverty, xinjiang_2025, 2025) == WHOLE_YEAR
    capable = xinjiang_elder("extreme_poverty", level=0)
    assert eligible_months(capable, xinjiang_2025, 2025) == []


def test_xinjiang_minimum_living_and_near_minimum_mildly_disabled_or_worse(xinjiang_2025):
    for category in ("minimum_living", "near_minimum"):
        assert eligible_months(xinjiang_elder(category), xinjiang_2025, 2025) == WHOLE_YEAR
        capable = xinjiang_elder(category, level=0)
        assert eligible_months(capable, xinjiang_2025, 2025) == []
    young = elder(date(1966, 1, 1), "minimum_living", 2, **ASSESSED)
    assert eligible_months(young, xinjiang_2025, 2025) == []


def test_xinjiang_low_income_only_where_the_county_extends_it(xinjiang_2025):
    low_income = xinjiang_elder("low_income", level=2)
    assert eligible_months(low_income, xinjiang_2025, 2025) == []
    found = eligibility(low_income, xinjiang_2025, date(2025, 6, 1))
    assert "no rule for the category" in found.reasons[0]
    # a county that extends it adds the rule to its profile: the data decides
    xinjiang_2025.eligibility_rules = [
        *xinjiang_2025.eligibility_rules,
        {"category": "low_income", "min_age": 60, "min_capability_level": 1},
    ]
    assert eligible_months(low_income, xinjiang_2025, 2025) == WHOLE_YEAR
    assert eligible_months(xinjiang_elder("low_income", level=0), xinjiang_2025, 2025) == []


def test_xinjiang_long_term_care_insurance_does_not_exclude_the_person(
    xinjiang_2025, yangcheng_2026
):
    insured = xinjiang_elder("minimum_living", level=4, long_term_care=True)
    assert eligible_months(insured, xinjiang_2025, 2025) == WHOLE_YEAR
    # Yangcheng's blanket exclusion stays (seed 001 §3(3))
    in_yangcheng = elder(date(1950, 1, 1), "minimum_living", 4, long_term_care=True)
    found = eligibility(in_yangcheng, yangcheng_2026, date(2026, 6, 1))
    assert found.status is MonthStatus.LONG_TERM_CARE


@pytest.mark.parametrize(
    "missing", ["assessor", "assessed_on", "capability_level", "assessment_valid_until"]
)
def test_xinjiang_needs_a_complete_third_party_assessment(xinjiang_2025, missing):
    values = {**ASSESSED, "capability_level": 2, missing: "" if missing == "assessor" else None}
    level = values.pop("capability_level")
    person = elder(date(1958, 1, 1), "minimum_living", level, **values)
    assert eligible_months(person, xinjiang_2025, 2025) == []
    reason = eligibility(person, xinjiang_2025, date(2025, 6, 1)).reasons[0]
    assert "no third-party capability assessment (missing:" in reason


def test_xinjiang_assessment_counts_from_its_date_until_it_expires(xinjiang_2025):
    person = xinjiang_elder(
        "near_minimum",
        level=2,
        assessed_on=date(2025, 3, 15),
        assessment_valid_until=date(2025, 9, 30),
    )
    assert eligible_months(person, xinjiang_2025, 2025) == [4, 5, 6, 7, 8, 9]
    early = eligibility(person, xinjiang_2025, date(2025, 3, 1)).reasons[0]
    assert "made only on 2025-03-15" in early
    expired = eligibility(person, xinjiang_2025, date(2025, 10, 1))
    assert expired.status is MonthStatus.INELIGIBLE
    assert "expired on 2025-09-30" in expired.reasons[0]


def test_yangcheng_counts_a_level_without_a_third_party_assessment(yangcheng_2026):
    assert not yangcheng_2026.requires_assessment
    person = elder(date(1950, 1, 1), "minimum_living", level=1)  # no assessor, no validity
    assert eligible_months(person, yangcheng_2026) == WHOLE_YEAR
    expired = elder(date(1950, 1, 1), "minimum_living", 1, assessment_valid_until=date(2025, 1, 1))
    assert eligible_months(expired, yangcheng_2026) == WHOLE_YEAR


def test_the_year_strip_of_a_recipient(make_recipient, admitted):
    recipient = make_recipient(id_number=id_number(date(1946, 5, 15), 2), category="minimum_living")
    admitted(recipient, applied_on=date(2026, 6, 1), approved_on=date(2026, 6, 10))
    profile, months = services.year_standing(recipient, 2026)
    assert profile.name.startswith("阳城县")
    assert [m.standing.status.value for m in months] == ["not_started"] * 6 + ["entitled"] * 6
    assert [m.eligibility.eligible for m in months] == [False] * 5 + [True] * 7
    assert services.year_standing(recipient, 2027) == (None, [])
    assert "2027" in services.no_profile_message(recipient, 2027)
