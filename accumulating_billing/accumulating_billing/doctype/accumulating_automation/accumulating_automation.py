# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class AccumulatingAutomation(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		assign_template: DF.Link | None
		event: DF.Literal["Generated", "Paid", "Tab Reaches"]
		notification: DF.Link | None
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		tab_amount: DF.Currency
		webhook: DF.Link | None
	# end: auto-generated types

	pass
