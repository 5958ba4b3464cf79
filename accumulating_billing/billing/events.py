"""Sales Invoice events: a cancelled generated invoice, or a deleted generated draft, returns its items."""

from collections import defaultdict
from decimal import Decimal

import frappe
from frappe import _
from frappe.utils import flt

from accumulating_billing.billing.generation_log import write_log
from accumulating_billing.billing.locks import lock_generators
from accumulating_billing.billing.payers import TABS_FIELD, invoice_tabs
from accumulating_billing.billing.tab import number_and_bill, set_item_billing
from accumulating_billing.doctypes import GENERATOR, ITEM


def release_items_of_invoice(doc, method=None) -> None:
	"""Items billed on `doc` go back to Unbilled so the next invoice picks them up: no work is lost. A combined
	invoice gives each of its tabs its own items back, each tab told (comment, log line) how many."""
	if not doc.get("accumulating_generator"):
		return
	if method != "on_cancel":  # a cancel took them in before_cancel
		lock_generators(invoice_tabs(doc))
	billed = frappe.get_all(
		ITEM, filters={"sales_invoice": doc.name, "status": "Billed"}, fields=["name", "generator"]
	)
	if not billed:
		return
	set_item_billing([row.name for row in billed], "Unbilled", None, "Billed")
	action = _("cancelled") if method == "on_cancel" else _("deleted")
	by_tab = defaultdict(int)
	for row in billed:
		by_tab[row.generator] += 1
	for tab, count in sorted(by_tab.items()):
		generator = frappe.get_doc(GENERATOR, tab)
		note = _("Sales Invoice {0} was {1}: {2} item(s) are unbilled again.").format(doc.name, action, count)
		if generator.status == "Completed":
			note += " " + _("The generator is Completed: use Generate Now to bill them.")
		generator.add_comment("Info", note)
		write_log(
			generator.name,
			doc.get("accumulating_occurrence") or doc.posting_date,
			"Released",
			note,
			doc.name,
			count,
		)


def lock_generator_of_invoice(doc, method=None) -> None:
	"""before_cancel: take the generators' row locks first (every tab the invoice bills, in name order), as a run
	does, so that cancelling a generated invoice and billing its tabs queue up instead of deadlocking on the
	items."""
	if doc.get("accumulating_generator"):
		lock_generators(invoice_tabs(doc))


def number_generated_invoice(doc, method=None) -> None:
	"""before_insert, first of the app's: an invoice a billing run makes takes its number and bills its items
	(tab.number_and_bill), Frappe's defaults given, before its validation runs. Any other invoice: nothing."""
	number_and_bill(doc)  # nothing unless save_generated flagged it


def forget_foreign_tabs(doc, method=None) -> None:
	"""before_insert: only the app lists the tabs a generated invoice bills. A Sales Invoice made any other way (by
	hand, through REST, a copy) keeps no tab rows, so it can never take a tab's occurrence key from a billing run;
	an amendment keeps its original's tabs, their occurrence cleared (it is not a scheduled occurrence)."""
	if doc.flags.accumulating_generated or not doc.get(TABS_FIELD):
		return
	if doc.get("amended_from") and doc.get("accumulating_generator"):
		for row in doc.get(TABS_FIELD):
			row.occurrence = None
		return
	doc.set(TABS_FIELD, [])


def prepare_amendment(doc, method=None) -> None:
	"""An amendment of a cancelled generated invoice re-bills the released items it still lists; it is not
	a scheduled occurrence (the cancelled original keeps that key), and lines whose items were billed again
	elsewhere lose their link so nothing is billed twice. A grouped line lists its items by its key: the
	released items keep it until another invoice bills them (which gives them its own key, or none)."""
	if not (doc.get("amended_from") and doc.get("accumulating_generator")):
		return
	doc.accumulating_occurrence = None  # its tabs' occurrences too (forget_foreign_tabs)
	rows = unbilled_of_lines(doc)
	items = {row.name for row in rows}
	group_qty = defaultdict(Decimal)
	for row in rows:
		if row.invoice_line_group:
			group_qty[row.invoice_line_group] += Decimal(str(flt(row.qty)))
	for row in doc.items:
		if row.get("accumulating_generator_item") and row.accumulating_generator_item not in items:
			row.accumulating_generator_item = None
		key = row.get("accumulating_line_group")
		if key and key not in group_qty:
			row.accumulating_line_group = None
		elif key and Decimal(str(flt(row.qty))) != group_qty[key]:
			# part of the group was billed elsewhere since (its items are dated apart): the line bills what is
			# still unbilled of it, no more
			row.qty = float(group_qty[key])


def claim_items_of_amendment(doc, method=None) -> None:
	if not (doc.get("amended_from") and doc.get("accumulating_generator")):
		return
	names = unbilled_of_lines(doc)
	if names:
		set_item_billing([row.name for row in names], "Billed", doc.name, "Unbilled")


