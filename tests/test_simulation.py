"""Simulation of a generator over time: outage equivalence, conservation and the run-date boundary.

A tiny in-memory simulator stands in for the Frappe side: a tab of TabItems (each added on its service
date), and a "tick" that processes every due run as of a date, one decide_run at a time, repeating the
capped catch-up until nothing is due, removing billed items and recording invoices.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from accumulating_billing.engine import (
	ACTIVE,
	COMPLETED,
	END_AFTER_N,
	END_NEVER,
	END_ON_DATE,
	GeneratorState,
	Schedule,
	TabItem,
	decide_run,
	due_runs,
	initial_next_date,
	next_run_after,
)
from tests.strategies import money

D = Decimal


@dataclass(frozen=True)
class Invoice:
	"""One generated invoice: its run date, the items it billed and its net total."""

	run_date: date
	items: frozenset[str]
	amount: Decimal
	net_total: Decimal
	final: bool


@dataclass(frozen=True)
class Scenario:
	"""A generator's settings, its items and the generator-level discount."""

	state: GeneratorState
	items: tuple[TabItem, ...]
	discount_percentage: Decimal = Decimal(0)
	apply_discount_on: str = "Grand Total"


@dataclass
class World:
	"""The simulated database: generator state, unbilled items, invoices and the run log."""

	state: GeneratorState
	all_items: tuple[TabItem, ...]
	unbilled: dict[str, TabItem] = field(default_factory=dict)
	invoices: list[Invoice] = field(default_factory=list)
	log: list[tuple[date, str]] = field(default_factory=list)

	def visible(self, as_of: date) -> list[TabItem]:
		"""Unbilled items already added by as_of (each item is added on its service date)."""
		return sorted(
			(i for i in self.unbilled.values() if i.service_date <= as_of),
			key=lambda i: (i.service_date, i.name),
		)


def new_world(scenario: Scenario) -> World:
	"""A fresh world for the scenario."""
	return World(
		state=scenario.state,
		all_items=scenario.items,
		unbilled={i.name: i for i in scenario.items},
	)


def tick(world: World, scenario: Scenario, as_of: date, cap: int) -> None:
	"""One scheduler wake-up at as_of: run the capped catch-up loop again until nothing is due."""
	while runs := due_runs(world.state, as_of, cap):
		for run in runs:
			if world.state.status != ACTIVE:
				break
			assert run == world.state.next_creation_date
			decision = decide_run(
				world.state,
				run,
				world.visible(as_of),
				discount_percentage=scenario.discount_percentage,
				apply_discount_on=scenario.apply_discount_on,
			)
			world.log.append((run, decision.reason))
			if decision.action == "bill":
				names = frozenset(i.name for i in decision.items)
				assert names <= world.unbilled.keys()
				for name in names:
					del world.unbilled[name]
				world.invoices.append(
					Invoice(
						run_date=run,
						items=names,
						amount=sum((i.amount for i in decision.items), D(0)),
						net_total=decision.net_total,
						final=decision.final,
					)
				)
			world.state = replace(
				world.state,
				status=decision.status,
				invoices_generated=decision.invoices_generated,
				next_creation_date=decision.next_creation_date,
			)


def run_dates(state: GeneratorState, until: date) -> list[date]:
	"""The generator's run dates up to `until` (whatever the outcomes)."""
	dates: list[date] = []
	run: date | None = state.next_creation_date
	while run is not None and run <= until:
		dates.append(run)
		run = next_run_after(state, run)
	return dates


def simulate(scenario: Scenario, tick_dates: list[date], cap: int) -> World:
	"""Run the scenario with scheduler wake-ups on the given dates."""
	world = new_world(scenario)
	for as_of in sorted(set(tick_dates)):
		tick(world, scenario, as_of, cap)
	return world


def invoice_trace(world: World) -> list[tuple[date, frozenset[str], Decimal]]:
	"""What must not depend on outages: per invoice, its date, items and net total, in order."""
	return [(inv.run_date, inv.items, inv.net_total) for inv in world.invoices]


