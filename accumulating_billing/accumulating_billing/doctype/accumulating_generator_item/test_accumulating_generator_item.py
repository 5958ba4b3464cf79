# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from accumulating_billing.tests.utils import add, make_generator, make_item


class TestAccumulatingGeneratorItemValidation(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.item = make_item("_AB Service", price=25)

	def setUp(self):
		self.gen = make_generator()

	def assert_refused(self, message_part: str, **kw):
		count = frappe.db.count("Accumulating Generator Item")
		values = {"item_code": self.item, "qty": 1, "rate": 10, "service_date": "2026-01-10"}
		values.update(kw)
		with self.assertRaises(frappe.ValidationError) as ctx:
			add(self.gen.name, **values)
		self.assertIn(message_part, str(ctx.exception))
		self.assertEqual(frappe.db.count("Accumulating Generator Item"), count)

	def test_valid_item_defaults(self):
		item = add(
			self.gen.name, self.item, qty=2, rate=None, service_date="2026-01-10", discount_percentage=10
		)
		self.assertEqual(item.rate, 25)
		self.assertEqual(item.amount, 45)
		self.assertEqual(item.status, "Unbilled")
		self.assertEqual(item.added_by, frappe.session.user)
		self.assertEqual(item.customer, self.gen.customer)
		self.assertEqual(item.uom, "Nos")

	def test_qty_not_positive(self):
		self.assert_refused("Quantity must be greater than 0", qty=0)
		self.assert_refused("Quantity must be greater than 0", qty=-2)

	def test_negative_rate(self):
		self.assert_refused("Rate cannot be negative", rate=-1)

	def test_unknown_item(self):
		self.assert_refused("_AB-NO-SUCH-ITEM", item_code="_AB-NO-SUCH-ITEM")

	def test_disabled_item(self):
		code = make_item(f"_AB Disabled {frappe.generate_hash(length=5)}")
		frappe.db.set_value("Item", code, "disabled", 1)
		self.assert_refused("is disabled", item_code=code)

	def test_item_disabled_after_use_is_refused(self):
		# the item check reads the document cache: saving the Item must be seen at once
		code = make_item(f"_AB Later Disabled {frappe.generate_hash(length=5)}")
		add(self.gen.name, code)
		item = frappe.get_doc("Item", code)
		item.disabled = 1
		item.save()
		self.assert_refused("is disabled", item_code=code)

	def test_an_item_code_typed_in_another_case_is_stored_as_the_items_own_name(self):
		code = make_item(f"_AB Case Item {frappe.generate_hash(length=5)}")
		item = add(self.gen.name, code.lower(), uom="nos")
		self.assertEqual((item.item_code, item.uom), (code, "Nos"))
		doc = frappe.get_doc("Item", code)
		doc.disabled = 1
		doc.save()
		self.assert_refused("is disabled", item_code=code.lower())

	def test_not_a_sales_item(self):
		code = make_item(f"_AB Internal {frappe.generate_hash(length=5)}", is_sales_item=0)
		self.assert_refused("is not marked as sales item", item_code=code)

	def test_completed_or_archived_generator(self):
		for status in ("Completed", "Archived"):
			frappe.db.set_value("Accumulating Generator", self.gen.name, "status", status)
			self.assert_refused(f"is {status}")

	def test_service_date_after_end_date(self):
		self.gen = make_generator(end_condition="On Date", end_date="2026-06-30")
		self.assert_refused("is after the generator's end date", service_date="2026-07-01")

	def test_billed_item_cannot_be_edited_or_deleted(self):
		item = add(self.gen.name, self.item)
		frappe.db.set_value("Accumulating Generator Item", item.name, "status", "Billed")
		item.reload()
		item.qty = 5
		with self.assertRaises(frappe.ValidationError):
			item.save()
		with self.assertRaises(frappe.ValidationError):
			frappe.delete_doc("Accumulating Generator Item", item.name)
		self.assertEqual(frappe.db.get_value("Accumulating Generator Item", item.name, "qty"), 1)
