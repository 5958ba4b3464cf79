"""Issue 26's first ratio with its sides at the same moment, in the two processes of billing_side_by_side.py (its
harness and its verdict): process_due making invoices of 5 items / the document API inserting the same invoices
submitted in one pass (ERPNext's cheapest path), `--overhead-rounds` rounds of `--overhead-per` invoices a side.
Target <= 1.03.

Why: invoices.py's blocks run the sides one after the other, and on these machines its blocks spread from 0.89 to
1.35 and three runs of it in a row gave 1.076, 0.994 and 1.074 for this ratio (README, eighth pass). Here both
sides of a round run at once, the processes swap sides every round, and the one done first keeps its CPU busy
until the other is (billing_side_by_side.py's module docstring says why each).

Each round, process_due bills the round's generators (first due on the round's day, 5 items each, customers of
their own; archived after the round, untimed), while the other process inserts as many invoices with the same
lines for customers of its own, in a naming series of its own. Two-step billing against one step is not measured
this way: both would be process_due, and each would bill the other's due generators; invoices.py measures it."""

from datetime import date, timedelta

import frappe

from benchmarks import common
from benchmarks.billing_cost import COST_SIDES
from benchmarks.billing_side_by_side import (
	QUIET_SECONDS,
	ROUND_HEADER,
	check_series,
	record_round,
	report_rounds,
	side_processes,
)
from benchmarks.common import (
	archive_bench_generators,
	bench_customers,
	bench_items,
	foreign_due,
	make_generators,
	run_tag,
	say,
)
from benchmarks.invoices import archive, direct_invoice

PROCESS_DUE = "accumulating_billing.billing.tasks.process_due"
API_INVOICES = "benchmarks.overhead_side_by_side.api_invoices"
# the rounds bill on days from here on, one a round, in the fiscal years setup_company makes
FIRST_DAY = date(2025, 1, 6)
# the warm-up rounds' invoices a side (two rounds: each process runs each side once)
WARM_PER = 2


def run(args, names: tuple[str, ...]) -> None:
	"""run.py's entry."""
	say(
		f"\n== overhead side by side ({args.overhead_rounds} rounds of {args.overhead_per} invoices of 5 items a "
		"side, both sides at the same moment)"
	)
	if args.overhead_rounds <= 0:
		return
	archive_bench_generators()
	bench_overhead(args.overhead_rounds, args.overhead_per, bench_items(), run_tag())


def bench_overhead(rounds: int, per: int, codes: list[str], tag: str) -> None:
	"""`rounds` rounds (module docstring), then the verdict (billing_side_by_side.report_rounds)."""
	days = [FIRST_DAY + timedelta(days=k) for k in range(rounds + 2)]
	ours = [bench_customers(per, f"Side {k}") for k in range(rounds + 2)]
	theirs = [bench_customers(per, f"Side API {k}") for k in range(rounds + 2)]
	common.known_customers([c for block in ours + theirs for c in block])
	others = foreign_due(days[-1], set())
	if others:
		say(
			f"  {len(others)} other due generators on the site are archived so they do not count: {others[:5]}"
		)
		archive(others)
	say(ROUND_HEADER)
	figures = {side: [] for side in COST_SIDES}
	with side_processes() as (play, series):
		for k in range(rounds + 2):  # the first two warm up: each process runs each side once
			count = WARM_PER if k < 2 else per
			mine = make_generators(ours[k][:count], days[k], codes, tag)
			wait = common.quiet_server(QUIET_SECONDS)
			out = play(
				{
					"ours": (k % 2, PROCESS_DUE, (days[k],)),
					"one_pass": (1 - k % 2, API_INVOICES, (theirs[k][:count], days[k], codes, series)),
				}
			)
			archive(mine)
			check_round(out, count)
			if k >= 2:
				record_round(figures, k - 1, k % 2, out, wait)
	report_rounds(
		"billing cost, side by side: process_due / document API inserting the same invoices submitted (one pass), "
		f"{per} invoices of 5 items a side, median of {rounds} rounds",
		figures,
	)


def check_round(out: dict, count: int) -> None:
	"""Each side made `count` invoices, submitted, in its own naming series (check_series)."""
	ours, theirs = out["ours"]["result"], out["one_pass"]["result"]
	submitted = frappe.db.count("Sales Invoice", {"name": ("in", ours + theirs), "docstatus": 1})
	if (len(ours), len(theirs), submitted) != (count, count, 2 * count):
		raise RuntimeError(
			f"{len(ours)} and {len(theirs)} invoices ({submitted} submitted), {count} each expected"
		)
	check_series(ours, theirs)


def api_invoices(customers: list[str], day: date, codes: list[str], series: str) -> list[str]:
	"""The API's side: the same 5-line invoice for each customer, inserted submitted, in `series`."""
	return [
		direct_invoice(customer, day, codes, one_pass=True, naming_series=series) for customer in customers
	]
