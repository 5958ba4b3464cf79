"""The generation transaction: one database transaction per occurrence of one generator (docs/architecture.md §4).

lock the generator row -> re-check what is due -> lock and load the unbilled items -> hold what ERPNext refuses ->
let the engine decide -> insert (and submit) the Sales Invoice -> mark exactly the swept items Billed -> log ->
owe what the invoice owes (owed.py) -> advance -> commit. What it owes goes out only after the commit. Any
exception rolls back this generator only and is recorded. Two-step billing meets the run only through its
finisher (two_step.finisher()); the lines it held are announced once the run is over (held_notices.py).
"""

from dataclasses import dataclass, field
from datetime import date

import frappe
from frappe import _
from frappe.utils import cint, flt, getdate, nowdate

from accumulating_billing import engine
from accumulating_billing.billing import held_notices, locks, owed, payers, review, schema, tab, two_step
from accumulating_billing.billing.generation_log import record_failure, write_log
from accumulating_billing.billing.held import held_note, hold_refused
from accumulating_billing.billing.invoice import (
	build_sales_invoice,
	exact_sum,
	forget_stale_item_defaults,
	invoice_totals,
)
from accumulating_billing.billing.lifecycle import resume, resumes
from accumulating_billing.billing.money import amount_precision, rounding
from accumulating_billing.billing.payers import TABS_FIELD, payer_of
from accumulating_billing.billing.state import state_of, to_decimal
from accumulating_billing.billing.tab import (
	ITEM,
	candidates_along,
	lock_unbilled_items,
	number_and_bill,
	tab_items,
	vouch_for_links,
)
from accumulating_billing.doctypes import GENERATOR


@dataclass
class RunResult:
	"""What one call did to one generator."""

	generator: str
	invoices: list[str] = field(default_factory=list)
	log: list[str] = field(default_factory=list)
	error: str | None = None


# ------------------------------------------------------------------------------------------ scheduled runs


def run_generator(
	name: str, as_of: date | str | None = None, cap: int = engine.CATCH_UP_CAP, notify: bool = True
) -> RunResult:
	"""Process every due occurrence of one generator up to `as_of`, oldest first, at most `cap` of them.

	Each occurrence is its own transaction; a failure stops this generator (its next date is kept). `notify`:
	this call is a billing run of its own, whose held lines are announced at its end (a caller that runs many
	generators announces them once, after all of them: tasks.process_chunk)."""
	as_of = getdate(as_of or nowdate())
	result = RunResult(name)
	finisher = two_step.finisher()
	retried, done, generator, finished_earlier = None, 0, None, False
	while done < cap and not result.error:
		if generator is not None and not engine.due_runs(state_of(generator), as_of, cap=1):
			break  # the occurrence just billed moved the schedule past as_of: no second lock and read for that
		locks.fresh_transaction()  # each occurrence in a transaction of its own (nothing of the caller is pending)
		run_date = None
		try:
			generator = locks.lock_and_load_generator_or_skip(name, finisher.probes(), tab.along())
			waits = generator is not None and finisher.waits(generator)
			if waits and not finished_earlier:
				# an invoice reserved earlier waits for its submit: submitted first (unless another worker holds it)
				frappe.db.rollback()
				finished_earlier, generator, result.error = True, None, finisher.before_run(name)
				continue
			if generator is None or waits:
				frappe.db.rollback()
				result.log.append(_("busy: another worker is billing {0}; it goes on there").format(name))
				break
			if resumes(generator, as_of):
				# its resume date has come: it resumes by itself, in a transaction of its own (read under the lock)
				resume(name, getdate(generator.resume_date))
				frappe.db.commit()
				generator = None
				continue
			runs = engine.due_runs(state_of(generator), as_of, cap=1)
			if not runs:
				frappe.db.rollback()
				break
			run_date = runs[0]
			invoice, line = run_occurrence(generator, run_date, reserve=finisher.reserves(generator))
			finisher.commit(invoice)
		except Exception as e:
			frappe.db.rollback()
			generator = None  # what it holds in memory may be ahead of what the rollback left
			if run_date and run_date != retried and locks.is_transient(e):
				# a deadlock or lock wait against a user's cancel or save: the rollback undid everything,
				# so the occurrence is simply tried again, once
				retried = run_date
				continue
			if run_date and schema.is_occurrence_key(e):
				line = skip_existing_occurrence(name, run_date)
				frappe.db.commit()
				result.log.append(line)
				done += 1
				continue
			kept = keep_occurrence_for_review(name, run_date) if run_date else None
			if kept:
				# ERPNext's credit limit refused the invoice: a person decides, the run goes on (review.py)
				done += 1
				result.invoices.append(kept[0].name)
				result.log.append(kept[1])
				continue
			result.error = record_failure(name, run_date, e)
			frappe.db.commit()
			break
		done += 1
		result.log.append(line)
		if invoice:
			result.invoices.append(invoice.name)
			result.error = finisher.finish(name, invoice)
	finisher.end_run()
	if notify:
		held_notices.announce([name])
	return result


