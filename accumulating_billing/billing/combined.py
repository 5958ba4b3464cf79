"""One invoice per payer (issue 28, docs/architecture.md §17): on a billing day, the tabs of one payer that combine
(*Combine With the Payer's Other Tabs*) and agree on their invoice settings are billed on one Sales Invoice made out
to the payer, each tab's lines under its title.

A billing job hands its due generators to `plan`: the ones that combine come grouped per payer (with company and
currency), and `run_payer` bills such a group occurrence by occurrence, oldest first, each invoice in a transaction
of its own:

1. commit, then lock every due tab of the payer, in name order, with SKIP LOCKED (locks.lock_generators_or_skip):
   a tab another worker holds makes the whole payer *busy* for this run (never a wait, never a deadlock; the next
   run bills it), so a tab is never billed apart from its group because a worker held it for a moment;
2. reload them, ask the engine each one's next due occurrence and which tabs share the earliest date's invoices
   (engine.next_bills: same payer and settings, payers.AGREE); a tab whose settings differ is billed alone, with a
   comment saying why;
3. in the occurrence's transaction, per tab in name order: lock and read its items, hold what ERPNext refuses, let
   the engine decide (minimum amount, end conditions: each tab its own: generation.decide_occurrence); one invoice
   for the tabs that bill (generation.create_invoice with `tabs`: each tab's lines, its row with its occurrence under
   the unique key of schema.py); each tab's log line, next state and one-time settings (generation.
   settle_occurrence); what the invoice owes, once, each tab's Generated automations (owed.owe); commit.

Failures are the group's: a transient lock error retries once, a duplicate occurrence key skips the tabs already
invoiced, ERPNext's credit limit keeps the invoice as a Draft for review (generation.keep_for_review), anything else
is recorded on every tab of the invoice (their dates kept) and the payer's other invoices go on. Two-step billing
reserves the invoice and submits it after the commit (two_step.py locks all its tabs to submit it).
"""

from datetime import date

import frappe
from frappe import _
from frappe.utils import getdate

from accumulating_billing import engine
from accumulating_billing.billing import generation, held, locks, owed, payers, schema, tab, two_step
from accumulating_billing.billing.generation import GENERATOR, RunResult
from accumulating_billing.billing.generation_log import record_failure
from accumulating_billing.billing.lifecycle import resume_if_due
from accumulating_billing.billing.state import state_of

PAYER_FIELDS = ["name", "customer", "invoice_customer", "company", "currency", "consolidate_invoices"]


# ------------------------------------------------------------------------------------------ the plan


def payer_key(row) -> tuple[str, str, str]:
	"""The tabs that may share invoices: one payer, company and currency (the other settings are checked at
	billing, under the lock)."""
	return (payers.payer_of(row), row.company, row.currency)


def plan(names: list[str]) -> list[str | list[str]]:
	"""The billing order of `names`: a generator that does not combine stays itself; the ones that combine become
	one entry per payer (a list of names), where the first of them was. One read."""
	rows = {
		row.name: row
		for row in frappe.get_all(GENERATOR, filters={"name": ("in", names or [""])}, fields=PAYER_FIELDS)
	}
	entries, groups = [], {}
	for name in names:
		row = rows.get(name)
		if not row or not payers.combines(row):
			entries.append(name)
			continue
		key = payer_key(row)
		if key not in groups:
			groups[key] = []
			entries.append(groups[key])
		groups[key].append(name)
	return entries


def due_tabs(key: tuple[str, str, str], as_of: date) -> list[str]:
	"""The payer's tabs that combine and are due by `as_of` (Active with their next date come, or Paused with
	their resume date come): all of them are billed by the run of any one, so none waits for its own share."""
	payer, company, currency = key
	Gen = frappe.qb.DocType(GENERATOR)
	due = ((Gen.status == "Active") & (Gen.next_creation_date <= as_of)) | (
		(Gen.status == "Paused") & (Gen.resume_date <= as_of)
	)
	return (
		frappe.qb.from_(Gen)
		.select(Gen.name)
		.where(
			(Gen.consolidate_invoices == 1)
			& (
				(Gen.invoice_customer == payer)
				| ((Gen.customer == payer) & (Gen.invoice_customer.isnull() | (Gen.invoice_customer == "")))
			)
			& (Gen.company == company)
			& (Gen.currency == currency)
			& due
		)
		.orderby(Gen.name)
		.run(pluck=True)
	)


