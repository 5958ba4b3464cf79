"""The generation transaction: one database transaction per occurrence of one generator (DESIGN §4-§5).

lock the generator row -> re-check what is due -> lock and load the unbilled items -> let the engine decide ->
insert (and submit) the Sales Invoice -> mark exactly the swept items Billed -> log -> advance -> commit.
Side effects (email) run only after the commit. Any exception rolls back this generator only and is recorded.
"""

from dataclasses import dataclass, field
from datetime import date

import frappe
from frappe import _
from frappe.utils import cint, flt, getdate, nowdate

from accumulating_billing import engine
from accumulating_billing.billing.automations import record_run
from accumulating_billing.billing.invoice import build_sales_invoice, invoice_totals
from accumulating_billing.billing.money import amount_precision, rounding
from accumulating_billing.billing.payments import request_payment_or_note
from accumulating_billing.billing.state import state_of, to_decimal
from accumulating_billing.billing.tab import lock_unbilled_items, mark_billed, tab_item

GENERATOR = "Accumulating Generator"
LOG = "Accumulating Generation Log"
FAILING_AFTER = 5


@dataclass
class RunResult:
	"""What one call did to one generator."""

	generator: str
	invoices: list[str] = field(default_factory=list)
	log: list[str] = field(default_factory=list)
	error: str | None = None


# ------------------------------------------------------------------------------------------ scheduled runs


def run_generator(name: str, as_of: date | str | None = None, cap: int = engine.CATCH_UP_CAP) -> RunResult:
	"""Process every due occurrence of one generator up to `as_of`, oldest first, at most `cap` of them.

	Each occurrence is its own transaction; a failure stops this generator (its next date is kept)."""
	as_of = getdate(as_of or nowdate())
	result = RunResult(name)
	resume_if_due(name, as_of)
	retried, done = None, 0
	while done < cap:
		frappe.db.commit()  # start each occurrence in a fresh transaction (nothing of the caller is pending)
		run_date = None
		try:
			if not lock_generator_or_skip(name):
				frappe.db.rollback()
				result.log.append(_("busy: another worker is billing {0}; it goes on there").format(name))
				break
			generator = frappe.get_doc(GENERATOR, name)
			runs = engine.due_runs(state_of(generator), as_of, cap=1)
			if not runs:
				frappe.db.rollback()
				break
			run_date = runs[0]
			invoice, line = run_occurrence(generator, run_date)
			frappe.db.commit()
		except Exception as e:
			frappe.db.rollback()
			if run_date and run_date != retried and is_transient(e):
				# a deadlock or lock wait against a user's cancel or save: the rollback undid everything,
				# so the occurrence is simply tried again, once
				retried = run_date
				continue
			if run_date and is_occurrence_conflict(e):
				line = skip_existing_occurrence(name, run_date)
				frappe.db.commit()
				result.log.append(line)
				done += 1
				continue
			result.error = record_failure(name, run_date, e)
			frappe.db.commit()
			break
		done += 1
		result.log.append(line)
		if invoice:
			result.invoices.append(invoice.name)
			after_invoice_committed(generator, invoice)
	return result


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


def run_occurrence(generator, run_date: date):
	"""Bill (or skip) one occurrence inside the caller's transaction; the generator row is locked."""
	state = state_of(generator)
	final = engine.is_final_run(state, run_date)
	unbilled = lock_unbilled_items(generator.name, None if final else run_date)
	decision = engine.decide_run(
		state,
		run_date,
		[tab_item(i) for i in unbilled],
		discount_percentage=to_decimal(generator.additional_discount_percentage),
		discount_amount=to_decimal(generator.discount_amount),
		apply_discount_on=generator.apply_discount_on or "Grand Total",
		precision=amount_precision(generator.currency),
		rounding=rounding(),
		measured_net_total=measured_net_total(generator, unbilled, run_date),
	)
	invoice = None
	if decision.action == "bill":
		swept = {i.name for i in decision.items}
		invoice = create_invoice(generator, [i for i in unbilled if i.name in swept], run_date, run_date)
		line = _("{0}: billed {1} item(s) on {2}").format(run_date, len(swept), invoice.name)
		if invoice.flags.accumulating_credit_note:
			line += " " + _("(returns credited on {0})").format(invoice.flags.accumulating_credit_note)
		write_log(generator.name, run_date, "Billed", line, invoice.name, len(swept), email_status(generator))
	elif decision.action == engine.SKIP_NEGATIVE:
		line = _(
			"{0}: skipped, net total {1} is negative (returns outweigh the rest); {2} item(s) carry over"
		).format(run_date, decision.net_total, len(unbilled))
		write_log(generator.name, run_date, "Skipped", line, items_count=len(unbilled))
	elif decision.action == "skip_minimum":
		line = _(
			"{0}: skipped, net total {1} is below the minimum amount {2}; {3} item(s) carry over"
		).format(run_date, decision.net_total, generator.minimum_amount, len(unbilled))
		write_log(generator.name, run_date, "Skipped", line, items_count=len(unbilled))
	else:
		line = _("{0}: skipped, nothing to bill").format(run_date)
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
	frappe.db.set_value(GENERATOR, generator.name, values)
	if invoice:
		clear_one_time_settings(generator)
	if decision.status == engine.COMPLETED:
		write_log(generator.name, run_date, "Completed", _("Generator completed: end condition reached"))
	return invoice, line


