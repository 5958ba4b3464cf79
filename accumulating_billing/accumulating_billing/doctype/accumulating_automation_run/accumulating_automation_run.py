# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class AccumulatingAutomationRun(Document):
	# begin: auto-generated types
	# end: auto-generated types

	pass


def on_doctype_update():
	# one run per (invoice, event, transition): a second Generated, or a second Paid for one payment, is impossible
	frappe.db.add_unique(
		"Accumulating Automation Run",
		["sales_invoice", "event", "transition"],
		"unique_invoice_event_transition",
	)
	frappe.db.add_index("Accumulating Automation Run", ["status"])
	# Tab Reaches: one run per automation row, amount and tab period (billing/threshold.py)
	frappe.db.add_unique("Accumulating Automation Run", ["alert_key"], "unique_alert_key")