# ------------------------------------------------------------------------------------------ the run


def run_payer(
	names: list[str], as_of: date | str | None = None, cap: int = engine.CATCH_UP_CAP
) -> list[RunResult]:
	"""Bill every due occurrence of the payer's combining tabs (`names`, and the payer's other due ones), oldest
	first, at most `cap` per tab; one RunResult per tab (a combined invoice is in its lead's). Its held lines are
	announced by the caller, once per billing run."""
	as_of = getdate(as_of)
	rows = frappe.get_all(GENERATOR, filters={"name": ("in", names)}, fields=PAYER_FIELDS)
	members = sorted({*names, *(name for row in rows[:1] for name in due_tabs(payer_key(row), as_of))})
	for name in frappe.get_all(
		GENERATOR, filters={"name": ("in", members), "status": "Paused"}, pluck="name"
	):
		resume_if_due(name, as_of)
	results = {name: RunResult(name) for name in members}
	finisher = two_step.finisher()
	for name in members:
		results[name].error = finisher.before_run(name)
	active = [name for name in members if not results[name].error]
	counts = dict.fromkeys(active, 0)
	retried = set()
	known = {}  # every tab seen in this run (a tab billed alone is told which of them it differs from)
	while active:
		locks.fresh_transaction()  # each invoice in a transaction of its own
		day, group = None, []
		try:
			locked = locks.lock_generators_or_skip(active)
			docs = (
				{name: locks.load_generator(name, finisher.probes(), tab.along()) for name in active}
				if locked
				else {}
			)
			if not locked or any(finisher.waits(doc) for doc in docs.values()):
				frappe.db.rollback()
				for name in active:
					results[name].log.append(
						_("busy: another worker holds a tab of the payer of {0}; it goes on there").format(
							name
						)
					)
				break
			tabs = [
				payers.tab_of(doc, next_due(doc, as_of) if counts[doc.name] < cap else None)
				for doc in docs.values()
			]
			known.update((tab.name, tab) for tab in tabs)
			day, bills = engine.next_bills(tabs)
			if day is None:
				frappe.db.rollback()
				break
			group = [docs[tab.name] for tab in bills[0]]
			invoice, lines = bill(group, day, list(known.values()), reserve=finisher.reserves(group[0]))
			finisher.commit(invoice)
		except Exception as e:
			frappe.db.rollback()
			failed = [doc.name for doc in group] or active
			active = handle_failure(e, day, failed, active, results, counts, retried)
			continue
		for name, line in lines:
			results[name].log.append(line)
			counts[name] += 1
		if invoice:
			lead = invoice.accumulating_generator
			results[lead].invoices.append(invoice.name)
			error = finisher.finish(lead, invoice)
			if error:
				for doc in group:
					results[doc.name].error = error
				active = [name for name in active if name not in {doc.name for doc in group}]
		# what is still due, from the state in memory (read under the lock, then advanced by the settle): a payer
		# whose invoice moved every tab past `as_of` is done without a second lock and read of its tabs
		active = [name for name in active if counts[name] < cap and next_due(docs[name], as_of)]
	finisher.end_run()
	return list(results.values())


def next_due(doc, as_of: date) -> date | None:
	runs = engine.due_runs(state_of(doc), as_of, cap=1)
	return runs[0] if runs else None


