# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint

from accumulating_billing import engine
from accumulating_billing.billing import settings_checks


class AccumulatingGeneratorTemplate(Document):
	# begin: auto-generated types
	# end: auto-generated types

	def validate(self):
		if not self.currency and self.company:
			self.currency = frappe.get_cached_value("Company", self.company, "default_currency")
		settings_checks.validate_settings(self)
		if self.first_date_rule not in engine.FIRST_DATE_RULES:
			frappe.throw(_("Choose a First Creation Date Rule."))
		if self.first_date_rule == "Days After Assignment" and cint(self.first_date_days) < 0:
			frappe.throw(_("Days After Assignment cannot be negative."))
		if self.first_date_rule == "Day Of Month" and not 1 <= cint(self.first_date_day_of_month) <= 31:
			frappe.throw(_("Day Of Month must be between 1 and 31 (31 means the last day of the month)."))
