# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from accumulating_billing.billing import rules


class AccumulatingAssignmentRule(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		condition: DF.Code | None
		customer_field: DF.Data
		document_type: DF.Link
		enabled: DF.Check
		event: DF.Literal["New", "Save", "Submit", "Value Change"]
		template: DF.Link
		value_changed: DF.Data | None
	# end: auto-generated types

	def validate(self):
		if not self.document_type or not frappe.db.exists("DocType", self.document_type):
			frappe.throw(_("Choose the DocType this rule watches."))
		meta = frappe.get_meta(self.document_type)
		if meta.istable or meta.issingle:
			frappe.throw(
				_("Rules watch regular documents; {0} is a child table or single.").format(self.document_type)
			)
		self.validate_customer_field(meta)
		if self.event == "Submit" and not meta.is_submittable:
			frappe.throw(_("{0} is not submittable.").format(self.document_type))
		if self.event == "Value Change":
			if not self.value_changed or not meta.get_field(self.value_changed):
				frappe.throw(
					_("Value Change needs a field of {0} to watch; {1} is not one.").format(
						self.document_type, frappe.bold(self.value_changed or "-")
					)
				)
		if not frappe.db.exists("Accumulating Generator Template", self.template):
			frappe.throw(_("Accumulating Generator Template {0} does not exist.").format(self.template))
		self.validate_condition()

	def validate_customer_field(self, meta):
		if self.document_type == "Customer" and self.customer_field in (None, "", "name"):
			self.customer_field = "name"
			return
		field = meta.get_field(self.customer_field)
		if not field or field.fieldtype != "Link" or field.options != "Customer":
			frappe.throw(
				_("{0} has no Link to Customer named {1}.").format(
					self.document_type, frappe.bold(self.customer_field)
				)
			)

	def validate_condition(self):
		"""The condition must be an expression safe_eval accepts, evaluated on an empty document."""
		if not self.condition:
			return
		try:
			frappe.safe_eval(
				self.condition, None, rules.condition_context(frappe.new_doc(self.document_type))
			)
		except Exception as e:
			frappe.throw(
				_("The condition {0} is not valid: {1}").format(frappe.bold(self.condition), e),
				title=_("Invalid condition"),
			)

	def on_update(self):
		rules.clear_rules_cache()

	def on_trash(self):
		rules.clear_rules_cache()
