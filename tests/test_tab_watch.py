"""Tests of engine.tab_watch: the threshold, the Tab Reaches alerts and the schedule restarted by a threshold
invoice (issue 27)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accumulating_billing.engine import (
	ACTIVE,
	END_AFTER_N,
	END_NEVER,
	END_ON_DATE,
	PAUSED,
	GeneratorState,
	Schedule,
	ValidationError,
	alerts_crossed,
	occurrence,
	restarted_schedule,
	threshold_reached,
	used_percent,
	validate_threshold,
)
from tests.strategies import money, schedules

D = Decimal


# ------------------------------------------------------------------------------------------ the threshold


def test_a_threshold_is_reached_at_its_amount_not_before():
	assert not threshold_reached(D("49.99"), D("50"))
	assert threshold_reached(D("50.00"), D("50"))
	assert threshold_reached(D("50.01"), D("50"))


def test_a_threshold_of_zero_is_off():
	assert not threshold_reached(D("1000000"), D("0"))
	assert used_percent(D("1000"), D("0")) == 0


@given(money(), money(min_cents=1))
def test_reached_exactly_when_the_total_is_at_or_past_it(total, threshold):
	assert threshold_reached(total, threshold) == (total >= threshold)


@given(money(), money(), money(min_cents=1))
def test_used_percent_is_0_to_100_monotone_and_100_only_when_reached(a, b, threshold):
	low, high = sorted((a, b))
	assert 0 <= used_percent(low, threshold) <= used_percent(high, threshold) <= 100
	assert (used_percent(high, threshold) == 100) == threshold_reached(high, threshold)


def test_used_percent_rounds_down_and_ignores_credit():
	assert used_percent(D("33.33"), D("100")) == 33
	assert used_percent(D("99.99"), D("100")) == 99
	assert used_percent(D("-20"), D("100")) == 0


def test_a_minimum_above_the_threshold_is_refused_with_the_reason():
	validate_threshold(D("100"), D("100"))
	validate_threshold(D("100"), D("40"))
	validate_threshold(D("0"), D("500"))  # no threshold: any minimum
	with pytest.raises(ValidationError) as refused:
		validate_threshold(D("100"), D("150"))
	assert "would never reach the minimum" in str(refused.value)
	assert refused.value.values == (D("150"), D("100"))
	with pytest.raises(ValidationError):
		validate_threshold(D("-1"), D("0"))


def test_floats_are_refused():
	with pytest.raises(ValidationError):
		threshold_reached(50.0, D("50"))


# ------------------------------------------------------------------------------------------ alerts


def test_each_alert_fires_once_lowest_first():
	alerts = [("b", D("200")), ("a", D("100")), ("c", D("300"))]
	assert alerts_crossed(D("99"), alerts) == []
	assert alerts_crossed(D("250"), alerts) == ["a", "b"]
	assert alerts_crossed(D("250"), alerts, fired={"a"}) == ["b"]
	assert alerts_crossed(D("1000"), alerts, fired={"a", "b", "c"}) == []
	assert alerts_crossed(D("1000"), [("zero", D("0")), ("neg", D("-5"))]) == []


@given(st.lists(money(min_cents=1), max_size=6), money(), money(), st.sets(st.integers(0, 5)))
def test_alerts_grow_with_the_total_and_never_repeat(amounts, a, b, fired_idx):
	alerts = [(f"k{i}", amount) for i, amount in enumerate(amounts)]
	fired = {f"k{i}" for i in fired_idx}
	low, high = sorted((a, b))
	at_low = set(alerts_crossed(low, alerts, fired))
	at_high = set(alerts_crossed(high, alerts, fired))
	assert at_low <= at_high
	assert not at_high & fired
	assert at_high == {key for key, amount in alerts if amount <= high} - fired


# ------------------------------------------------------------------------------------------ restart


def state(schedule: Schedule, **kw) -> GeneratorState:
	values = {"status": ACTIVE, "schedule": schedule, "next_creation_date": schedule.first_date}
	values.update(kw)
	return GeneratorState(**values)


def test_restart_moves_the_schedule_one_interval_after_the_threshold_invoice():
	monthly = state(Schedule(date(2026, 2, 1), "Month", 1), next_creation_date=date(2026, 4, 1))
	assert restarted_schedule(monthly, date(2026, 3, 10)) == (date(2026, 3, 10), date(2026, 4, 10))
	# and counted from that day from then on: the 31st stays the month's end
	assert restarted_schedule(monthly, date(2026, 1, 31)) == (date(2026, 1, 31), date(2026, 2, 28))


def test_no_restart_for_a_paused_generator_or_an_ended_on_date_one():
	weekly = Schedule(date(2026, 2, 1), "Week", 2)
	assert restarted_schedule(state(weekly, status=PAUSED), date(2026, 3, 1)) is None
	ending = state(weekly, end_condition=END_ON_DATE, end_date=date(2026, 3, 1))
	assert restarted_schedule(ending, date(2026, 3, 1)) is None
	assert restarted_schedule(ending, date(2026, 2, 20)) == (date(2026, 2, 20), date(2026, 3, 1))


@given(schedules(max_count=12), st.integers(0, 3000), st.sampled_from([END_NEVER, END_AFTER_N, END_ON_DATE]))
def test_restart_is_the_first_occurrence_of_a_schedule_starting_that_day(schedule, days, end):
	invoice_date = schedule.first_date + timedelta(days=days)
	end_date = invoice_date + timedelta(days=45) if end == END_ON_DATE else None
	s = state(schedule, end_condition=end, end_after_invoices=3, end_date=end_date)
	first, following = restarted_schedule(s, invoice_date)
	assert first == invoice_date
	expected = occurrence(replace(schedule, first_date=invoice_date), 1)
	assert following == (min(expected, end_date) if end_date else expected)
	assert following > invoice_date
