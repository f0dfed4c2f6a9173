from datetime import date

import pytest

from procurement.core.workdays import CalendarUnknown, add_workdays, is_workday


def test_deadlines_across_the_2026_national_day_holiday():
    # Village check within 10 working days of an application on Monday 28 September:
    # 29, 30 Sep; holiday 1-7 Oct; 8, 9 Oct; Saturday 10 Oct is a make-up workday; 12-16 Oct.
    assert add_workdays(date(2026, 9, 28), 10) == date(2026, 10, 16)
    # The township review within 5 working days of a check on Friday 9 October:
    assert add_workdays(date(2026, 10, 9), 5) == date(2026, 10, 15)
    assert add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert is_workday(date(2026, 10, 10)) and is_workday(date(2026, 9, 20))
    assert not is_workday(date(2026, 10, 1))


def test_spring_festival_2026_and_its_make_up_days():
    assert is_workday(date(2026, 2, 14)) and is_workday(date(2026, 2, 28))
    assert not any(is_workday(date(2026, 2, d)) for d in range(15, 24))


def test_an_uncovered_year_is_reported_not_guessed():
    with pytest.raises(CalendarUnknown) as unknown:
        add_workdays(date(2026, 12, 30), 5)
    assert unknown.value.year == 2027


def test_an_officer_table_covers_a_missing_year():
    table = {date(2027, 1, 1): False, date(2027, 1, 4): True}
    assert not is_workday(date(2027, 1, 1), table)
    assert is_workday(date(2027, 1, 5), table)
    assert add_workdays(date(2026, 12, 31), 1, table) == date(2027, 1, 4)
