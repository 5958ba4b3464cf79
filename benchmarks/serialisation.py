"""ERPNext's own serialisation points of invoice creation, and the deployment options that remove them, set for a
measurement: the Company row every submitted invoice updates (Selling Settings > Sales Update Frequency) and the
naming-series row every new invoice locks until it commits (more than one series). Used by scale_out.py (workers
billing at once) and billing_side_by_side.py (the two sides of the billing cost at once)."""

from contextlib import contextmanager

import frappe

from benchmarks.common import PREFIX


@contextmanager
def sales_update_frequency(value: str | None):
	"""ERPNext's Selling Settings > Sales Update Frequency in Company and Project, for the run."""
	old = frappe.db.get_single_value("Selling Settings", "sales_update_frequency")
	if value:
		frappe.db.set_single_value("Selling Settings", "sales_update_frequency", value)
		frappe.db.commit()
	try:
		yield value or old
	finally:
		if value:
			frappe.db.set_single_value("Selling Settings", "sales_update_frequency", old)
			frappe.db.commit()


def invoice_series(count: int) -> list[str] | None:
	"""`count` Sales Invoice naming series (the default one and ABBENCH ones added to its options, as
	Document Naming Settings does), or None for the site's default."""
	if count <= 1:
		return None
	from frappe.custom.doctype.property_setter.property_setter import make_property_setter

	options = [
		o
		for o in (frappe.get_meta("Sales Invoice").get_field("naming_series").options or "").split("\n")
		if o
	]
	wanted = [options[0]] + [f"{PREFIX}{k}-SINV-.YYYY.-" for k in range(1, count)]
	missing = [s for s in wanted if s not in options]
	if missing:
		make_property_setter(
			"Sales Invoice", "naming_series", "options", "\n".join(options + missing), "Text"
		)
		frappe.clear_cache(doctype="Sales Invoice")
		frappe.db.commit()
	return wanted
