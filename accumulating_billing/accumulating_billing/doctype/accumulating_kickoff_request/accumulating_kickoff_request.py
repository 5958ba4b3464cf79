# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document

from accumulating_billing.billing import kickoff


class AccumulatingKickoffRequest(Document):
	# begin: auto-generated types
	# end: auto-generated types

	def validate(self):
		kickoff.validate_request(self)

	def after_insert(self):
		kickoff.complete_request(self)
