"""Scheduler entry points (DESIGN §5): the hourly tick only selects and enqueues; workers generate."""

from datetime import date

import frappe
from frappe.utils import cint, getdate, nowdate

from accumulating_billing.billing.generation import GENERATOR, RunResult, run_generator

SETTINGS = "Accumulating Billing Settings"
DEFAULT_JOBS_PER_TICK = 4
SECONDS_PER_GENERATOR = (
	6  # job timeout per generator of a chunk (a generator may catch up several occurrences)
)


def due_generators(as_of: date, limit: int | None = None) -> list[str]:
	"""Active generators with next_creation_date <= as_of, then Paused ones whose resume date has come.

	Two range queries, each served by its own index ((status, next_creation_date) and (status, resume_date))
	and ordered along it, so the tick reads only the due rows (no OR across columns, no filesort)."""
	Gen = frappe.qb.DocType(GENERATOR)
	names = []
	for status, date_field in (("Active", Gen.next_creation_date), ("Paused", Gen.resume_date)):
		query = (
			frappe.qb.from_(Gen)
			.select(Gen.name)
			.where((Gen.status == status) & (date_field <= as_of))
			.orderby(date_field)
		)
		if limit:
			query = query.limit(limit - len(names))
		names += query.run(pluck=True)
		if limit and len(names) >= limit:
			break
	return names


def enqueue_due(as_of: date | str | None = None) -> list[str]:
	"""Hourly: split the due generators into as many chunks as the settings' *Parallel Billing Jobs per Tick*
	(one per long-queue worker) and enqueue each to the long queue. The tick's cost hardly depends on how many
	are due: one index range read and a fixed number of enqueues. The job id is derived from the chunk's content
	and date, so a tick that overlaps a slow run does not enqueue the same work twice."""
	as_of = getdate(as_of or nowdate())
	names = due_generators(as_of)
	job_ids = []
	for chunk in split(names, jobs_per_tick()):
		job_id = f"accumulating-billing::{as_of}::{chunk[0]}::{chunk[-1]}::{len(chunk)}"
		frappe.enqueue(
			"accumulating_billing.billing.tasks.process_chunk",
			queue="long",
			timeout=max(1500, SECONDS_PER_GENERATOR * len(chunk)),
			job_id=job_id,
			deduplicate=True,
			names=chunk,
			as_of=str(as_of),
		)
		job_ids.append(job_id)
	return job_ids


def jobs_per_tick() -> int:
	return cint(frappe.db.get_single_value(SETTINGS, "billing_jobs_per_tick")) or DEFAULT_JOBS_PER_TICK


def split(names: list[str], parts: int) -> list[list[str]]:
	"""`names` in at most `parts` consecutive chunks of (nearly) equal size, none empty."""
	size = -(-len(names) // max(parts, 1))  # ceiling division
	return [names[start : start + size] for start in range(0, len(names), size)] if names else []


def process_chunk(names: list[str], as_of: str) -> list[RunResult]:
	return [run_isolated(name, as_of) for name in names]


def run_isolated(name: str, as_of) -> RunResult:
	"""run_generator, but whatever escapes it is logged and the next generator goes on."""
	try:
		return run_generator(name, as_of)
	except Exception as e:
		frappe.db.rollback()
		frappe.log_error(
			title=f"Accumulating Generator {name} could not run",
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
	invoices = []
	for done, name in enumerate(names, 1):
		result = run_isolated(name, as_of)
		invoices.extend(result.invoices)
		if progress:
			progress(done, len(names), result)
	return invoices
