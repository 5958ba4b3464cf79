# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document


class AccumulatingAssignmentRule(Document):
	# begin: auto-generated types
	# end: auto-generated types

	def validate(self):
		meta = frappe.get_meta(self.document_type)
		if meta.istable or meta.issingle:
			frappe.throw(
				_("Rules watch regular documents; {0} is a child table or single.").format(self.document_type)
			)
		field = meta.get_field(self.customer_field)
		if not field or field.fieldtype != "Link" or field.options != "Customer":
			frappe.throw(
				_("{0} has no Link to Customer named {1}.").format(
					self.document_type, frappe.bold(self.customer_field)
				)
			)
		if self.event == "Submit" and not meta.is_submittable:
			frappe.throw(_("{0} is not submittable.").format(self.document_type))
		if self.event == "Value Change" and not meta.get_field(self.value_changed):
			frappe.throw(
				_("{0} has no field {1}.").format(self.document_type, frappe.bold(self.value_changed))
			)
		if self.condition:
			try:
				compile(self.condition, "<condition>", "eval")
			except SyntaxError as e:
				frappe.throw(_("The condition is not a valid Python expression: {0}").format(e))
