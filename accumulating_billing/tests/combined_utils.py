"""Factories of the combined-invoice tests (issue 28): a payer with its own tab and its clinics' tabs billed to it,
and what the invoices that bill them hold."""

import frappe

from accumulating_billing.doctypes import ITEM
from accumulating_billing.tests.utils import add, make_customer, make_generator


def make_payer_group(item_code: str, children: int = 2, own: bool = True, items: int = 1, **settings):
	"""A payer (a group) with its own tab (when `own`) and `children` clinics' tabs whose Invoice To is the payer,
	all combining, with the same `settings`, each with `items` items dated in January 2026; committed.
	Returns {payer, tabs (names, the payer's own first), customers {tab: customer}, billed {tab: [item names]}}."""
	payer = make_customer(f"_AB Payer {frappe.generate_hash(length=6)}")
	values = {"consolidate_invoices": 1, "first_creation_date": "2026-02-01", **settings}
	docs = []
	if own:
		docs.append(make_generator(payer, title="Head office services", **values))
	for number in range(1, children + 1):
		clinic = make_customer(f"_AB Clinic {number} {frappe.generate_hash(length=6)}")
		docs.append(make_generator(clinic, title=f"Clinic {number} care", invoice_customer=payer, **values))
	billed = {}
	for index, doc in enumerate(docs):
		billed[doc.name] = [
			add(
				doc.name, item_code, qty=index + 1, rate=10 * (k + 1), service_date=f"2026-01-{10 + k:02d}"
			).name
			for k in range(items)
		]
	frappe.db.commit()
	return frappe._dict(
		payer=payer,
		tabs=[doc.name for doc in docs],
		customers={doc.name: doc.customer for doc in docs},
		billed=billed,
	)


def invoices_billing(tabs: list[str], docstatus=("<", 2)) -> list[str]:
	"""The Sales Invoices (not credit notes) that list any of `tabs`, oldest first."""
	parents = frappe.get_all(
		"Accumulating Invoice Tab",
		filters={"generator": ("in", tabs), "parenttype": "Sales Invoice"},
		pluck="parent",
	)
	return frappe.get_all(
		"Sales Invoice",
		filters={"name": ("in", parents or [""]), "docstatus": docstatus, "is_return": 0},
		pluck="name",
		order_by="posting_date asc, creation asc",
	)


def item_states(tabs: list[str]) -> dict[str, tuple]:
	"""{item: (status, invoice)} of every item of `tabs`."""
	return {
		row.name: (row.status, row.sales_invoice)
		for row in frappe.get_all(
			ITEM, filters={"generator": ("in", tabs)}, fields=["name", "status", "sales_invoice"]
		)
	}