def measured_net_total(generator, rows: list, run_date: date):
	"""ERPNext's net total for the minimum-amount check when the engine cannot know it: a discount on the Grand
	Total is spread into the net total in proportion to the taxes, which ERPNext computes."""
	discounted = flt(generator.additional_discount_percentage) or flt(generator.discount_amount)
	if not (
		rows and flt(generator.minimum_amount) and discounted and generator.apply_discount_on != "Net Total"
	):
		return None
	return to_decimal(invoice_totals(generator, rows, run_date).net_total)


def resume_if_due(name: str, as_of: date) -> None:
	"""A Paused generator whose resume date has come resumes by itself."""
	values = frappe.db.get_value(GENERATOR, name, ["status", "resume_date"], as_dict=True)
	if (
		values
		and values.status == engine.PAUSED
		and values.resume_date
		and getdate(values.resume_date) <= as_of
	):
		resume(name, getdate(values.resume_date))
		frappe.db.commit()


# ------------------------------------------------------------------------------------------ generate now


def generate_now(name: str, posting_date: date | str | None = None) -> tuple[str | None, str]:
	"""Bill the Unbilled items dated up to `posting_date` as an off-cycle invoice.

	Same guards as a scheduled run (row lock, item locks); does not move the schedule or count for After N.
	Returns (invoice name or None, message)."""
	posting_date = getdate(posting_date or nowdate())
	frappe.db.commit()
	try:
		generator = frappe.get_doc(GENERATOR, name, for_update=True)
		if generator.status in (engine.ARCHIVED,):
			frappe.throw(_("Generator {0} is Archived. Restore it first.").format(name))
		unbilled = lock_unbilled_items(name, None, upto=posting_date)
		if not unbilled:
			frappe.db.rollback()
			return None, _("Nothing to bill: the tab has no unbilled items dated up to {0}.").format(
				frappe.format(posting_date, "Date")
			)
		total = sum(to_decimal(row.amount) for row in unbilled)
		if total < 0:
			frappe.db.rollback()
			return None, _(
				"Nothing billed: the unbilled items dated up to {0} total {1}; returns outweigh the rest."
			).format(frappe.format(posting_date, "Date"), total)
		invoice = create_invoice(generator, unbilled, posting_date, None)
		line = _("Generate now on {0}: billed {1} item(s) on {2}").format(
			posting_date, len(unbilled), invoice.name
		)
		if invoice.flags.accumulating_credit_note:
			line += " " + _("(returns credited on {0})").format(invoice.flags.accumulating_credit_note)
		write_log(name, posting_date, "Billed", line, invoice.name, len(unbilled), email_status(generator))
		frappe.db.set_value(GENERATOR, name, "last_creation_date", posting_date)
		clear_one_time_settings(generator)
		frappe.db.commit()
	except Exception:
		frappe.db.rollback()
		raise
	after_invoice_committed(generator, invoice)
	return invoice.name, line


# ------------------------------------------------------------------------------------------ pause / resume


def pause(name: str, resume_date: date | str | None = None) -> None:
	generator = frappe.get_doc(GENERATOR, name, for_update=True)
	if generator.status != engine.ACTIVE:
		frappe.throw(
			_("Only an Active generator can be paused; {0} is {1}.").format(name, _(generator.status))
		)
	if resume_date and generator.next_creation_date and getdate(resume_date) < getdate(nowdate()):
		frappe.throw(_("The resume date cannot be in the past."))
	frappe.db.set_value(GENERATOR, name, {"status": engine.PAUSED, "resume_date": resume_date or None})
	message = _("Paused until {0}").format(frappe.format(resume_date, "Date")) if resume_date else _("Paused")
	write_log(name, getdate(nowdate()), "Paused", message)


