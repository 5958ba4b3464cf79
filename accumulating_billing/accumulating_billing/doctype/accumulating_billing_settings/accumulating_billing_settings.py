# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint


class AccumulatingBillingSettings(Document):
	# begin: auto-generated types
	# end: auto-generated types

	def validate(self):
		if cint(self.kickoff_limit_per_hour) < 1:
			frappe.throw(_("Submissions per Hour must be at least 1."))
