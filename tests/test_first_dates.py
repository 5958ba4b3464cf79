"""Tests of engine.first_dates: a template's first creation date relative to the assignment."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accumulating_billing.engine import (
	FIRST_DATE_RULES,
	ValidationError,
	day_of_month,
	days_after,
	first_creation_date,
)
from tests.strategies import plain_dates


def test_days_after() -> None:
	"""N days after assignment; 0 means the assignment day itself."""
	assert days_after(date(2024, 2, 27), 0) == date(2024, 2, 27)
	assert days_after(date(2024, 2, 27), 3) == date(2024, 3, 1)
	with pytest.raises(ValidationError):
		days_after(date(2024, 2, 27), -1)
	with pytest.raises(ValidationError):
		days_after(date(9999, 12, 31), 1)


@pytest.mark.parametrize(
	("assigned", "day", "expected"),
	[
		(date(2024, 3, 10), 15, date(2024, 3, 15)),
		(date(2024, 3, 15), 15, date(2024, 3, 15)),
		(date(2024, 3, 16), 15, date(2024, 4, 15)),
		(date(2024, 12, 20), 1, date(2025, 1, 1)),
		(date(2024, 2, 10), 31, date(2024, 2, 29)),
		(date(2023, 2, 10), 31, date(2023, 2, 28)),
		(date(2023, 2, 10), 30, date(2023, 2, 28)),
		(date(2024, 1, 31), 30, date(2024, 2, 29)),
		(date(2024, 4, 30), 31, date(2024, 4, 30)),
		(date(2024, 3, 31), 31, date(2024, 3, 31)),
	],
)
def test_day_of_month_examples(assigned: date, day: int, expected: date) -> None:
	"""The next such day on or after assignment; day 31 is the last day of shorter months."""
	assert day_of_month(assigned, day) == expected


@pytest.mark.parametrize("day", [0, 32, -1])
def test_day_of_month_out_of_range(day: int) -> None:
	"""Days outside 1..31 are refused."""
	with pytest.raises(ValidationError):
		day_of_month(date(2024, 1, 1), day)


def test_first_creation_date_dispatch() -> None:
	"""The rule picks the computation; unknown rules are refused."""
	assert FIRST_DATE_RULES == ("Days After Assignment", "Day Of Month")
	assert first_creation_date("Days After Assignment", date(2024, 1, 1), days=14) == date(2024, 1, 15)
	assert first_creation_date("Day Of Month", date(2024, 1, 20), day_of_month=5) == date(2024, 2, 5)
	assert first_creation_date("Day Of Month", date(2024, 1, 1)) == date(2024, 1, 1)
	with pytest.raises(ValidationError, match="rule"):
		first_creation_date("Next Monday", date(2024, 1, 1))


@settings(max_examples=500, deadline=None)
@given(plain_dates, st.integers(1, 31))
def test_day_of_month_properties(assigned: date, day: int) -> None:
	"""Never before assignment; on `day` or the last day of a shorter month; the first such date."""
	result = day_of_month(assigned, day)
	assert result >= assigned
	last = calendar.monthrange(result.year, result.month)[1]
	assert result.day == min(day, last)
	# No earlier date from the assignment on qualifies.
	d = assigned
	while d < result:
		assert d.day != min(day, calendar.monthrange(d.year, d.month)[1])
		d += timedelta(days=1)


@settings(max_examples=300, deadline=None)
@given(plain_dates, st.integers(0, 3650))
def test_days_after_properties(assigned: date, n: int) -> None:
	"""days_after is assignment + n days and never before the assignment."""
	result = first_creation_date("Days After Assignment", assigned, days=n)
	assert result == assigned + timedelta(days=n)
	assert result >= assigned


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FIRST_DATE_RULES), plain_dates, st.integers(0, 400), st.integers(1, 31))
def test_first_date_never_before_assignment(rule: str, assigned: date, n: int, day: int) -> None:
	"""Whatever the rule, the first creation date is on or after the assignment date."""
	assert first_creation_date(rule, assigned, days=n, day_of_month=day) >= assigned
