"""Benchmarks of accumulating_billing against ERPNext itself (issue 7), on a real bench.

Run it from the bench's sites folder, on a site of its own that has ERPNext and this app installed (it
creates customers, items, generators and invoices there; everything is named or titled "ABBENCH"):

	cd /opt/frappe-bench/sites
	../env/bin/python /work/main/benchmarks/run.py --site ab-perf.localhost [--only overhead,autorepeat]

Benchmarks (--only takes a comma-separated list; default all, in this order):

	overhead    process_due making N invoices of 5 items / inserting and submitting the same N Sales Invoices
	            with the document API                                                   target <= 1.15
	autorepeat  process_due / Frappe's Auto Repeat making the same N invoices            target <= 1.00
	selection   enqueue_due (the hourly tick: probe for anything due + enqueue the billing jobs) at 100,000
	            generators / at 10,000, 1% due; also the full selection a billing job runs, and the query
	            plans                                                                   target <= 1.5
	scaleout    throughput of 2 RQ workers / 1 worker on the long queue, 400 due generators
	                                                                                    target >= 1.6
	additem     api.add_item / a bare ToDo insert                                       target <= 2.0;
	            8 concurrent adders for 30 s                            zero errors, zero lost items

Every figure is a ratio of two times taken in the same run, interleaved in blocks where the work allows it,
because this kind of machine is noisy. Each benchmark prints its times, the ratio, the target and MET or
MISSED. `--profile NAME` wraps our side of that benchmark in pyinstrument (pip install pyinstrument into the
bench's env) and prints where the time goes.

The scale-out benchmark starts `bench worker --queue long` processes and stops them (SIGTERM to their process
groups) when its jobs are done. RQ queues are shared by every site of the bench, so jobs already waiting in the
long queue are parked while it runs and put back afterwards. `--sales-update-frequency Daily` and
`--invoice-series 2` measure the deployment options that remove ERPNext's own serialisation points (the Company
row updated by every submitted invoice, and the naming-series row every new invoice locks until it commits).
"""

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import date, timedelta
from unittest.mock import patch

import frappe
from frappe.utils import add_months, getdate

PREFIX = "ABBENCH"
GENERATOR = "Accumulating Generator"
ITEM = "Accumulating Generator Item"
LINES = [(1, 40.0), (3, 15.0), (2, 12.5), (1, 99.0), (5, 4.2)]  # qty, rate of the 5 lines of every invoice
RESULTS: list[tuple] = []


# ------------------------------------------------------------------------------------------ plumbing


def connect(site: str, sites_path: str) -> None:
	frappe.init(site=site, sites_path=sites_path)
	frappe.connect()
	frappe.set_user("Administrator")


def report(name: str, value: float | str, target: str, met: bool, detail: str = "") -> None:
	"""One figure: a ratio (or a count), its target, MET or MISSED."""
	verdict = "MET" if met else "MISSED"
	value = f"{value:.3f}" if isinstance(value, float) else value
	RESULTS.append((name, value, target, verdict))
	print(f"  => {name}: {value} (target {target}) {verdict}{'  ' + detail if detail else ''}")
	sys.stdout.flush()


def say(text: str) -> None:
	print(text)
	sys.stdout.flush()


@contextmanager
def profiled(enabled: bool, label: str):
	"""pyinstrument around our side of a benchmark, when asked for."""
	if not enabled:
		yield
		return
	from pyinstrument import Profiler

	profiler = Profiler(interval=0.002)
	profiler.start()
	try:
		yield
	finally:
		profiler.stop()
		say(f"---- profile: {label}")
		say(profiler.output_text(unicode=False, color=False, show_all=False, short_mode=False))


def setup_company() -> str:
	"""The company ERPNext's test setup makes (what the test suite uses); fiscal years for the dates used."""
	if not frappe.get_all("Company", limit=1):
		from erpnext.setup.utils import before_tests

		say("no company yet: running ERPNext's test setup (setup wizard) once")
		before_tests()
	from accumulating_billing.tests.utils import company, ensure_fiscal_years

	ensure_fiscal_years(2025, 2026)
	frappe.db.commit()
	return company()