def keep_occurrence_for_review(name: str, run_date):
	"""After an occurrence of an Open generator failed (and was rolled back): when ERPNext's credit limit is what
	refuses its invoice, bill the occurrence again, this time on a Draft kept for review, in a transaction of its
	own. Returns (invoice, log line), or None when the refusal is something else (nothing is changed then: the
	caller records the failure as before). Costs one cached read on a generator without a credit limit."""
	return keep_for_review([name], run_date, lambda docs: run_occurrence(docs[0], run_date, reserve=True))


def keep_for_review(names: list[str], run_date, bill):
	"""keep_occurrence_for_review for the tabs `names` billed together on one invoice (combined.py: `bill(docs)`
	bills the occurrence of the generators `docs`, locked and reloaded, reserved; returns (invoice, log line)). The
	credit limit is the payer's: the customer the invoice is made out to."""
	values = frappe.db.get_value(
		GENERATOR, names[0], ["customer", "invoice_customer", "company", "generate_as"], as_dict=True
	)
	if (
		not values
		or values.generate_as not in review.OPEN
		or not review.credit_limited(payer_of(values), values.company)
	):
		return None
	try:
		if not locks.lock_generators_or_skip(names):
			frappe.db.rollback()
			return None
		docs = [frappe.get_doc(GENERATOR, name) for name in sorted(names)]
		for generator in docs:
			runs = engine.due_runs(state_of(generator), run_date, cap=1)
			if not runs or runs[0] != run_date:
				frappe.db.rollback()
				return None
		# reserved as the two-step reserve does: nothing is owed before a person submits it
		invoice, line = bill(docs)
		reason = None
		if invoice:
			review.compute(invoice)
			reason = review.refused_by_credit_limit(invoice)
		if not reason:
			frappe.db.rollback()
			return None
		line = (
			review.keep(
				invoice.accumulating_generator, invoice, run_date, reason, payers.invoice_tabs(invoice)
			)
			or line
		)
		frappe.db.commit()
	except Exception:
		frappe.db.rollback()
		frappe.clear_last_message()
		frappe.log_error(title=_("Accumulating Generator {0}: not kept for review").format(", ".join(names)))
		return None
	note = invoice.flags.accumulating_credit_note
	if note:
		# a credit note of returns billed before is no credit: submitted now (else by the hourly sweep)
		two_step.finalize(invoice.accumulating_generator, note)
	return invoice, line


@dataclass
class Occurrence:
	"""What one occurrence of one tab decided, in the occurrence's transaction: its lines locked, the refused ones
	held, the engine's decision; `rows` are the lines it bills (none when it skips)."""

	generator: object
	run_date: date
	unbilled: list
	held: list
	decision: engine.RunDecision

	@property
	def bills(self) -> bool:
		return self.decision.action == "bill"

	@property
	def rows(self) -> list:
		swept = {i.name for i in self.decision.items} if self.bills else set()
		return [i for i in self.unbilled if i.name in swept]


def run_occurrence(generator, run_date: date, reserve: bool = False):
	"""Bill (or skip) one occurrence inside the caller's transaction; the generator row is locked. `reserve`: the
	invoice is a draft submitted in a second transaction (two_step.py), or kept for review (review.py); it owes
	nothing until it is submitted."""
	occurrence = decide_occurrence(generator, run_date)
	invoice = None
	if occurrence.bills:
		invoice = create_invoice(generator, occurrence.rows, run_date, run_date, reserve=reserve)
	line = settle_occurrence(occurrence, invoice)
	if invoice and not reserve:
		# a reserved invoice owes from its submit on (two_step.finish_reserved)
		owed.owe(invoice, [generator])
	return invoice, line