def resume(name: str, resume_date: date | str) -> date | None:
	"""Resume on `resume_date`: the next run is the first occurrence on or after it (the rhythm is kept).
	Occurrences that fell inside the pause are not caught up; the log lists them."""
	if not resume_date:
		frappe.throw(_("Resume needs a resume date."))
	resume_date = getdate(resume_date)
	generator = frappe.get_doc(GENERATOR, name, for_update=True)
	if generator.status != engine.PAUSED:
		frappe.throw(
			_("Only a Paused generator can be resumed; {0} is {1}.").format(name, _(generator.status))
		)
	state = state_of(generator)
	missed = engine.missed_during_pause(state, resume_date)
	next_date = engine.resume_next_date(state, resume_date)
	frappe.db.set_value(
		GENERATOR, name, {"status": engine.ACTIVE, "resume_date": None, "next_creation_date": next_date}
	)
	for day in missed:
		write_log(name, day, "Missed", _("{0}: not billed, the generator was paused").format(day))
	write_log(
		name,
		resume_date,
		"Resumed",
		_("Resumed on {0}; next invoice on {1}; {2} paused occurrence(s) not caught up").format(
			resume_date, next_date, len(missed)
		),
	)
	return next_date


# ------------------------------------------------------------------------------------------ archive / restore


def set_archived(name: str, archived: bool) -> str:
	"""Archive (stop billing, hide from the default list) or restore a generator; returns the new status.

	Restore brings it back Paused, so that Resume asks from when to bill again (the archived period is not
	caught up), or Completed when it had reached its end, or Draft when it never started."""
	generator = frappe.get_doc(GENERATOR, name, for_update=True)
	if archived:
		if generator.status == engine.ARCHIVED:
			frappe.throw(_("Generator {0} is already Archived.").format(name))
		status = engine.ARCHIVED
	else:
		if generator.status != engine.ARCHIVED:
			frappe.throw(
				_("Only an Archived generator can be restored; {0} is {1}.").format(name, _(generator.status))
			)
		if not generator.next_creation_date and not cint(generator.invoices_generated):
			status = engine.DRAFT
		elif not generator.next_creation_date or (
			generator.end_condition == engine.END_AFTER_N
			and cint(generator.invoices_generated) >= cint(generator.end_after_invoices)
		):
			status = engine.COMPLETED
		else:
			status = engine.PAUSED
	frappe.db.set_value(GENERATOR, name, {"status": status, "resume_date": None})
	generator.add_comment(
		"Info", _("Archived") if archived else _("Restored from the archive as {0}").format(_(status))
	)
	return status


# ------------------------------------------------------------------------------------------ pieces


def create_invoice(generator, rows: list, posting_date: date, occurrence: date | None):
	"""The occurrence's Sales Invoice of the swept rows. Returns of deliveries that were already billed
	(negative lines) cannot stand on an invoice: ERPNext credits them on a credit note, made in the same
	transaction (`invoice.flags.accumulating_credit_note`)."""
	charges = [r for r in rows if flt(r.qty) > 0]
	credits = [r for r in rows if flt(r.qty) < 0]
	invoice = build_sales_invoice(generator, charges, posting_date, occurrence, fill_missing=False)
	save_generated(generator, invoice, charges)
	# the Generated automations are owed from this transaction on (fired after its commit, swept if lost)
	record_run(invoice.name, generator.name, "Generated")
	# the pay link: a Payment Request in the same transaction, so one per invoice whatever runs again
	request_payment_or_note(generator, invoice)
	if credits:
		invoice.flags.accumulating_credit_note = create_credit_note(generator, credits, posting_date).name
	return invoice


def create_credit_note(generator, rows: list, posting_date: date):
	"""A credit note (is_return) of returned deliveries, linked to the return's lines (`dn_detail`), so ERPNext
	counts the return as billed; no discount of the generator applies to it."""
	note = build_sales_invoice(generator, rows, posting_date, None, fill_missing=False)
	note.is_return = 1
	note.allocate_advances_automatically = 0  # advances pay invoices, never credit notes
	note.update_billed_amount_in_delivery_note = 1
	note.additional_discount_percentage = 0
	note.discount_amount = 0
	return save_generated(generator, note, rows)


def save_generated(generator, invoice, rows: list):
	# its lines are exactly the swept items: the draft-edit checks of events.py have nothing to do
	invoice.flags.accumulating_generated = True
	invoice.insert()
	forget_stale_item_defaults(invoice)
	# billed before the submit: the invoice's own checks see its lines' items as billed on it
	mark_billed([r.name for r in rows], invoice.name)
	if generator.generate_as in ("Open", "Open and Email"):
		invoice.submit()
	return invoice


