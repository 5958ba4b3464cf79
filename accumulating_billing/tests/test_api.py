"""The item API (api.add_item, api.get_tab): idempotent client_ref, prices, unknown generators, the preview, what a
user cannot write, and a contributor kept to their customers."""

import frappe

from accumulating_billing import api
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.doctypes import CONTRIBUTOR_ROLE
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.utils import (
	add,
	make_generator,
)


class TestAddItemApi(GenerationTestCase):
	def test_client_ref_is_idempotent_and_added_by_is_the_user(self):
		gen = make_generator()
		first = api.add_item(
			gen.name, self.listing, qty=2, rate=5, client_ref="ticket-42", service_date="2026-01-05"
		)
		again = api.add_item(
			gen.name, self.listing, qty=2, rate=5, client_ref="ticket-42", service_date="2026-01-05"
		)
		self.assertEqual(first, again)
		item = frappe.get_doc("Accumulating Generator Item", first)
		self.assertEqual((item.added_by, item.amount), ("Administrator", 10))

	def test_rate_defaults_from_price_list(self):
		gen = make_generator()
		name = api.add_item(gen.name, self.backup, service_date="2026-01-05")
		self.assertEqual(frappe.db.get_value("Accumulating Generator Item", name, "rate"), 40)

	def test_unknown_generator(self):
		with self.assertRaises(frappe.DoesNotExistError):
			api.add_item("ACG-NOPE", self.listing)

	def test_get_tab_previews_the_next_invoice(self):
		gen = make_generator(additional_discount_percentage=10, apply_discount_on="Net Total")
		api.add_item(gen.name, self.listing, qty=3, rate=10, service_date="2026-01-05")
		api.add_item(gen.name, self.listing, qty=1, rate=5, service_date="2026-01-06")
		tab = api.get_tab(gen.name)
		self.assertEqual(
			(tab["lines"], tab["subtotal"], tab["discount"], tab["net_total"]), (2, 35, 3.5, 31.5)
		)
		frappe.db.commit()
		invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "net_total"), tab["net_total"])

	def test_status_cannot_be_written_by_a_user(self):
		gen = make_generator()
		item = add(gen.name, self.listing, service_date="2026-01-05")
		item.status = "Billed"
		item.save()
		self.assertEqual(frappe.db.get_value("Accumulating Generator Item", item.name, "status"), "Unbilled")

	def test_contributor_cannot_add_to_another_customers_generator(self):
		allowed = make_generator()
		other = make_generator()
		email = f"ab-contrib-{frappe.generate_hash(length=6)}@example.com"
		user = frappe.get_doc(
			{"doctype": "User", "email": email, "first_name": "Contributor", "send_welcome_email": 0}
		).insert(ignore_permissions=True)
		user.add_roles(CONTRIBUTOR_ROLE)
		frappe.get_doc(
			{"doctype": "User Permission", "user": email, "allow": "Customer", "for_value": allowed.customer}
		).insert(ignore_permissions=True)
		frappe.set_user(email)
		try:
			name = api.add_item(allowed.name, self.listing, rate=10, service_date="2026-01-05")
			self.assertEqual(frappe.db.get_value("Accumulating Generator Item", name, "added_by"), email)
			with self.assertRaises(frappe.PermissionError):
				api.add_item(other.name, self.listing, rate=10, service_date="2026-01-05")
			with self.assertRaises(frappe.PermissionError):
				frappe.get_doc(
					{
						"doctype": "Accumulating Generator Item",
						"generator": other.name,
						"item_code": self.listing,
						"rate": 10,
					}
				).insert()
		finally:
			frappe.set_user("Administrator")