def handle_failure(error, day, failed: list[str], active: list[str], results, counts, retried) -> list[str]:
	"""After the occurrence of `failed` (the tabs of one invoice) failed and was rolled back: retry, skip what was
	invoiced already, keep it for review, or record the failure on each of those tabs. Returns the tabs still to
	bill in this run."""
	key = (day, tuple(failed))
	if day and key not in retried and locks.is_transient(error):
		retried.add(key)  # a deadlock or lock wait against a user's cancel or save: tried again, once
		return active
	if day and schema.is_occurrence_key(error):
		done = [name for name in failed if payers.invoice_of_occurrence(name, day)]
		for name in done:
			results[name].log.append(generation.skip_existing_occurrence(name, day))
			counts[name] += 1
		frappe.db.commit()
		if done:
			return active
	kept = (
		generation.keep_for_review(failed, day, lambda docs: first_line(bill(docs, day, [], reserve=True)))
		if day
		else None
	)
	if kept:
		# ERPNext's credit limit refused the payer's invoice: a person decides, the run goes on (review.py)
		invoice, line = kept
		results[invoice.accumulating_generator].invoices.append(invoice.name)
		for name in failed:
			results[name].log.append(line)
			counts[name] += 1
		return active
	for name in failed:
		results[name].error = record_failure(name, day, error)
	frappe.db.commit()
	return [name for name in active if name not in failed]


def first_line(billed):
	invoice, lines = billed
	return invoice, lines[0][1] if lines else ""


# ------------------------------------------------------------------------------------------ one invoice


def bill(group: list, day: date, tabs: list, reserve: bool = False):
	"""In the caller's transaction, every tab of `group` locked (docs, name order): bill their occurrence `day` on
	one invoice. Returns (the invoice or None, [(tab, its log line)]). A group of one is an ordinary occurrence
	(told why when other tabs of its payer due that day could not share it: `tabs`)."""
	if len(group) == 1:
		invoice, line = generation.run_occurrence(group[0], day, reserve=reserve)
		note_billed_apart(group[0], tabs)
		return invoice, [(group[0].name, line)]
	# each tab's items locked, tab by tab in name order; the line check of all of them at once (they share the
	# company); then each tab decides
	items = {doc.name: generation.occurrence_items(doc, day) for doc in group}
	refused = held.refused_lines(
		[row for doc in group if held.holds(doc) for row in items[doc.name]], group[0].company
	)
	occurrences = [generation.decide_occurrence(doc, day, items[doc.name], refused) for doc in group]
	billing = [occurrence for occurrence in occurrences if occurrence.bills]
	invoice = None
	if billing:
		lead = engine.lead(payers.tab_of(o.generator) for o in billing).name
		billing.sort(key=lambda o: (o.generator.name != lead, o.generator.name))
		invoice = generation.create_invoice(
			billing[0].generator,
			[],
			day,
			day,
			reserve=reserve,
			tabs=[(o.generator, o.rows) for o in billing],
		)
	note = ""
	if len(billing) > 1:
		note = " " + _("(one invoice to {0} for {1})").format(
			payers.payer_of(billing[0].generator), ", ".join(o.generator.name for o in billing)
		)
	lines = [
		(
			o.generator.name,
			generation.settle_occurrence(o, invoice if o.bills else None, note if o.bills else ""),
		)
		for o in occurrences
	]
	if invoice and not reserve:
		# a reserved invoice owes from its submit on (two_step.finish_reserved)
		owed.owe(invoice, [o.generator for o in billing])
	return invoice, lines


def note_billed_apart(doc, tabs: list) -> None:
	"""A combining tab billed alone while its payer's other tabs in this run (`tabs`) could not share its invoice:
	a comment on it names them and the settings that differ (once per distinct reason, not every billing day)."""
	own = next((tab for tab in tabs if tab.name == doc.name), None)
	reasons = engine.separated(own, tabs) if own else {}
	if not reasons:
		return
	text = _("Billed on its own invoice, not with the other tabs of {0}: {1}.").format(
		payers.payer_of(doc),
		"; ".join(
			_("{0} differs in {1}").format(other, ", ".join(payers.labels(fields)))
			for other, fields in reasons.items()
		),
	)
	if not frappe.db.exists(
		"Comment",
		{"reference_doctype": GENERATOR, "reference_name": doc.name, "comment_type": "Info", "content": text},
	):
		doc.add_comment("Info", text)