def forget_stale_item_defaults(invoice) -> None:
	"""ERPNext's validate writes the invoice's income account onto an Item Default row that has none, but
	decides so from the cached Item, which that write does not refresh: until the Item is saved again, every
	invoice of the item rewrites the row and holds its lock until commit, so parallel billing jobs queue on
	it. Dropping the cached Item (now and after the commit) makes the write happen once."""
	for code in {row.item_code for row in invoice.items}:
		# only what is cached: loading the Item here would cache this transaction's uncommitted row
		item = frappe.cache.get_value(frappe.get_document_cache_key("Item", code))
		if item and any(d.company == invoice.company and not d.income_account for d in item.item_defaults):
			frappe.clear_document_cache("Item", code)


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


def write_log(
	generator: str,
	occurrence: date,
	outcome: str,
	reason: str,
	sales_invoice: str | None = None,
	items_count: int = 0,
	email_status: str | None = None,
) -> None:
	frappe.get_doc(
		{
			"email_status": email_status,
			"doctype": LOG,
			"generator": generator,
			"occurrence_date": occurrence,
			"outcome": outcome,
			"reason": reason,
			"sales_invoice": sales_invoice,
			"items_count": items_count,
		}
	).insert(ignore_permissions=True)


def is_transient(error: Exception) -> bool:
	"""The database gave up on this transaction's locks (deadlock victim, lock wait timeout)."""
	return isinstance(error, frappe.QueryDeadlockError | frappe.QueryTimeoutError)


def is_occurrence_conflict(error: Exception) -> bool:
	"""The database refused a second invoice for the same (generator, occurrence)."""
	from accumulating_billing.install import OCCURRENCE_KEY

	return isinstance(error, frappe.UniqueValidationError) and OCCURRENCE_KEY in str(error.args)


def skip_existing_occurrence(name: str, run_date: date) -> str:
	"""The occurrence already has an invoice (the unique key said so): advance past it without a second one."""
	generator = frappe.get_doc(GENERATOR, name, for_update=True)
	existing = frappe.db.get_value(
		"Sales Invoice", {"accumulating_generator": name, "accumulating_occurrence": run_date}, "name"
	)
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


def record_failure(name: str, run_date: date | None, error: Exception) -> str:
	"""Keep next_creation_date; count the failure, keep the message, write an Error Log; flag after 5."""
	message = frappe.utils.strip_html(str(error)) or error.__class__.__name__
	frappe.log_error(
		title=_("Accumulating Generator {0} failed").format(name),
		reference_doctype=GENERATOR,
		reference_name=name,
	)
	if not frappe.db.exists(GENERATOR, name):
		return message
	failures = cint(frappe.db.get_value(GENERATOR, name, "consecutive_failures", for_update=True)) + 1
	frappe.db.set_value(
		GENERATOR,
		name,
		{"consecutive_failures": failures, "last_error": message[:1000]},
		update_modified=False,
	)
	write_log(
		name,
		run_date or getdate(nowdate()),
		"Failed",
		_("{0}: failed, will retry on the next run: {1}").format(run_date, message[:500]),
	)
	if failures == FAILING_AFTER:
		notify_failing(name, message)
	return message


def notify_failing(name: str, message: str) -> None:
	from frappe.desk.doctype.notification_log.notification_log import enqueue_create_notification

	managers = frappe.get_all(
		"Has Role",
		filters={"role": "Accounts Manager", "parenttype": "User"},
		pluck="parent",
		distinct=True,
	)
	users = [
		u
		for u in managers
		if u not in ("Administrator", "Guest") and frappe.db.get_value("User", u, "enabled")
	]
	if not users:
		return
	enqueue_create_notification(
		users,
		{
			"type": "Alert",
			"document_type": GENERATOR,
			"document_name": name,
			"subject": _("Accumulating Generator {0} is failing ({1} failures in a row): {2}").format(
				name, FAILING_AFTER, message[:200]
			),
		},
	)


def email_status(generator) -> str | None:
	"""An Open and Email invoice owes its email from the transaction that creates it (the log line records it),
	so a process that dies between the commit and the enqueue leaves the email owed, and the hourly sweep
	sends it."""
	return "Pending" if generator.generate_as == "Open and Email" else None


def after_invoice_committed(generator, invoice) -> None:
	"""Side effects run after the commit, once per invoice."""
	if generator.generate_as == "Open and Email":
		enqueue_invoice_email(invoice.name)


def enqueue_invoice_email(invoice: str) -> None:
	"""One job per invoice (deduplicated while queued or running); the job itself never sends twice."""
	frappe.enqueue(
		"accumulating_billing.billing.email.send_invoice_email",
		queue="short",
		job_id=f"accumulating-email-{invoice}",
		deduplicate=True,
		invoice=invoice,
	)
