"""What every source of tab lines shares: the DocTypes, one billable line in the source's own terms, and the
query for submitted documents with lines no tab holds yet."""

from dataclasses import dataclass
from datetime import date

import frappe

from accumulating_billing.doctypes import GENERATOR, ITEM

TIMESHEET = "Timesheet"
DELIVERY_NOTE = "Delivery Note"
SOURCE_DOCTYPES = (TIMESHEET, DELIVERY_NOTE)


@dataclass
class SourceLine:
	"""One billable line of a source document, in the source's own terms."""

	detail: str
	customer: str | None
	project: str | None
	service_date: date
	qty: float
	rate: float
	exchange_rate: float  # source currency -> company currency, as the source document states it (0: none)
	currency: str
	description: str
	item_code: str | None = None  # None for a time log: the generator's Timesheet Item
	uom: str | None = None


def unsynced(doctype: str, row_doctype: str, generator, condition) -> list[str]:
	"""Submitted documents of the generator's company with rows matching `condition(Doc, Row)` that no tab
	holds (by the items' source detail)."""
	Doc, Row, Item = frappe.qb.DocType(doctype), frappe.qb.DocType(row_doctype), frappe.qb.DocType(ITEM)
	on_tab = frappe.qb.from_(Item).select(Item.source_detail).where(Item.source_doctype == doctype)
	return (
		frappe.qb.from_(Doc)
		.join(Row)
		.on(Row.parent == Doc.name)
		.select(Doc.name)
		.distinct()
		.where(
			(Doc.docstatus == 1)
			& (Doc.company == generator.company)
			& condition(Doc, Row)
			& Row.name.notin(on_tab)
		)
		.orderby(Doc.name)
		.run(pluck=True)
	)
