"""Sales Invoice events: a cancelled generated invoice, or a deleted generated draft, returns its items."""

import frappe
from frappe import _

from accumulating_billing.billing.generation import lock_generator, set_item_billing, write_log

ITEM = "Accumulating Generator Item"


def release_items_of_invoice(doc, method=None) -> None:
	"""Items billed on `doc` go back to Unbilled so the next invoice picks them up: no work is lost."""
	if not doc.get("accumulating_generator"):
		return
	if method != "on_cancel":  # a cancel took it in before_cancel
		lock_generator(doc.accumulating_generator)
	names = frappe.get_all(ITEM, filters={"sales_invoice": doc.name, "status": "Billed"}, pluck="name")
	if not names:
		return
	set_item_billing(names, "Unbilled", None, "Billed")
	action = _("cancelled") if method == "on_cancel" else _("deleted")
	generator = frappe.get_doc("Accumulating Generator", doc.accumulating_generator)
	status = generator.status
	note = _("Sales Invoice {0} was {1}: {2} item(s) are unbilled again.").format(
		doc.name, action, len(names)
	)
	if status == "Completed":
		note += " " + _("The generator is Completed: use Generate Now to bill them.")
	generator.add_comment("Info", note)
	write_log(
		generator.name,
		doc.get("accumulating_occurrence") or doc.posting_date,
		"Released",
		note,
		doc.name,
		len(names),
	)


def lock_generator_of_invoice(doc, method=None) -> None:
	"""before_cancel: take the generator's row lock first, as a run does, so that cancelling a generated
	invoice and billing the same generator queue up instead of deadlocking on the items."""
	if doc.get("accumulating_generator"):
		lock_generator(doc.accumulating_generator)


def prepare_amendment(doc, method=None) -> None:
	"""An amendment of a cancelled generated invoice re-bills the released items it still lists; it is not
	a scheduled occurrence (the cancelled original keeps that key), and lines whose item was billed again
	elsewhere lose their link so nothing is billed twice."""
	if not (doc.get("amended_from") and doc.get("accumulating_generator")):
		return
	doc.accumulating_occurrence = None
	names = [row.accumulating_generator_item for row in doc.items if row.get("accumulating_generator_item")]
	unbilled = set(
		frappe.get_all(ITEM, filters={"name": ("in", names), "status": "Unbilled"}, pluck="name")
		if names
		else []
	)
	for row in doc.items:
		if row.get("accumulating_generator_item") and row.accumulating_generator_item not in unbilled:
			row.accumulating_generator_item = None


def claim_items_of_amendment(doc, method=None) -> None:
	if not (doc.get("amended_from") and doc.get("accumulating_generator")):
		return
	names = [row.accumulating_generator_item for row in doc.items if row.get("accumulating_generator_item")]
	if not names:
		return
	set_item_billing(names, "Billed", doc.name, "Unbilled")


def unlink_foreign_lines(doc, method=None) -> None:
	"""validate: on a saved generated draft, a line may only link the items this invoice bills (a line
	copied from elsewhere loses the link, so no item is billed twice)."""
	if not doc.get("accumulating_generator") or doc.is_new() or doc.get("amended_from"):
		return
	billed_here = set(billed_on(doc.name))
	for row in doc.items:
		if row.get("accumulating_generator_item") and row.accumulating_generator_item not in billed_here:
			row.accumulating_generator_item = None


def release_removed_lines(doc, method=None) -> None:
	"""on_update / on_submit: items whose line was removed from a generated draft go back to the tab."""
	if not doc.get("accumulating_generator") or doc.docstatus == 2 or doc.flags.accumulating_generated:
		return
	on_lines = {
		row.accumulating_generator_item for row in doc.items if row.get("accumulating_generator_item")
	}
	removed = [name for name in billed_on(doc.name) if name not in on_lines]
	if not removed:
		return
	set_item_billing(removed, "Unbilled", None, "Billed")
	note = _("{0} line(s) were removed from Sales Invoice {1}: their items are unbilled again.").format(
		len(removed), doc.name
	)
	frappe.get_doc("Accumulating Generator", doc.accumulating_generator).add_comment("Info", note)
	write_log(
		doc.accumulating_generator,
		doc.get("accumulating_occurrence") or doc.posting_date,
		"Released",
		note,
		doc.name,
		len(removed),
	)


def billed_on(invoice: str) -> list[str]:
	return frappe.get_all(ITEM, filters={"sales_invoice": invoice, "status": "Billed"}, pluck="name")
