"""Two-step billing (*Submit Invoices in a Second Transaction*): an occurrence of an Open generator commits in
two transactions, so that parallel billing jobs can share one invoice naming series.

ERPNext takes an invoice's number from its naming series' counter row and keeps that row locked until the
transaction commits; in one transaction per occurrence a second job on the same series waits for the first one's
whole insert and submit. In two steps:

1. **reserve** (generation.run_occurrence): lock the generator and the items, take the invoice's number, mark its
   items Billed on it, store it as built as a draft flagged `accumulating_finalize` (`store_reserved`: its rows
   written, nothing run on it), log, advance the schedule, commit. The series row is locked only for this part,
   and the number is taken without a gap: the draft holds it.
2. **finalize** (`finalize`): lock the generator again, check the draft is still reserved, submit it: a draft
   nobody changed since the reserve is inserted submitted in one pass over its stored rows
   (`submit_stored`: ERPNext validates it and writes each row once, as in one-step billing), a draft saved since
   is submitted as it is; its on_submit (`finish_reserved`) owes what an invoice owes once it is submitted
   (owed.py: the Generated automations, the pay link, the email), in the submit's own transaction; commit.

A billing run meets two-step billing only through its finisher (`finisher()`): what the run's locked read of a
generator asks along (`probes`), what to finish first when it found an invoice reserved earlier (`before_run`),
whether the generator waits for one another worker has (`waits`), whether an occurrence reserves, how it commits
(`commit`: into READ COMMITTED, isolation.py, when its invoice is submitted next), how a committed occurrence's
invoice is finished (`finish`), and what is left to do when the run ends (`end_run`). One-transaction billing has
a finisher too (`OneStep`), which does nothing: its invoice is final at its commit, and what it owes goes out
after that commit by itself (owed.py).

Exactly once holds across the two: the items are Billed on the reserved draft from the first commit on, and a
reserved draft is submitted by whoever holds the generator's lock first and finds it still reserved (the run that
made it, the next run of its generator, or the hourly sweep), each in a transaction of its own. Deleting a
reserved draft releases its items (events.py), as for any generated draft. A generator with a reserved invoice
that cannot be submitted bills no later occurrence: its failure is counted and shown as for any failed run.
"""

from functools import cache

from pypika.terms import Parameter

import frappe
from frappe.model.docstatus import DocStatus
from frappe.utils import add_to_date, now_datetime

from accumulating_billing.billing import child_rows, isolation, locks, owed, review
from accumulating_billing.billing.app_settings import two_step_billing
from accumulating_billing.billing.generation_log import (
	failed_before,
	failure_message,
	failure_recorded,
	notify_stalled,
	record_failure,
)
from accumulating_billing.billing.invoice import forget_stale_item_defaults
from accumulating_billing.billing.payers import billing_tab, invoice_tabs, lead_first
from accumulating_billing.doctypes import GENERATOR

OPEN = ("Open", "Open and Email")
# the sweep leaves alone what a run reserved this recently (that run submits it right after its commit)
SWEEP_AFTER_MINUTES = 10


# ------------------------------------------------------------------------------------------ finishers


class OneStep:
	"""One transaction per occurrence: nothing to finish. Its invoice is final at its commit, and what it owes
	(recorded in that transaction: owed.py) goes out after the commit by itself."""

	def before_run(self, generator: str) -> str | None:
		"""Anything to finish before the run bills an occurrence; returns an error that stops the run."""
		return None

	def probes(self) -> dict[str, str]:
		"""What a run's locked read of a generator asks along, in the same statement (locks.read_generator)."""
		return {}

	def waits(self, generator) -> bool:
		"""Whether the generator (its row locked, its document read with `probes`) waits for an invoice reserved
		earlier and not submitted yet."""
		return False

	def reserves(self, generator) -> bool:
		"""Whether an occurrence of `generator` reserves its invoice (a draft submitted in a second step)."""
		return False

	def commit(self, invoice) -> None:
		"""Commit the occurrence that made `invoice` (None: it billed nothing)."""
		frappe.db.commit()

	def finish(self, generator: str, invoice) -> str | None:
		"""After the occurrence's commit: finish its invoice; returns an error that stops the run."""
		return None

	def end_run(self) -> None:
		"""The run is over: leave the connection as the run found it."""


