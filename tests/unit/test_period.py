"""Billing periods: inclusive ranges of at most 366 days; a monthly one is exactly one calendar month."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from billing.domain.errors import InvalidPeriod
from billing.domain.period import Period


def test_invalid_period_has_a_stable_code_and_is_a_bad_request():
    assert (InvalidPeriod.code, InvalidPeriod.status) == ("invalid_period", 400)


def test_end_before_start_is_an_invalid_period():
    with pytest.raises(InvalidPeriod):
        Period("custom", date(2026, 3, 10), date(2026, 3, 9))


def test_a_one_day_custom_period_is_valid_and_counts_one_day():
    assert Period("custom", date(2026, 3, 10), date(2026, 3, 10)).days == 1


def test_a_custom_period_of_366_days_is_valid():
    start = date(2027, 1, 1)
    period = Period("custom", start, start + timedelta(days=365))
    assert period.days == 366


def test_a_custom_period_of_367_days_is_an_invalid_period():
    start = date(2027, 1, 1)
    with pytest.raises(InvalidPeriod):
        Period("custom", start, start + timedelta(days=366))


@pytest.mark.parametrize("period_type", ["weekly", "yearly", "MONTHLY", ""])
def test_an_unknown_period_type_is_an_invalid_period(period_type):
    with pytest.raises(InvalidPeriod):
        Period(period_type, date(2026, 10, 1), date(2026, 10, 31))


def test_a_monthly_period_from_the_first_to_the_last_day_of_a_month_is_valid():
    period = Period("monthly", date(2026, 10, 1), date(2026, 10, 31))
    assert period.days == 31


@pytest.mark.parametrize(("start", "end"), [
    (date(2026, 10, 2), date(2026, 10, 31)),   # does not start on the 1st
    (date(2026, 10, 1), date(2026, 10, 30)),   # stops a day early
    (date(2026, 10, 1), date(2026, 11, 30)),   # two months
    (date(2026, 10, 15), date(2026, 11, 14)),  # a month long, but not a calendar month
    (date(2026, 2, 1), date(2026, 2, 27)),     # February 2026 ends on the 28th
])
def test_a_monthly_period_that_is_not_one_calendar_month_is_invalid(start, end):
    with pytest.raises(InvalidPeriod):
        Period("monthly", start, end)


def test_month_of_february_2026_ends_on_the_28th():
    period = Period.month(2026, 2)
    assert (period.type, period.start, period.end) == ("monthly", date(2026, 2, 1), date(2026, 2, 28))


def test_month_of_february_2028_a_leap_year_ends_on_the_29th():
    assert Period.month(2028, 2).end == date(2028, 2, 29)


def test_month_of_december_ends_on_the_31st_of_the_same_year():
    assert (Period.month(2026, 12).start, Period.month(2026, 12).end) == (date(2026, 12, 1), date(2026, 12, 31))


def test_previous_month_of_mid_january_is_december_of_the_previous_year():
    assert Period.previous_month(date(2026, 1, 15)) == Period("monthly", date(2025, 12, 1), date(2025, 12, 31))


def test_previous_month_of_the_31st_of_march_is_the_whole_of_february():
    assert Period.previous_month(date(2026, 3, 31)) == Period("monthly", date(2026, 2, 1), date(2026, 2, 28))


def test_contains_includes_both_ends_and_nothing_outside():
    period = Period.month(2026, 10)
    assert period.contains(date(2026, 10, 1)) and period.contains(date(2026, 10, 31))
    assert not period.contains(date(2026, 9, 30)) and not period.contains(date(2026, 11, 1))