def bench_items() -> list[str]:
	from accumulating_billing.tests.utils import make_item

	codes = [make_item(f"{PREFIX}-ITEM-{k}", price=rate) for k, (_qty, rate) in enumerate(LINES, 1)]
	frappe.db.commit()
	return codes


def bench_customers(n: int, tag: str) -> list[str]:
	from accumulating_billing.tests.utils import make_customer

	names = [make_customer(f"{PREFIX} {tag} Customer {k:04d}") for k in range(1, n + 1)]
	frappe.db.commit()
	return names


def run_tag() -> str:
	return frappe.generate_hash(length=5).upper()


def archive_bench_generators() -> None:
	"""Generators of earlier benchmarks must not be picked up by a later process_due / enqueue_due."""
	Gen = frappe.qb.DocType(GENERATOR)
	(
		frappe.qb.update(Gen)
		.set(Gen.status, "Archived")
		.where(Gen.title.like(f"{PREFIX}%") & (Gen.status != "Archived"))
	).run()
	frappe.db.commit()


def foreign_due(as_of: date, mine: set[str]) -> list[str]:
	from accumulating_billing.billing.tasks import due_generators

	return [name for name in due_generators(as_of) if name not in mine]


def make_generators(
	customers: list[str],
	first: date,
	codes: list[str],
	tag: str,
	items_per=5,
	series: list[str] | None = None,
) -> list[str]:
	"""One Active monthly generator per customer, first creation date `first`, with `items_per` unbilled items
	dated 10 days before it (the same lines as the direct invoices); invoice naming series round-robin."""
	names = []
	service = first - timedelta(days=10)
	for k, customer in enumerate(customers):
		gen = frappe.get_doc(
			{
				"doctype": GENERATOR,
				"title": f"{PREFIX} {tag} {customer}",
				"customer": customer,
				"company": COMPANY,
				"status": "Active",
				"interval_unit": "Month",
				"interval_count": 1,
				"first_creation_date": first,
				"generate_as": "Open",
				"selling_price_list": "Standard Selling",
				"naming_series_for_invoice": series[k % len(series)] if series else None,
			}
		).insert(ignore_permissions=True)
		for (qty, rate), code in list(zip(LINES, codes, strict=True))[:items_per]:
			frappe.get_doc(
				{
					"doctype": ITEM,
					"generator": gen.name,
					"item_code": code,
					"qty": qty,
					"rate": rate,
					"service_date": service,
				}
			).insert(ignore_permissions=True)
		names.append(gen.name)
	frappe.db.commit()
	return names


# ------------------------------------------------------------------------------------------ overhead / autorepeat


def direct_invoice(customer: str, posting: date, codes: list[str]):
	si = frappe.get_doc(
		{
			"doctype": "Sales Invoice",
			"customer": customer,
			"company": COMPANY,
			"posting_date": posting,
			"set_posting_time": 1,
			"due_date": posting,
			"selling_price_list": "Standard Selling",
			"items": [
				{"item_code": code, "qty": qty, "rate": rate}
				for (qty, rate), code in zip(LINES, codes, strict=True)
			],
		}
	)
	si.insert()
	si.submit()
	frappe.db.commit()
	return si.name


