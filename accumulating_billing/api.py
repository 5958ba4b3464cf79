"""Public, permission-checked API (DESIGN §10). Every method checks permission on the server."""

import frappe
from frappe import _
from frappe.utils import flt, getdate, nowdate

from accumulating_billing import engine
from accumulating_billing.billing import generation
from accumulating_billing.billing.money import amount_precision, rounding
from accumulating_billing.billing.state import to_decimal

GENERATOR = "Accumulating Generator"
ITEM = "Accumulating Generator Item"


@frappe.whitelist()
def add_item(
	generator: str,
	item_code: str,
	qty: float = 1,
	rate: float | None = None,
	description: str | None = None,
	service_date: str | None = None,
	client_ref: str | None = None,
	discount_percentage: float | None = None,
	uom: str | None = None,
) -> str:
	"""Add a billable item to a generator's running tab; returns the item's name.
	The same `client_ref` on the same generator returns the existing item instead of adding it twice."""
	if not generator or not frappe.db.exists(GENERATOR, generator):
		frappe.throw(
			_("Accumulating Generator {0} does not exist.").format(generator), frappe.DoesNotExistError
		)
	check_can_add(generator)
	client_ref = (client_ref or "").strip() or None
	if client_ref:
		existing = frappe.db.get_value(ITEM, {"generator": generator, "client_ref": client_ref})
		if existing:
			return existing
	doc = frappe.get_doc(
		{
			"doctype": ITEM,
			"generator": generator,
			"item_code": item_code,
			"qty": qty,
			"rate": rate,
			"description": description,
			"service_date": service_date,
			"client_ref": client_ref,
			"discount_percentage": discount_percentage or 0,
			"uom": uom,
		}
	)
	try:
		doc.insert()
	except frappe.UniqueValidationError:
		# a concurrent call with the same client_ref won the race: return its item
		frappe.db.rollback()
		existing = frappe.db.get_value(ITEM, {"generator": generator, "client_ref": client_ref})
		if existing:
			frappe.clear_messages()
			return existing
		raise
	return doc.name


def check_can_add(generator: str) -> None:
	"""Create on items, and the generator visible to the user (user permissions on Customer/Generator)."""
	frappe.has_permission(ITEM, "create", throw=True)
	if not frappe.has_permission(GENERATOR, "select", generator) and not frappe.has_permission(
		GENERATOR, "read", generator
	):
		frappe.throw(
			_("You are not permitted to add items to {0}.").format(generator), frappe.PermissionError
		)


@frappe.whitelist(methods=["POST"])
def generate_now(generator: str, posting_date: str | None = None) -> str | None:
	"""Bill the unbilled items dated up to today (or `posting_date`) now; returns the Sales Invoice name, or None
	with the reason shown as a message."""
	doc = frappe.get_doc(GENERATOR, generator)
	doc.check_permission("write")
	frappe.has_permission("Sales Invoice", "create", throw=True)
	invoice, message = generation.generate_now(generator, posting_date)
	if not invoice:
		frappe.msgprint(message, title=_("Nothing to bill"), indicator="orange")
	return invoice


@frappe.whitelist(methods=["POST"])
def pause(generator: str, resume_date: str | None = None) -> None:
	frappe.get_doc(GENERATOR, generator).check_permission("write")
	generation.pause(generator, resume_date)


@frappe.whitelist(methods=["POST"])
def resume(generator: str, resume_date: str) -> str | None:
	frappe.get_doc(GENERATOR, generator).check_permission("write")
	if not resume_date or getdate(resume_date) < getdate(nowdate()):
		frappe.throw(_("The resume date cannot be in the past: paused occurrences are not caught up."))
	next_date = generation.resume(generator, resume_date)
	return str(next_date) if next_date else None


@frappe.whitelist()
def get_tab(generator: str) -> dict:
	"""The running tab: unbilled items and their totals (taxes are computed by ERPNext on the invoice)."""
	doc = frappe.get_doc(GENERATOR, generator)
	doc.check_permission("read")
	rows = frappe.get_list(
		ITEM,
		filters={"generator": generator, "status": "Unbilled"},
		fields=[
			"name",
			"service_date",
			"item_code",
			"item_name",
			"description",
			"qty",
			"rate",
			"amount",
			"added_by",
		],
		order_by="service_date asc, name asc",
		limit_page_length=0,
	)
	summary = tab_summary(doc, [r.amount for r in rows])
	return {
		"items": rows,
		"lines": summary.lines,
		"subtotal": flt(summary.subtotal),
		"discount": flt(summary.discount),
		"net_total": flt(summary.net_total),
		"currency": doc.currency,
		"next_creation_date": doc.next_creation_date,
	}


def tab_summary(doc, amounts) -> engine.TabSummary:
	return engine.summarize(
		[to_decimal(a) for a in amounts],
		to_decimal(doc.additional_discount_percentage),
		to_decimal(doc.discount_amount),
		doc.apply_discount_on or "Grand Total",
		amount_precision(doc.currency),
		rounding(),
	)
