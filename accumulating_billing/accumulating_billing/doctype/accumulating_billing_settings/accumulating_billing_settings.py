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
		if cint(self.billing_jobs_per_tick) < 0:
			frappe.throw(_("Parallel Billing Jobs per Tick cannot be negative."))
		if not cint(self.billing_jobs_per_tick):
			from accumulating_billing.billing.tasks import DEFAULT_JOBS_PER_TICK

			self.billing_jobs_per_tick = DEFAULT_JOBS_PER_TICK
		from accumulating_billing.billing.accrual_accounts import check_settings

		check_settings(self)
