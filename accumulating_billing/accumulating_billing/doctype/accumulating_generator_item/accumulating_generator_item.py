# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document

from accumulating_billing.billing import items
from accumulating_billing.billing.item_status import ON_HOLD, update_held_count


class AccumulatingGeneratorItem(Document):
	# begin: auto-generated types
	# end: auto-generated types

	def before_insert(self):
		self.added_by = frappe.session.user
		if not self.flags.from_generation:
			self.status = "Unbilled"
			self.sales_invoice = None
			self.hold_reason = None

	def validate(self):
		if not self.is_new():
			items.guard_billed(self, "edit")
		items.protect_item(self)
		items.validate_item(self)

	def after_insert(self):
		items.after_items_added({self.generator})

	def on_update(self):
		before = self.get_doc_before_save()
		if before and ON_HOLD in (before.status, self.status) and before.status != self.status:
			update_held_count(self.generator)  # a held line corrected by hand is back on the tab

	def on_trash(self):
		items.guard_billed(self, "delete")
		items.guard_source(self, "deleted")

	def after_delete(self):
		if self.status == ON_HOLD:
			update_held_count(self.generator)  # the generator's "n on hold"


def on_doctype_update():
	frappe.db.add_index("Accumulating Generator Item", ["generator", "status", "service_date"])
	frappe.db.add_unique(
		"Accumulating Generator Item", ["generator", "client_ref"], "unique_generator_client_ref"
	)
	# a Timesheet log or Delivery Note line is on a tab at most once (resubmit, amend, sync, two workers)
	frappe.db.add_unique(
		"Accumulating Generator Item", ["source_doctype", "source_detail"], "unique_source_detail"
	)
