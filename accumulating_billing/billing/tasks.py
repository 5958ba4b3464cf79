"""Scheduler entry points (docs/architecture.md §4): the hourly tick only looks whether anything is due and
enqueues; the billing jobs select their share of the due generators and generate."""

import time
import zlib
from datetime import date

import frappe
from frappe import _
from frappe.utils import getdate, nowdate

from accumulating_billing.billing import combined, held_notices
from accumulating_billing.billing.app_settings import jobs_per_tick, two_step_billing
from accumulating_billing.billing.generation import GENERATOR, RunResult, run_generator

# a billing job takes no new generator after this long (the next tick enqueues the rest), and is stopped by RQ
# only well after it: each occurrence is its own transaction, so even a stopped job leaves nothing half done
JOB_BUDGET_SECONDS = 45 * 60
JOB_TIMEOUT_SECONDS = 55 * 60


def due_generators(as_of: date, limit: int | None = None) -> list[str]:
	"""Active generators with next_creation_date <= as_of, then Paused ones whose resume date has come.

	Two range queries, each served by its own index ((status, next_creation_date) and (status, resume_date))
	and ordered along it, so the tick reads only the due rows (no OR across columns, no filesort)."""
	return [row[0] for row in due_rows(as_of, limit)]


def due_rows(as_of: date, limit: int | None = None, with_series: bool = False) -> list[tuple]:
	"""(name,) or (name, naming series for invoice, consecutive failures, combines, invoice to, customer) of the due
	generators, as `due_generators` orders them."""
	Gen = frappe.qb.DocType(GENERATOR)
	columns = (
		(
			Gen.name,
			Gen.naming_series_for_invoice,
			Gen.consecutive_failures,
			Gen.consolidate_invoices,
			Gen.invoice_customer,
			Gen.customer,
		)
		if with_series
		else (Gen.name,)
	)
	rows = []
	for status, date_field in (("Active", Gen.next_creation_date), ("Paused", Gen.resume_date)):
		query = (
			frappe.qb.from_(Gen)
			.select(*columns)
			.where((Gen.status == status) & (date_field <= as_of))
			.orderby(date_field)
		)
		if limit:
			query = query.limit(limit - len(rows))
		rows += query.run()
		if limit and len(rows) >= limit:
			break
	return rows


def enqueue_due(as_of: date | str | None = None) -> list[str]:
	"""Hourly: when any generator is due, enqueue one billing job per share (*Parallel Billing Jobs per Tick*,
	one per long-queue worker) to the long queue; each job selects the due generators of its share itself.

	The tick costs the same whatever the size of the site or the number due: one index probe and a fixed number
	of enqueues. The job id is the date and the share, so a tick that overlaps a running job does not enqueue
	the same work again."""
	as_of = getdate(as_of or nowdate())
	if not due_generators(as_of, limit=1):
		return []
	parts = jobs_per_tick()
	job_ids = []
	for part in range(parts):
		job_id = f"accumulating-billing::{as_of}::share-{part + 1}-of-{parts}"
		frappe.enqueue(
			"accumulating_billing.billing.tasks.process_share",
			queue="long",
			timeout=JOB_TIMEOUT_SECONDS,
			job_id=job_id,
			deduplicate=True,
			as_of=str(as_of),
			part=part,
			parts=parts,
		)
		job_ids.append(job_id)
	return job_ids


def share_of(
	name: str,
	parts: int,
	series: str | None = None,
	series_options: list[str] | None = None,
	payer: str | None = None,
) -> int:
	"""Which of `parts` billing jobs bills a generator. A tab that combines with its payer's other tabs
	(`payer`) goes with them, by a stable hash of the payer: one job bills a payer's combined invoices (combined.py).
	A generator with its own *Naming Series for Invoice*
	goes with the other generators of that series (by the series' place among Sales Invoice's naming series):
	ERPNext locks a series' counter until the invoice commits, so two jobs on one series would only wait on
	each other (unless billing is in two steps: the caller then passes no options). The others are spread by a
	stable hash of the name. Shares are disjoint."""
	if payer:
		return zlib.crc32(payer.encode()) % parts
	if series and series_options and series in series_options:
		return series_options.index(series) % parts
	return zlib.crc32(name.encode()) % parts


