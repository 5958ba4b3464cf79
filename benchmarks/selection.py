"""Selection: enqueue_due, the hourly tick (probe for anything due + enqueue the billing jobs), at 100,000
generators / at 10,000, 1% due at each size; also with the same due generators at both sizes, the full
selection a billing job runs, and the EXPLAIN plans of every query (each must read through an index).
Target <= 1.5. `--repeats` measurements per figure, the median taken.
"""

import statistics
import time
from datetime import date, timedelta
from unittest.mock import patch

import frappe

from benchmarks import common
from benchmarks.common import (
	GENERATOR,
	PREFIX,
	archive_bench_generators,
	bench_customers,
	foreign_due,
	report,
	say,
)
from benchmarks.workers import delete_jobs

SELECTION_PREFIX = f"{PREFIX}-SEL-"


def selection_rows(start: int, stop: int, as_of: date, due: bool, customer: str) -> list[tuple]:
	"""Generator rows; with `due`, one in a hundred is Active and due on `as_of`. The others look like a real
	site: mostly Active and not yet due, some Paused, Completed, Archived or Draft."""
	now = frappe.utils.now_datetime()
	rows = []
	for i in range(start, stop):
		k = i % 100
		first = as_of - timedelta(days=400)
		next_date, resume, status = None, None, "Active"
		if k == 0 and due:
			next_date = as_of - timedelta(days=i % 7)
		elif k < 85:
			next_date = as_of + timedelta(days=1 + i % 300)
		elif k < 90:
			status, next_date = "Paused", as_of + timedelta(days=1 + i % 30)
			resume = as_of + timedelta(days=5) if k == 89 else None
		elif k < 95:
			status = "Completed"
		elif k < 98:
			status, next_date = "Archived", as_of - timedelta(days=30)
		else:
			status = "Draft"
		rows.append(
			(
				f"{SELECTION_PREFIX}{i:07d}",
				now,
				now,
				"Administrator",
				"Administrator",
				0,
				0,
				f"{PREFIX} selection {i}",
				customer,
				common.COMPANY,
				common.CURRENCY,
				"Standard Selling",
				status,
				1,
				"Month",
				first,
				"Never",
				"Open",
				next_date,
				resume,
				0,
				0,
			)
		)
	return rows


SELECTION_FIELDS = [
	"name",
	"creation",
	"modified",
	"owner",
	"modified_by",
	"docstatus",
	"idx",
	"title",
	"customer",
	"company",
	"currency",
	"selling_price_list",
	"status",
	"interval_count",
	"interval_unit",
	"first_creation_date",
	"end_condition",
	"generate_as",
	"next_creation_date",
	"resume_date",
	"invoices_generated",
	"consecutive_failures",
]


def insert_selection_rows(start: int, stop: int, as_of: date, due: bool, customer: str) -> None:
	for chunk in range(start, stop, 10_000):
		rows = selection_rows(chunk, min(chunk + 10_000, stop), as_of, due, customer)
		frappe.db.bulk_insert(GENERATOR, SELECTION_FIELDS, rows, chunk_size=5_000)
		frappe.db.commit()


def time_tick(as_of: date, repeats: int) -> tuple[float, float, int]:
	"""Median seconds of enqueue_due (the tick: probe + enqueue) and of the full selection of the due
	generators (what the billing jobs run between them); due count."""
	from accumulating_billing.billing.tasks import due_generators, enqueue_due

	ticks, selects = [], []
	due = 0
	for _ in range(repeats):
		t0 = time.perf_counter()
		due = len(due_generators(as_of))
		selects.append(time.perf_counter() - t0)
		frappe.db.rollback()
		t0 = time.perf_counter()
		job_ids = enqueue_due(as_of)
		ticks.append(time.perf_counter() - t0)
		frappe.db.rollback()
		delete_jobs(job_ids)  # the next repetition enqueues again instead of finding the jobs queued
	return statistics.median(ticks), statistics.median(selects), due