def unbilled_of_lines(doc) -> list:
	"""The Unbilled items of the invoice's tabs that its lines link: by name, or by a grouped line's key."""
	Item = frappe.qb.DocType(ITEM)
	linked = linked_by_lines(Item, doc)
	if linked is None:
		return []
	return (
		frappe.qb.from_(Item)
		.select(Item.name, Item.invoice_line_group, Item.qty)
		.where(Item.generator.isin(invoice_tabs(doc)) & (Item.status == "Unbilled") & linked)
		.run(as_dict=True)
	)


def linked_by_lines(Item, doc):
	"""The condition on tab items that the invoice's lines link (by name, or a grouped line by its key on one of
	the invoice's tabs), or None when its lines link none."""
	items, groups = line_links(doc)
	linked = Item.name.isin(sorted(items)) if items else None
	if groups:
		by_group = Item.generator.isin(invoice_tabs(doc)) & Item.invoice_line_group.isin(sorted(groups))
		linked = by_group if linked is None else (linked | by_group)
	return linked


def line_links(doc) -> tuple[set[str], set[str]]:
	"""(items, line group keys) the invoice's lines link: a line of one item names it, a grouped line (Invoice
	Lines: Grouped) carries the key its items were billed with."""
	items = {row.accumulating_generator_item for row in doc.items if row.get("accumulating_generator_item")}
	groups = {row.accumulating_line_group for row in doc.items if row.get("accumulating_line_group")}
	return items, groups


def unlink_foreign_lines(doc, method=None) -> None:
	"""validate: on a saved generated draft, a line may only link the items this invoice bills (a line
	copied from elsewhere loses the link, so no item is billed twice): by name, or a grouped line by the key
	of items billed here."""
	if (
		not doc.get("accumulating_generator")
		or doc.is_new()
		or doc.get("amended_from")
		or doc.flags.accumulating_generated  # its lines are exactly the items just billed on it
	):
		return
	billed = billed_on(doc.name)
	items = {row.name for row in billed}
	groups = {row.invoice_line_group for row in billed if row.invoice_line_group}
	for row in doc.items:
		if row.get("accumulating_generator_item") and row.accumulating_generator_item not in items:
			row.accumulating_generator_item = None
		if row.get("accumulating_line_group") and row.accumulating_line_group not in groups:
			row.accumulating_line_group = None


def release_removed_lines(doc, method=None) -> None:
	"""on_update / on_submit: items whose line was removed from a generated draft go back to the tab: those
	billed here that no line names and whose grouped line's key no line carries."""
	if not doc.get("accumulating_generator") or doc.docstatus == 2 or doc.flags.accumulating_generated:
		return
	items, groups = line_links(doc)
	removed = [
		row
		for row in billed_on(doc.name)
		if row.name not in items and not (row.invoice_line_group and row.invoice_line_group in groups)
	]
	if not removed:
		return
	set_item_billing([row.name for row in removed], "Unbilled", None, "Billed")
	by_tab = defaultdict(int)
	for row in removed:
		by_tab[row.generator] += 1
	for tab, count in sorted(by_tab.items()):
		note = _("{0} item(s) whose line was removed from Sales Invoice {1} are unbilled again.").format(
			count, doc.name
		)
		frappe.get_doc(GENERATOR, tab).add_comment("Info", note)
		write_log(
			tab,
			doc.get("accumulating_occurrence") or doc.posting_date,
			"Released",
			note,
			doc.name,
			count,
		)


def billed_on(invoice: str) -> list:
	"""The items billed on `invoice`, with their tab and line group key."""
	return frappe.get_all(
		ITEM,
		filters={"sales_invoice": invoice, "status": "Billed"},
		fields=["name", "generator", "invoice_line_group"],
	)


# ------------------------------------------------------------------------------------------ timesheet rows


def keep_own_timesheet_rows(doc, method=None) -> None:
	"""validate: a generated invoice carries exactly the timesheet rows of the time logs its lines bill.
	ERPNext fills the table of an invoice with a Project from all the project's unbilled Timesheets when
	*Fetch Timesheet in Sales Invoice* is on; those logs are on the tab (or not billable here) and would be
	marked billed by an invoice that does not bill them."""
	if not doc.get("accumulating_generator") or (not doc.get("timesheets") and not doc.project):
		return
	own = doc.flags.accumulating_timesheet_details
	if own is None:
		own = set(timesheet_logs_of_lines(doc))
	rows = [row for row in doc.get("timesheets") or [] if row.timesheet_detail in own]
	if len(rows) != len(doc.get("timesheets") or []):
		doc.set("timesheets", rows)
		doc.calculate_billing_amount_for_timesheet()


def timesheet_logs_of_lines(doc) -> list[str]:
	"""The time logs whose tab items the invoice's lines bill (by name, or a grouped line by its key)."""
	Item = frappe.qb.DocType(ITEM)
	linked = linked_by_lines(Item, doc)
	if linked is None:
		return []
	return (
		frappe.qb.from_(Item)
		.select(Item.source_detail)
		.where((Item.source_doctype == "Timesheet") & linked)
		.run(pluck=True)
	)


