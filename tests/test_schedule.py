"""Tests of engine.schedule: occurrences always computed from the first date."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from accumulating_billing.engine import (
	Schedule,
	ValidationError,
	first_after,
	first_on_or_after,
	index_on_or_after,
	occurrence,
	occurrences_between,
)
from tests.strategies import plain_dates, schedule_and_index, schedules


def test_month_end_anchor_clamps_and_comes_back() -> None:
	"""A generator on the 31st bills on Feb 29 (leap year) and again on Mar 31."""
	s = Schedule(date(2024, 1, 31), "Month", 1)
	assert [occurrence(s, k) for k in range(6)] == [
		date(2024, 1, 31),
		date(2024, 2, 29),
		date(2024, 3, 31),
		date(2024, 4, 30),
		date(2024, 5, 31),
		date(2024, 6, 30),
	]


def test_month_end_anchor_non_leap_year() -> None:
	"""In a common year the 31st falls back to Feb 28, then Mar 31 again."""
	s = Schedule(date(2023, 1, 31), "Month", 1)
	assert occurrence(s, 1) == date(2023, 2, 28)
	assert occurrence(s, 2) == date(2023, 3, 31)
	assert occurrence(s, 13) == date(2024, 2, 29)


def test_not_stepped_from_previous_date() -> None:
	"""Stepping from Feb 28 would give Mar 28; computing from the first date gives Mar 31."""
	s = Schedule(date(2023, 1, 31), "Month", 1)
	assert first_after(s, date(2023, 2, 28)) == date(2023, 3, 31)


def test_quarterly_and_yearly() -> None:
	"""Multi-month and yearly intervals, including a Feb 29 anchor."""
	q = Schedule(date(2024, 11, 30), "Month", 3)
	assert [occurrence(q, k) for k in range(4)] == [
		date(2024, 11, 30),
		date(2025, 2, 28),
		date(2025, 5, 30),
		date(2025, 8, 30),
	]
	y = Schedule(date(2024, 2, 29), "Year", 1)
	assert [occurrence(y, k) for k in range(5)] == [
		date(2024, 2, 29),
		date(2025, 2, 28),
		date(2026, 2, 28),
		date(2027, 2, 28),
		date(2028, 2, 29),
	]


def test_days_and_weeks() -> None:
	"""Day and Week intervals are plain day arithmetic."""
	assert occurrence(Schedule(date(2024, 2, 27), "Day", 3), 2) == date(2024, 3, 4)
	assert occurrence(Schedule(date(2024, 12, 30), "Week", 2), 1) == date(2025, 1, 13)


@pytest.mark.parametrize(
	("unit", "count"),
	[
		("Days", 1),
		("month", 1),
		("", 1),
		("Month", 0),
		("Week", -1),
		("Day", 1.0),
		("Day", True),
		("Day", "2"),
	],
)
def test_invalid_schedule(unit: str, count: int) -> None:
	"""Unknown units and intervals below 1 (or not whole numbers) are refused."""
	with pytest.raises(ValidationError):
		Schedule(date(2024, 1, 1), unit, count)


def test_invalid_first_date() -> None:
	"""The first date must be a date (not a string or a datetime)."""
	from datetime import datetime

	with pytest.raises(ValidationError):
		Schedule("2024-01-01", "Day", 1)  # type: ignore[arg-type]
	with pytest.raises(ValidationError):
		Schedule(datetime(2024, 1, 1), "Day", 1)


def test_negative_index_refused() -> None:
	"""Occurrence -1 does not exist."""
	with pytest.raises(ValidationError, match="negative"):
		occurrence(Schedule(date(2024, 1, 1), "Day", 1), -1)


def test_beyond_year_9999_is_a_validation_error() -> None:
	"""Dates past the calendar's end give a clear error, not an OverflowError."""
	s = Schedule(date(9999, 11, 30), "Month", 1)
	assert occurrence(s, 1) == date(9999, 12, 30)
	with pytest.raises(ValidationError, match="9999"):
		occurrence(s, 2)
	with pytest.raises(ValidationError):
		first_after(s, date(9999, 12, 30))
	assert occurrences_between(s, date(9999, 1, 1), date.max) == [date(9999, 11, 30), date(9999, 12, 30)]
	assert occurrences_between(s, date(9999, 12, 31), date.max) == []


def test_index_on_or_after_edges() -> None:
	"""Dates before the first date give index 0; an occurrence date gives its own index."""
	s = Schedule(date(2024, 1, 31), "Month", 1)
	assert index_on_or_after(s, date(2000, 1, 1)) == 0
	assert index_on_or_after(s, date(2024, 1, 31)) == 0
	assert index_on_or_after(s, date(2024, 2, 1)) == 1
	assert index_on_or_after(s, date(2024, 2, 29)) == 1
	assert index_on_or_after(s, date(2024, 3, 1)) == 2
	assert first_on_or_after(s, date(2024, 3, 1)) == date(2024, 3, 31)


