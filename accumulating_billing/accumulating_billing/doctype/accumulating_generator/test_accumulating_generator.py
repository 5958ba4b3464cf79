# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from accumulating_billing.tests.utils import company, make_customer, make_generator


class TestAccumulatingGeneratorValidation(FrappeTestCase):
	"""Bad settings get a clear message and nothing is saved; a valid generator saves."""

	def assert_refused(self, message_part: str, **kw):
		count = frappe.db.count("Accumulating Generator")
		doc = make_generator(do_not_save=True, **kw)
		with self.assertRaises(frappe.ValidationError) as ctx:
			doc.insert()
		self.assertIn(message_part, str(ctx.exception))
		self.assertEqual(frappe.db.count("Accumulating Generator"), count)

	def test_valid_generator_saves(self):
		gen = make_generator(first_creation_date="2026-03-31", status="Active")
		self.assertTrue(gen.name.startswith("ACG-"))
		self.assertEqual(str(gen.next_creation_date), "2026-03-31")
		self.assertEqual(gen.currency, frappe.get_cached_value("Company", company(), "default_currency"))
		self.assertTrue(gen.title)

	def test_draft_has_no_next_date(self):
		gen = make_generator(status="Draft")
		self.assertIsNone(gen.next_creation_date)
		gen.status = "Active"
		gen.save()
		self.assertEqual(str(gen.next_creation_date), "2026-02-01")

	def test_interval_below_one(self):
		self.assert_refused("Repeat Every must be at least 1", interval_count=0)

	def test_end_date_before_first_date(self):
		self.assert_refused(
			"is before the First Creation Date",
			end_condition="On Date",
			end_date="2026-01-15",
			first_creation_date="2026-02-01",
		)

	def test_after_n_below_one(self):
		self.assert_refused(
			"Number of Invoices must be at least 1", end_condition="After N Invoices", end_after_invoices=0
		)

	def test_negative_minimum_amount(self):
		self.assert_refused("Minimum Amount cannot be negative", minimum_amount=-1)

	def test_negative_due_days(self):
		self.assert_refused("Due Days cannot be negative", due_days=-3)

	def test_currency_differs_from_customer_billing_currency(self):
		customer = make_customer(default_currency="EUR")
		self.assert_refused("differs from the billing currency", customer=customer, currency="USD")

	def test_disabled_customer(self):
		customer = make_customer()
		frappe.db.set_value("Customer", customer, "disabled", 1)
		self.assert_refused("is disabled", customer=customer)

	def test_company_missing(self):
		gen = make_generator()
		gen.company = None  # on insert Frappe fills the user's default company, so clear it on a save
		with self.assertRaises(frappe.ValidationError) as ctx:
			gen.save()
		self.assertIn("Company is required", str(ctx.exception))
		self.assertEqual(frappe.db.get_value("Accumulating Generator", gen.name, "company"), company())

	def test_price_list_in_another_currency(self):
		if not frappe.db.exists("Price List", "_AB EUR Selling"):
			frappe.get_doc(
				{
					"doctype": "Price List",
					"price_list_name": "_AB EUR Selling",
					"currency": "EUR",
					"selling": 1,
				}
			).insert()
		self.assert_refused("cannot serve a generator", selling_price_list="_AB EUR Selling", currency="USD")

	def test_unknown_invoice_naming_series(self):
		self.assert_refused("is not a naming series of Sales Invoice", naming_series_for_invoice="NOPE-.####")

	def test_status_is_set_by_actions_not_by_editing(self):
		gen = make_generator()
		gen.status = "Completed"
		with self.assertRaises(frappe.ValidationError):
			gen.save()
		self.assertEqual(frappe.db.get_value("Accumulating Generator", gen.name, "status"), "Active")

	def test_delete_with_invoices_is_refused(self):
		gen = make_generator()
		self.assertTrue(frappe.db.exists("Accumulating Generator", gen.name))
		frappe.delete_doc("Accumulating Generator", gen.name)  # no invoices yet: allowed
		self.assertFalse(frappe.db.exists("Accumulating Generator", gen.name))
