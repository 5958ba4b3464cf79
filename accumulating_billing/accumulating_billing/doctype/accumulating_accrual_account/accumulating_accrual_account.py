# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class AccumulatingAccrualAccount(Document):
	# begin: auto-generated types
	# end: auto-generated types

	pass
