# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document

from accumulating_billing.billing import kickoff, kickoff_confirm


class AccumulatingKickoffRequest(Document):
	# begin: auto-generated types
	# end: auto-generated types

	def validate(self):
		kickoff.validate_request(self)
		if self.is_new() and kickoff_confirm.confirms_email():
			kickoff_confirm.check_address_not_pending(self)

	def after_insert(self):
		if kickoff_confirm.confirms_email():
			kickoff_confirm.await_confirmation(self)  # the records come with the email's confirmation
		else:
			kickoff.complete_request(self)
