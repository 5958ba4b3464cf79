"""The generator row lock and the database's transient refusals: below every module that bills, cancels or
changes a tab (generation, two_step, review, events, sources), so that none of them imports another for it.

The generator row is the lock of a tab: a billing run, a cancel of a generated invoice, a Timesheet or Delivery
Note cancel and a release all take it before they touch the tab's items, in that order (generator, then items).
"""

import frappe

GENERATOR = "Accumulating Generator"


def lock_generator(name: str) -> None:
	"""Lock the generator row for this transaction, waiting for whoever holds it (a run, a cancel)."""
	frappe.db.get_value(GENERATOR, name, "name", for_update=True)


def lock_generator_or_skip(name: str) -> bool:
	"""Lock the generator row for this transaction, or return False at once when another worker holds it
	(SKIP LOCKED): two ticks that enqueue overlapping work never wait on each other or count a failure."""
	Gen = frappe.qb.DocType(GENERATOR)
	return bool(
		frappe.qb.from_(Gen).select(Gen.name).where(Gen.name == name).for_update(skip_locked=True).run()
	)


def lock_generators(names) -> None:
	"""Lock several generator rows, in name order (the lock order of docs/architecture.md §6), waiting."""
	for name in sorted(set(names)):
		lock_generator(name)


def lock_generators_or_skip(names) -> bool:
	"""Lock several generator rows in name order, each with SKIP LOCKED; False at the first one another worker
	holds (the rest are not tried: two workers meeting on one payer's tabs never each hold a part and wait)."""
	return all(lock_generator_or_skip(name) for name in sorted(set(names)))


def is_transient(error: Exception) -> bool:
	"""The database gave up on this transaction's locks (deadlock victim, lock wait timeout)."""
	return isinstance(error, frappe.QueryDeadlockError | frappe.QueryTimeoutError)
