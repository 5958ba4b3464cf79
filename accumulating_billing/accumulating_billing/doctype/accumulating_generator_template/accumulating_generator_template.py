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
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from erpnext.accounts.doctype.sales_taxes_and_charges.sales_taxes_and_charges import (
			SalesTaxesandCharges,
		)

		from accumulating_billing.accumulating_billing.doctype.accumulating_automation.accumulating_automation import (
			AccumulatingAutomation,
		)

		accumulate_delivery_notes: DF.Check
		accumulate_timesheets: DF.Check
		additional_discount_percentage: DF.Percent
		allow_partial_payments: DF.Check
		apply_advances_automatically: DF.Check
		apply_discount_on: DF.Literal["Grand Total", "Net Total"]
		automations: DF.Table[AccumulatingAutomation]
		bill_when_unbilled_reaches: DF.Currency
		company: DF.Link
		consolidate_invoices: DF.Check
		cost_center: DF.Link | None
		currency: DF.Link | None
		discount_amount: DF.Currency
		due_days: DF.Int
		dunning_type: DF.Link | None
		email_template: DF.Link | None
		enabled: DF.Check
		end_after_invoices: DF.Int
		end_condition: DF.Literal["Never", "After N Invoices", "On Date"]
		end_date: DF.Date | None
		first_date_day_of_month: DF.Int
		first_date_days: DF.Int
		first_date_rule: DF.Literal["Days After Assignment", "Day Of Month"]
		generate_as: DF.Literal["Draft", "Open", "Open and Email"]
		internal_notes: DF.TextEditor | None
		interval_count: DF.Int
		interval_unit: DF.Literal["Day", "Week", "Month", "Year"]
		invoice_customer: DF.Link | None
		invoice_customer_name: DF.Data | None
		invoice_lines: DF.Literal["One per Item", "Grouped"]
		keep_discount: DF.Check
		keep_taxes: DF.Check
		late_fee_amount: DF.Currency
		late_fee_as_dunning: DF.Check
		late_fee_grace_days: DF.Int
		late_fee_item: DF.Link | None
		late_fee_percentage: DF.Percent
		late_fee_type: DF.Literal["", "Fixed Amount", "Percentage"]
		minimum_amount: DF.Currency
		naming_series_for_invoice: DF.Data | None
		offered_at_kickoff: DF.Check
		on_refused_line: DF.Literal["Hold the Line and Bill the Rest", "Stop the Invoice"]
		payment_gateway_account: DF.Link | None
		payment_terms_template: DF.Link | None
		print_format: DF.Link | None
		project: DF.Link | None
		restart_schedule_after_threshold: DF.Check
		selling_price_list: DF.Link | None
		taxes: DF.Table[SalesTaxesandCharges]
		taxes_and_charges: DF.Link | None
		template_name: DF.Data
		third_party_payment_url: DF.Data | None
		timesheet_item: DF.Link | None
		title: DF.Data | None
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