def setup_auto_repeat(customers: list[str], day: date, codes: list[str]) -> list[str]:
	"""A draft Sales Invoice template per customer and a monthly Auto Repeat (submit on creation) whose next
	schedule date is `day`."""
	from frappe.custom.doctype.property_setter.property_setter import make_property_setter

	if not frappe.get_meta("Sales Invoice").allow_auto_repeat:
		# what an administrator does in Customize Form before using Auto Repeat on Sales Invoices
		make_property_setter("Sales Invoice", None, "allow_auto_repeat", 1, "Check", for_doctype=True)
		frappe.clear_cache(doctype="Sales Invoice")
	start = getdate(add_months(day, -1))
	names = []
	with patch("frappe.automation.doctype.auto_repeat.auto_repeat.today", return_value=str(start)):
		for customer in customers:
			template = frappe.get_doc(
				{
					"doctype": "Sales Invoice",
					"customer": customer,
					"company": COMPANY,
					"posting_date": start,
					"set_posting_time": 1,
					"due_date": start,
					"selling_price_list": "Standard Selling",
					"remarks": f"{PREFIX} auto repeat template",
					"items": [
						{"item_code": code, "qty": qty, "rate": rate}
						for (qty, rate), code in zip(LINES, codes, strict=True)
					],
				}
			).insert()
			repeat = frappe.get_doc(
				{
					"doctype": "Auto Repeat",
					"reference_doctype": "Sales Invoice",
					"reference_document": template.name,
					"frequency": "Monthly",
					"start_date": start,
					"submit_on_creation": 1,
				}
			).insert()
			assert getdate(repeat.next_schedule_date) == day, (repeat.next_schedule_date, day)
			names.append(repeat.name)
	frappe.db.commit()
	return names


def run_auto_repeat(day: date) -> None:
	"""Frappe's daily scheduler entry point for `day`, its job run in this process as a worker would."""
	from frappe.automation.doctype.auto_repeat import auto_repeat

	def enqueue(method, **kwargs):
		frappe.get_attr(method)(data=kwargs["data"])

	with (
		patch.object(auto_repeat, "today", return_value=str(day)),
		patch.object(frappe, "enqueue", side_effect=enqueue),
	):
		auto_repeat.make_auto_repeat_entry()
	frappe.db.commit()


def count_repeated(repeats: list[str], day: date) -> int:
	return frappe.db.count(
		"Sales Invoice", {"auto_repeat": ("in", repeats), "posting_date": day, "docstatus": 1}
	)


def bench_invoices(args, paths: tuple[str, ...]) -> None:
	"""Our process_due vs the document API (overhead) and/or vs Auto Repeat, interleaved in blocks."""
	from accumulating_billing.billing.tasks import process_due

	n, blocks = args.n, args.blocks
	per = n // blocks
	tag = run_tag()
	codes = bench_items()
	customers = bench_customers(n, "Invoices")
	base = date(2025, 3, 3)
	days = [base + timedelta(days=b) for b in range(blocks)]
	archive_bench_generators()
	say(f"setup: {n} generators x 5 items" + (", Auto Repeat templates" if "autorepeat" in paths else ""))
	started = time.perf_counter()
	generators = {}
	repeats = {}
	for b, day in enumerate(days):
		block = customers[b * per : (b + 1) * per]
		generators[day] = make_generators(block, day, codes, tag)
		if "autorepeat" in paths:
			repeats[day] = setup_auto_repeat(block, day, codes)
	mine = {g for names in generators.values() for g in names}
	others = foreign_due(days[-1], mine)
	if others:
		say(
			f"  {len(others)} other due generators on the site are archived so they do not count: {others[:5]}"
		)
		Gen = frappe.qb.DocType(GENERATOR)
		frappe.qb.update(Gen).set(Gen.status, "Archived").where(Gen.name.isin(others)).run()
		frappe.db.commit()
	say(f"setup done in {time.perf_counter() - started:.0f}s")

	# warm-up (not counted): caches, meta and the first invoice of each path
	warm_day = base - timedelta(days=15)  # its next dates (+1 month) fall after the last block
	warm = bench_customers(2, "Warmup")
	make_generators(warm, warm_day, codes, tag)
	process_due(warm_day)
	for customer in warm:
		direct_invoice(customer, warm_day, codes)
	if "autorepeat" in paths:
		setup_auto_repeat(warm, warm_day, codes)
		run_auto_repeat(warm_day)

	times = {"ours": 0.0, "direct": 0.0, "autorepeat": 0.0}
	made = {"ours": 0, "direct": 0, "autorepeat": 0}
	sides = ["ours", "direct"] if "overhead" in paths else ["ours"]
	if "autorepeat" in paths:
		sides.append("autorepeat")
	for b, day in enumerate(days):
		block = customers[b * per : (b + 1) * per]
		order = sides[b % len(sides) :] + sides[: b % len(sides)]
		for side in order:
			t0 = time.perf_counter()
			if side == "ours":
				with profiled(args.profile in paths and b == 0, f"process_due, block of {per}"):
					made["ours"] += len(process_due(day))
			elif side == "direct":
				for customer in block:
					direct_invoice(customer, day, codes)
				made["direct"] += len(block)
			else:
				run_auto_repeat(day)
				made["autorepeat"] += count_repeated(repeats[day], day)
			times[side] += time.perf_counter() - t0
		say(f"  block {b + 1}/{blocks} ({day}): " + ", ".join(f"{s} {times[s]:.1f}s" for s in sides))
	for side in sides:
		say(
			f"  {side}: {made[side]} invoices in {times[side]:.2f}s = {1000 * times[side] / max(made[side], 1):.0f} ms/invoice"
		)
		if made[side] != n:
			say(f"  !! {side} made {made[side]} invoices, expected {n}: the ratio is not comparable")
	if "overhead" in paths:
		ratio = times["ours"] / times["direct"]
		report("overhead: process_due / document API", ratio, "<= 1.15", ratio <= 1.15)
	if "autorepeat" in paths:
		ratio = times["ours"] / times["autorepeat"]
		report("against Auto Repeat: process_due / Auto Repeat", ratio, "<= 1.00", ratio <= 1.0)
	archive_bench_generators()


