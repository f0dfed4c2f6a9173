"""An acceptance is recorded after it happened: dated today at the latest."""

from __future__ import annotations

from datetime import date

import pytest

from procurement.core.errors import ValidationError
from procurement.performance import acceptance as acceptance_rules
from tests.performance.conftest import stage_input


def test_an_acceptance_dated_today_is_taken_one_dated_tomorrow_is_refused(world):
    contract, drafter = world["contracts"][0], world["people"]["drafter"]  # today: 2026-09-05
    with pytest.raises(ValidationError) as refused:
        acceptance_rules.draft_acceptance(
            contract, stage_input(accepted_on=date(2026, 9, 6)), actor=drafter
        )
    assert "2026-09-06" in refused.value.fields["accepted_on"][0]
    acceptance = acceptance_rules.draft_acceptance(
        contract, stage_input(accepted_on=date(2026, 9, 5)), actor=drafter
    )
    assert acceptance.accepted_on == date(2026, 9, 5)
