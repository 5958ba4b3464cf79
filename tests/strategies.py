"""Hypothesis strategies shared by the engine tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import strategies as st

from accumulating_billing.engine import INTERVAL_UNITS, Schedule

# Dates far from the ends of the calendar, so that a few thousand occurrences always fit.
plain_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))

month_ends = st.sampled_from(
	[date(2023, 1, 31), date(2024, 1, 31), date(2024, 1, 30), date(2024, 1, 29), date(2024, 2, 29)]
)

units = st.sampled_from(INTERVAL_UNITS)


@st.composite
def schedules(
	draw: st.DrawFn, max_count: int = 40, first_dates: st.SearchStrategy[date] = plain_dates
) -> Schedule:
	"""Any valid schedule, with month-end anchors drawn often."""
	first = draw(st.one_of(first_dates, month_ends))
	return Schedule(first_date=first, unit=draw(units), count=draw(st.integers(1, max_count)))


def money(max_cents: int = 100_000, min_cents: int = 0) -> st.SearchStrategy[Decimal]:
	"""Decimal amounts with two decimal places."""
	return st.integers(min_cents, max_cents).map(lambda cents: Decimal(cents).scaleb(-2))


def _years_per_step(s: Schedule) -> float:
	"""Roughly how many years one step of the schedule spans."""
	return s.count * {"Day": 1 / 365, "Week": 7 / 365, "Month": 1 / 12, "Year": 1}[s.unit]


@st.composite
def schedule_and_index(draw: st.DrawFn, max_k: int, max_count: int = 40) -> tuple[Schedule, int]:
	"""A schedule and an index k <= max_k whose occurrence stays well inside the calendar."""
	s = draw(schedules(max_count=max_count))
	room_years = 9000 - s.first_date.year
	limit = min(max_k, int(room_years / _years_per_step(s)))
	return s, draw(st.integers(0, limit))
