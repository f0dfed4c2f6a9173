"""Applications: three steps with deadlines in Chinese working days, then service from
the month after the approval (seed 000 §3(1))."""

from datetime import date

import pytest

from procurement.core.errors import Conflict, ValidationError
from procurement.recipients import calendar, services
from procurement.recipients.models import ApplicationStatus
from tests.recipients.conftest import id_number, pin


def test_deadlines_across_the_2026_national_day_holiday(make_recipient):
    recipient = make_recipient()
    application = services.create_application(recipient, applied_on="2026-09-28")
    deadlines = services.application_deadlines(application, {})
    # 29, 30 Sep; 1-7 Oct off; 8, 9 Oct; Saturday 10 Oct is a make-up workday; 12-16 Oct
    assert deadlines["village"].due.on == date(2026, 10, 16)
    assert deadlines["village"].overdue  # today is 15 December
    assert "township" not in deadlines
    services.record_village_check(application, on="2026-10-09", passed=True, note="属实")
    deadlines = services.application_deadlines(application, {})
    assert not deadlines["village"].late and not deadlines["village"].overdue
    # Friday 9 Oct + 5: Sat 10 (make-up), 12, 13, 14, 15 Oct
    assert deadlines["township"].due.on == date(2026, 10, 15)
    services.record_township_review(application, on="2026-10-16", passed=True)
    assert services.application_deadlines(application, {})["township"].late


def test_the_make_up_workday_of_20_september_counts(make_recipient):
    application = services.create_application(make_recipient(), applied_on="2026-09-18")
    # Sun 20 Sep (make-up), 21-24; Fri 25 Sep is Mid-Autumn; 28, 29, 30 Sep; 8, 9 Oct
    assert services.application_deadlines(application, {})["village"].due.on == date(2026, 10, 9)


def test_a_year_without_a_calendar_is_reported_until_the_table_has_it(make_recipient):
    pin(date(2026, 12, 30))
    application = services.create_application(make_recipient(), applied_on="2026-12-28")
    due = services.application_deadlines(application, calendar.overrides_table())["village"].due
    assert due.on is None and due.unknown_year == 2027
    assert "2027" in due.message and "holiday table" in due.message
    row = services.open_applications(calendar.overrides_table())[0]
    assert row.deadline.due.unknown_year == 2027 and not row.deadline.overdue

    calendar.add_override(day=date(2027, 1, 1), is_workday=False, note="元旦")
    due = services.application_deadlines(application, calendar.overrides_table())["village"].due
    # 29, 30, 31 Dec; 1 Jan off; 4-8 Jan; 11, 12 Jan
    assert due.on == date(2027, 1, 12) and due.unknown_year is None


def test_the_holiday_table_refuses_duplicates_and_bad_days(officer):
    calendar.add_override(day="2027-02-06", is_workday=True, note="春节调休")
    with pytest.raises(Conflict):
        calendar.add_override(day=date(2027, 2, 6), is_workday=False)
    with pytest.raises(ValidationError) as refused:
        calendar.add_override(day="2027-02-30", is_workday="maybe", note="x" * 121)
    assert set(refused.value.fields) == {"day", "is_workday", "note"}
    assert [d.note for d in calendar.overrides_of_year(2027)] == ["春节调休"]
    assert calendar.calendar_known(2026) and not calendar.calendar_known(2027)
    calendar.remove_override(calendar.overrides_of_year(2027)[0])
    assert calendar.overrides_of_year(2027) == []


def test_approval_starts_service_the_next_month(make_recipient, officer):
    recipient = make_recipient()
    application = services.create_application(recipient, applied_on=date(2026, 11, 2))
    services.record_village_check(application, on=date(2026, 11, 5), passed=True)
    services.record_township_review(application, on=date(2026, 11, 9), passed=True)
    assert application.status is ApplicationStatus.AWAITING_COUNTY
    services.decide_application(application, approve=True, on=date(2026, 11, 30), actor=officer)
    assert application.status is ApplicationStatus.APPROVED
    assert application.decided_by_id == officer.id
    assert recipient.service_start == date(2026, 12, 1)
    assert services.roster_status(recipient) is services.RosterStatus.IN_SERVICE
    with pytest.raises(Conflict):  # already in service
        services.create_application(recipient, applied_on=date(2026, 12, 1))


