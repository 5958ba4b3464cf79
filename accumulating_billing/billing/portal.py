"""What a portal user (a customer's contact) may see: their own generators' running tabs, never internal notes,
drafts or another customer's data (docs/architecture.md §13). ERPNext decides which customers a user speaks for through the
Customer's Portal Users."""

import frappe
from frappe import _
from frappe.utils import flt, getdate

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
	"""Per generator of the user's customers, and per tab billed to them (*Invoice To*, read only): its title,
	currency, next invoice date and unbilled items (date, description, qty, amount). Only fields meant for the
	customer are read."""
	customers = customers_of(user)
	if not customers:
		return []
	generators = frappe.get_all(
		GENERATOR,
		filters={"status": ("in", VISIBLE_STATUSES)},
		or_filters={"customer": ("in", customers), "invoice_customer": ("in", customers)},
		fields=[
			"name",
			"title",
			"customer",
			"company",
			"customer_name",
			"invoice_customer",
			"invoice_customer_name",
			"currency",
			"status",
			"next_creation_date",
			"allow_partial_payments",
		],
		order_by="customer_name asc, title asc",
	)
	tabs = []
	for gen in generators:
		items = frappe.get_all(
			ITEM,
			filters={"generator": gen.name, "status": "Unbilled"},
			fields=["service_date", "item_name", "description", "qty", "uom", "amount", "source_doctype"],
			order_by="service_date asc, creation asc",
		)
		to_pay = invoices_to_pay(gen, customers)
		if gen.status == "Completed" and not items and not to_pay:
			continue
		for item in items:
			# where the line came from, in the customer's words (never the internal document names)
			item.source = source_label(item.pop("source_doctype"))
		payer = gen.invoice_customer or gen.customer
		tabs.append(
			{
				"title": gen.title or gen.customer_name,
				"customer_name": gen.customer_name,
				# a tab billed to another customer: its customer sees whom; the payer sees whose tab it is
				"invoice_to": gen.invoice_customer_name or gen.invoice_customer
				if gen.customer in customers and payer != gen.customer
				else None,
				"for_customer": gen.customer_name if gen.customer not in customers else None,
				"currency": gen.currency,
				"next_invoice_date": getdate(gen.next_creation_date) if gen.status == "Active" else None,
				"paused": gen.status == "Paused",
				"items": items,
				"total": sum(flt(i.amount) for i in items),
				# what was paid in advance is the payer's, shown to those who pay
				"advance": advance_balance(payer, gen.company)
				if payer in customers
				else {"amount": 0.0, "currency": None},
				"to_pay": to_pay,
			}
		)
	return tabs


def invoices_to_pay(gen, customers: list[str]) -> list:
	"""The generator's submitted invoices still outstanding that are made out to one of `customers` (the user's:
	a tab billed to a payer shows them to the payer's users only; a combined invoice under the tab it is filed
	under): what is due now (the first unpaid instalment when partial payments are allowed, else the whole
	outstanding amount) and the pay link."""
	from accumulating_billing.billing.payments import due_now, outstanding_in_invoice_currency, pay_link

	rows = frappe.get_all(
		"Sales Invoice",
		filters={
			"accumulating_generator": gen.name,
			"customer": ("in", customers),  # never another customer's (a payer changed, a generator moved)
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


def has_website_permission(doc, ptype, user, verbose=False) -> bool:
	"""Website permission on a generator or item: only the portal users of its customer, or of the customer its
	invoices are made out to (*Invoice To*), read only."""
	if ptype != "read":
		return False
	gen = (
		doc
		if doc.doctype == GENERATOR
		else frappe.db.get_value(GENERATOR, doc.generator, ["customer", "invoice_customer"], as_dict=True)
	)
	if not gen:
		return False
	customers = customers_of(user)
	return any(c and c in customers for c in (gen.get("customer"), gen.get("invoice_customer")))