FIRST = date(2024, 1, 31)
HORIZON = FIRST + timedelta(days=400)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
	"""A generator with a short interval, an end condition, a minimum, a discount and up to 30 items."""
	first = draw(st.sampled_from([FIRST, date(2024, 2, 29), date(2023, 12, 1), date(2024, 3, 15)]))
	unit = draw(st.sampled_from(["Day", "Week", "Month"]))
	count = draw(st.integers(1, {"Day": 20, "Week": 4, "Month": 2}[unit]))
	schedule = Schedule(first, unit, count)
	end_condition = draw(st.sampled_from([END_NEVER, END_AFTER_N, END_ON_DATE]))
	end_after = draw(st.integers(1, 6)) if end_condition == END_AFTER_N else 0
	end_date = first + timedelta(days=draw(st.integers(0, 300))) if end_condition == END_ON_DATE else None
	minimum = draw(st.one_of(st.just(D(0)), money(8000)))
	state = GeneratorState(
		status=ACTIVE,
		schedule=schedule,
		end_condition=end_condition,
		end_after_invoices=end_after,
		end_date=end_date,
		minimum_amount=minimum,
	)
	state = replace(state, next_creation_date=initial_next_date(state))
	last_day = min(end_date or HORIZON, HORIZON)  # items after the end date are refused
	span = (last_day - first).days
	offsets = draw(st.lists(st.integers(-40, span), max_size=30))
	amounts = draw(st.lists(money(5000), min_size=len(offsets), max_size=len(offsets)))
	items = tuple(
		TabItem(name=f"ITEM-{n:03d}", service_date=first + timedelta(days=off), amount=amount)
		for n, (off, amount) in enumerate(zip(offsets, amounts, strict=True))
	)
	pct = draw(st.sampled_from([D(0), D(0), D(10), D("33.33")]))
	on = draw(st.sampled_from(["Grand Total", "Net Total"]))
	return Scenario(state=state, items=items, discount_percentage=pct, apply_discount_on=on)


@st.composite
def outages(draw: st.DrawFn, scenario: Scenario) -> tuple[list[date], list[date]]:
	"""On-time wake-ups (every run date) and wake-ups with an outage of k consecutive run dates."""
	dates = run_dates(scenario.state, HORIZON)
	on_time = [*dates, HORIZON]
	if not dates:
		return on_time, on_time
	start = draw(st.integers(0, len(dates) - 1))
	k = draw(st.integers(1, len(dates) - start))
	last_missed = dates[start + k - 1]
	# The scheduler comes back once, some day on or after the last missed run date.
	back = min(last_missed + timedelta(days=draw(st.integers(0, 60))), HORIZON)
	with_outage = [d for d in dates if d < dates[start]] + [back] + [d for d in dates if d > back] + [HORIZON]
	return on_time, with_outage


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_outage_equivalence(data: st.DataObject) -> None:
	"""Billing after an outage of k run dates gives exactly the invoices of running on every run date."""
	scenario = data.draw(scenarios())
	on_time_ticks, outage_ticks = data.draw(outages(scenario))
	cap = data.draw(st.integers(1, 12))
	on_time = simulate(scenario, on_time_ticks, cap=12)
	after_outage = simulate(scenario, outage_ticks, cap=cap)
	assert invoice_trace(after_outage) == invoice_trace(on_time)
	assert after_outage.log == on_time.log
	assert after_outage.state == on_time.state
	assert after_outage.unbilled == on_time.unbilled


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_single_wake_up_at_the_end_equals_on_time(scenario: Scenario) -> None:
	"""The extreme outage: the scheduler wakes up only once, at the horizon, with the default cap."""
	on_time = simulate(scenario, [*run_dates(scenario.state, HORIZON), HORIZON], cap=12)
	once = simulate(scenario, [HORIZON], cap=12)
	assert invoice_trace(once) == invoice_trace(on_time)
	assert once.state == on_time.state


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_conservation(scenario: Scenario) -> None:
	"""Every item is billed at most once, and invoiced plus unbilled amounts equal the whole tab."""
	world = simulate(scenario, [*run_dates(scenario.state, HORIZON), HORIZON], cap=12)
	billed = [name for inv in world.invoices for name in inv.items]
	assert len(billed) == len(set(billed))
	assert set(billed).isdisjoint(world.unbilled)
	assert set(billed) | set(world.unbilled) == {i.name for i in scenario.items}
	total = sum((i.amount for i in scenario.items), D(0))
	invoiced = sum((inv.amount for inv in world.invoices), D(0))
	assert invoiced + sum((i.amount for i in world.unbilled.values()), D(0)) == total
	# Invoice dates strictly increase; at most one final invoice, and it is the last one.
	assert all(a.run_date < b.run_date for a, b in pairwise(world.invoices))
	assert all(not inv.final for inv in world.invoices[:-1])
	# After N: never more than N invoices, and exactly N when Completed.
	state = scenario.state
	if state.end_condition == END_AFTER_N:
		assert len(world.invoices) <= state.end_after_invoices
		assert (world.state.status == COMPLETED) == (len(world.invoices) == state.end_after_invoices)
	# On Date: by the horizon the final sweep has happened and nothing is left unbilled.
	if state.end_condition == END_ON_DATE and state.end_date is not None and state.end_date <= HORIZON:
		assert world.state.status == COMPLETED
		assert not world.unbilled


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_run_date_boundary(scenario: Scenario) -> None:
	"""A non-final invoice holds only items dated before its run date, and all of the unbilled ones."""
	world = new_world(scenario)
	by_name = {i.name: i for i in scenario.items}
	for run in run_dates(scenario.state, HORIZON):
		before = dict(world.unbilled)
		count = len(world.invoices)
		tick(world, scenario, run, cap=12)
		for inv in world.invoices[count:]:
			if inv.final:
				continue
			assert all(by_name[name].service_date < inv.run_date for name in inv.items)
			# Items dated on the run date wait for the next run.
			assert all(i.name not in inv.items for i in before.values() if i.service_date == inv.run_date)
			# Nothing dated before the run date is left behind by a billed run.
			assert all(i.service_date >= inv.run_date for i in world.unbilled.values())


