"""The submit and cancel of a Timesheet or Delivery Note. The submit never fails because of this app (the lines
it could not add are commented, and Sync adds them later); the cancel does, while one of its lines is billed on a
live invoice."""

import frappe
from frappe import _

from accumulating_billing.billing.locks import lock_generator
from accumulating_billing.billing.sources.base import DELIVERY_NOTE, ITEM
from accumulating_billing.billing.sources.sync import sync_document
from accumulating_billing.billing.sources.tab_items import take_off_tabs


def on_submit(doc, method=None) -> None:
	"""Timesheet / Delivery Note submitted (or updated after submit): its billable lines join the tab. This
	never fails the user's submit: an error rolls back only this app's part and is commented and logged."""
	savepoint = "accumulating_sources"
	frappe.db.savepoint(savepoint)
	try:
		sync_document(doc)
		sync_delivered_note(doc)
	except Exception:
		frappe.db.rollback(save_point=savepoint)
		frappe.clear_last_message()
		frappe.log_error(
			title=_("Accumulating Billing: {0} {1} not added to a running tab").format(
				_(doc.doctype), doc.name
			),
			reference_doctype=doc.doctype,
			reference_name=doc.name,
		)
		doc.add_comment(
			"Comment",
			_(
				"Not added to a running tab because of an error (see the Error Log); use Sync on the generator."
			),
		)


def sync_delivered_note(doc) -> None:
	"""A return changes what is left to bill of the Delivery Note it returns (ERPNext's `returned_qty`)."""
	if doc.doctype == DELIVERY_NOTE and doc.is_return and doc.return_against:
		sync_document(frappe.get_doc(DELIVERY_NOTE, doc.return_against))


def on_cancel(doc, method=None) -> None:
	"""A cancelled Timesheet / Delivery Note leaves the tab; a cancelled return gives its delivered line back."""
	remove_items_of(doc)
	sync_delivered_note(doc)


def remove_items_of(doc) -> None:
	"""Remove the tab items of a cancelled document. Its generators are locked first, as a billing run does,
	and its items are read with a locking read (the latest committed values): a line billed on a live invoice
	meanwhile refuses the cancel, exactly as ERPNext refuses to cancel a billed document."""
	Item = frappe.qb.DocType(ITEM)
	generators = (
		frappe.qb.from_(Item)
		.select(Item.generator)
		.distinct()
		.where((Item.source_doctype == doc.doctype) & (Item.source_name == doc.name))
		.run(pluck=True)
	)
	if not generators:
		return
	for generator in sorted(generators):
		lock_generator(generator)
	rows = (
		frappe.qb.from_(Item)
		.select(Item.name, Item.status, Item.sales_invoice, Item.generator)
		.where((Item.source_doctype == doc.doctype) & (Item.source_name == doc.name))
		.for_update()
		.run(as_dict=True)
	)
	billed = {row.sales_invoice for row in rows if row.status == "Billed"}
	if billed:
		frappe.throw(
			_("{0} {1} is billed on Sales Invoice {2}. Cancel the invoice first.").format(
				_(doc.doctype), doc.name, ", ".join(sorted(billed))
			),
			title=_("Billed"),
		)
	take_off_tabs(
		rows,
		lambda count: _("{0} {1} was cancelled: its {2} unbilled item(s) left the tab.").format(
			_(doc.doctype), doc.name, count
		),
	)
