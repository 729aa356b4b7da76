from __future__ import annotations

from datetime import date

import pytest

from kpitree.periods import (
    Period,
    PeriodError,
    period_grain,
    period_last_year,
    period_previous,
    period_resolve,
)

TODAY = date(2025, 11, 23)  # a Sunday


@pytest.mark.parametrize(("preset", "start", "end"), [
    ("this_week", date(2025, 11, 17), TODAY),
    ("last_week", date(2025, 11, 10), date(2025, 11, 16)),
    ("this_month", date(2025, 11, 1), TODAY),
    ("last_month", date(2025, 10, 1), date(2025, 10, 31)),
    ("this_quarter", date(2025, 10, 1), TODAY),
    ("last_quarter", date(2025, 7, 1), date(2025, 9, 30)),
    ("this_year", date(2025, 1, 1), TODAY),
    ("last_year", date(2024, 1, 1), date(2024, 12, 31)),
])
def test_presets_run_through_today_or_cover_the_whole_previous_period(preset, start, end):
    assert period_resolve(preset=preset, today=TODAY) == Period(start, end)


def test_custom_needs_both_dates_and_order():
    assert period_resolve(preset="custom", start=date(2025, 11, 5), end=date(2025, 12, 3),
                          today=TODAY).days == 29
    with pytest.raises(PeriodError):
        period_resolve(preset="custom", start=date(2025, 11, 5), today=TODAY)
    with pytest.raises(PeriodError):
        Period(date(2025, 11, 5), date(2025, 11, 4))
    with pytest.raises(PeriodError):
        period_resolve(preset="next_month", today=TODAY)


@pytest.mark.parametrize(("period", "previous"), [
    (Period(date(2025, 11, 1), date(2025, 11, 23)), Period(date(2025, 10, 1), date(2025, 10, 23))),
    (Period(date(2025, 3, 1), date(2025, 3, 31)), Period(date(2025, 2, 1), date(2025, 2, 28))),
    (Period(date(2025, 3, 1), date(2025, 3, 30)), Period(date(2025, 2, 1), date(2025, 2, 28))),
    (Period(date(2025, 4, 1), date(2025, 4, 30)), Period(date(2025, 3, 1), date(2025, 3, 31))),
    (Period(date(2025, 10, 1), date(2025, 12, 31)), Period(date(2025, 7, 1), date(2025, 9, 30))),
    (Period(date(2025, 11, 17), date(2025, 11, 19)), Period(date(2025, 11, 10), date(2025, 11, 12))),
    (Period(date(2025, 11, 5), date(2025, 12, 3)), Period(date(2025, 10, 7), date(2025, 11, 4))),
    (Period(date(2025, 11, 5), date(2025, 11, 5)), Period(date(2025, 11, 4), date(2025, 11, 4))),
])
def test_previous_period(period, previous):
    assert period_previous(period) == previous


def test_last_year_keeps_full_months_full_and_weeks_on_mondays():
    assert period_last_year(Period(date(2024, 2, 1), date(2024, 2, 29))) == Period(
        date(2023, 2, 1), date(2023, 2, 28))
    week = period_last_year(Period(date(2025, 11, 17), date(2025, 11, 23)))
    assert week.start.weekday() == 0 and week.days == 7
    assert period_last_year(Period(date(2025, 11, 5), date(2025, 12, 3))) == Period(
        date(2024, 11, 5), date(2024, 12, 3))


def test_rollup_grain_is_the_largest_anchored_one():
    assert period_grain(Period(date(2025, 4, 1), date(2025, 4, 30))) == "quarter"
    assert period_grain(Period(date(2025, 11, 1), date(2025, 11, 23))) == "month"
    assert period_grain(Period(date(2025, 11, 17), date(2025, 11, 20))) == "week"
    assert period_grain(Period(date(2025, 11, 18), date(2025, 11, 18))) == "day"
    assert period_grain(Period(date(2025, 11, 5), date(2025, 12, 3))) is None
    assert period_grain(Period(date(2024, 12, 1), date(2025, 1, 31))) is None
    assert Period(date(2025, 4, 1), date(2025, 4, 30)).label == "2025-04"
    assert Period(date(2025, 1, 1), date(2025, 12, 31)).label == "2025"