def occurrence_items(generator, run_date: date) -> list:
	"""The items the occurrence may bill, locked: dated before it, or all on a final run."""
	before = None if engine.is_final_run(state_of(generator), run_date) else run_date
	# read along with the generator (tab.along) when it was read so, else read now
	return lock_unbilled_items(generator.name, before, candidates=candidates_along(generator, before))


def decide_occurrence(generator, run_date: date, unbilled=None, refused=None) -> Occurrence:
	"""Lock and read the items the occurrence may bill, hold the ones ERPNext would refuse now, and let the engine
	decide; in the caller's transaction, the generator row locked. Writes nothing but the holds. `unbilled` and
	`refused`: read and checked by the caller already (combined.py checks the lines of all its tabs at once)."""
	state = state_of(generator)
	if unbilled is None:
		unbilled = occurrence_items(generator, run_date)
	# the lines ERPNext would refuse now are held (not billed); the invoice bills the rest
	unbilled, held = hold_refused(generator, unbilled, refused)
	decision = engine.decide_run(
		state,
		run_date,
		tab_items(unbilled),
		discount_percentage=to_decimal(generator.additional_discount_percentage),
		discount_amount=to_decimal(generator.discount_amount),
		apply_discount_on=generator.apply_discount_on or "Grand Total",
		precision=amount_precision(generator.currency),
		rounding=rounding(),
		measured_net_total=measured_net_total(generator, unbilled, run_date),
	)
	return Occurrence(generator, run_date, unbilled, held, decision)


def settle_occurrence(occurrence: Occurrence, invoice=None, note: str = "") -> str:
	"""After the occurrence's invoice is made (`invoice`, when it bills): its log line (`note` added), the next
	state, the one-time settings cleared. Returns the log line. What the invoice owes is the caller's (owed.owe,
	once per invoice)."""
	generator, run_date, decision = occurrence.generator, occurrence.run_date, occurrence.decision
	unbilled, held_lines = occurrence.unbilled, held_note(occurrence.held)
	if invoice:
		line = _("{0}: billed {1} item(s) on {2}").format(run_date, len(occurrence.rows), invoice.name)
		if invoice.flags.accumulating_credit_note:
			line += " " + _("(returns credited on {0})").format(invoice.flags.accumulating_credit_note)
		line += note + held_lines
		write_log(generator.name, run_date, "Billed", line, invoice.name, len(occurrence.rows))
	elif decision.action == engine.SKIP_NEGATIVE:
		line = _(
			"{0}: skipped, net total {1} is negative (returns outweigh the rest); {2} item(s) carry over"
		).format(run_date, decision.net_total, len(unbilled))
		line += held_lines
		write_log(generator.name, run_date, "Skipped", line, items_count=len(unbilled))
	elif decision.action == "skip_minimum":
		line = _(
			"{0}: skipped, net total {1} is below the minimum amount {2}; {3} item(s) carry over"
		).format(run_date, decision.net_total, generator.minimum_amount, len(unbilled))
		line += held_lines
		write_log(generator.name, run_date, "Skipped", line, items_count=len(unbilled))
	else:
		line = _("{0}: skipped, nothing to bill").format(run_date) + held_lines
		write_log(generator.name, run_date, "Skipped", line)

	values = {
		"invoices_generated": decision.invoices_generated,
		"next_creation_date": decision.next_creation_date,
		"status": decision.status,
		"consecutive_failures": 0,
		"last_error": None,
	}
	if invoice:
		values["last_creation_date"] = run_date
	locks.update_locked_generator(generator.name, values)
	generator.update(values)  # the caller decides from it whether another occurrence is due
	if invoice:
		clear_one_time_settings(generator)
	if decision.status == engine.COMPLETED:
		write_log(generator.name, run_date, "Completed", _("Generator completed: end condition reached"))
	return line


def measured_net_total(generator, rows: list, run_date: date):
	"""ERPNext's net total for the minimum-amount check when the engine cannot know it: a discount on the Grand
	Total is spread into the net total in proportion to the taxes, which ERPNext computes."""
	discounted = flt(generator.additional_discount_percentage) or flt(generator.discount_amount)
	if not (
		rows and flt(generator.minimum_amount) and discounted and generator.apply_discount_on != "Net Total"
	):
		return None
	return to_decimal(invoice_totals(generator, rows, run_date).net_total)


# ------------------------------------------------------------------------------------------ generate now