class TwoSteps(OneStep):
	"""*Submit Invoices in a Second Transaction*: an Open invoice is reserved, then submitted on its own."""

	def before_run(self, generator: str) -> str | None:
		# an invoice reserved by an earlier run is submitted before any later occurrence is billed (one another
		# worker holds stays reserved: `waits`, under the generator's lock, stops the run then)
		return finalize_pending(generator, wait=False)

	def probes(self) -> dict[str, str]:
		return {"reserved": reserved_probe()}

	def waits(self, generator) -> bool:
		probed = generator.flags.probed or {}
		return probed["reserved"] if "reserved" in probed else bool(reserved_invoices(generator.name))

	def reserves(self, generator) -> bool:
		return generator.generate_as in OPEN  # only invoices that are submitted are billed in two steps

	def commit(self, invoice) -> None:
		if invoice and invoice.accumulating_finalize:
			# `finish` submits it next, at READ COMMITTED: the switch rides on this commit (isolation.py)
			isolation.commit_into_read_committed()
		else:
			frappe.db.commit()

	def finish(self, generator: str, invoice) -> str | None:
		if not invoice.accumulating_finalize:
			return None  # not reserved (a Draft generator's invoice): final at its commit
		# the reserved invoice, then its credit note, each submitted in a transaction of its own
		try:
			error = finalize(generator, invoice.name, invoice)
			note = invoice.flags.accumulating_credit_note
			if not error and note:
				error = finalize(generator, note)
		except BaseException:
			isolation.leave()  # `commit` switched the session: it is back at its level, whatever stopped the finalize
			raise
		return error

	def end_run(self) -> None:
		# each finalize's commit set the session's level back (`commit` switched it): whatever ended one, it is back
		isolation.leave()


ONE_STEP = OneStep()
TWO_STEPS = TwoSteps()


def finisher() -> OneStep:
	"""The finisher of a billing run, as the settings say now."""
	return TWO_STEPS if two_step_billing() else ONE_STEP


# ------------------------------------------------------------------------------------------ reserved invoices


def reserved_query(generator):
	"""The reserved drafts that bill a tab of the generator (its own, and combined ones that list it): `generator`
	is its name, or a query parameter."""
	SI = frappe.qb.DocType("Sales Invoice")
	return (
		frappe.qb.from_(SI)
		.select(SI.name)
		.where(
			billing_tab(SI, generator)
			& (SI.accumulating_finalize == 1)
			& (SI.accumulating_review == 0)  # kept for a person (review.py): no run submits it
			& (SI.docstatus == 0)
		)
	)


def reserved_invoices(generator: str) -> list[str]:
	"""reserved_query's drafts, oldest first (the invoice before its credit note)."""
	SI = frappe.qb.DocType("Sales Invoice")
	return reserved_query(generator).orderby(SI.creation).orderby(SI.name).run(pluck=True)


@cache  # built once per process: the same text for every generator
def reserved_probe() -> str:
	"""reserved_query as a probe of a run's locked read of the generator (its one parameter, `%(name)s`): whether
	a reserved draft of the tab waits, asked in the statement that locks the generator (locks.read_generator)."""
	return reserved_query(Parameter("%(name)s")).limit(1).get_sql()


def finalize(generator: str, invoice: str, doc=None, retry: bool = True, wait: bool = True) -> str | None:
	"""Submit one reserved invoice in a transaction of its own. Returns None when it is submitted (here or by
	someone else before) or left to the worker that holds the generator (`wait` False), or the error recorded on
	the generator (the draft stays reserved, for the next try).

	`doc` is the invoice as the reserving run left it (saves a reload when nothing changed since).

	It runs at READ COMMITTED (isolation.py). ERPNext's submit reads the invoice back with locking reads of its rows
	(`for_update`, when it updates its outstanding amount and status), and Frappe's save deletes the child rows a
	document no longer lists with a range delete; under REPEATABLE READ both take next-key locks, and on the newest
	invoice of a series they lock the gap at the end of each child table's parent index, where the next invoice's
	lines go: another worker reserving that invoice waited for this submit's commit (sampled: 104 to 138 waits on
	`tabSales Invoice Item` in a run), and the two steps were serial again. READ COMMITTED locks the rows alone.
	What the submit changes it locks, and the reserved invoice is this transaction's alone (the generator's lock
	is held)."""
	with isolation.read_committed():
		return submit_reserved(generator, invoice, doc, retry, wait)