# ------------------------------------------------------------------------------------------ selection


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
				COMPANY,
				CURRENCY,
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


def delete_jobs(job_ids: list[str]) -> None:
	from frappe.utils.background_jobs import get_job

	for job_id in job_ids:
		job = get_job(job_id)
		if job:
			job.delete()


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


# ------------------------------------------------------------------------------------------ scale-out


def long_queue():
	from frappe.utils.background_jobs import get_queue

	return get_queue("long")


def long_workers() -> int:
	from rq import Worker

	queue = long_queue()
	return sum(1 for w in Worker.all(connection=queue.connection) if queue.name in w.queue_names())


def start_workers(count: int, bench_dir: str, log_dir: str) -> list[subprocess.Popen]:
	procs = []
	for k in range(count):
		log = open(os.path.join(log_dir, f"abbench-worker-{k}.log"), "ab")
		procs.append(
			subprocess.Popen(
				["bench", "worker", "--queue", "long"],
				cwd=bench_dir,
				stdout=log,
				stderr=subprocess.STDOUT,
				start_new_session=True,
			)
		)
	deadline = time.monotonic() + 120
	while long_workers() < count and time.monotonic() < deadline:
		time.sleep(0.5)
	if long_workers() < count:
		stop_workers(procs)
		raise RuntimeError(f"only {long_workers()} of {count} workers came up")
	return procs


def stop_workers(procs: list[subprocess.Popen]) -> None:
	for proc in procs:
		try:
			os.killpg(proc.pid, signal.SIGTERM)
		except ProcessLookupError:
			pass
	for proc in procs:
		try:
			proc.wait(60)
		except subprocess.TimeoutExpired:
			os.killpg(proc.pid, signal.SIGKILL)
			proc.wait(10)
	deadline = time.monotonic() + 30
	while long_workers() and time.monotonic() < deadline:
		time.sleep(0.5)


@contextmanager
def queued_jobs_parked():
	"""The long queue is shared by every site of the bench: jobs already waiting in it (other sites', or this
	site's own housekeeping) are taken out while our workers run, so the run times only our jobs and never
	runs another site's, and put back in front, in their order, afterwards."""
	queue = long_queue()
	parked = [job.id for job in queue.get_jobs()]
	for job_id in parked:
		queue.remove(job_id)
	if parked:
		say(f"  {len(parked)} job(s) already in the long queue parked while our workers run")
	try:
		yield
	finally:
		for job_id in reversed(parked):
			queue.push_job_id(job_id, at_front=True)


