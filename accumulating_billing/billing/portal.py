"""What a portal user (a customer's contact) may see: their own generators' running tabs, never internal notes,
drafts or another customer's data (docs/architecture.md §13). ERPNext decides which customers a user speaks for through the
Customer's Portal Users."""

import frappe
from frappe import _
from frappe.utils import flt, getdate

from accumulating_billing.billing import watch
from accumulating_billing.billing.payments import advance_balance

GENERATOR = "Accumulating Generator"
ITEM = "Accumulating Generator Item"
VISIBLE_STATUSES = ("Active", "Paused", "Completed")


def customers_of(user: str | None = None) -> list[str]:
	user = user or frappe.session.user
	if user == "Guest":
		return []
	PortalUser = frappe.qb.DocType("Portal User")
	return (
		frappe.qb.from_(PortalUser)
		.select(PortalUser.parent)
		.where((PortalUser.user == user) & (PortalUser.parenttype == "Customer"))
	).run(pluck=True)


def running_tabs(user: str | None = None) -> list[dict]:
	"""Per generator of the user's customers: its title, currency, next invoice date and unbilled items
	(date, description, qty, amount). Only fields meant for the customer are read."""
	customers = customers_of(user)
	if not customers:
		return []
	generators = frappe.get_all(
		GENERATOR,
		filters={"customer": ("in", customers), "status": ("in", VISIBLE_STATUSES)},
		fields=[
			"name",
			"title",
			"customer",
			"company",
			"customer_name",
			"currency",
			"status",
			"next_creation_date",
			"allow_partial_payments",
			"bill_when_unbilled_reaches",
		],
		order_by="customer_name asc, title asc",
	)
	tabs = []
	for gen in generators:
		items = frappe.get_all(
			ITEM,
			# the lines waiting on the tab, and those the customer questioned (never a line ERPNext refused)
			or_filters=[["status", "=", "Unbilled"], ["question_issue", "is", "set"]],
			filters={"generator": gen.name, "status": ("in", ("Unbilled", "On Hold"))},
			fields=[
				"name",
				"status",
				"service_date",
				"item_name",
				"description",
				"qty",
				"uom",
				"amount",
				"source_doctype",
				"question_issue",
			],
			order_by="service_date asc, creation asc",
		)
		to_pay = invoices_to_pay(gen)
		if gen.status == "Completed" and not items and not to_pay:
			continue
		for item in items:
			# where the line came from, in the customer's words (never the internal document names)
			item.source = source_label(item.pop("source_doctype"))
			# questioned: on hold until its Issue (in ERPNext's /issues) is answered; not in the total
			item.questioned = item.pop("status") != "Unbilled"
		tabs.append(
			{
				"title": gen.title or gen.customer_name,
				"customer_name": gen.customer_name,
				"currency": gen.currency,
				"next_invoice_date": getdate(gen.next_creation_date) if gen.status == "Active" else None,
				"paused": gen.status == "Paused",
				"items": items,
				"total": sum(flt(i.amount) for i in items if not i.questioned),
				"threshold": watch.threshold_progress(gen.name, gen.bill_when_unbilled_reaches, gen.currency),
				"advance": advance_balance(gen.customer, gen.company),
				"to_pay": to_pay,
			}
		)
	return tabs


def invoices_to_pay(gen) -> list:
	"""The generator's submitted invoices still outstanding: what is due now (the first unpaid instalment when
	partial payments are allowed, else the whole outstanding amount) and the pay link."""
	from accumulating_billing.billing.payments import due_now, outstanding_in_invoice_currency, pay_link

	rows = frappe.get_all(
		"Sales Invoice",
		filters={
			"accumulating_generator": gen.name,
			"customer": gen.customer,  # a generator moved to another customer never shows the old one's
			"docstatus": 1,
			"is_return": 0,
			"outstanding_amount": (">", 0),
		},
		fields=[
			"name",
			"posting_date",
			"due_date",
			"outstanding_amount",
			"currency",
			"party_account_currency",
			"conversion_rate",
			"accumulating_generator",
		],
		order_by="posting_date asc, name asc",
	)
	for row in rows:
		row.due_now = (
			due_now(row.name) if gen.allow_partial_payments else outstanding_in_invoice_currency(row)
		)
		row.pay_link = pay_link(row)
	return rows


def source_label(doctype: str | None) -> str | None:
	labels = {"Timesheet": _("Time logged"), "Delivery Note": _("Delivered"), "Sales Invoice": _("Late fee")}
	return labels.get(doctype) if doctype else None