def test_one_open_application_at_a_time(make_recipient):
    recipient = make_recipient()
    services.create_application(recipient, applied_on=date(2026, 12, 1))
    with pytest.raises(Conflict) as refused:
        services.create_application(recipient, applied_on=date(2026, 12, 2))
    assert "2026-12-01" in refused.value.message


def test_a_rejection_needs_a_reason(make_recipient, officer):
    recipient = make_recipient()
    application = services.create_application(recipient, applied_on=date(2026, 12, 1))
    services.record_village_check(application, on=date(2026, 12, 2), passed=True)
    services.record_township_review(application, on=date(2026, 12, 3), passed=True)
    with pytest.raises(ValidationError) as refused:
        services.decide_application(application, approve=False, on="2026-12-04", actor=officer)
    assert list(refused.value.fields) == ["reason"]
    services.decide_application(
        application, approve=False, on="2026-12-04", reason="家庭人均收入超标", actor=officer
    )
    assert application.status is ApplicationStatus.REJECTED
    assert services.rejected_at(application) == "county"
    assert recipient.service_start is None
    services.create_application(recipient, applied_on=date(2026, 12, 10))  # may apply again


def test_a_failed_village_check_ends_the_application_and_needs_a_note(make_recipient):
    application = services.create_application(make_recipient(), applied_on=date(2026, 12, 1))
    with pytest.raises(ValidationError) as refused:
        services.record_village_check(application, on=date(2026, 12, 2), passed=False)
    assert list(refused.value.fields) == ["note"]
    services.record_village_check(application, on=date(2026, 12, 2), passed=False, note="已外出")
    assert application.status is ApplicationStatus.REJECTED
    assert services.rejected_at(application) == "village"
    with pytest.raises(Conflict):
        services.record_township_review(application, on=date(2026, 12, 3), passed=True)


def test_steps_come_in_order_and_dates_make_sense(make_recipient, officer):
    application = services.create_application(make_recipient(), applied_on=date(2026, 12, 1))
    with pytest.raises(Conflict):
        services.decide_application(application, approve=True, on="2026-12-02", actor=officer)
    with pytest.raises(ValidationError) as refused:
        services.record_village_check(application, on="2026-11-30", passed="yes")
    assert set(refused.value.fields) == {"on", "passed"}
    with pytest.raises(ValidationError) as refused:
        services.record_village_check(application, on="2026-12-16", passed=True)
    assert "future" in refused.value.fields["on"][0]
    with pytest.raises(ValidationError):
        services.create_application(
            make_recipient(id_number=id_number(date(1950, 1, 2))), applied_on=""
        )


def test_approval_is_refused_for_a_person_the_policy_excludes(make_recipient, officer):
    recipient = make_recipient(
        category="minimum_living", capability_level=0, assessed_on="2026-01-05"
    )
    application = services.create_application(recipient, applied_on=date(2026, 11, 2))
    services.record_village_check(application, on=date(2026, 11, 3), passed=True)
    services.record_township_review(application, on=date(2026, 11, 4), passed=True)
    with pytest.raises(ValidationError) as refused:
        services.decide_application(application, approve=True, on="2026-11-05", actor=officer)
    assert "capability level" in refused.value.message and "2026-12" in refused.value.message
    assert recipient.service_start is None
    # Without a profile for the starting year there is nothing to check against.
    services.decide_application(application, approve=True, on="2026-12-04", actor=officer)
    assert recipient.service_start == date(2027, 1, 1)


def test_open_applications_list_overdue_first(make_recipient, officer):
    late = services.create_application(
        make_recipient(name="甲", id_number=id_number(date(1950, 1, 3))), applied_on="2026-11-02"
    )
    fresh = services.create_application(
        make_recipient(name="乙", id_number=id_number(date(1950, 1, 4))), applied_on="2026-12-14"
    )
    waiting = services.create_application(
        make_recipient(name="丙", id_number=id_number(date(1950, 1, 5))), applied_on="2026-10-08"
    )
    services.record_village_check(waiting, on="2026-10-09", passed=True)
    services.record_township_review(waiting, on="2026-10-10", passed=True)
    rows = services.open_applications({})
    assert [row.application for row in rows] == [late, fresh, waiting]
    assert rows[0].deadline.overdue and not rows[1].deadline.overdue
    assert rows[2].step == "county" and rows[2].deadline is None