def submit_reserved(generator: str, invoice: str, doc, retry: bool, wait: bool) -> str | None:
	# every tab the invoice bills (a combined invoice lists several), in name order, before the invoice's row; the
	# run's own invoice lists them (`doc`), else they are read
	tabs = invoice_tabs(invoice if doc is None else doc) or [generator]
	try:
		if wait:
			locks.lock_generators(tabs)
		elif not locks.lock_generators_or_skip(tabs):
			frappe.db.rollback()
			return None
		# a person submitting or deleting it from the desk meanwhile waits, or went first
		current = frappe.db.sql(
			"select `docstatus`, `accumulating_finalize`, `accumulating_review`, `modified`, `creation` "
			"from `tabSales Invoice` where `name` = %s for update",
			invoice,
			as_dict=True,
		)
		current = current[0] if current else None
		if (
			not current
			or current.docstatus != 0
			or not current.accumulating_finalize
			or current.accumulating_review  # kept for a person (review.py)
		):
			frappe.db.rollback()  # submitted by another run or the sweep, or deleted: nothing owed here
			return None
		reused = doc is not None and str(doc.modified) == str(current.modified)
		if not reused:
			doc = frappe.get_doc("Sales Invoice", invoice)
			if (invoice_tabs(doc) or [generator]) != tabs:
				frappe.db.rollback()  # its tabs changed since the run built it: locked again, as they are now
				return submit_reserved(generator, invoice, None, retry, wait)
		doc.flags.ignore_permissions = True
		doc.flags.ignore_validate = doc.flags.ignore_mandatory = False  # the reserve stored it unvalidated
		if current.modified == current.creation:
			submit_stored(doc)  # nobody changed it since the reserve stored it
		else:
			doc.submit()  # saved since (a person, or computed after a refused submit): submitted as it is
		forget_stale_item_defaults(doc)
		if not reused:
			# a later try succeeded (the run itself reset the count when it reserved): its tabs are healthy
			for tab in tabs:
				frappe.db.set_value(
					GENERATOR, tab, {"consecutive_failures": 0, "last_error": None}, update_modified=False
				)
		frappe.db.commit()
	except Exception as e:
		frappe.db.rollback()
		if retry and locks.is_transient(e):
			return submit_reserved(generator, invoice, None, False, wait)
		if review.keep_reserved(generator, invoice):
			return None  # ERPNext's credit limit refused it: kept as a Draft for a person to decide
		occurrence = frappe.db.get_value("Sales Invoice", invoice, "accumulating_occurrence")
		# each tab waits for it: each one's failure is counted (once per distinct error)
		errors = [record_submit_failure(tab, occurrence, e) for tab in tabs]
		error = errors[0]
		frappe.db.commit()
		compute_draft(invoice)
		return error
	return None


def store_reserved(invoice) -> None:
	"""The reserve's draft, stored as built (docs/architecture.md §7): its number, its lines and tabs written as
	they are (with Frappe's defaults, as generation.save_generated gives them), and nothing run on it (no hook,
	link check or computation: ERPNext's one pass at the submit runs them once, `submit_stored`). The invoice's
	series row is held for these few writes only."""
	invoice.set_user_and_timestamp()  # creation = modified: the mark of a draft nobody changed since
	invoice.set_parent_in_children()
	invoice.db_insert()
	child_rows.store_children(invoice.get_all_children())
	invoice.delete_key("__islocal")
	invoice.delete_key("__unsaved")
	saving = (invoice.doctype, invoice.name)  # as Frappe's insert leaves it once saved
	if saving in frappe.flags.currently_saving:
		frappe.flags.currently_saving.remove(saving)


def submit_stored(doc) -> None:
	"""Submit a reserved draft nobody changed since the reserve stored it (its `modified` still its `creation`):
	it is inserted submitted under the same number, in one pass, as a one-step run inserts an Open invoice: ERPNext
	validates it once and writes each row once, over the stored draft's rows (child_rows.written_over: the
	invoice's row and each line written over the one stored under its name, in the statement that writes it; a
	stored row it no longer lists deleted). Submitting the stored draft read it all back, rewrote every row and kept
	a Version of it as built: most of what two steps cost over one. In the finalize transaction, its tabs and its
	row locked (`submit_reserved`): a failure rolls the writes back with the rest, and the draft stays reserved as
	it was."""
	child_rows.written_over(doc)
	doc.set("__islocal", 1)
	doc.flags.name_set = True  # the number the reserve took
	doc.flags.accumulating_generated = True  # its lines are exactly the items the reserve billed on it
	# inserted with its flags cleared, so its on_submit (finish_reserved) owes without reading it back to clear them
	doc.flags.accumulating_stored_submit = True
	doc.accumulating_finalize = doc.accumulating_review = 0
	doc.docstatus = DocStatus.SUBMITTED
	doc.insert()