def generate_now(name: str, posting_date: date | str | None = None, occasion=None) -> tuple[str | None, str]:
	"""Bill the Unbilled items dated up to `posting_date` as an off-cycle invoice.

	Same guards as a scheduled run (row lock, item locks); does not move the schedule or count for After N.
	Returns (invoice name or None, message).

	`occasion` (threshold.py: billing at the threshold) decides under the generator's lock: its `due(generator,
	rows)` says whether the lines to bill are billed now (False: nothing is billed or changed), and its
	`billed(generator, invoice, rows)`, in the invoice's transaction, writes what it adds and returns the log line."""
	posting_date = getdate(posting_date or nowdate())
	locks.fresh_transaction()
	try:
		generator = frappe.get_doc(GENERATOR, name, for_update=True)
		if generator.status in (engine.ARCHIVED,):
			frappe.throw(_("Generator {0} is Archived. Restore it first.").format(name))
		unbilled = lock_unbilled_items(name, None, upto=posting_date)
		unbilled, held = hold_refused(generator, unbilled)
		if occasion and not occasion.due(generator, unbilled):
			frappe.db.rollback()
			return None, ""
		if not unbilled:
			return nothing_billed(
				name,
				posting_date,
				held,
				_("Nothing to bill: the tab has no unbilled items dated up to {0}.").format(
					frappe.format(posting_date, "Date")
				),
			)
		total = exact_sum(row.amount for row in unbilled)
		if total < 0:
			return nothing_billed(
				name,
				posting_date,
				held,
				_(
					"Nothing billed: the unbilled items dated up to {0} total {1}; returns outweigh the rest."
				).format(frappe.format(posting_date, "Date"), total),
			)
		invoice = create_invoice(generator, unbilled, posting_date, None)
		if occasion:
			line = occasion.billed(generator, invoice, unbilled)
		else:
			line = _("Generate now on {0}: billed {1} item(s) on {2}").format(
				posting_date, len(unbilled), invoice.name
			)
		if invoice.flags.accumulating_credit_note:
			line += " " + _("(returns credited on {0})").format(invoice.flags.accumulating_credit_note)
		line += held_note(held)
		write_log(name, posting_date, "Billed", line, invoice.name, len(unbilled))
		owed.owe(invoice, [generator])
		frappe.db.set_value(GENERATOR, name, "last_creation_date", posting_date)
		clear_one_time_settings(generator)
		frappe.db.commit()
	except Exception:
		frappe.db.rollback()
		raise
	held_notices.announce([name] if held else [])  # one Generate Now is a billing run of its own
	return invoice.name, line


def nothing_billed(name: str, posting_date: date, held: list, message: str) -> tuple[None, str]:
	"""Generate Now bills nothing: the lines it held stay held (logged, committed, announced), else nothing
	changes."""
	if held:
		message = message.rstrip(".") + held_note(held)
		write_log(name, posting_date, "Skipped", message)
		frappe.db.commit()
		held_notices.announce([name])
	else:
		frappe.db.rollback()
	return None, message


# ------------------------------------------------------------------------------------------ pieces


def create_invoice(
	generator,
	rows: list,
	posting_date: date,
	occurrence: date | None,
	reserve: bool = False,
	tabs: list | None = None,
):
	"""The occurrence's Sales Invoice of the swept rows. Returns of deliveries that were already billed
	(negative lines) cannot stand on an invoice: ERPNext credits them on a credit note, made in the same
	transaction (`invoice.flags.accumulating_credit_note`). `reserve`: insert both as drafts flagged for their
	submit in a second transaction (two_step.py). `tabs`: a combined invoice, [(generator, its rows)] of each tab
	(combined.py), `generator` the lead; `rows` is then every tab's rows."""
	tabs = tabs or [(generator, rows)]
	charges = [(tab, [r for r in tab_rows if flt(r.qty) > 0]) for tab, tab_rows in tabs]
	credits = [(tab, [r for r in tab_rows if flt(r.qty) < 0]) for tab, tab_rows in tabs]
	charges = [(tab, tab_rows) for tab, tab_rows in charges if tab_rows]
	credits = [(tab, tab_rows) for tab, tab_rows in credits if tab_rows]
	invoice = build_sales_invoice(
		generator, [], posting_date, occurrence, fill_missing=False, tabs=charges or [(generator, [])]
	)
	# the tabs a reserved invoice owes by when the run submits it (two_step.finish_reserved)
	invoice.flags.accumulating_tab_docs = [tab for tab, _rows in tabs]
	save_generated(generator, invoice, [r for _tab, tab_rows in charges for r in tab_rows], reserve)
	if credits:
		note = create_credit_note(generator, [], posting_date, reserve, tabs=credits)
		invoice.flags.accumulating_credit_note = note.name
	return invoice


