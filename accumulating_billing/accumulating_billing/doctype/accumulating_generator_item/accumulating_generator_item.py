# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document

from accumulating_billing.billing import held, items, questions, watch
from accumulating_billing.billing.item_status import ON_HOLD, update_held_count


class AccumulatingGeneratorItem(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		added_by: DF.Link | None
		amended_from: DF.Link | None
		amount: DF.Currency
		client_ref: DF.Data | None
		company: DF.Link | None
		currency: DF.Link | None
		customer: DF.Link | None
		description: DF.SmallText | None
		discount_percentage: DF.Percent
		generator: DF.Link
		hold_notice: DF.Data | None
		hold_reason: DF.SmallText | None
		invoice_line_group: DF.Data | None
		item_code: DF.Link
		item_name: DF.Data | None
		qty: DF.Float
		question_issue: DF.Link | None
		rate: DF.Currency
		sales_invoice: DF.Link | None
		service_date: DF.Date
		source_detail: DF.Data | None
		source_doctype: DF.Link | None
		source_name: DF.DynamicLink | None
		status: DF.Literal["Unbilled", "Billed", "On Hold", "Voided"]
		uom: DF.Link | None
		void_reason: DF.SmallText | None
		voided_by: DF.Link | None
		voided_on: DF.Datetime | None
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
		items.after_items_added({self.generator: self.flags.generator_values})

	def on_update(self):
		before = self.get_doc_before_save()
		if before and ON_HOLD in (before.status, self.status) and before.status != self.status:
			update_held_count(self.generator)  # a held line corrected by hand is back on the tab
		# changed (or added: after_items_added looked already; the watch counts a tab once per transaction): its
		# tab may reach its threshold or an alert (a tab nobody watches, read in validate, costs nothing more)
		values = self.flags.generator_values
		if not values or values.get("tab_watched"):
			watch.items_added([self.generator])
		if self.flags.released_on_edit:
			held.log_release_on_edit(self)

	def on_trash(self):
		items.guard_billed(self, "delete")
		items.guard_source(self, "deleted")
		questions.line_removed(self.name)  # a questioned line staff remove: its Issue says so

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