def wait_jobs(job_ids: list[str], timeout: float) -> float:
	"""Seconds until every job has finished (or failed), or the timeout."""
	from frappe.utils.background_jobs import get_job

	t0 = time.perf_counter()
	while time.perf_counter() - t0 < timeout:
		pending = 0
		for job_id in job_ids:
			job = get_job(job_id)
			if job and job.get_status() not in ("finished", "failed", "stopped", "canceled"):
				pending += 1
		if not pending:
			break
		time.sleep(0.2)
	return time.perf_counter() - t0


def cpu_times() -> tuple[int, int]:
	"""(busy, total) jiffies of the whole machine."""
	with open("/proc/stat") as f:
		values = [int(v) for v in f.readline().split()[1:]]
	idle = values[3] + values[4]
	return sum(values) - idle, sum(values)


@contextmanager
def sales_update_frequency(value: str | None):
	"""ERPNext's Selling Settings > Sales Update Frequency in Company and Project, for the run."""
	old = frappe.db.get_single_value("Selling Settings", "sales_update_frequency")
	if value:
		frappe.db.set_single_value("Selling Settings", "sales_update_frequency", value)
		frappe.db.commit()
	try:
		yield value or old
	finally:
		if value:
			frappe.db.set_single_value("Selling Settings", "sales_update_frequency", old)
			frappe.db.commit()


def invoice_series(count: int) -> list[str] | None:
	"""`count` Sales Invoice naming series (the default one and ABBENCH ones added to its options, as
	Document Naming Settings does), or None for the site's default."""
	if count <= 1:
		return None
	from frappe.custom.doctype.property_setter.property_setter import make_property_setter

	options = [
		o
		for o in (frappe.get_meta("Sales Invoice").get_field("naming_series").options or "").split("\n")
		if o
	]
	wanted = [options[0]] + [f"{PREFIX}{k}-SINV-.YYYY.-" for k in range(1, count)]
	missing = [s for s in wanted if s not in options]
	if missing:
		make_property_setter(
			"Sales Invoice", "naming_series", "options", "\n".join(options + missing), "Text"
		)
		frappe.clear_cache(doctype="Sales Invoice")
		frappe.db.commit()
	return wanted


