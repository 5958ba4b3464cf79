# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document

from accumulating_billing.billing import kickoff


class AccumulatingKickoffRequest(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		address_line1: DF.Data | None
		city: DF.Data | None
		company_name: DF.Data
		contact: DF.Link | None
		country: DF.Link | None
		customer: DF.Link | None
		customer_type: DF.Literal["Company", "Individual"]
		email_id: DF.Data
		first_name: DF.Data
		generator: DF.Link | None
		last_name: DF.Data | None
		phone: DF.Data | None
		pincode: DF.Data | None
		portal_user: DF.Link | None
		request_ip: DF.Data | None
		status: DF.Literal["Received", "Completed"]
		tax_id: DF.Data | None
		template: DF.Link
	# end: auto-generated types

	def validate(self):
		kickoff.validate_request(self)

	def after_insert(self):
		kickoff.complete_request(self)
