# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document

from accumulating_billing.billing import kickoff, kickoff_confirm


class AccumulatingKickoffRequest(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		address_line1: DF.Data | None
		city: DF.Data | None
		company_name: DF.Data
		confirm_key_hash: DF.Data | None
		confirmation_sent_on: DF.Datetime | None
		confirmed_on: DF.Datetime | None
		contact: DF.Link | None
		country: DF.Link | None
		customer: DF.Link | None
		customer_type: DF.Literal["Company", "Individual"]
		email_id: DF.Data
		expires_on: DF.Datetime | None
		first_name: DF.Data
		generator: DF.Link | None
		last_name: DF.Data | None
		phone: DF.Data | None
		pincode: DF.Data | None
		portal_user: DF.Link | None
		request_ip: DF.Data | None
		status: DF.Literal["Received", "Awaiting Confirmation", "Completed", "Expired"]
		tax_id: DF.Data | None
		template: DF.Link
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