def explain_selection(as_of: date) -> list[tuple[str, list[dict]]]:
	"""EXPLAIN of every query the tick's probe and a billing job's selection run: [(query, plan rows)]."""
	from accumulating_billing.billing.tasks import due_generators, due_rows

	queries = []
	db = frappe.local.db
	real_sql = db.sql

	def recording(query, *args, **kwargs):
		result = real_sql(query, *args, **kwargs)
		queries.append(db.last_query)
		return result

	with patch.object(db, "sql", recording):
		due_generators(as_of, limit=1)  # the tick
		due_rows(as_of, with_series=True)  # a billing job
	# our own queries, no input in them
	return [(query, real_sql(f"EXPLAIN {query}", as_dict=True)) for query in queries]


def clean_selection() -> None:
	Gen = frappe.qb.DocType(GENERATOR)
	frappe.qb.from_(Gen).delete().where(Gen.name.like(f"{SELECTION_PREFIX}%")).run()
	frappe.db.commit()


def bench_selection(args) -> None:
	small, large, repeats = 10_000, 100_000, args.repeats
	as_of = date(2025, 9, 1)
	customer = bench_customers(1, "Selection")[0]
	archive_bench_generators()
	clean_selection()
	before = len(foreign_due(as_of, set()))
	if before:
		say(f"  note: {before} other generators on the site are due on {as_of}; they count in every run")
	started = time.perf_counter()
	insert_selection_rows(0, small, as_of, True, customer)
	frappe.db.sql(f"ANALYZE TABLE `tab{GENERATOR}`")
	say(f"setup: {small} generator rows in {time.perf_counter() - started:.0f}s")
	t_small, s_small, due_small = time_tick(as_of, repeats)
	say(
		f"  {small:>7} generators, {due_small} due: enqueue_due {1000 * t_small:.1f} ms, select {1000 * s_small:.1f} ms"
	)

	started = time.perf_counter()
	insert_selection_rows(small, large, as_of, False, customer)
	frappe.db.sql(f"ANALYZE TABLE `tab{GENERATOR}`")
	say(f"setup: {large - small} more rows (none due) in {time.perf_counter() - started:.0f}s")
	t_same, s_same, due_same = time_tick(as_of, repeats)
	say(
		f"  {large:>7} generators, {due_same} due: enqueue_due {1000 * t_same:.1f} ms, select {1000 * s_same:.1f} ms"
	)

	# 1% due at 100k as well: 900 of the new rows become due
	Gen = frappe.qb.DocType(GENERATOR)
	names = [f"{SELECTION_PREFIX}{i:07d}" for i in range(small, large) if i % 100 == 1]
	(
		frappe.qb.update(Gen)
		.set(Gen.status, "Active")
		.set(Gen.next_creation_date, as_of - timedelta(days=1))
		.where(Gen.name.isin(names))
	).run()
	frappe.db.commit()
	t_large, s_large, due_large = time_tick(as_of, repeats)
	say(
		f"  {large:>7} generators, {due_large} due: enqueue_due {1000 * t_large:.1f} ms, select {1000 * s_large:.1f} ms"
	)

	plans = explain_selection(as_of)
	say(f"  EXPLAIN of the selection at {large} ({len(plans)} quer{'y' if len(plans) == 1 else 'ies'}):")
	uses_index = True
	for query, plan in plans:
		say(f"    {' '.join(query.split())[:240]}")
		for row in plan:
			say(
				f"      table={row.get('table')} type={row.get('type')} key={row.get('key')} rows={row.get('rows')} "
				f"extra={row.get('Extra')}"
			)
			uses_index = uses_index and bool(row.get("key")) and row.get("type") != "ALL"
	say(f"  every query reads through an index: {'yes' if uses_index else 'NO'}")
	ratio = t_large / t_small
	report(
		f"selection: tick at {large} / at {small} (1% due each: {due_large} vs {due_small})",
		ratio,
		"<= 1.5",
		ratio <= 1.5 and uses_index,
	)
	ratio_same = t_same / t_small
	report(
		f"selection: tick at {large} / at {small} (same {due_same} due)",
		ratio_same,
		"<= 1.5",
		ratio_same <= 1.5 and uses_index,
	)
	say(
		f"  (the full selection of the due generators, which the billing jobs run: {s_large / s_small:.2f}x at "
		f"{large} vs {small}, 1% due each)"
	)
	clean_selection()


def run(args, names: tuple[str, ...]) -> None:
	"""run.py's entry."""
	say("\n== selection (hourly tick: enqueue_due)")
	bench_selection(args)
