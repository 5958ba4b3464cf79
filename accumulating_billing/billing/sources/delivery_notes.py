"""Delivery Notes as a source: their unbilled lines (net of returns), the lines of a return, and the Delivery
Notes a generator's Sync takes."""

import frappe
from frappe.utils import flt, getdate

from accumulating_billing.billing.sources.base import DELIVERY_NOTE, ITEM, SourceLine, unsynced


def delivery_note_lines(dn) -> list[SourceLine]:
	"""Lines not billed yet, at the DN's rate and UOM, on its posting date.

	A line returned before it is billed is billed for what was kept (its qty less ERPNext's `returned_qty`,
	exactly what ERPNext's own *Get Items From* takes). A return of a line that was already billed is a negative
	line, credited on the next invoice's credit note."""
	if dn.is_return:
		return returned_lines(dn)
	from erpnext.stock.doctype.delivery_note.delivery_note import get_invoiced_qty_map, get_returned_qty_map

	invoiced, returned = get_invoiced_qty_map(dn.name), get_returned_qty_map(dn.name)
	lines = []
	for row in dn.items:
		if row.get("against_sales_invoice") or row.get("si_detail"):
			continue  # delivered for an invoice that bills it
		qty = flt(row.qty) - flt(invoiced.get(row.name)) - flt(returned.get(row.name))
		if qty > 0:
			lines.append(delivery_line(dn, row, qty))
	return lines


def returned_lines(ret) -> list[SourceLine]:
	"""The return's lines whose delivered line was billed already (a tab item Billed, or billed in ERPNext).
	The tab item of the delivered line is read with a locking read, so a billing run that holds it is waited
	for: the return is then netted into that line if it stayed unbilled, or credited if the run billed it."""
	lines = []
	for row in ret.items:
		if not flt(row.qty) or flt(row.billed_amt) or row.get("against_sales_invoice"):
			continue
		if row.dn_detail and not delivered_line_was_billed(row.dn_detail):
			continue  # netted: ERPNext's returned_qty shrinks the delivered line's tab item
		lines.append(delivery_line(ret, row, flt(row.qty)))
	return lines


def delivered_line_was_billed(dn_detail: str) -> bool:
	Item = frappe.qb.DocType(ITEM)
	status = (
		frappe.qb.from_(Item)
		.select(Item.status)
		.where((Item.source_doctype == DELIVERY_NOTE) & (Item.source_detail == dn_detail))
		.for_update()
		.run(pluck=True)
	)
	if status:
		return status[0] == "Billed"
	return bool(flt(frappe.db.get_value("Delivery Note Item", dn_detail, "billed_amt")))


def delivery_line(dn, row, qty: float) -> SourceLine:
	return SourceLine(
		detail=row.name,
		customer=dn.customer,
		project=dn.project,
		service_date=getdate(dn.posting_date),
		qty=qty,
		rate=flt(row.rate),
		exchange_rate=flt(dn.conversion_rate),
		currency=dn.currency,
		description=row.description or row.item_name,
		item_code=row.item_code,
		uom=row.uom,
	)


def unsynced_delivery_notes(generator) -> list[str]:
	"""Submitted, open Delivery Notes of the customer with unbilled lines that no tab holds."""
	return unsynced(
		DELIVERY_NOTE,
		"Delivery Note Item",
		generator,
		# a return is taken when it is submitted (netted into its delivered line, or credited): never by Sync,
		# which could not tell whether it was netted already
		lambda Dn, Row: (
			(Dn.customer == generator.customer)
			& (Dn.is_return == 0)
			& Dn.status.notin(("Closed", "Completed"))
			& (Row.billed_amt == 0)
			& (Row.qty != 0)
		),
	)
