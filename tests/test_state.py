"""Tests of engine.state: due runs, run decisions, end conditions, minimum amount, pause/resume."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accumulating_billing.engine import (
	ACTIVE,
	ARCHIVED,
	CATCH_UP_CAP,
	COMPLETED,
	DRAFT,
	END_AFTER_N,
	END_NEVER,
	END_ON_DATE,
	PAUSED,
	GeneratorState,
	Schedule,
	TabItem,
	ValidationError,
	decide_run,
	due_runs,
	first_on_or_after,
	initial_next_date,
	is_final_run,
	items_for_run,
	missed_during_pause,
	next_run_after,
	occurrence,
	resume_next_date,
	validate_settings,
)
from tests.strategies import schedules

D = Decimal
MONTHLY = Schedule(date(2024, 1, 31), "Month", 1)


def make_state(**changes: object) -> GeneratorState:
	"""An Active monthly generator anchored on Jan 31 2024, due on its first date."""
	state = GeneratorState(status=ACTIVE, schedule=MONTHLY, next_creation_date=MONTHLY.first_date)
	return replace(state, **changes)


def item(name: str, day: date, amount: str = "10.00") -> TabItem:
	"""A tab item."""
	return TabItem(name=name, service_date=day, amount=D(amount))


# validate_settings -----------------------------------------------------------------------------------


def test_validate_settings_accepts_good_settings() -> None:
	"""Valid settings pass silently."""
	validate_settings(MONTHLY, END_NEVER, 0, None, D(0))
	validate_settings(MONTHLY, END_AFTER_N, 1, None, D("50.00"))
	validate_settings(MONTHLY, END_ON_DATE, 0, MONTHLY.first_date, D(0))


@pytest.mark.parametrize(
	("end_condition", "n", "end_date", "minimum", "message"),
	[
		("Forever", 0, None, D(0), "End condition"),
		(END_AFTER_N, 0, None, D(0), "at least 1"),
		(END_ON_DATE, 0, None, D(0), "end date"),
		(END_ON_DATE, 0, date(2024, 1, 30), D(0), "before the first"),
		(END_NEVER, 0, None, D("-0.01"), "Minimum amount"),
	],
)
def test_validate_settings_refuses(
	end_condition: str, n: int, end_date: date | None, minimum: Decimal, message: str
) -> None:
	"""Each inconsistent setting gets a clear message."""
	with pytest.raises(ValidationError, match=message):
		validate_settings(MONTHLY, end_condition, n, end_date, minimum)


# next_run_after / initial_next_date / is_final_run ---------------------------------------------------


def test_next_run_after_never() -> None:
	"""Without an end date the next run is the next occurrence."""
	state = make_state()
	assert next_run_after(state, date(2024, 1, 31)) == date(2024, 2, 29)
	assert next_run_after(state, date(2024, 2, 29)) == date(2024, 3, 31)
	assert initial_next_date(state) == date(2024, 1, 31)


def test_next_run_after_on_date() -> None:
	"""With an end date between occurrences, the end date is the final run; nothing follows it."""
	state = make_state(end_condition=END_ON_DATE, end_date=date(2024, 3, 15))
	assert next_run_after(state, date(2024, 1, 31)) == date(2024, 2, 29)
	assert next_run_after(state, date(2024, 2, 29)) == date(2024, 3, 15)
	assert next_run_after(state, date(2024, 3, 15)) is None
	assert next_run_after(state, date(2024, 4, 1)) is None
	assert not is_final_run(state, date(2024, 2, 29))
	assert is_final_run(state, date(2024, 3, 15))
	assert is_final_run(state, date(2024, 3, 16))


def test_on_date_equal_to_first_date() -> None:
	"""An end date on the first date makes the first run the final one."""
	state = make_state(end_condition=END_ON_DATE, end_date=MONTHLY.first_date)
	assert initial_next_date(state) == MONTHLY.first_date
	assert is_final_run(state, MONTHLY.first_date)


# due_runs ---------------------------------------------------------------------------------------------


def test_due_runs_lists_missed_runs_in_order() -> None:
	"""Every run date up to as_of, oldest first."""
	state = make_state()
	assert due_runs(state, date(2024, 1, 30)) == []
	assert due_runs(state, date(2024, 1, 31)) == [date(2024, 1, 31)]
	assert due_runs(state, date(2024, 4, 29)) == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)]


def test_due_runs_catch_up_cap() -> None:
	"""At most 12 runs per call (a daily generator down for 100 days)."""
	state = make_state(schedule=Schedule(date(2024, 1, 1), "Day", 1), next_creation_date=date(2024, 1, 1))
	runs = due_runs(state, date(2024, 4, 10))
	assert CATCH_UP_CAP == 12
	assert runs == [date(2024, 1, 1) + timedelta(days=i) for i in range(12)]
	assert len(due_runs(state, date(2024, 4, 10), cap=3)) == 3
	with pytest.raises(ValidationError):
		due_runs(state, date(2024, 4, 10), cap=0)


def test_due_runs_stops_at_final_run() -> None:
	"""Nothing is due after an On Date generator's final run."""
	state = make_state(end_condition=END_ON_DATE, end_date=date(2024, 3, 15))
	assert due_runs(state, date(2030, 1, 1)) == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 15)]


