"""Generate Now (generation.generate_now): an off-cycle invoice of what is on the tab, once per click, even on a
Completed generator."""

import frappe

from accumulating_billing.billing import generation
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.utils import (
	add,
	make_generator,
	unbilled,
)


class TestGenerateNow(GenerationTestCase):
	def test_generate_now_bills_off_cycle_and_double_click_makes_one(self):
		gen = make_generator(
			first_creation_date="2026-02-01", end_condition="After N Invoices", end_after_invoices=3
		)
		add(gen.name, self.listing, service_date="2026-01-05")
		add(gen.name, self.listing, service_date="2026-01-25")  # after "today": waits
		frappe.db.commit()
		first, _message = generation.generate_now(gen.name, "2026-01-20")
		second, message = generation.generate_now(gen.name, "2026-01-20")
		self.assertTrue(first)
		self.assertIsNone(second)
		self.assertIn("Nothing to bill", message)
		si = frappe.get_doc("Sales Invoice", first)
		self.assertIsNone(si.accumulating_occurrence)
		self.assertEqual(str(si.posting_date), "2026-01-20")
		gen.reload()
		self.assertEqual((str(gen.next_creation_date), gen.invoices_generated), ("2026-02-01", 0))
		self.assertEqual(len(unbilled(gen.name)), 1)

	def test_generate_now_bills_what_a_completed_generator_still_holds(self):
		gen = make_generator(
			first_creation_date="2026-02-01", end_condition="After N Invoices", end_after_invoices=1
		)
		add(gen.name, self.listing, service_date="2026-01-05")
		add(gen.name, self.listing, service_date="2026-02-10")
		frappe.db.commit()
		run_generator(gen.name, "2026-02-01")
		self.assertEqual(frappe.db.get_value("Accumulating Generator", gen.name, "status"), "Completed")
		invoice, _message = generation.generate_now(gen.name, "2026-02-20")
		self.assertTrue(invoice)
		self.assertEqual(unbilled(gen.name), [])
