# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint, getdate

from accumulating_billing import engine
from accumulating_billing.billing import payers, schema, settings_checks, sources, watch
from accumulating_billing.billing.state import schedule_of, state_of, to_decimal
from accumulating_billing.doctypes import ITEM, LOG
from accumulating_billing.i18n import engine_message

USER_STATUSES = ("Draft", "Active")
STATE_FIELDS = (
	"next_creation_date",
	"last_creation_date",
	"invoices_generated",
	"consecutive_failures",
	"last_error",
	"resume_date",
	"lines_on_hold",
)
SCHEDULE_FIELDS = ("first_creation_date", "interval_unit", "interval_count", "end_condition", "end_date")


class AccumulatingGenerator(Document):
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
		consecutive_failures: DF.Int
		consolidate_invoices: DF.Check
		cost_center: DF.Link | None
		currency: DF.Link
		customer: DF.Link
		customer_name: DF.Data | None
		discount_amount: DF.Currency
		due_days: DF.Int
		dunning_type: DF.Link | None
		email_template: DF.Link | None
		end_after_invoices: DF.Int
		end_condition: DF.Literal["Never", "After N Invoices", "On Date"]
		end_date: DF.Date | None
		first_creation_date: DF.Date
		generate_as: DF.Literal["Draft", "Open", "Open and Email"]
		internal_notes: DF.TextEditor | None
		interval_count: DF.Int
		interval_unit: DF.Literal["Day", "Week", "Month", "Year"]
		invoice_customer: DF.Link | None
		invoice_customer_name: DF.Data | None
		invoice_lines: DF.Literal["One per Item", "Grouped"]
		invoices_generated: DF.Int
		keep_discount: DF.Check
		keep_taxes: DF.Check
		last_creation_date: DF.Date | None
		last_error: DF.SmallText | None
		late_fee_amount: DF.Currency
		late_fee_as_dunning: DF.Check
		late_fee_grace_days: DF.Int
		late_fee_item: DF.Link | None
		late_fee_percentage: DF.Percent
		late_fee_type: DF.Literal["", "Fixed Amount", "Percentage"]
		lines_on_hold: DF.Int
		minimum_amount: DF.Currency
		naming_series_for_invoice: DF.Data | None
		next_creation_date: DF.Date | None
		on_refused_line: DF.Literal["Hold the Line and Bill the Rest", "Stop the Invoice"]
		payment_gateway_account: DF.Link | None
		payment_terms_template: DF.Link | None
		print_format: DF.Link | None
		project: DF.Link | None
		restart_schedule_after_threshold: DF.Check
		resume_date: DF.Date | None
		selling_price_list: DF.Link | None
		status: DF.Literal["Draft", "Active", "Paused", "Completed", "Archived"]
		tab_watched: DF.Check
		taxes: DF.Table[SalesTaxesandCharges]
		taxes_and_charges: DF.Link | None
		template: DF.Link | None
		third_party_payment_url: DF.Data | None
		timesheet_item: DF.Link | None
		title: DF.Data | None
		unbilled_total: DF.Currency
	# end: auto-generated types

	def validate(self):
		self.protect_state()
		self.set_defaults()
		self.validate_customer()
		settings_checks.validate_settings(self)
		sources.check_settings_change(self)
		self.validate_schedule()
		self.validate_status_change()
		self.set_next_creation_date()
		self.tab_watched = watch.is_watched(self)

	def on_update(self):
		# a threshold lowered under the tab's total, or a Tab Reaches alert added: looked at after the commit
		watch.items_added([self.name])

	@property
	def unbilled_total(self) -> float:
		"""Virtual field: the tab's Unbilled lines dated up to today, what billing early counts (billing/watch.py);
		read once per document. A Tab Reaches run sets the total that reached its amount (automations.py)."""
		if self.__dict__.get("_unbilled_total") is None:
			self._unbilled_total = 0.0 if self.is_new() else float(watch.unbilled_total(self.name))
		return self._unbilled_total

	@unbilled_total.setter
	def unbilled_total(self, value) -> None:
		"""A posted value (the form sends the field back) is not taken: the total is computed."""

	def on_trash(self):
		if payers.has_invoices(self.name):  # its own invoices, or combined ones that list its tab
			frappe.throw(
				_(
					"Accumulating Generator {0} has produced invoices and cannot be deleted. Archive it instead."
				).format(self.name),
				title=_("Cannot delete"),
			)
		frappe.db.delete(ITEM, {"generator": self.name})
		frappe.db.delete(LOG, {"generator": self.name})

	# ---------------------------------------------------------------- steps

	def protect_state(self):
		"""The schedule state is written only by billing and its actions, never through a form or REST save."""
		before = self.get_doc_before_save()
		if before:
			for fieldname in STATE_FIELDS:
				self.set(fieldname, before.get(fieldname))
			return
		for fieldname in STATE_FIELDS:
			if fieldname == "next_creation_date" and self.flags.keep_next_creation_date:
				continue
			counts = ("invoices_generated", "consecutive_failures", "lines_on_hold")
			self.set(fieldname, 0 if fieldname in counts else None)

	def set_defaults(self):
		if self.customer:
			customer = frappe.get_cached_value(
				"Customer",
				self.customer,
				["customer_name", "default_currency", "default_price_list"],
				as_dict=True,
			)
			if customer:
				self.title = self.title or customer.customer_name
				if not self.currency:
					self.currency = customer.default_currency
				if not self.selling_price_list:
					self.selling_price_list = customer.default_price_list
		if not self.currency and self.company:
			self.currency = frappe.get_cached_value("Company", self.company, "default_currency")
		if not self.selling_price_list:
			self.selling_price_list = frappe.db.get_single_value("Selling Settings", "selling_price_list")
		self.invoices_generated = cint(self.invoices_generated)
		self.consecutive_failures = cint(self.consecutive_failures)

	def validate_customer(self):
		if not self.customer:
			frappe.throw(_("Customer is required."), title=_("Missing customer"))
		customer = frappe.db.get_value(
			"Customer", self.customer, ["disabled", "default_currency"], as_dict=True
		)
		if not customer:
			frappe.throw(_("Customer {0} does not exist.").format(self.customer))
		if customer.disabled:
			frappe.throw(
				_("Customer {0} is disabled.").format(frappe.bold(self.customer)),
				title=_("Disabled customer"),
			)
		if customer.default_currency and self.currency and customer.default_currency != self.currency:
			frappe.throw(
				_("Currency {0} differs from the billing currency {1} of customer {2}.").format(
					frappe.bold(self.currency),
					frappe.bold(customer.default_currency),
					frappe.bold(self.customer),
				),
				title=_("Currency mismatch"),
			)

	def validate_schedule(self):
		if not self.first_creation_date:
			frappe.throw(_("First Creation Date is required."), title=_("Missing date"))
		if self.end_condition == "On Date" and self.end_date:
			if getdate(self.end_date) < getdate(self.first_creation_date):
				frappe.throw(
					_("End Date {0} is before the First Creation Date {1}.").format(
						frappe.format(self.end_date, "Date"), frappe.format(self.first_creation_date, "Date")
					),
					title=_("Invalid end date"),
				)
		try:
			engine.validate_settings(
				schedule_of(self),
				self.end_condition,
				cint(self.end_after_invoices),
				getdate(self.end_date) if self.end_date else None,
				to_decimal(self.minimum_amount),
			)
		except engine.ValidationError as e:
			frappe.throw(engine_message(e), title=_("Invalid schedule"))

	def validate_status_change(self):
		before = self.get_doc_before_save()
		old = before.status if before else None
		if self.status == old or self.flags.status_change_allowed:
			return
		if old in ("Completed",):
			frappe.throw(_("A Completed generator is final. Use Duplicate to start a new one."))
		if old == "Archived":
			frappe.throw(_("An Archived generator cannot be changed. Restore it first."))
		if self.status not in USER_STATUSES:
			frappe.throw(
				_(
					"Status {0} is set by its action (Pause, Archive) or by the schedule, not by editing."
				).format(_(self.status))
			)
		if old == "Paused":
			frappe.throw(
				_("A Paused generator is resumed with the Resume action, which asks for a resume date.")
			)

	def set_next_creation_date(self):
		"""Keep next_creation_date the earliest run not yet processed."""
		if self.status in ("Completed", "Archived"):
			return
		before = self.get_doc_before_save()
		schedule_changed = bool(before) and any(
			str(self.get(f) or "") != str(before.get(f) or "") for f in SCHEDULE_FIELDS
		)
		if self.status == "Draft" and not cint(self.invoices_generated) and not self.last_creation_date:
			self.next_creation_date = None
			return
		if self.next_creation_date and not schedule_changed:
			return
		state = state_of(self)
		if not self.next_creation_date:
			self.next_creation_date = engine.initial_next_date(state)
		else:
			# schedule edited mid-stream: the first run of the new schedule on or after the pending one
			self.next_creation_date = engine.resume_next_date(state, getdate(self.next_creation_date))


def on_doctype_update():
	# the hourly tick selects `status = Active and next_creation_date <= today` through these (billing/schema.py)
	schema.add_generator_indexes()