@pytest.mark.parametrize("status", [DRAFT, PAUSED, COMPLETED, ARCHIVED])
def test_due_runs_empty_unless_active(status: str) -> None:
	"""Paused, Draft, Completed and Archived generators have nothing due."""
	assert due_runs(make_state(status=status), date(2030, 1, 1)) == []


def test_due_runs_empty_without_next_date() -> None:
	"""An Active generator without a next date has nothing due."""
	assert due_runs(make_state(next_creation_date=None), date(2030, 1, 1)) == []


@settings(max_examples=200, deadline=None)
@given(schedules(max_count=6), st.integers(0, 2000), st.integers(1, 20))
def test_due_runs_are_consecutive_run_dates(s: Schedule, days: int, cap: int) -> None:
	"""due_runs follows next_run_after from next_creation_date, within as_of and the cap."""
	state = GeneratorState(status=ACTIVE, schedule=s, next_creation_date=s.first_date)
	as_of = s.first_date + timedelta(days=days)
	runs = due_runs(state, as_of, cap)
	assert len(runs) <= cap
	assert all(r <= as_of for r in runs)
	assert runs[0] == s.first_date
	for a, b in pairwise(runs):
		assert next_run_after(state, a) == b
	if len(runs) < cap:
		assert next_run_after(state, runs[-1]) > as_of


# items_for_run ----------------------------------------------------------------------------------------


def test_items_for_run_item_on_run_date_waits() -> None:
	"""Only items dated before the run date; on a final run, everything given."""
	run = date(2024, 2, 29)
	items = [
		item("A", date(2024, 2, 1)),
		item("B", run),
		item("C", date(2024, 2, 28)),
		item("D", date(2024, 3, 1)),
	]
	assert [i.name for i in items_for_run(items, run, final=False)] == ["A", "C"]
	assert [i.name for i in items_for_run(items, run, final=True)] == ["A", "B", "C", "D"]


def test_tab_item_refuses_float_amount() -> None:
	"""Money is Decimal only."""
	with pytest.raises(ValidationError):
		TabItem("A", date(2024, 1, 1), 1.5)  # type: ignore[arg-type]


# decide_run -------------------------------------------------------------------------------------------


def test_decide_run_bills_items_before_run_date() -> None:
	"""A normal run bills the items dated before it and moves to the next occurrence."""
	state = make_state()
	items = [item("A", date(2024, 1, 5), "12.50"), item("B", date(2024, 1, 31), "7.00")]
	decision = decide_run(state, date(2024, 1, 31), items)
	assert decision.action == "bill"
	assert decision.reason == "billed"
	assert [i.name for i in decision.items] == ["A"]
	assert decision.net_total == D("12.50")
	assert decision.invoices_generated == 1
	assert decision.next_creation_date == date(2024, 2, 29)
	assert decision.status == ACTIVE
	assert not decision.final


def test_decide_run_uses_a_measured_net_total() -> None:
	"""ERPNext's own net total (a Grand Total discount spread through taxes) decides the minimum check."""
	state = make_state(minimum_amount=D("80.00"))
	items = [item("A", date(2024, 1, 5), "100.00")]
	assert decide_run(state, date(2024, 1, 31), items).action == "bill"
	skipped = decide_run(state, date(2024, 1, 31), items, measured_net_total=D("70.00"))
	assert (skipped.action, skipped.net_total) == ("skip_minimum", D("70.00"))


