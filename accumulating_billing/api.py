"""Public, permission-checked API (DESIGN §10). Every method checks permission on the server."""

import frappe
from frappe import _

from accumulating_billing.billing import generation

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
	next_date = generation.resume(generator, resume_date)
	return str(next_date) if next_date else None