def test_item_dated_on_run_date_goes_into_next_invoice() -> None:
	"""An item added on Feb 29 (a run date) is billed on Mar 31, not on Feb 29."""
	schedule = Schedule(FIRST, "Month", 1)
	state = GeneratorState(status=ACTIVE, schedule=schedule, next_creation_date=FIRST)
	items = (
		TabItem("EARLY", date(2024, 2, 10), D("10.00")),
		TabItem("ON-RUN", date(2024, 2, 29), D("20.00")),
	)
	world = simulate(
		Scenario(state=state, items=items), [FIRST, date(2024, 2, 29), date(2024, 3, 31)], cap=12
	)
	assert invoice_trace(world) == [
		(date(2024, 2, 29), frozenset({"EARLY"}), D("10.00")),
		(date(2024, 3, 31), frozenset({"ON-RUN"}), D("20.00")),
	]
	assert world.log == [
		(FIRST, "no_items"),
		(date(2024, 2, 29), "billed"),
		(date(2024, 3, 31), "billed"),
	]


def test_outage_example_with_minimum_and_cap() -> None:
	"""A weekly generator down for 20 weeks catches up in two capped passes with the same invoices."""
	schedule = Schedule(date(2024, 1, 1), "Week", 1)
	state = GeneratorState(
		status=ACTIVE, schedule=schedule, minimum_amount=D("25.00"), next_creation_date=date(2024, 1, 1)
	)
	items = tuple(
		TabItem(f"I{n:02d}", date(2024, 1, 1) + timedelta(days=3 * n), D("10.00")) for n in range(40)
	)
	scenario = Scenario(state=state, items=items)
	until = date(2024, 5, 20)
	on_time = simulate(scenario, run_dates(state, until), cap=12)
	once = simulate(scenario, [until], cap=12)
	assert len(on_time.log) == 21
	assert invoice_trace(once) == invoice_trace(on_time)
	assert {reason for _, reason in on_time.log} == {"no_items", "billed", "below_minimum"}