def bench_scaleout(args) -> None:
	from accumulating_billing.billing.tasks import enqueue_due

	n = args.scale_n
	tag = run_tag()
	codes = bench_items()
	archive_bench_generators()
	# ABBA: 1 worker, 2 workers, 2 workers, 1 worker, each on its own half of the generators, so that a drift
	# of the machine's speed during the run does not favour either side
	rounds = (1, 2, 2, 1)
	days = [date(2025, 6, 2) + timedelta(days=k) for k in range(len(rounds))]
	half = n // 2
	say(f"setup: {len(rounds)} x {half} generators x 2 items ({n} per worker count)")
	started = time.perf_counter()
	sets = []
	series = invoice_series(args.invoice_series)
	if series:
		say(f"  invoices spread over {len(series)} naming series: {', '.join(series)}")
	for k, day in enumerate(days):
		customers = bench_customers(half, f"Scale{k}")
		sets.append(make_generators(customers, day, codes, tag, items_per=2, series=series))
	others = foreign_due(days[-1], {g for names in sets for g in names})
	if others:
		say(f"  {len(others)} other due generators on the site are archived so they do not count")
		Gen = frappe.qb.DocType(GENERATOR)
		frappe.qb.update(Gen).set(Gen.status, "Archived").where(Gen.name.isin(others)).run()
		frappe.db.commit()
	say(f"setup done in {time.perf_counter() - started:.0f}s")
	if long_workers():
		say(
			f"  !! {long_workers()} workers already listen on the long queue: the figures would be wrong; skipped"
		)
		return
	bench_dir = os.path.dirname(os.path.abspath(frappe.local.sites_path))
	log_dir = "/tmp"
	seconds_of = {1: 0.0, 2: 0.0}
	done_of = {1: 0, 2: 0}
	with sales_update_frequency(args.sales_update_frequency) as frequency:
		say(f"  ERPNext Selling Settings > Sales Update Frequency: {frequency}")
		for workers, names, day in zip(rounds, sets, days, strict=True):
			with queued_jobs_parked():
				procs = start_workers(workers, bench_dir, log_dir)
				try:
					busy0, total0 = cpu_times()
					t0 = time.perf_counter()
					jobs = enqueue_due(day)
					frappe.db.commit()
					wait_jobs(jobs, timeout=900)
					seconds = time.perf_counter() - t0
					busy1, total1 = cpu_times()
				finally:
					stop_workers(procs)
			frappe.db.rollback()
			done = frappe.db.count(GENERATOR, {"name": ("in", names), "next_creation_date": (">", day)})
			failed = frappe.get_all(
				GENERATOR,
				filters={"name": ("in", names), "consecutive_failures": (">", 0)},
				pluck="last_error",
			)
			invoices = frappe.db.count(
				"Sales Invoice", {"accumulating_generator": ("in", names), "docstatus": 1}
			)
			seconds_of[workers] += seconds
			done_of[workers] += done
			say(
				f"  {workers} worker(s): {len(jobs)} jobs, {done}/{len(names)} generators billed ({invoices} "
				f"invoices) in {seconds:.1f}s = {done / seconds:.2f} generators/s; machine CPU busy "
				f"{100 * (busy1 - busy0) / max(total1 - total0, 1):.0f}%; {len(failed)} failed (retried by "
				f"the next tick): {sorted({(e or '')[:70] for e in failed})}"
			)
	throughput = {w: done_of[w] / seconds_of[w] for w in seconds_of}
	for w in sorted(throughput):
		say(
			f"  {w} worker(s) in all: {done_of[w]} generators in {seconds_of[w]:.1f}s = {throughput[w]:.2f}/s"
		)
	ratio = throughput[2] / throughput[1]
	report(
		"scale-out: throughput 2 workers / 1 worker",
		ratio,
		">= 1.6",
		ratio >= 1.6,
		f"({os.cpu_count()} CPUs, sales update frequency {frequency}, {len(series or [1])} invoice naming series)",
	)
	archive_bench_generators()


# ------------------------------------------------------------------------------------------ adding items