def capture_timesheet_marks(doc, method=None) -> None:
	"""before_submit of a generated invoice with timesheet rows: lock its Timesheets' logs and read their latest
	billed marks. ERPNext's on_submit rewrites every log of a listed Timesheet from this transaction's snapshot,
	which can be older than a mark another billing job committed meanwhile (a Timesheet with logs of two
	projects, billed by two generators at once); settle_timesheet_logs puts the latest marks back."""
	if not doc.get("accumulating_generator") or not doc.get("timesheets"):
		return
	parents = sorted({row.time_sheet for row in doc.timesheets if row.time_sheet})
	Log = frappe.qb.DocType("Timesheet Detail")
	rows = (
		frappe.qb.from_(Log)
		.select(Log.name, Log.sales_invoice)
		.where(Log.parent.isin(parents))
		.orderby(Log.name)
		.for_update()
		.run()
	)
	doc.flags.accumulating_log_marks = dict(rows)


def settle_timesheet_logs(doc, method=None) -> None:
	"""on_submit: each log of the invoice's Timesheets carries exactly its own mark: this invoice for the logs it
	bills, the latest committed mark (captured before submit) for the others. ERPNext, on an invoice without a
	Project, marks every unbilled log of a listed Timesheet, and writes the others back from its snapshot."""
	if not doc.get("accumulating_generator") or not doc.get("timesheets"):
		return
	marks = doc.flags.accumulating_log_marks or {}
	details = defaultdict(set)
	for row in doc.timesheets:
		if row.time_sheet and row.timesheet_detail:
			details[row.time_sheet].add(row.timesheet_detail)
	for name, logs in details.items():
		timesheet = frappe.get_doc("Timesheet", name)
		changed = False
		for log in timesheet.time_logs:
			if log.name in logs:
				wanted = doc.name
			elif log.name in marks:
				wanted = marks[log.name]
			else:
				wanted = None if log.sales_invoice == doc.name else log.sales_invoice
			if log.sales_invoice != wanted:
				log.sales_invoice = wanted
				changed = True
		if changed:
			update_timesheet(timesheet)


def update_timesheet(timesheet) -> None:
	"""Write a submitted Timesheet whose logs' marks changed, with ERPNext's totals and status after them."""
	timesheet.calculate_total_amounts()
	timesheet.calculate_percentage_billed()
	timesheet.flags.ignore_validate_update_after_submit = True
	timesheet.set_status()
	timesheet.db_update_all()


def restore_marks_after_cancel(doc, method=None) -> None:
	"""on_cancel of a generated invoice with timesheet rows (after its items are released). ERPNext unmarks the
	invoice's logs in its before_cancel by rewriting every log of each listed Timesheet from this transaction's
	snapshot, which can be older than a mark another billing job committed meanwhile (another log of the same
	Timesheet, billed by another run): that mark would be lost. Each log with a tab item gets the mark its item
	says, read with locking reads (the latest committed): the invoice that bills it once that invoice is
	submitted, else none. Rows another transaction holds are skipped, never waited for (SKIP LOCKED): that
	transaction is billing or submitting them, and writes the latest marks itself when this one commits
	(capture_timesheet_marks waits for this cancel's locks on the logs)."""
	if not doc.get("accumulating_generator") or not doc.get("timesheets"):
		return
	parents = sorted({row.time_sheet for row in doc.timesheets if row.time_sheet})
	logs = frappe.get_all(
		"Timesheet Detail", filters={"parent": ("in", parents)}, fields=["name", "parent", "sales_invoice"]
	)
	Item = frappe.qb.DocType(ITEM)
	items = (
		frappe.qb.from_(Item)
		.select(Item.source_detail, Item.status, Item.sales_invoice)
		.where(
			(Item.source_doctype == "Timesheet") & Item.source_detail.isin([log.name for log in logs] or [""])
		)
		.for_update(skip_locked=True)
		.run(as_dict=True)
	)
	billed_on = sorted(
		{item.sales_invoice for item in items if item.status == "Billed" and item.sales_invoice}
	)
	SI = frappe.qb.DocType("Sales Invoice")
	docstatus = dict(
		frappe.qb.from_(SI)
		.select(SI.name, SI.docstatus)
		.where(SI.name.isin(billed_on))
		.for_update(skip_locked=True)
		.run()
		if billed_on
		else []
	)
	truth = {}
	for item in items:
		if item.status == "Billed" and item.sales_invoice:
			if item.sales_invoice in docstatus:  # else held by a submit or cancel under way: its own to mark
				truth[item.source_detail] = item.sales_invoice if docstatus[item.sales_invoice] == 1 else None
		else:
			truth[item.source_detail] = None
	by_parent = defaultdict(dict)
	for log in logs:
		if log.name in truth and (log.sales_invoice or None) != truth[log.name]:
			by_parent[log.parent][log.name] = truth[log.name]
	for name, wanted in by_parent.items():
		timesheet = frappe.get_doc("Timesheet", name)
		for log in timesheet.time_logs:
			if log.name in wanted:
				log.sales_invoice = wanted[log.name]
		update_timesheet(timesheet)