def record_submit_failure(generator: str, occurrence, error: Exception) -> str:
	"""A reserved invoice's submit failed: one failure per distinct error. The hourly sweep (and each later run of
	the generator) tries it again; the same refusal for the same occurrence, already in the generation log, is
	not another failure: it is not counted, logged or alerted again. A different error counts."""
	if occurrence and failure_recorded(generator, occurrence, error):
		return failure_message(error)
	first = occurrence and not failed_before(generator, occurrence)
	message = record_failure(generator, occurrence, error)
	if first:
		# the generator now waits for this invoice, and a repeated error is not counted again: tell them now
		notify_stalled(generator, occurrence, message)
	return message


def compute_draft(invoice: str) -> None:
	"""A reserved draft whose submit was refused is saved once as a draft, so that the desk shows it with
	ERPNext's totals, accounts and taxes while it waits (its reserve stored it as built). Best effort: a draft
	ERPNext will not even save keeps its built values, and the next try submits it all the same."""
	try:
		doc = frappe.get_doc("Sales Invoice", invoice)
		if doc.docstatus == 0 and doc.accumulating_finalize:
			doc.flags.ignore_permissions = True
			doc.flags.accumulating_generated = True  # its lines are still the reserved items
			doc.save()
			frappe.db.commit()
	except Exception:
		frappe.db.rollback()
		frappe.clear_last_message()


def finalize_pending(generator: str, wait: bool = True) -> str | None:
	"""Submit every reserved invoice of the generator, oldest first; stops at the first failure (returned)."""
	for invoice in reserved_invoices(generator):
		error = finalize(generator, invoice, wait=wait)
		if error:
			return error
	return None


def finish_reserved(doc, method=None) -> None:
	"""Sales Invoice on_submit: a reserved invoice (or one kept for review) is submitted (by finalize, or by a
	person from the desk): clear the flag and owe, in this same transaction, what a submitted generated invoice
	owes (owed.py)."""
	if doc.flags.accumulating_stored_submit:
		pass  # inserted submitted with the flags already cleared (submit_stored)
	elif doc.get("accumulating_finalize"):
		doc.db_set({"accumulating_finalize": 0, "accumulating_review": 0}, update_modified=False)
	else:
		return
	if doc.is_return:  # a credit note of returns owes nothing more
		return
	# each tab's Generated automations; the lead's settings for the rest (owed.py). The run that reserved the
	# invoice and submits it now (submit_stored) holds its tabs as it billed them, under the same locks: owed as
	# a one-step invoice is, by its tabs at billing; any other submit reads them
	known = doc.flags.accumulating_tab_docs if doc.flags.accumulating_stored_submit else None
	known = {tab.name: tab for tab in known or []}
	tabs = [known.get(tab) or locks.load_generator(tab) for tab in invoice_tabs(doc)]
	owed.owe(doc, lead_first(doc, tabs))


def sweep_reserved() -> list[str]:
	"""Hourly: submit what a crash (or a failed submit) left reserved, generator by generator; a generator
	another worker is billing is skipped (its run submits it). Returns the generators it went through without
	an error."""
	SI = frappe.qb.DocType("Sales Invoice")
	generators = (
		frappe.qb.from_(SI)
		.select(SI.accumulating_generator)
		.distinct()
		.where(
			(SI.accumulating_finalize == 1)
			& (SI.accumulating_review == 0)
			& (SI.docstatus == 0)
			& (SI.creation < add_to_date(now_datetime(), minutes=-SWEEP_AFTER_MINUTES))
		)
		.run(pluck=True)
	)
	done = []
	for generator in generators:
		# a generator another worker holds is left to it (that run submits what it reserved)
		if not finalize_pending(generator, wait=False):
			done.append(generator)
	return done
