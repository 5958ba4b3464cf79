"""Scale-out: throughput of 2 RQ workers / 1 worker on the long queue, `--scale-n` due generators per worker
count, run 1-2-2-1 so that a drift of the machine's speed favours neither side. Target >= 1.6.

`--sales-update-frequency Daily` and `--invoice-series 2` measure the deployment options that remove ERPNext's
own serialisation points (the Company row updated by every submitted invoice, and the naming-series row every
new invoice locks until it commits). `--two-step` bills with *Submit Invoices in a Second Transaction* on: the
series row is then locked only while an invoice is reserved (two_step.py), and the jobs no longer keep one
series in one share.
"""

import os
import time
from datetime import date, timedelta

import frappe

from benchmarks.common import (
	GENERATOR,
	archive_bench_generators,
	archive_foreign_due,
	bench_customers,
	bench_items,
	make_generators,
	report,
	run_tag,
	say,
	two_step_billing,
)
from benchmarks.serialisation import invoice_series, sales_update_frequency
from benchmarks.workers import long_workers, queued_jobs_parked, start_workers, stop_workers, wait_jobs


def cpu_times() -> tuple[int, int]:
	"""(busy, total) jiffies of the whole machine."""
	with open("/proc/stat") as f:
		values = [int(v) for v in f.readline().split()[1:]]
	idle = values[3] + values[4]
	return sum(values) - idle, sum(values)


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
	archive_foreign_due(days[-1], {g for names in sets for g in names})
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
	with (
		sales_update_frequency(args.sales_update_frequency) as frequency,
		two_step_billing(getattr(args, "two_step", False)) as two_step,
	):
		say(f"  ERPNext Selling Settings > Sales Update Frequency: {frequency}")
		say(f"  two-step billing (reserve, then submit): {'on' if two_step else 'off'}")
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
		f"({os.cpu_count()} CPUs, sales update frequency {frequency}, {len(series or [1])} invoice naming series, "
		f"two-step billing {'on' if two_step else 'off'})",
	)
	archive_bench_generators()


def run(args, names: tuple[str, ...]) -> None:
	"""run.py's entry."""
	say(f"\n== scale-out ({args.scale_n} due generators, RQ workers on the long queue)")
	bench_scaleout(args)