def test_decide_run_no_items() -> None:
	"""No items: no invoice, the schedule moves on, the counter does not."""
	state = make_state(invoices_generated=4)
	decision = decide_run(state, date(2024, 1, 31), [item("B", date(2024, 1, 31))])
	assert (decision.action, decision.reason) == ("skip_empty", "no_items")
	assert decision.items == ()
	assert decision.net_total == D(0)
	assert decision.invoices_generated == 4
	assert decision.next_creation_date == date(2024, 2, 29)
	assert decision.status == ACTIVE


def test_minimum_amount_carry_over() -> None:
	"""Below the minimum: skip, items stay; the next run bills them together with the new ones."""
	state = make_state(minimum_amount=D("50.00"))
	tab = [item("A", date(2024, 1, 10), "45.00")]
	first = decide_run(state, date(2024, 1, 31), tab)
	assert (first.action, first.reason) == ("skip_minimum", "below_minimum")
	assert [i.name for i in first.items] == ["A"]
	assert first.net_total == D("45.00")
	assert first.invoices_generated == 0
	assert first.next_creation_date == date(2024, 2, 29)
	state = replace(state, next_creation_date=first.next_creation_date)
	tab.append(item("B", date(2024, 2, 10), "10.00"))
	second = decide_run(state, date(2024, 2, 29), tab)
	assert second.action == "bill"
	assert [i.name for i in second.items] == ["A", "B"]
	assert second.net_total == D("55.00")


def test_minimum_uses_net_total_after_discount() -> None:
	"""The minimum compares the net total after a Net Total discount, not before."""
	state = make_state(minimum_amount=D("50.00"))
	tab = [item("A", date(2024, 1, 10), "52.00")]
	assert decide_run(state, date(2024, 1, 31), tab).action == "bill"
	on_net = decide_run(
		state, date(2024, 1, 31), tab, discount_percentage=D(10), apply_discount_on="Net Total"
	)
	assert on_net.action == "skip_minimum"
	assert on_net.net_total == D("46.80")
	on_grand = decide_run(
		state, date(2024, 1, 31), tab, discount_percentage=D(10), apply_discount_on="Grand Total"
	)
	assert on_grand.action == "bill"


def test_negative_tab_carries_over() -> None:
	"""Returns outweighing the rest: no invoice, the items stay, the skip says why; not even a final run bills it."""
	state = make_state(minimum_amount=D("0"))
	tab = [item("A", date(2024, 1, 10), "30.00"), item("R", date(2024, 1, 12), "-45.00")]
	decision = decide_run(state, date(2024, 1, 31), tab)
	assert (decision.action, decision.reason) == ("skip_negative", "negative_total")
	assert decision.net_total == D("-15.00")
	assert decision.invoices_generated == 0
	assert decision.next_creation_date == date(2024, 2, 29)
	final = replace(state, end_condition=END_ON_DATE, end_date=date(2024, 1, 31))
	last = decide_run(final, date(2024, 1, 31), tab)
	assert (last.action, last.status) == ("skip_negative", COMPLETED)


def test_a_discount_never_applies_to_a_negative_tab() -> None:
	"""A credit is not discounted; a tab netting to zero is billed (nothing is below a zero minimum)."""
	state = make_state()
	tab = [item("A", date(2024, 1, 10), "10.00"), item("R", date(2024, 1, 12), "-20.00")]
	on_net = decide_run(
		state, date(2024, 1, 31), tab, discount_percentage=D(10), apply_discount_on="Net Total"
	)
	assert on_net.net_total == D("-10.00")
	even = [item("A", date(2024, 1, 10), "20.00"), item("R", date(2024, 1, 12), "-20.00")]
	assert decide_run(state, date(2024, 1, 31), even).action == "bill"


def test_minimum_equal_is_billed() -> None:
	"""A net total equal to the minimum is not below it."""
	state = make_state(minimum_amount=D("50.00"))
	assert decide_run(state, date(2024, 1, 31), [item("A", date(2024, 1, 1), "50.00")]).action == "bill"


