# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class AccumulatingGenerationLog(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		email_status: DF.Literal["", "Pending", "Sent", "No Recipient", "Cancelled"]
		error_key: DF.Data | None
		generator: DF.Link
		items_count: DF.Int
		occurrence_date: DF.Date | None
		outcome: DF.Literal[
			"Billed",
			"Skipped",
			"Failed",
			"Missed",
			"Paused",
			"Resumed",
			"Completed",
			"Released",
			"Automation Failed",
			"Late Fee",
			"Kept for Review",
			"Threshold Reached",
			"Questioned",
		]
		reason: DF.SmallText | None
		sales_invoice: DF.Link | None
	# end: auto-generated types

	pass


def on_doctype_update():
	frappe.db.add_index("Accumulating Generation Log", ["generator", "occurrence_date"])
