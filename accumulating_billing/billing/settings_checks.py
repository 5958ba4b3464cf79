"""Validation shared by Accumulating Generator and Accumulating Generator Template (docs/architecture.md §2)."""

import frappe
from frappe import _
from frappe.utils import cint, flt

from accumulating_billing import engine
from accumulating_billing.billing.automations import EVENTS, TAB_REACHES
from accumulating_billing.billing.state import to_decimal
from accumulating_billing.doctypes import GENERATOR
from accumulating_billing.i18n import engine_message


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
	validate_automations(doc)
	validate_threshold(doc)
	validate_late_fee(doc)
	validate_pay_links(doc)
	validate_payer(doc)


def validate_timesheet_item(doc) -> None:
	"""Accumulate Timesheets bills each time log as a line of the Timesheet Item: a service, never stock."""
	if not cint(doc.get("accumulate_timesheets")):
		return
	if not doc.timesheet_item:
		frappe.throw(
			_("Timesheet Item is required when Accumulate Timesheets is on."), title=_("Missing item")
		)
	check_service_item(doc, doc.timesheet_item, _("Timesheet Item"))
	check_fractions_allowed(doc, doc.timesheet_item, _("Timesheet Item"))


def check_fractions_allowed(doc, item_code: str, label: str) -> None:
	"""A time log of 1.5 hours is a line of qty 1.5 of the Timesheet Item in its stock UOM: ERPNext refuses it
	when that UOM must be a whole number, so every Timesheet with such a log would have its line held."""
	uom = frappe.db.get_value("Item", item_code, "stock_uom")
	reason = line_refusal(doc, {"item_code": item_code, "uom": uom, "qty": 1.5, "rate": 0})
	if reason:
		frappe.throw(
			_(
				"{0} {1} is sold in {2}, whose quantities must be whole numbers: ERPNext would refuse every time "
				"log that is not a whole number of hours ({3}). Choose a {0} whose Default Unit of Measure allows "
				"fractions (such as Hour), or turn off Must be Whole Number on UOM {2}."
			).format(label, frappe.bold(item_code), frappe.bold(uom), reason),
			title=_("Fractional hours would be refused"),
		)


def line_refusal(doc, line: dict) -> str | None:
	"""ERPNext's reason to refuse `line` on an invoice of this generator or template, or None (line_check)."""
	from accumulating_billing.billing import line_check

	return line_check.refusals([line], company=doc.company).get(0)


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


def validate_automations(doc) -> None:
	"""Each automation fires one thing: on Generated and Paid, of Sales Invoice (a Notification, a Webhook or a
	template assignment); on Tab Reaches (an amount), of Accumulating Generator (a Notification or a Webhook)."""
	for row in doc.get("automations") or []:
		targets = [f for f in ("notification", "webhook", "assign_template") if row.get(f)]
		if len(targets) != 1:
			frappe.throw(
				_(
					"Automations row {0}: choose exactly one of Notification, Webhook or Assign Template."
				).format(row.idx),
				title=_("Invalid automation"),
			)
		if row.event not in EVENTS:
			frappe.throw(_("Automations row {0}: the event is Generated or Paid.").format(row.idx))
		tab_alert = row.event == TAB_REACHES
		if tab_alert:
			validate_tab_alert(row)
		document = GENERATOR if tab_alert else "Sales Invoice"
		for doctype, fieldname, doctype_field in (
			("Notification", "notification", "document_type"),
			("Webhook", "webhook", "webhook_doctype"),
		):
			if (
				row.get(fieldname)
				and frappe.db.get_value(doctype, row.get(fieldname), doctype_field) != document
			):
				message = (
					_("Automations row {0}: {1} {2} is not a {1} on Accumulating Generator.")
					if tab_alert
					else _("Automations row {0}: {1} {2} is not a {1} on Sales Invoice.")
				)
				frappe.throw(message.format(row.idx, _(doctype), frappe.bold(row.get(fieldname))))
		if row.assign_template and not frappe.db.get_value(
			"Accumulating Generator Template", row.assign_template, "enabled"
		):
			frappe.throw(
				_("Automations row {0}: template {1} does not exist or is disabled.").format(
					row.idx, frappe.bold(row.assign_template)
				)
			)


def validate_tab_alert(row) -> None:
	"""A Tab Reaches row has an amount above 0, and fires a Notification or a Webhook (no assignment: there is
	no invoice, and a tab is not a customer's new plan)."""
	if flt(row.tab_amount) <= 0:
		frappe.throw(
			_("Automations row {0}: Tab Reaches needs a Tab Amount greater than 0.").format(row.idx),
			title=_("Invalid automation"),
		)
	if row.assign_template:
		frappe.throw(
			_(
				"Automations row {0}: Tab Reaches fires a Notification or a Webhook, not Assign Template."
			).format(row.idx),
			title=_("Invalid automation"),
		)


def validate_threshold(doc) -> None:
	"""Bill When Unbilled Reaches: not negative, and not below the minimum amount (the engine's reason)."""
	try:
		engine.validate_threshold(
			to_decimal(doc.get("bill_when_unbilled_reaches")), to_decimal(doc.minimum_amount)
		)
	except engine.ValidationError as e:
		frappe.throw(engine_message(e), title=_("Invalid threshold"))