def test_after_n_completes_right_after_nth_bill_and_skips_do_not_count() -> None:
	"""After 2 invoices: an empty run and a below-minimum run do not count; the 2nd bill completes."""
	state = make_state(end_condition=END_AFTER_N, end_after_invoices=2, minimum_amount=D("20.00"))
	tab = [item("A", date(2024, 1, 1), "30.00")]
	outcomes = []
	while state.status == ACTIVE:
		run = state.next_creation_date
		assert run is not None
		decision = decide_run(state, run, tab)
		outcomes.append((run, decision.action, decision.invoices_generated, decision.status))
		billed = {i.name for i in decision.items} if decision.action == "bill" else set()
		tab = [i for i in tab if i.name not in billed]
		if run == date(2024, 2, 29):
			tab.append(item("B", date(2024, 3, 5), "5.00"))  # below minimum on Mar 31
		if run == date(2024, 3, 31):
			tab.append(item("C", date(2024, 4, 2), "15.00"))  # B + C = 20 on Apr 30
		state = replace(
			state,
			status=decision.status,
			invoices_generated=decision.invoices_generated,
			next_creation_date=decision.next_creation_date,
		)
	assert outcomes == [
		(date(2024, 1, 31), "bill", 1, ACTIVE),
		(date(2024, 2, 29), "skip_empty", 1, ACTIVE),
		(date(2024, 3, 31), "skip_minimum", 1, ACTIVE),
		(date(2024, 4, 30), "bill", 2, COMPLETED),
	]
	assert state.next_creation_date is None


def test_after_1_completes_after_first_bill() -> None:
	"""After 1 invoice: the first bill completes the generator."""
	state = make_state(end_condition=END_AFTER_N, end_after_invoices=1)
	decision = decide_run(state, date(2024, 1, 31), [item("A", date(2024, 1, 1))])
	assert (decision.status, decision.next_creation_date, decision.invoices_generated) == (COMPLETED, None, 1)


def test_on_date_runs_before_end_are_normal() -> None:
	"""Before D, the minimum applies and items dated on the run date wait."""
	state = make_state(end_condition=END_ON_DATE, end_date=date(2024, 3, 15), minimum_amount=D("100.00"))
	decision = decide_run(state, date(2024, 1, 31), [item("A", date(2024, 1, 2), "20.00")])
	assert decision.action == "skip_minimum"
	assert not decision.final
	assert decision.next_creation_date == date(2024, 2, 29)


def test_on_date_final_run_ignores_minimum_and_takes_everything() -> None:
	"""The run on D bills everything still unbilled (items dated D included), then Completed."""
	end = date(2024, 3, 15)
	state = make_state(
		end_condition=END_ON_DATE, end_date=end, minimum_amount=D("100.00"), next_creation_date=end
	)
	tab = [item("A", date(2024, 1, 2), "20.00"), item("B", end, "1.00")]
	decision = decide_run(state, end, tab)
	assert decision.final
	assert decision.action == "bill"
	assert [i.name for i in decision.items] == ["A", "B"]
	assert decision.status == COMPLETED
	assert decision.next_creation_date is None


def test_on_date_final_run_without_items_completes() -> None:
	"""A final run with nothing to bill still completes the generator."""
	end = date(2024, 3, 15)
	state = make_state(end_condition=END_ON_DATE, end_date=end, next_creation_date=end)
	decision = decide_run(state, end, [])
	assert (decision.action, decision.status, decision.next_creation_date) == ("skip_empty", COMPLETED, None)


def test_on_date_first_run_after_end_is_final() -> None:
	"""A run later than D (resumed after D, or D moved back) is the final run too."""
	end = date(2024, 3, 15)
	late = date(2024, 4, 2)
	state = make_state(
		end_condition=END_ON_DATE, end_date=end, minimum_amount=D("100.00"), next_creation_date=late
	)
	assert due_runs(state, date(2024, 5, 1)) == [late]
	decision = decide_run(state, late, [item("A", date(2024, 1, 2), "1.00")])
	assert decision.final
	assert decision.action == "bill"
	assert decision.status == COMPLETED


def test_on_date_late_scheduler_bills_d_as_final() -> None:
	"""When the scheduler only wakes after D, the catch-up runs end with the final run on D."""
	end = date(2024, 3, 15)
	state = make_state(end_condition=END_ON_DATE, end_date=end, next_creation_date=date(2024, 2, 29))
	runs = due_runs(state, date(2024, 6, 1))
	assert runs == [date(2024, 2, 29), end]
	assert is_final_run(state, runs[-1])


