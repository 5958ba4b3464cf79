"""Background jobs of work owed in a committed transaction: one job per key, and a lost enqueue left to the sweep.

What a transaction owes (an automation run, a Payment Request, a charge) is recorded in it and enqueued after its
commit. The enqueue can fail (the queue unreachable, the process dying): that never turns the committed work into
an error, because the debt is still recorded and its hourly sweep enqueues it again (docs/architecture.md §5)."""

import frappe


def enqueue_once(method: str, job_id: str, title: str, **kwargs) -> None:
	"""Enqueue `method` on the short queue as one job per `job_id` (deduplicated while it waits or runs); a failed
	enqueue is logged under `title` (the work stays owed for its sweep)."""
	try:
		frappe.enqueue(method, queue="short", job_id=job_id, deduplicate=True, **kwargs)
	except Exception:
		frappe.log_error(title=title)
