"""What ERPNext would refuse on the invoice is caught when a line enters a tab (issue 19, section 1).

A person adding a line by hand (add_item, the item form) gets ERPNext's own message and nothing is written. A
Timesheet or Delivery Note submit (or a generator's Sync) never fails because of the app: the line that would
be refused goes on the tab On Hold with ERPNext's reason, and the document gets a comment. A late fee that would
be refused goes on the tab On Hold too. The Timesheet Item and the Late Fee Item are checked when a generator or
template is saved.
"""

import frappe
from frappe.utils import getdate

from accumulating_billing import api
from accumulating_billing.billing import late_fees, line_check
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.doctypes import GENERATOR, ITEM
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.source_docs import (
	comments_on,
	deliver_sales_order,
	make_delivery_note,
	make_sales_order,
	make_timesheet,
	service_item,
	stock_item,
)
from accumulating_billing.tests.utils import (
	add,
	make_customer,
	make_generator,
	make_item,
	make_template,
	make_template_item,
	make_uom,
)


def tab(generator: str) -> list:
	return frappe.get_all(
		ITEM,
		filters={"generator": generator},
		fields=["name", "qty", "status", "hold_reason", "source_name", "service_date"],
		order_by="service_date asc",
	)


class RefusedAtEntryTestCase(GenerationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.nos_item = make_item("_AB Whole Units")  # stock UOM Nos: Must be Whole Number
		cls.hour = service_item()
		frappe.db.commit()

	def assert_refused_and_nothing_written(self, phrase: str, call):
		before = frappe.db.count(ITEM)
		with self.assertRaises(frappe.ValidationError) as ctx:
			call()
		self.assertIn(phrase.lower(), str(ctx.exception).lower())
		self.assertEqual(frappe.db.count(ITEM), before)


class TestByHand(RefusedAtEntryTestCase):
	def test_a_fraction_in_a_whole_number_uom_is_refused_by_add_item_and_the_form(self):
		gen = make_generator()
		self.assert_refused_and_nothing_written(
			"cannot be a fraction", lambda: api.add_item(gen.name, self.nos_item, qty=1.5, rate=10)
		)
		self.assert_refused_and_nothing_written(
			"cannot be a fraction", lambda: add(gen.name, self.nos_item, qty=2.25)
		)
		# a whole qty of the same item, and a fraction of an item sold in hours, are fine
		self.assertTrue(api.add_item(gen.name, self.nos_item, qty=2, rate=10))
		self.assertTrue(api.add_item(gen.name, self.hour, qty=1.5, rate=10))

	def test_a_disabled_item_is_refused_with_erpnexts_message(self):
		gen = make_generator()
		code = make_item(f"_AB Retired {frappe.generate_hash(length=5)}")
		api.add_item(gen.name, code, rate=10)
		item = frappe.get_doc("Item", code)
		item.disabled = 1
		item.save()
		self.assert_refused_and_nothing_written(
			f"Item {code} is disabled", lambda: api.add_item(gen.name, code, rate=10)
		)

	def test_a_template_with_variants_is_refused(self):
		gen = make_generator()
		code = make_template_item()
		self.assert_refused_and_nothing_written(
			"is a template", lambda: api.add_item(gen.name, code, rate=10)
		)

	def test_an_item_past_its_end_of_life_is_refused(self):
		gen = make_generator()
		code = make_item(f"_AB Old Model {frappe.generate_hash(length=5)}", end_of_life="2001-01-01")
		self.assert_refused_and_nothing_written(
			"has reached its end of life", lambda: api.add_item(gen.name, code, rate=10)
		)

	def test_a_uom_without_conversion_and_a_discount_above_the_items_maximum(self):
		gen = make_generator()
		make_uom("_AB Crate")
		self.assert_refused_and_nothing_written(
			"has no conversion",
			lambda: api.add_item(gen.name, self.nos_item, rate=10, uom="_AB Crate"),
		)
		capped = make_item(f"_AB Capped {frappe.generate_hash(length=5)}", max_discount=10)
		self.assert_refused_and_nothing_written(
			"maximum discount",
			lambda: api.add_item(gen.name, capped, rate=10, discount_percentage=15),
		)
		self.assertTrue(api.add_item(gen.name, capped, rate=10, discount_percentage=10))

	def test_a_held_line_corrected_by_hand_is_back_on_the_tab(self):
		gen = make_generator()
		item = add(gen.name, self.nos_item, qty=2)
		frappe.db.set_value(ITEM, item.name, {"status": "On Hold", "hold_reason": "a reason"})
		item.reload()
		item.qty = 2.5
		self.assertRaises(frappe.ValidationError, item.save)  # still refused: it stays held
		item.reload()
		item.qty = 3
		item.save()
		self.assertEqual(
			frappe.db.get_value(ITEM, item.name, ["status", "hold_reason", "qty"]), ("Unbilled", None, 3)
		)

	def test_the_batched_and_the_cached_check_agree(self):
		code = make_template_item()
		lines = [
			{"name": "ok", "item_code": self.hour, "uom": None, "qty": 1.5, "rate": 10},
			{"name": "fraction", "item_code": self.nos_item, "uom": "Nos", "qty": 1.5, "rate": 10},
			{"name": "template", "item_code": code, "uom": "Nos", "qty": 1, "rate": 10},
			{"name": "unknown", "item_code": "_AB no such item", "uom": "Nos", "qty": 1, "rate": 10},
			{"name": "negative", "item_code": self.hour, "uom": None, "qty": 1, "rate": -1},
			{"name": "huge", "item_code": self.hour, "uom": None, "qty": 10, "rate": 10**11},
			{"name": "zero", "item_code": self.hour, "uom": None, "qty": 0, "rate": 1},
		]
		batched = line_check.refusals(lines)
		self.assertEqual(set(batched), {"fraction", "template", "unknown", "negative", "huge", "zero"})
		cached = {}
		for line in lines:
			cached.update(line_check.refusals([line], cached=True))
		self.assertEqual(cached, batched)


class TestFromSources(RefusedAtEntryTestCase):
	def test_a_fractional_time_log_in_a_whole_number_uom_goes_on_hold_and_the_submit_succeeds(self):
		"""The Timesheet Item's UOM became Must be Whole Number after the generator was set up."""
		uom = make_uom("_AB Session")
		code = make_item("_AB Session Hour", stock_uom=uom)
		customer = make_customer()
		gen = make_generator(customer, accumulate_timesheets=1, timesheet_item=code)
		frappe.db.set_value("UOM", uom, "must_be_whole_number", 1)
		self.addCleanup(self.restore_uom, uom)

		ts = make_timesheet(
			[{"start": "2026-01-05 09:00", "hours": 2}, {"start": "2026-01-06 09:00", "hours": 1.5}],
			customer=customer,
		)
		self.assertEqual(frappe.db.get_value("Timesheet", ts.name, "docstatus"), 1)
		lines = tab(gen.name)
		self.assertEqual([(line.qty, line.status) for line in lines], [(2, "Unbilled"), (1.5, "On Hold")])
		self.assertIn("cannot be a fraction", lines[1].hold_reason)
		self.assertIsNone(lines[0].hold_reason)
		comments = [c for c in comments_on("Timesheet", ts.name) if "On Hold" in c]
		self.assertEqual(len(comments), 1)
		self.assertIn("#2", comments[0])
		self.assertIn(gen.name, comments[0])
		self.assertIn("cannot be a fraction", comments[0])

		# the held line is not billed; the other one is
		frappe.db.commit()
		result = run_generator(gen.name, "2026-02-01")
		self.assertEqual(len(result.invoices), 1, result.error)
		si = frappe.get_doc("Sales Invoice", result.invoices[0])
		self.assertEqual([row.qty for row in si.items], [2])
		self.assertEqual(frappe.db.get_value(ITEM, lines[1].name, "status"), "On Hold")

	def test_update_billing_amount_to_whole_hours_puts_the_held_line_back(self):
		uom = make_uom("_AB Visit")
		code = make_item("_AB Visit Hour", stock_uom=uom)
		customer = make_customer()
		gen = make_generator(customer, accumulate_timesheets=1, timesheet_item=code)
		frappe.db.set_value("UOM", uom, "must_be_whole_number", 1)
		self.addCleanup(self.restore_uom, uom)
		ts = make_timesheet([{"start": "2026-01-05 09:00", "hours": 1.5}], customer=customer)
		self.assertEqual([line.status for line in tab(gen.name)], ["On Hold"])
		ts.time_logs[0].billing_hours = 2
		ts.time_logs[0].billing_amount = 100
		ts.save()  # Update Billing Amount on the submitted Timesheet
		self.assertEqual(
			[(line.qty, line.status, line.hold_reason) for line in tab(gen.name)], [(2, "Unbilled", None)]
		)

	def test_a_disabled_timesheet_item_holds_the_lines(self):
		code = make_item(f"_AB Hours {frappe.generate_hash(length=5)}", stock_uom="Hour")
		customer = make_customer()
		gen = make_generator(customer, accumulate_timesheets=1, timesheet_item=code)
		item = frappe.get_doc("Item", code)
		item.disabled = 1
		item.save()
		ts = make_timesheet([{"start": "2026-01-05 09:00", "hours": 2}], customer=customer)
		lines = tab(gen.name)
		self.assertEqual([line.status for line in lines], ["On Hold"])
		self.assertIn(f"Item {code} is disabled", lines[0].hold_reason)
		self.assertTrue(any("On Hold" in c for c in comments_on("Timesheet", ts.name)))

	def test_stop_the_invoice_takes_the_line_unbilled_and_its_billing_day_fails(self):
		"""All or nothing: a generator set to Stop the Invoice holds nothing at entry either; the line goes on the
		tab Unbilled and its billing day fails, as before held lines existed."""
		code = make_item(f"_AB Hours {frappe.generate_hash(length=5)}", stock_uom="Hour")
		customer = make_customer()
		gen = make_generator(
			customer,
			accumulate_timesheets=1,
			timesheet_item=code,
			on_refused_line="Stop the Invoice",
			first_creation_date="2026-02-01",
		)
		item = frappe.get_doc("Item", code)
		item.disabled = 1
		item.save()
		make_timesheet([{"start": "2026-01-05 09:00", "hours": 2}], customer=customer)
		self.assertEqual([(line.status, line.hold_reason) for line in tab(gen.name)], [("Unbilled", None)])
		frappe.db.commit()
		run_generator(gen.name, "2026-02-01")
		self.assertEqual([line.status for line in tab(gen.name)], ["Unbilled"])
		self.assertEqual(frappe.db.get_value("Accumulating Generator", gen.name, "consecutive_failures"), 1)
		self.assertFalse(frappe.db.exists("Sales Invoice", {"accumulating_generator": gen.name}))

	def test_a_delivery_note_line_of_a_closed_sales_order_goes_on_hold(self):
		"""Delivered while the Sales Order was open and before the tab took Delivery Notes; the Sales Order was
		then closed: the generator's Sync brings the line On Hold, with ERPNext's reason."""
		from erpnext.selling.doctype.sales_order.sales_order import update_status

		router = stock_item()
		customer = make_customer()
		gen = make_generator(customer)
		closed = make_sales_order(customer, [{"item_code": router, "qty": 2, "rate": 30}], "2026-01-02")
		still_open = make_sales_order(customer, [{"item_code": router, "qty": 1, "rate": 30}], "2026-01-02")
		closed_dn = deliver_sales_order(closed, "2026-01-05")
		open_dn = deliver_sales_order(still_open, "2026-01-06")
		update_status("Closed", closed.name)

		gen.reload()
		gen.accumulate_delivery_notes = 1
		gen.save()
		added = api.sync_sources(gen.name)
		self.assertEqual(len(added), 2)
		lines = {line.source_name: line for line in tab(gen.name)}
		self.assertEqual(lines[open_dn.name].status, "Unbilled")
		self.assertEqual(lines[closed_dn.name].status, "On Hold")
		self.assertIn(f"Sales Order {closed.name} is Closed", lines[closed_dn.name].hold_reason)
		self.assertTrue(any(closed.name in c for c in comments_on("Delivery Note", closed_dn.name)))
		self.assertFalse(any("On Hold" in c for c in comments_on("Delivery Note", open_dn.name)))

	def test_a_delivery_note_line_in_a_fraction_of_a_whole_number_uom_is_not_the_apps_to_refuse(self):
		"""ERPNext itself refuses a fractional Delivery Note in Nos; a Delivery Note it accepted is on the tab."""
		router = stock_item()
		customer = make_customer()
		gen = make_generator(customer, accumulate_delivery_notes=1)
		make_delivery_note(customer, [{"item_code": router, "qty": 3, "rate": 25}], "2026-01-05")
		self.assertEqual([line.status for line in tab(gen.name)], ["Unbilled"])

	def restore_uom(self, uom: str):
		frappe.db.rollback()
		frappe.db.set_value("UOM", uom, "must_be_whole_number", 0)
		frappe.db.commit()


class TestLateFeeAtEntry(RefusedAtEntryTestCase):
	def test_a_late_fee_erpnext_would_refuse_goes_on_hold_once(self):
		fee_item = make_item(f"_AB Fee {frappe.generate_hash(length=5)}")
		gen = make_generator(
			make_customer(),
			due_days=10,
			late_fee_type="Fixed Amount",
			late_fee_amount=15,
			late_fee_item=fee_item,
		)
		add(gen.name, self.listing, qty=2, rate=50, service_date="2026-01-10")
		frappe.db.commit()
		invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		item = frappe.get_doc("Item", fee_item)
		item.disabled = 1
		item.save()

		fee = late_fees.charge(invoice, getdate("2026-02-12"))
		self.assertTrue(fee)
		self.assertEqual(
			frappe.db.get_value(ITEM, fee, ["status", "rate", "source_detail"]), ("On Hold", 15, invoice)
		)
		self.assertIn("is disabled", frappe.db.get_value(ITEM, fee, "hold_reason"))
		self.assertTrue(any(invoice in c and "On Hold" in c for c in comments_on(GENERATOR, gen.name)))
		# charged once: the invoice is claimed
		self.assertIsNone(late_fees.charge(invoice, getdate("2026-02-13")))


class TestSettingsOnSave(RefusedAtEntryTestCase):
	def test_a_timesheet_item_in_a_whole_number_uom_is_refused_on_generator_and_template(self):
		for make in (
			lambda: make_generator(accumulate_timesheets=1, timesheet_item=self.nos_item),
			lambda: make_template(accumulate_timesheets=1, timesheet_item=self.nos_item),
		):
			with self.assertRaises(frappe.ValidationError) as ctx:
				make()
			message = str(ctx.exception)
			self.assertIn("whole number", message)
			self.assertIn("Nos", message)
			self.assertIn("such as Hour", message)  # what to change
			self.assertIn("cannot be a fraction", message)  # ERPNext's own reason
		self.assertTrue(make_generator(accumulate_timesheets=1, timesheet_item=self.hour).name)

	def test_a_late_fee_item_in_a_whole_number_uom_is_accepted(self):
		"""A fee is always one unit: ERPNext never refuses it for a fraction, so Nos is fine."""
		gen = make_generator(late_fee_type="Fixed Amount", late_fee_amount=5, late_fee_item=self.nos_item)
		self.assertEqual(gen.late_fee_item, self.nos_item)

	def test_a_template_with_variants_or_a_disabled_item_is_refused_as_timesheet_or_late_fee_item(self):
		code = make_template_item()
		disabled = make_item(f"_AB Disabled Fee {frappe.generate_hash(length=5)}", disabled=1)
		for values, phrase in (
			({"accumulate_timesheets": 1, "timesheet_item": code}, "is a template"),
			({"late_fee_type": "Fixed Amount", "late_fee_amount": 5, "late_fee_item": code}, "is a template"),
			(
				{"late_fee_type": "Fixed Amount", "late_fee_amount": 5, "late_fee_item": disabled},
				"is disabled",
			),
		):
			with self.assertRaises(frappe.ValidationError) as ctx:
				make_generator(**values)
			self.assertIn(phrase, str(ctx.exception))
