"""How the demo knows its own records: a visible "Demo" prefix in their names and the desk tag
"Accumulating Billing Demo" on every record it creates (Frappe's Tag Link keeps the list), so `--remove`
deletes exactly those and whatever hangs off them (invoices, tab items, logs), and nothing else."""

import frappe
from frappe import _
from frappe.desk.doctype.tag.tag import DocTags

TAG = "Accumulating Billing Demo"
PREFIX = "Demo"


class NotDemoRecordError(frappe.ValidationError):
	"""A record with a demo name exists and the demo did not make it."""


def tagged(doctype: str) -> list[str]:
	"""Names of the `doctype` records the demo made, oldest first."""
	return frappe.get_all(
		"Tag Link",
		filters={"tag": TAG, "document_type": doctype},
		pluck="document_name",
		order_by="creation asc",
	)


def is_tagged(doctype: str, name: str) -> bool:
	return bool(frappe.db.exists("Tag Link", {"tag": TAG, "document_type": doctype, "document_name": name}))


def tag(doctype: str, name: str) -> str:
	if not is_tagged(doctype, name):
		DocTags(doctype).add(name, TAG)
	return name


def find_own(doctype: str, filters: dict) -> str | None:
	"""The demo's record matching `filters`, or None; a matching record the demo did not make stops it (it
	would take over, and later delete, somebody's record)."""
	name = frappe.db.get_value(doctype, filters, "name")
	if name and not is_tagged(doctype, name):
		frappe.throw(
			_(
				"{0} {1} exists and was not made by the demo, so the demo stops here to leave it alone. "
				"Rename it, or run the demo on another site."
			).format(_(doctype), frappe.bold(name)),
			NotDemoRecordError,
			title=_("Name taken"),
		)
	return name


def ensure(doctype: str, filters: dict, values: dict, after_insert=None) -> tuple[str, bool]:
	"""(name, created): the demo's record matching `filters`, made from `values` when missing."""
	name = find_own(doctype, filters)
	if name:
		return name, False
	doc = frappe.get_doc({"doctype": doctype, **filters, **values})
	doc.insert(ignore_permissions=True)
	tag(doctype, doc.name)
	if after_insert:
		after_insert(doc)
	return doc.name, True
