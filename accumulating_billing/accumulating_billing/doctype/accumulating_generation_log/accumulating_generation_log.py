# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class AccumulatingGenerationLog(Document):
	# begin: auto-generated types
	# end: auto-generated types

	pass


def on_doctype_update():
	frappe.db.add_index("Accumulating Generation Log", ["generator", "occurrence_date"])
