# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class AccumulatingAutomationRun(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		alert_key: DF.Data | None
		automation: DF.Data | None
		error: DF.SmallText | None
		event: DF.Literal["Generated", "Paid", "Tab Reaches"]
		fired_on: DF.Datetime | None
		generator: DF.Link | None
		sales_invoice: DF.Link | None
		sent_notifications: DF.SmallText | None
		sent_webhooks: DF.SmallText | None
		status: DF.Literal["Pending", "Sending Webhooks", "Done", "Failed"]
		tab_total: DF.Currency
		transition: DF.Int
	# end: auto-generated types

	pass


RUN_KEY = "unique_invoice_generator_event_transition"
# the key before combined invoices (one generator per invoice): dropped by the patch v0_2.automation_run_key_per_tab
OLD_RUN_KEY = "unique_invoice_event_transition"


def on_doctype_update():
	# one run per (invoice, tab, event, transition): a second Generated, or a second Paid for one payment, is
	# impossible; a combined invoice owes one per tab (its generator), docs/architecture.md §5
	frappe.db.add_unique(
		"Accumulating Automation Run",
		["sales_invoice", "generator", "event", "transition"],
		RUN_KEY,
	)
	frappe.db.add_index("Accumulating Automation Run", ["status"])
	# Tab Reaches: one run per automation row, amount and tab period (billing/threshold.py)
	frappe.db.add_unique("Accumulating Automation Run", ["alert_key"], "unique_alert_key")
