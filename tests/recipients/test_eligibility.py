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


def test_xinjiang_low_income_families_mildly_disabled_or_worse(xinjiang_2025):
    near = elder(date(1958, 1, 1), "near_minimum", level=1, registered_in_county=False)
    assert eligible_months(near, xinjiang_2025, 2025) == list(range(1, 13))
    capable = elder(date(1958, 1, 1), "minimum_living", level=0)
    assert eligible_months(capable, xinjiang_2025, 2025) == []
    poverty = elder(date(1940, 1, 1), "extreme_poverty")
    assert eligible_months(poverty, xinjiang_2025, 2025) == []
    insured = elder(date(1950, 1, 1), "minimum_living", level=4, long_term_care=True)
    assert eligible_months(insured, xinjiang_2025, 2025) == []


def test_the_year_strip_of_a_recipient(make_recipient, admitted):
    recipient = make_recipient(id_number=id_number(date(1946, 5, 15), 2), category="minimum_living")
    admitted(recipient, applied_on=date(2026, 6, 1), approved_on=date(2026, 6, 10))
    profile, months = services.year_standing(recipient, 2026)
    assert profile.name.startswith("阳城县")
    assert [m.standing.status.value for m in months] == ["not_started"] * 6 + ["entitled"] * 6
    assert [m.eligibility.eligible for m in months] == [False] * 5 + [True] * 7
    assert services.year_standing(recipient, 2027) == (None, [])
    assert "2027" in services.no_profile_message(recipient, 2027)
