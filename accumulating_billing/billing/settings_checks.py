"""Validation shared by Accumulating Generator and Accumulating Generator Template (DESIGN §3)."""

import frappe
from frappe import _
from frappe.utils import cint, flt


def validate_settings(doc) -> None:
	"""Settings every generator or template must satisfy; throws a translated message, saves nothing."""
	if not doc.company:
		frappe.throw(_("Company is required."), title=_("Missing company"))
	if cint(doc.interval_count) < 1:
		frappe.throw(_("Repeat Every must be at least 1."), title=_("Invalid interval"))
	if doc.end_condition == "After N Invoices" and cint(doc.end_after_invoices) < 1:
		frappe.throw(_("Number of Invoices must be at least 1 for the end condition After N Invoices."))
	if flt(doc.minimum_amount) < 0:
		frappe.throw(_("Minimum Amount cannot be negative."), title=_("Invalid amount"))
	if cint(doc.due_days) < 0:
		frappe.throw(_("Due Days cannot be negative."), title=_("Invalid due days"))
	if not 0 <= flt(doc.additional_discount_percentage) <= 100:
		frappe.throw(_("Additional Discount Percentage must be between 0 and 100."))
	if flt(doc.discount_amount) < 0:
		frappe.throw(_("Additional Discount Amount cannot be negative."))
	if flt(doc.additional_discount_percentage) and flt(doc.discount_amount):
		frappe.throw(
			_("Set either an Additional Discount Percentage or an Additional Discount Amount, not both."),
			title=_("Two discounts"),
		)
	validate_company_links(doc)
	validate_price_list(doc)
	validate_naming_series(doc.naming_series_for_invoice)
	validate_timesheet_item(doc)


def validate_timesheet_item(doc) -> None:
	"""Accumulate Timesheets bills each time log as a line of the Timesheet Item: a service, never stock."""
	if not cint(doc.get("accumulate_timesheets")):
		return
	if not doc.timesheet_item:
		frappe.throw(
			_("Timesheet Item is required when Accumulate Timesheets is on."), title=_("Missing item")
		)
	item = frappe.db.get_value(
		"Item",
		doc.timesheet_item,
		["disabled", "is_sales_item", "is_stock_item", "has_variants"],
		as_dict=True,
	)
	if not item:
		frappe.throw(_("Item {0} does not exist.").format(frappe.bold(doc.timesheet_item)))
	if item.disabled or not item.is_sales_item or item.has_variants:
		frappe.throw(
			_("Timesheet Item {0} must be an enabled sales item (not a template).").format(
				frappe.bold(doc.timesheet_item)
			)
		)
	if item.is_stock_item:
		frappe.throw(
			_("Timesheet Item {0} is a stock item; hours are billed as a non-stock service item.").format(
				frappe.bold(doc.timesheet_item)
			),
			title=_("Stock item"),
		)


def validate_company_links(doc) -> None:
	if doc.taxes_and_charges:
		company = frappe.db.get_value("Sales Taxes and Charges Template", doc.taxes_and_charges, "company")
		if company != doc.company:
			frappe.throw(
				_("Sales Taxes and Charges Template {0} belongs to company {1}, not {2}.").format(
					doc.taxes_and_charges, company, doc.company
				)
			)
	if doc.cost_center:
		company = frappe.db.get_value("Cost Center", doc.cost_center, "company")
		if company != doc.company:
			frappe.throw(
				_("Cost Center {0} does not belong to company {1}.").format(doc.cost_center, doc.company)
			)


def validate_price_list(doc) -> None:
	if not doc.selling_price_list:
		return
	price_list = frappe.db.get_value(
		"Price List", doc.selling_price_list, ["currency", "selling", "enabled"], as_dict=True
	)
	if not price_list:
		frappe.throw(_("Price List {0} does not exist.").format(doc.selling_price_list))
	if not price_list.selling or not price_list.enabled:
		frappe.throw(_("Price List {0} is not an enabled selling price list.").format(doc.selling_price_list))
	if doc.currency and price_list.currency and price_list.currency != doc.currency:
		frappe.throw(
			_("Price List {0} is in {1}; it cannot serve a generator in {2}.").format(
				doc.selling_price_list, price_list.currency, doc.currency
			),
			title=_("Currency mismatch"),
		)


def validate_naming_series(series: str | None) -> None:
	if not series:
		return
	options = sales_invoice_naming_series()
	if series not in options:
		frappe.throw(
			_("{0} is not a naming series of Sales Invoice. Choose one of: {1}").format(
				frappe.bold(series), ", ".join(options)
			),
			title=_("Invalid naming series"),
		)


def sales_invoice_naming_series() -> list[str]:
	options = frappe.get_meta("Sales Invoice").get_field("naming_series").options or ""
	return [o for o in options.split("\n") if o.strip()]
