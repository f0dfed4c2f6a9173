"""Leaving the programme: death at once, other reasons from the next month."""

from datetime import date

import pytest

from procurement.core.errors import Conflict, ValidationError
from procurement.policies.services import profile_for
from procurement.recipients import services
from procurement.recipients.entitlement import MonthStatus, entitlement


def months(recipient, *numbers):
    profile = profile_for("140522", 2026)
    return [entitlement(recipient, profile, date(2026, m, 1)) for m in numbers]


def test_death_ends_the_service_at_once(make_recipient, admitted):
    recipient = admitted(make_recipient())  # approved 20 October: service from November
    services.record_exit(recipient, exit_reason="death", exit_date="2026-11-18", exit_note="病故")
    october, november, december = months(recipient, 10, 11, 12)
    assert october.status is MonthStatus.NOT_STARTED
    assert november.entitled and november.died_on == date(2026, 11, 18)
    assert december.status is MonthStatus.DIED
    assert services.exit_effective(recipient) == date(2026, 11, 18)
    assert services.roster_status(recipient) is services.RosterStatus.EXITED
    with pytest.raises(ValidationError):  # the dead do not apply again
        services.create_application(recipient, applied_on="2026-12-01")


@pytest.mark.parametrize("reason", ["moved_away", "no_longer_eligible", "abuse"])
def test_other_exits_take_effect_from_the_next_month(make_recipient, admitted, reason):
    recipient = admitted(make_recipient())
    services.record_exit(
        recipient, exit_reason=reason, exit_date=date(2026, 11, 5), exit_note="领取现金"
    )
    november, december = months(recipient, 11, 12)
    assert november.entitled and november.died_on is None
    assert december.status is MonthStatus.EXITED
    assert services.exit_effective(recipient) == date(2026, 12, 1)


def test_exits_are_checked(make_recipient, admitted):
    registered = make_recipient()
    with pytest.raises(ValidationError) as refused:
        services.record_exit(registered, exit_reason="moved_away", exit_date="2026-11-05")
    assert "not been admitted" in refused.value.message

    recipient = admitted(make_recipient(id_number="11010519491231002X"))
    with pytest.raises(ValidationError) as refused:
        services.record_exit(recipient, exit_reason="left", exit_date="2026-10-19")
    assert set(refused.value.fields) == {"exit_reason", "exit_date"}
    assert "2026-10-20" in refused.value.fields["exit_date"][0]  # the approval
    with pytest.raises(ValidationError) as refused:
        services.record_exit(recipient, exit_reason="abuse", exit_date="2026-12-20")
    assert set(refused.value.fields) == {"exit_date", "exit_note"}  # future; what was taken
    services.record_exit(recipient, exit_reason="moved_away", exit_date="2026-10-25")
    with pytest.raises(Conflict):
        services.record_exit(recipient, exit_reason="death", exit_date="2026-11-01")


def test_a_person_who_left_may_apply_and_be_admitted_again(make_recipient, admitted, officer):
    recipient = admitted(make_recipient())
    services.record_exit(recipient, exit_reason="moved_away", exit_date="2026-10-25")
    with pytest.raises(ValidationError):  # not before the exit
        services.create_application(recipient, applied_on="2026-10-24")
    admitted(recipient, applied_on=date(2026, 11, 2), approved_on=date(2026, 11, 20))
    assert recipient.service_start == date(2026, 12, 1)
    assert recipient.exit_reason is None and recipient.exit_date is None
    assert services.admitted_on(recipient) == date(2026, 11, 20)


def test_an_elder_already_in_service_when_the_roster_is_first_kept(make_recipient):
    recipient = make_recipient(service_start="2026-07")
    assert recipient.service_start == date(2026, 7, 1)
    assert services.roster_status(recipient) is services.RosterStatus.IN_SERVICE
    with pytest.raises(ValidationError):
        services.record_exit(recipient, exit_reason="death", exit_date="2026-06-30")
    services.record_exit(recipient, exit_reason="death", exit_date="2026-07-01")
    with pytest.raises(ValidationError) as refused:
        make_recipient(id_number="440524188001010014", service_start="July")
    assert list(refused.value.fields) == ["service_start"]


def test_a_move_takes_effect_the_month_after_and_a_correction_at_once(make_recipient, admitted):
    """Seed 000 §3(1): a move changes the service from the next month; settlement reads
    the township of each visit's date from it (tests/settlements). A wrong township is
    corrected by editing the entry, which corrects the last move's destination too."""
    from procurement.regions.services import get_region, townships_of
    from tests.recipients.conftest import recipient_input

    recipient = admitted(make_recipient())
    old = recipient.township_code
    other, third = [t.code for t in townships_of(get_region("140522")) if t.code != old][:2]
    move = services.record_move(
        recipient, township_code=other, moved_on="2026-11-05", note="随子女"
    )
    assert (move.from_township, move.to_township) == (old, other)
    assert (move.moved_on, move.effective_from) == (date(2026, 11, 5), date(2026, 12, 1))
    assert recipient.township_code == other and recipient.moves == [move]

    with pytest.raises(ValidationError) as refused:  # already there; not after the last move
        services.record_move(recipient, township_code=other, moved_on="2026-11-05")
    assert set(refused.value.fields) == {"township_code", "moved_on"}
    with pytest.raises(ValidationError) as refused:  # in the future; not of the county
        services.record_move(recipient, township_code="140521100", moved_on="2026-12-16")
    assert set(refused.value.fields) == {"township_code", "moved_on"}
    assert len(recipient.moves) == 1

    services.update_recipient(recipient, recipient_input(id_number="", township_code=third))
    assert recipient.township_code == third and recipient.moves[-1].to_township == third