def invoice_series_options() -> list[str]:
	options = frappe.get_meta("Sales Invoice").get_field("naming_series").options or ""
	return [option for option in options.split("\n") if option]


def process_share(as_of: str, part: int, parts: int, budget: float = JOB_BUDGET_SECONDS) -> list[RunResult]:
	"""One billing job: the due generators of share `part` of `parts`, one after another, oldest due first
	(those that failed last time after the others), until none is left or the time budget is spent (the rest
	is still due at the next tick)."""
	deadline = time.monotonic() + budget
	# in two steps a series is locked only while an invoice is reserved: its generators can spread over the jobs
	options = [] if two_step_billing() else invoice_series_options()
	rows = [
		row
		for row in due_rows(getdate(as_of), with_series=True)
		if share_of(row[0], parts, row[1], options, (row[4] or row[5]) if row[3] else None) == part
	]
	return process_chunk([row[0] for row in sorted(rows, key=lambda row: bool(row[2]))], as_of, deadline)


def process_chunk(names: list[str], as_of: str, deadline: float | None = None) -> list[RunResult]:
	"""Bill `names` one after another; none is started after `deadline` (time.monotonic()). One billing run: the
	lines it held are announced once, after the last generator (held_notices.py)."""
	results = []
	for entry in combined.plan(names):
		if deadline is not None and time.monotonic() > deadline:
			break
		results.extend(run_entry(entry, as_of))
	held_notices.announce([result.generator for result in results])
	return results


def run_entry(entry: str | list[str], as_of) -> list[RunResult]:
	"""One generator (run_isolated), or the tabs of one payer that combine (combined.run_payer), whatever escapes
	it logged so that the next entry goes on."""
	if isinstance(entry, str):
		return [run_isolated(entry, as_of)]
	try:
		return combined.run_payer(entry, as_of)
	except Exception as e:
		frappe.db.rollback()
		frappe.log_error(
			title=_("Accumulating Generators {0} could not run").format(", ".join(entry)),
			reference_doctype=GENERATOR,
			reference_name=entry[0],
		)
		frappe.db.commit()
		return [RunResult(name, error=str(e)) for name in entry]


def run_isolated(name: str, as_of) -> RunResult:
	"""run_generator, but whatever escapes it is logged and the next generator goes on. Its held lines are left
	for the caller to announce, once for the whole run."""
	try:
		return run_generator(name, as_of, notify=False)
	except Exception as e:
		frappe.db.rollback()
		frappe.log_error(
			title=_("Accumulating Generator {0} could not run").format(name),
			reference_doctype=GENERATOR,
			reference_name=name,
		)
		frappe.db.commit()
		return RunResult(name, error=str(e))


def process_due(as_of: date | str | None = None, progress=None) -> list[str]:
	"""Run every due occurrence up to `as_of` (default today) in this process; returns the created invoices.
	Used by tests and the CLI. `progress(done, total, result)` is called after each generator."""
	as_of = getdate(as_of or nowdate())
	names = due_generators(as_of)
	invoices, results = [], []
	for entry in combined.plan(names):
		for result in run_entry(entry, as_of):
			results.append(result)
			invoices.extend(result.invoices)
			if progress:
				progress(len(results), len(names), result)
	held_notices.announce([result.generator for result in results])
	return invoices


def apply_late_fees(as_of: date | str | None = None) -> list[str]:
	"""Daily: a late fee (a tab item, or a Dunning) once per overdue generated invoice; see late_fees.py.
	Returns the names of the items (or Dunnings) it created."""
	from accumulating_billing.billing import late_fees

	return late_fees.apply_late_fees(as_of)