@pytest.mark.parametrize("status", [DRAFT, PAUSED, COMPLETED, ARCHIVED])
def test_decide_run_refuses_inactive(status: str) -> None:
	"""Only an Active generator runs."""
	with pytest.raises(ValidationError, match="Active"):
		decide_run(make_state(status=status), date(2024, 1, 31), [])


def test_decide_run_refuses_wrong_date() -> None:
	"""A run must be the generator's next scheduled run (no double or out-of-order runs)."""
	state = make_state()
	with pytest.raises(ValidationError, match="next scheduled run"):
		decide_run(state, date(2024, 2, 29), [])
	with pytest.raises(ValidationError, match="next scheduled run"):
		decide_run(make_state(next_creation_date=None), date(2024, 1, 31), [])


def test_decide_run_refuses_invalid_settings() -> None:
	"""Inconsistent settings are reported instead of silently completing."""
	with pytest.raises(ValidationError, match="at least 1"):
		decide_run(make_state(end_condition=END_AFTER_N, end_after_invoices=0), date(2024, 1, 31), [])


# pause / resume ---------------------------------------------------------------------------------------


def test_resume_keeps_rhythm_and_lists_missed_runs() -> None:
	"""Resuming on Apr 10 moves the next run to Apr 30; Feb 29 and Mar 31 are not caught up."""
	state = make_state(status=PAUSED, next_creation_date=date(2024, 2, 29))
	assert resume_next_date(state, date(2024, 4, 10)) == date(2024, 4, 30)
	assert missed_during_pause(state, date(2024, 4, 10)) == [date(2024, 2, 29), date(2024, 3, 31)]


def test_resume_on_an_occurrence() -> None:
	"""Resuming on an occurrence date runs on that date."""
	state = make_state(status=PAUSED, next_creation_date=date(2024, 2, 29))
	assert resume_next_date(state, date(2024, 3, 31)) == date(2024, 3, 31)
	assert missed_during_pause(state, date(2024, 3, 31)) == [date(2024, 2, 29)]


def test_resume_before_next_date_misses_nothing() -> None:
	"""A short pause that ends before the next run changes nothing; processed runs never repeat."""
	state = make_state(status=PAUSED, next_creation_date=date(2024, 2, 29))
	assert resume_next_date(state, date(2024, 2, 10)) == date(2024, 2, 29)
	assert resume_next_date(state, date(2024, 1, 1)) == date(2024, 2, 29)
	assert missed_during_pause(state, date(2024, 1, 1)) == []


def test_resume_with_on_date() -> None:
	"""With an end date, a resumed run never passes D unless the resume date itself is after D."""
	state = make_state(
		status=PAUSED,
		end_condition=END_ON_DATE,
		end_date=date(2024, 4, 15),
		next_creation_date=date(2024, 2, 29),
	)
	assert resume_next_date(state, date(2024, 3, 20)) == date(2024, 3, 31)
	assert resume_next_date(state, date(2024, 4, 5)) == date(2024, 4, 15)
	assert resume_next_date(state, date(2024, 5, 2)) == date(2024, 5, 2)
	assert missed_during_pause(state, date(2024, 5, 2)) == [
		date(2024, 2, 29),
		date(2024, 3, 31),
		date(2024, 4, 15),
	]


def test_missed_during_pause_without_next_date() -> None:
	"""Nothing is missed without a next date."""
	assert missed_during_pause(make_state(status=PAUSED, next_creation_date=None), date(2024, 5, 1)) == []


@settings(max_examples=200, deadline=None)
@given(schedules(max_count=6), st.integers(0, 50), st.integers(0, 1500))
def test_resume_properties(s: Schedule, k: int, pause_days: int) -> None:
	"""The resumed run is an occurrence on or after the resume date (and after the pause start)."""
	paused_at = occurrence(s, k)
	state = GeneratorState(status=PAUSED, schedule=s, next_creation_date=paused_at)
	resume = paused_at + timedelta(days=pause_days)
	nxt = resume_next_date(state, resume)
	assert nxt == first_on_or_after(s, resume)
	missed = missed_during_pause(state, resume)
	assert all(paused_at <= m < nxt for m in missed)
	assert (missed[0] if missed else nxt) == paused_at
