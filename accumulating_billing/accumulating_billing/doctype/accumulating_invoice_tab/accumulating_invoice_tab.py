# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document

from accumulating_billing.billing import schema


class AccumulatingInvoiceTab(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		amount: DF.Currency
		customer: DF.Link | None
		customer_name: DF.Data | None
		generator: DF.Link
		items_count: DF.Int
		occurrence: DF.Date | None
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		tab_title: DF.Data | None
	# end: auto-generated types

	pass


def on_doctype_update():
	# one invoice per occurrence of each tab, a combined invoice's tabs included (billing/schema.py)
	schema.add_tab_occurrence_key()
