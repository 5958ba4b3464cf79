"""Sales Invoices made by hand that bill source lines (Get Timesheets, Get Items From Delivery Note): a line a
generated invoice bills cannot be billed again by hand; a line billed by hand leaves its tab, billed on that invoice
(it keeps the invoice, as a generated line does, so the Unbilled Revenue of an earlier date still counts it: README,
*Unbilled revenue and its accrual*); a cancelled hand-made invoice gives its lines back to their tab."""

import frappe
from frappe import _

from accumulating_billing.billing.item_status import BILLED, NOT_BILLED, UNBILLED, update_held_counts
from accumulating_billing.billing.locks import lock_generator
from accumulating_billing.billing.sources.base import (
	DELIVERY_NOTE,
	GENERATOR,
	ITEM,
	SOURCE_DOCTYPES,
	TIMESHEET,
)
from accumulating_billing.billing.sources.sync import sync_document
from accumulating_billing.billing.tab import set_item_billing


def hand_billed_details(doc, submitted: bool = False) -> list[str]:
	"""The source lines a Sales Invoice made by hand bills: its timesheet logs and Delivery Note lines. A
	timesheet row without its log (an invoice without a Project) bills every log of the Timesheet that is not
	billed: before the submit those are the candidates, after it the logs ERPNext marked with this invoice."""
	details = [row.dn_detail for row in doc.items if row.get("dn_detail")]
	whole = set()
	for row in doc.get("timesheets") or []:
		if row.timesheet_detail:
			details.append(row.timesheet_detail)
		elif row.time_sheet:
			whole.add(row.time_sheet)
	if whole or submitted:
		Log = frappe.qb.DocType("Timesheet Detail")
		query = frappe.qb.from_(Log).select(Log.name)
		if submitted:
			query = query.where(Log.sales_invoice == doc.name)
		else:
			query = query.where(
				Log.parent.isin(sorted(whole)) & (Log.sales_invoice.isnull() | (Log.sales_invoice == ""))
			)
		details += query.run(pluck=True)
	return sorted(set(details))


def refuse_lines_billed_on_a_tab(doc, method=None) -> None:
	"""before_submit of a Sales Invoice made by hand: a source line that a generated invoice bills (submitted,
	or a draft, or one a billing run is making right now: the items are read with a locking read) cannot be
	billed again by hand."""
	if doc.get("accumulating_generator") or doc.is_return:
		return
	details = hand_billed_details(doc)
	if not details:
		return
	Item, SI = frappe.qb.DocType(ITEM), frappe.qb.DocType("Sales Invoice")
	# the generators first, then their items, as a billing run takes them (no lock-order deadlock with a run,
	# and the on_submit that takes these lines off their tabs writes the generators' held count in that order)
	for generator in sorted(
		set(
			frappe.get_all(
				ITEM,
				filters={"source_detail": ("in", details), "source_doctype": ("in", SOURCE_DOCTYPES)},
				pluck="generator",
			)
		)
	):
		lock_generator(generator)
	billed = (
		frappe.qb.from_(Item)
		.select(Item.source_doctype, Item.source_name, Item.sales_invoice)
		.where(Item.source_detail.isin(details) & Item.source_doctype.isin(SOURCE_DOCTYPES))
		.orderby(Item.name)
		.for_update()
		.run(as_dict=True)
	)
	invoices = {row.sales_invoice for row in billed if row.sales_invoice}
	live = set(
		# a locking read: an invoice a billing run committed a moment ago is not in this transaction's snapshot.
		# Only generated invoices: a line billed by hand is billed on its hand-made invoice, and ERPNext decides
		# whether another hand-made invoice may bill the rest of it (a Delivery Note billed in parts)
		frappe.qb.from_(SI)
		.select(SI.name)
		.where(SI.name.isin(invoices) & (SI.docstatus < 2) & SI.accumulating_generator.isnotnull())
		.for_update()
		.run(pluck=True)
		if invoices
		else []
	)
	clash = [row for row in billed if row.sales_invoice in live]
	if clash:
		frappe.throw(
			_("{0} {1} is billed on the generated Sales Invoice {2}: it cannot be billed again here.").format(
				_(clash[0].source_doctype), clash[0].source_name, clash[0].sales_invoice
			),
			title=_("Billed on a running tab"),
		)


def drop_lines_billed_elsewhere(doc, method=None) -> None:
	"""on_submit of a Sales Invoice made by hand (Get Timesheets, Get Items From Delivery Note) that bills source
	lines still on a tab: they leave the tab billed on this invoice, so no line is billed twice, and the line keeps
	the invoice that billed it (the as-of rule of billing/unbilled.py reads it)."""
	if doc.get("accumulating_generator"):
		return
	details = hand_billed_details(doc, submitted=True)
	if not details:
		return
	rows = frappe.get_all(
		ITEM,
		filters={"source_detail": ("in", details), "status": ("in", NOT_BILLED)},
		fields=["name", "generator", "status"],
	)
	for status in NOT_BILLED:
		names = [row.name for row in rows if row.status == status]
		if names:
			set_item_billing(names, BILLED, doc.name, status)
	for generator, names in sorted(by_generator(rows).items()):
		frappe.get_doc(GENERATOR, generator).add_comment(
			"Info",
			_("Sales Invoice {0} billed {1} of its source line(s) directly: they left the tab.").format(
				doc.name, len(names)
			),
		)
	update_held_counts(by_generator(rows))  # a held line may have left the tab


def restore_lines_of_cancelled(doc, method=None) -> None:
	"""on_cancel of a Sales Invoice made by hand: the source lines it billed are unbilled in ERPNext again, so
	they come back to their tab (the generators' rows locked first, as a billing run takes them); a line no tab holds
	(taken off a tab before lines kept their hand-made invoice) is added again by a sync of its document."""
	if doc.get("accumulating_generator"):
		return
	rows = frappe.get_all(
		ITEM, filters={"sales_invoice": doc.name, "status": BILLED}, fields=["name", "generator"]
	)
	for generator, names in sorted(by_generator(rows).items()):
		lock_generator(generator)
		set_item_billing(sorted(names), UNBILLED, None, BILLED)
		frappe.get_doc(GENERATOR, generator).add_comment(
			"Info",
			_("Sales Invoice {0} was cancelled: {1} item(s) it billed directly are unbilled again.").format(
				doc.name, len(names)
			),
		)
	sources = {(TIMESHEET, row.time_sheet) for row in doc.get("timesheets") or [] if row.time_sheet}
	sources |= {(DELIVERY_NOTE, row.delivery_note) for row in doc.items if row.get("delivery_note")}
	for doctype, name in sorted(sources):
		if frappe.db.get_value(doctype, name, "docstatus") == 1:
			sync_document(frappe.get_doc(doctype, name))


def by_generator(rows: list) -> dict[str, set[str]]:
	out: dict[str, set[str]] = {}
	for row in rows:
		out.setdefault(row.generator, set()).add(row.name)
	return out
