import frappe

from accumulating_billing.billing.item_status import NOT_BILLED
from accumulating_billing.billing.items import TEXT_FIELDS
from accumulating_billing.billing.plain_text import plain_text


def execute():
	"""Issue 25: the text of a tab item not billed yet is plain text (a description a Delivery Note brought as
	HTML, markup a contributor typed before); the next invoice escapes it. Billed items stay as their invoice
	has them."""
	Item = frappe.qb.DocType("Accumulating Generator Item")
	rows = (
		frappe.qb.from_(Item)
		.select(Item.name, *(Item[field] for field in TEXT_FIELDS))
		.where(Item.status.isin(NOT_BILLED))
	).run(as_dict=True)
	for row in rows:
		changed = {field: plain_text(row[field]) for field in TEXT_FIELDS if row[field]}
		changed = {field: value for field, value in changed.items() if value != row[field]}
		if changed:
			frappe.db.set_value("Accumulating Generator Item", row.name, changed, update_modified=False)