def bench_additem(args) -> None:
	from accumulating_billing import api

	tag = run_tag()
	codes = bench_items()
	archive_bench_generators()
	customers = bench_customers(3, "Adders")
	gens = make_generators(customers, date(2025, 12, 1), codes, tag, items_per=0)
	service = "2025-11-10"
	n, block = args.add_n, 50

	def add_once(i):
		api.add_item(gens[0], codes[i % 5], qty=1, rate=10, service_date=service)
		frappe.db.commit()

	def todo_once(i):
		frappe.get_doc({"doctype": "ToDo", "description": f"{PREFIX} {tag} todo {i}"}).insert()
		frappe.db.commit()

	for i in range(20):  # warm-up
		add_once(i)
		todo_once(i)
	times = {"add_item": 0.0, "todo": 0.0}
	for b in range(n // block):
		order = [("add_item", add_once), ("todo", todo_once)]
		if b % 2:
			order.reverse()
		for label, fn in order:
			with profiled(args.profile == "additem" and label == "add_item" and b == 0, "api.add_item x 50"):
				t0 = time.perf_counter()
				for i in range(b * block, (b + 1) * block):
					fn(i)
				times[label] += time.perf_counter() - t0
	say(
		f"  api.add_item: {n} in {times['add_item']:.2f}s = {1000 * times['add_item'] / n:.1f} ms; "
		f"ToDo insert: {n} in {times['todo']:.2f}s = {1000 * times['todo'] / n:.1f} ms (each with its commit)"
	)
	ratio = times["add_item"] / times["todo"]
	report("adding items: api.add_item / ToDo insert", ratio, "<= 2.0", ratio <= 2.0)

	for with_biller in (False, True):
		added, errors = concurrent_adders(gens[1:], codes, service, args, tag, with_biller)
		frappe.db.rollback()
		in_db = set(
			frappe.get_all(
				ITEM,
				filters={
					"generator": ("in", gens[1:]),
					"client_ref": ("like", f"{tag}-{int(with_biller)}-%"),
				},
				pluck="name",
			)
		)
		lost = set(added) - in_db
		extra = in_db - set(added)
		billed_twice = billed_more_than_once(gens[1:])
		unbilled = frappe.db.count(ITEM, {"generator": ("in", gens[1:]), "status": "Unbilled"})
		billed = frappe.db.count(ITEM, {"generator": ("in", gens[1:]), "status": "Billed"})
		label = "8 adders + 1 biller (generate_now every 2 s)" if with_biller else "8 adders"
		say(
			f"  {label} for {args.add_seconds}s: {len(added)} items added ({len(added) / args.add_seconds:.0f}/s), "
			f"{len(errors)} errors, {len(lost)} lost, {len(extra)} unexpected, billed twice {billed_twice}, "
			f"billed {billed} + unbilled {unbilled} (all items of the generators)"
		)
		for error in errors[:5]:
			say(f"    error: {error}")
		ok = not errors and not lost and not extra and not billed_twice
		report(
			f"adding items: {label}",
			f"{len(errors)} errors, {len(lost)} lost, {billed_twice} billed twice",
			"0 errors, 0 lost",
			ok,
		)
	archive_bench_generators()
	ToDo = frappe.qb.DocType("ToDo")
	frappe.qb.from_(ToDo).delete().where(ToDo.description.like(f"{PREFIX} {tag} todo %")).run()
	frappe.db.commit()


def billed_more_than_once(gens: list[str]) -> int:
	SI = frappe.qb.DocType("Sales Invoice")
	SII = frappe.qb.DocType("Sales Invoice Item")
	rows = (
		frappe.qb.from_(SII)
		.join(SI)
		.on(SII.parent == SI.name)
		.select(SII.accumulating_generator_item)
		.where(SI.accumulating_generator.isin(gens) & (SI.docstatus < 2))
		.run(pluck=True)
	)
	return len(rows) - len(set(rows))


def concurrent_adders(gens, codes, service, args, tag, with_biller) -> tuple[list[str], list[str]]:
	"""8 threads, each with its own database connection, add items to two generators for N seconds."""
	from accumulating_billing import api
	from accumulating_billing.billing import generation

	site, sites_path = frappe.local.site, frappe.local.sites_path
	added: list[str] = []
	errors: list[str] = []
	lock = threading.Lock()
	stop_at = time.monotonic() + args.add_seconds
	barrier = threading.Barrier(args.adders + (1 if with_biller else 0))

	def adder(k):
		connect(site, sites_path)
		try:
			barrier.wait(60)
			i = 0
			while time.monotonic() < stop_at:
				ref = f"{tag}-{int(with_biller)}-{k}-{i}"
				try:
					name = api.add_item(
						gens[k % len(gens)],
						codes[i % 5],
						qty=1 + i % 3,
						rate=10,
						service_date=service,
						client_ref=ref,
					)
					frappe.db.commit()
					with lock:
						added.append(name)
				except Exception as e:
					frappe.db.rollback()
					with lock:
						errors.append(f"adder {k}: {type(e).__name__}: {e}")
				i += 1
		finally:
			frappe.destroy()

	def biller():
		connect(site, sites_path)
		try:
			barrier.wait(60)
			while time.monotonic() < stop_at:
				for gen in gens:
					try:
						generation.generate_now(gen, "2025-11-20")
					except Exception as e:
						with lock:
							errors.append(f"biller: {type(e).__name__}: {e}")
				time.sleep(2)
		finally:
			frappe.destroy()

	threads = [threading.Thread(target=adder, args=(k,)) for k in range(args.adders)]
	if with_biller:
		threads.append(threading.Thread(target=biller))
	for t in threads:
		t.start()
	for t in threads:
		t.join(args.add_seconds + 300)
	return added, errors


# ------------------------------------------------------------------------------------------ main


BENCHMARKS = ("overhead", "autorepeat", "selection", "scaleout", "additem")


def machine() -> str:
	mem = ""
	try:
		with open("/proc/meminfo") as f:
			mem = f"{int(f.readline().split()[1]) / 1024 / 1024:.0f} GiB"
	except OSError:
		pass
	db = frappe.db.sql("select version()")[0][0]
	return (
		f"{platform.machine()}, {os.cpu_count()} CPUs, {mem} RAM, {platform.system()} {platform.release()}, "
		f"Python {platform.python_version()}, MariaDB {db}, Frappe {frappe.__version__}, "
		f"ERPNext {__import__('erpnext').__version__}"
	)


def main() -> None:
	parser = argparse.ArgumentParser(
		description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
	)
	parser.add_argument("--site", required=True)
	parser.add_argument("--sites-path", default=".")
	parser.add_argument(
		"--only", default=",".join(BENCHMARKS), help="comma-separated: " + ", ".join(BENCHMARKS)
	)
	parser.add_argument("--n", type=int, default=200, help="invoices per side (overhead, autorepeat)")
	parser.add_argument("--blocks", type=int, default=10, help="interleaved blocks (overhead, autorepeat)")
	parser.add_argument("--repeats", type=int, default=7, help="repetitions per tick measurement (selection)")
	parser.add_argument("--scale-n", type=int, default=400, help="due generators per run (scaleout)")
	parser.add_argument("--add-n", type=int, default=300, help="inserts per side (additem)")
	parser.add_argument("--adders", type=int, default=8)
	parser.add_argument("--add-seconds", type=int, default=30)
	parser.add_argument(
		"--invoice-series",
		type=int,
		default=1,
		help="scaleout: spread the generators' invoices over this many naming series (ERPNext serialises "
		"invoice creation per series)",
	)
	parser.add_argument(
		"--sales-update-frequency",
		default=None,
		help="scaleout: set ERPNext's Selling Settings > Sales Update Frequency (e.g. Daily) for the run",
	)
	parser.add_argument(
		"--profile", default=None, help="a benchmark name: profile our side with pyinstrument"
	)
	args = parser.parse_args()
	only = [b.strip() for b in args.only.split(",") if b.strip()]
	unknown = set(only) - set(BENCHMARKS)
	if unknown:
		parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

	connect(args.site, args.sites_path)
	global COMPANY, CURRENCY
	COMPANY = setup_company()
	CURRENCY = frappe.get_cached_value("Company", COMPANY, "default_currency")
	say(f"machine: {machine()}")
	say(f"site: {args.site}, company {COMPANY}")
	started = time.perf_counter()
	try:
		invoice_paths = tuple(b for b in ("overhead", "autorepeat") if b in only)
		if invoice_paths:
			say(
				f"\n== {' + '.join(invoice_paths)} (N = {args.n}, 5 items each, {args.blocks} interleaved blocks)"
			)
			bench_invoices(args, invoice_paths)
		if "selection" in only:
			say("\n== selection (hourly tick: enqueue_due)")
			bench_selection(args)
		if "scaleout" in only:
			say(f"\n== scale-out ({args.scale_n} due generators, RQ workers on the long queue)")
			bench_scaleout(args)
		if "additem" in only:
			say("\n== adding items")
			bench_additem(args)
	finally:
		say(f"\n== summary ({time.perf_counter() - started:.0f}s)")
		for name, value, target, verdict in RESULTS:
			say(f"  {verdict:<6} {name}: {value} (target {target})")
		frappe.destroy()


COMPANY = CURRENCY = None

if __name__ == "__main__":
	main()
