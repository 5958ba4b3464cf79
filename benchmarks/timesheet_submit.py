"""Submitting a Timesheet of 20 billable logs with the app ÷ without it (issue 12). Target <= 1.3.

"With": the customer's generator accumulates Timesheets, so the submit routes the 20 logs and puts them on the
tab (billing/sources/events.py). "Without": the same submit with every doc_events hook of accumulating_billing taken
out of the process's hook table, i.e. ERPNext alone. Drafts are inserted beforehand (untimed); only
`submit()` and its commit are timed, `--ts-n` per side, interleaved in blocks of 10 (ABBA), after a warm-up.
"""

import time
from datetime import datetime, timedelta

import frappe

from benchmarks.common import PREFIX, archive_bench_generators, bench_customers, profiled, report, say

LOGS = 20
BLOCK = 10
APP = "accumulating_billing."


def run(args, names) -> None:
	say("\n== timesheet: submitting a Timesheet of 20 billable logs, with the app / without it")
	bench_timesheet_submit(args)


def bench_timesheet_submit(args) -> None:
	from accumulating_billing.tests.source_docs import make_timesheet, service_item
	from benchmarks import common

	archive_bench_generators()
	customer = bench_customers(1, "Timesheets")[0]
	generator = common.bench_generator(
		customer, f"{PREFIX} Timesheets {customer}", accumulate_timesheets=1, timesheet_item=service_item()
	)
	frappe.db.commit()
	n = args.ts_n
	start = datetime(2026, 1, 1, 8, 0)

	def draft(k: int):
		day = start + timedelta(days=k)
		logs = [
			{"start": str(day + timedelta(minutes=20 * i)), "hours": 0.25, "rate": 60} for i in range(LOGS)
		]
		ts = make_timesheet(logs, customer=customer, submit=False)
		frappe.db.commit()
		return ts

	with_app = frappe.get_doc_hooks()
	without_app = {
		doctype: {event: [m for m in methods if not m.startswith(APP)] for event, methods in events.items()}
		for doctype, events in with_app.items()
	}

	def submit(ts, hooks) -> float:
		frappe.local.doc_events_hooks = hooks
		try:
			t0 = time.perf_counter()
			ts.submit()
			frappe.db.commit()
			return time.perf_counter() - t0
		finally:
			frappe.local.doc_events_hooks = with_app

	drafts = [draft(k) for k in range(2 * n + 4)]
	for _ in range(2):  # warm-up, both sides
		submit(drafts.pop(), with_app)
		submit(drafts.pop(), without_app)
	times = {"with": 0.0, "without": 0.0}
	for b in range(n // BLOCK):
		order = [("with", with_app), ("without", without_app)]
		if b % 2:
			order.reverse()
		for label, hooks in order:
			with profiled(
				args.profile == "timesheet" and label == "with" and b == 0, "Timesheet submit x 10"
			):
				for _ in range(BLOCK):
					times[label] += submit(drafts.pop(), hooks)
	added = frappe.db.count("Accumulating Generator Item", {"generator": generator.name})
	expected = LOGS * (2 + BLOCK * (n // BLOCK))
	per = {k: 1000 * v / (BLOCK * (n // BLOCK)) for k, v in times.items()}
	say(
		f"  with the app: {per['with']:.1f} ms per submit; without: {per['without']:.1f} ms; "
		f"{added} tab items made (expected {expected})"
	)
	ratio = times["with"] / times["without"]
	report(
		"timesheet submit: 20 logs, with the app / without",
		ratio,
		"<= 1.3",
		ratio <= 1.3 and added == expected,
		f"({per['with']:.1f} vs {per['without']:.1f} ms)",
	)
	frappe.db.set_value("Accumulating Generator", generator.name, "status", "Archived")
	frappe.db.commit()