def test_index_on_or_after_huge_gap_is_fast() -> None:
	"""A daily schedule queried 8000 years later answers exactly, without a loop from 0."""
	s = Schedule(date(1900, 1, 1), "Day", 1)
	k = index_on_or_after(s, date(9999, 12, 31))
	assert k == (date(9999, 12, 31) - date(1900, 1, 1)).days
	assert occurrence(s, k) == date(9999, 12, 31)
	w = Schedule(date(1900, 1, 3), "Week", 3)
	k = index_on_or_after(w, date(9000, 6, 15))
	assert occurrence(w, k - 1) < date(9000, 6, 15) <= occurrence(w, k)


def test_occurrences_between_half_open() -> None:
	"""Start is included and end excluded; an empty or reversed range gives nothing."""
	s = Schedule(date(2024, 1, 1), "Week", 1)
	assert occurrences_between(s, date(2024, 1, 8), date(2024, 1, 29)) == [
		date(2024, 1, 8),
		date(2024, 1, 15),
		date(2024, 1, 22),
	]
	assert occurrences_between(s, date(2024, 1, 9), date(2024, 1, 9)) == []
	assert occurrences_between(s, date(2024, 2, 1), date(2024, 1, 1)) == []


@settings(max_examples=300, deadline=None)
@given(schedule_and_index(max_k=400))
def test_occurrences_strictly_increase(case: tuple[Schedule, int]) -> None:
	"""occurrence(k) < occurrence(k + 1) for every unit and count."""
	s, k = case
	assert occurrence(s, k) < occurrence(s, k + 1)


@settings(max_examples=300, deadline=None)
@given(schedule_and_index(max_k=1000))
def test_occurrence_matches_relativedelta_from_first(case: tuple[Schedule, int]) -> None:
	"""occurrence(k) is first_date + k x interval computed by relativedelta from the first date."""
	s, k = case
	unit = {"Day": "days", "Week": "weeks", "Month": "months", "Year": "years"}[s.unit]
	assert occurrence(s, k) == s.first_date + relativedelta(**{unit: k * s.count})


@settings(max_examples=200, deadline=None)
@given(schedules(), st.integers(0, 40))
def test_iterating_first_after_reaches_occurrence(s: Schedule, k: int) -> None:
	"""The k-th step of iterating first_after from the first date is occurrence(k)."""
	d = s.first_date
	for _ in range(k):
		d = first_after(s, d)
	assert d == occurrence(s, k)


@settings(max_examples=300, deadline=None)
@given(schedule_and_index(max_k=200))
def test_monthly_day_is_anchor_or_month_end(case: tuple[Schedule, int]) -> None:
	"""Month/Year occurrences keep the anchor day, clamped to the month's last day."""
	s, k = case
	if s.unit not in ("Month", "Year"):
		return
	o = occurrence(s, k)
	last = calendar.monthrange(o.year, o.month)[1]
	assert o.day == min(s.first_date.day, last)


@settings(max_examples=500, deadline=None)
@given(schedules(), plain_dates)
def test_index_on_or_after_exact(s: Schedule, d: date) -> None:
	"""occurrence(k - 1) < d <= occurrence(k) (or k == 0 when d is on or before the first date)."""
	k = index_on_or_after(s, d)
	assert occurrence(s, k) >= d
	if k == 0:
		assert d <= s.first_date
	else:
		assert occurrence(s, k - 1) < d
	assert first_on_or_after(s, d) == occurrence(s, k)


@settings(max_examples=200, deadline=None)
@given(
	schedules(first_dates=st.dates(date(1, 1, 1), date(2100, 1, 1))),
	st.dates(date(5000, 1, 1), date(9900, 12, 31)),
)
def test_index_on_or_after_exact_with_huge_gaps(s: Schedule, d: date) -> None:
	"""Exactness holds for gaps of thousands of years too."""
	k = index_on_or_after(s, d)
	assert occurrence(s, k - 1) < d <= occurrence(s, k)


@settings(max_examples=300, deadline=None)
@given(schedules(), plain_dates)
def test_first_after_is_strict_and_next(s: Schedule, d: date) -> None:
	"""first_after(d) > d, and no occurrence lies strictly between d and it."""
	nxt = first_after(s, d)
	assert nxt > d
	assert first_on_or_after(s, d + timedelta(days=1)) == nxt


@settings(max_examples=150, deadline=None)
@given(schedules(max_count=5), st.integers(-400, 4000), st.integers(0, 800))
def test_occurrences_between_matches_brute_force(s: Schedule, offset: int, span: int) -> None:
	"""occurrences_between equals filtering the occurrence sequence by start <= o < end."""
	start = s.first_date + timedelta(days=offset)
	end = start + timedelta(days=span)
	got = occurrences_between(s, start, end)
	expected = []
	k = 0
	while (o := occurrence(s, k)) < end:
		if o >= start:
			expected.append(o)
		k += 1
	assert got == expected