def create_credit_note(
	generator, rows: list, posting_date: date, reserve: bool = False, tabs: list | None = None
):
	"""A credit note (is_return) of returned deliveries, linked to the return's lines (`dn_detail`), so ERPNext
	counts the return as billed; no discount of the generator applies to it."""
	tabs = tabs or [(generator, rows)]
	rows = [r for _tab, tab_rows in tabs for r in tab_rows]
	note = build_sales_invoice(generator, rows, posting_date, None, fill_missing=False, tabs=tabs)
	note.is_return = 1
	note.allocate_advances_automatically = 0  # advances pay invoices, never credit notes
	note.update_billed_amount_in_delivery_note = 1
	note.additional_discount_percentage = 0
	note.discount_amount = 0
	return save_generated(generator, note, rows, reserve)


def save_generated(generator, invoice, rows: list, reserve: bool = False):
	"""Insert the invoice, its items marked Billed on it; an Open invoice (unless reserved for a second
	transaction) is inserted submitted: ERPNext validates it once, where insert-then-submit validates it twice
	(and reloads it in between), which was a third of the cost of an invoice and grows with its lines."""
	# its lines are exactly the swept items: the draft-edit checks of events.py have nothing to do
	invoice.flags.accumulating_generated = True
	invoice.accumulating_finalize = 1 if reserve else 0
	# its number first, then its items billed on it, before its validation runs (tab.number_and_bill)
	invoice.flags.accumulating_billed = [r.name for r in rows]
	if generator.generate_as in ("Open", "Open and Email") and not reserve:
		invoice.docstatus = 1
	# its lines' items and its tabs are locked here: Frappe's link check need not read them back (tab.py)
	vouch_for_links(ITEM, [r.name for r in rows])
	vouch_for_links(GENERATOR, [row.generator for row in invoice.get(TABS_FIELD) or []])
	if reserve:
		# stored as built, with Frappe's defaults as its insert would give them, its number and lines held;
		# ERPNext validates, computes and submits it once, in the second transaction (two_step.py): doing any of
		# it here would double the work and hold the series longer
		invoice.update_if_missing(frappe.new_doc(invoice.doctype, as_dict=True))
		number_and_bill(invoice)
		two_step.store_reserved(invoice)
	else:
		invoice.insert()  # its before_insert numbers it and bills its items (events.number_generated_invoice)
	forget_stale_item_defaults(invoice)
	if invoice.docstatus == 1 and not flt(invoice.grand_total):
		# ERPNext sets a new document's status only after it is saved: the Payment Ledger does that for an invoice
		# with anything to pay, but an invoice of zero posts no ledger entry and would stay "Draft" (tested)
		invoice.set_status(update=True, update_modified=False)
	return invoice


def clear_one_time_settings(generator) -> None:
	"""Discounts and taxes apply to one invoice unless the generator keeps them (keep_discount / keep_taxes).
	Nothing is written when there is nothing to clear."""
	if not cint(generator.keep_discount) and (
		flt(generator.additional_discount_percentage) or flt(generator.discount_amount)
	):
		frappe.db.set_value(
			GENERATOR, generator.name, {"additional_discount_percentage": 0, "discount_amount": 0}
		)
	if not cint(generator.keep_taxes) and (generator.taxes_and_charges or generator.get("taxes")):
		frappe.db.set_value(GENERATOR, generator.name, "taxes_and_charges", None)
		frappe.db.delete("Sales Taxes and Charges", {"parenttype": GENERATOR, "parent": generator.name})


def skip_existing_occurrence(name: str, run_date: date) -> str:
	"""The occurrence already has an invoice (the unique key said so): advance past it without a second one."""
	generator = frappe.get_doc(GENERATOR, name, for_update=True)
	existing = payers.invoice_of_occurrence(name, run_date)
	state = state_of(generator)
	if state.next_creation_date == run_date:
		next_date = engine.next_run_after(state, run_date)
		values = {"next_creation_date": next_date}
		if next_date is None:
			values["status"] = engine.COMPLETED
		frappe.db.set_value(GENERATOR, name, values)
	line = _("{0}: already invoiced on {1}; not billed again").format(run_date, existing)
	write_log(name, run_date, "Skipped", line, existing)
	return line