def validate_late_fee(doc) -> None:
	"""A late fee is a fixed amount or a percentage (0-100] of the outstanding amount, charged as an item of a
	non-stock sales item, or as a Dunning of a Dunning Type of the company."""
	kind = doc.get("late_fee_type")
	if not kind:
		return
	if kind == "Fixed Amount" and flt(doc.late_fee_amount) <= 0:
		frappe.throw(_("Late Fee Amount must be greater than 0."), title=_("Invalid late fee"))
	if kind == "Percentage" and not 0 < flt(doc.late_fee_percentage) <= 100:
		frappe.throw(
			_("Late Fee Percentage must be more than 0 and at most 100."), title=_("Invalid late fee")
		)
	if cint(doc.late_fee_grace_days) < 0:
		frappe.throw(_("Grace Days cannot be negative."), title=_("Invalid late fee"))
	if cint(doc.late_fee_as_dunning):
		if not doc.dunning_type:
			frappe.throw(_("Dunning Type is required to create Dunnings."), title=_("Missing Dunning Type"))
		company = frappe.db.get_value("Dunning Type", doc.dunning_type, "company")
		if company != doc.company:
			frappe.throw(
				_("Dunning Type {0} belongs to company {1}, not {2}.").format(
					doc.dunning_type, company, doc.company
				)
			)
		return
	if not doc.late_fee_item:
		frappe.throw(_("Late Fee Item is required for a late fee."), title=_("Missing item"))
	check_service_item(doc, doc.late_fee_item, _("Late Fee Item"), rate=doc.get("late_fee_amount"))


def check_service_item(doc, item_code: str, label: str, rate=None) -> None:
	"""Hours and fees are billed as a service: a non-stock item that ERPNext takes on an invoice line of one
	unit of its stock UOM (enabled, a sales item, not a template with variants, not past its end of life: the
	same line check as every tab line). A fee is always one unit, so a UOM that must be a whole number is fine."""
	item = frappe.db.get_value("Item", item_code, ["name", "stock_uom", "is_stock_item"], as_dict=True)
	if not item:
		frappe.throw(_("Item {0} does not exist.").format(frappe.bold(item_code)))
	reason = line_refusal(doc, {"item_code": item.name, "uom": item.stock_uom, "qty": 1, "rate": flt(rate)})
	if reason:
		frappe.throw(
			_("{0} {1}: {2}").format(label, frappe.bold(item_code), reason),
			title=_("ERPNext would refuse this item"),
		)
	if item.is_stock_item:
		frappe.throw(
			_("{0} {1} is a stock item; it must be a non-stock service item.").format(
				label, frappe.bold(item_code)
			),
			title=_("Stock item"),
		)


def validate_pay_links(doc) -> None:
	"""A gateway account of the generator's company and currency; a third-party link the app can fill in."""
	from accumulating_billing.billing.payments import validate_link_template

	validate_link_template(doc.get("third_party_payment_url"))
	if not doc.get("payment_gateway_account"):
		return
	account = frappe.db.get_value(
		"Payment Gateway Account", doc.payment_gateway_account, ["payment_account", "currency"], as_dict=True
	)
	if not account:
		frappe.throw(_("Payment Gateway Account {0} does not exist.").format(doc.payment_gateway_account))
	company = frappe.db.get_value("Account", account.payment_account, "company")
	if company != doc.company:
		frappe.throw(
			_("Payment Gateway Account {0} pays into an account of {1}, not {2}.").format(
				doc.payment_gateway_account, company, doc.company
			)
		)
	if doc.currency and account.currency and account.currency != doc.currency:
		frappe.throw(
			_("Payment Gateway Account {0} takes {1}; the invoices are in {2}.").format(
				doc.payment_gateway_account, account.currency, doc.currency
			)
		)


def validate_payer(doc) -> None:
	"""*Invoice To* (the payer, issue 28): an enabled customer ERPNext accepts on this tab's invoices. The tab's own
	customer there is stored empty (empty means its own customer: a copy for another customer then bills that
	one)."""
	if doc.get("invoice_customer") and doc.get("invoice_customer") == doc.get("customer"):
		doc.invoice_customer = doc.invoice_customer_name = None
	payer = doc.get("invoice_customer")
	if not payer:
		return
	values = frappe.db.get_value("Customer", payer, ["disabled", "default_currency"], as_dict=True)
	if not values:
		frappe.throw(_("Customer {0} does not exist.").format(frappe.bold(payer)))
	if values.disabled:
		frappe.throw(
			_("Invoice To {0} is a disabled customer.").format(frappe.bold(payer)),
			title=_("Disabled customer"),
		)
	if values.default_currency and doc.currency and values.default_currency != doc.currency:
		frappe.throw(
			_("Currency {0} differs from the billing currency {1} of customer {2}.").format(
				frappe.bold(doc.currency), frappe.bold(values.default_currency), frappe.bold(payer)
			),
			title=_("Currency mismatch"),
		)
	if cint(doc.get("accumulate_delivery_notes")):
		frappe.throw(
			_(
				"ERPNext bills a Delivery Note only on an invoice to the customer it was delivered to: with "
				"Accumulate Delivery Notes, leave Invoice To empty."
			),
			title=_("Delivery Notes need the tab's own customer"),
		)
	project_customer = frappe.db.get_value("Project", doc.project, "customer") if doc.get("project") else None
	if project_customer and project_customer != payer:
		frappe.throw(
			_("Project {0} belongs to customer {1}: ERPNext refuses it on an invoice to {2}.").format(
				frappe.bold(doc.project), frappe.bold(project_customer), frappe.bold(payer)
			),
			title=_("Project of another customer"),
		)
