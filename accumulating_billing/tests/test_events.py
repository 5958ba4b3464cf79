"""Sales Invoice events on generated invoices (billing/events.py): cancelling or deleting returns the items to the
tab, an amended invoice re-bills them once, a generator with invoices cannot be deleted."""

import frappe

from accumulating_billing.billing.generation import run_generator
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.utils import (
	add,
	make_generator,
	unbilled,
)


class TestReleaseOnCancelOrDelete(GenerationTestCase):
	def test_cancel_returns_items_and_next_invoice_picks_them_up(self):
		gen = make_generator()
		items = sorted(add(gen.name, self.listing, service_date=d).name for d in ("2026-01-05", "2026-01-06"))
		frappe.db.commit()
		invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		frappe.get_doc("Sales Invoice", invoice).cancel()
		frappe.db.commit()
		self.assertEqual(sorted(unbilled(gen.name)), items)
		comments = frappe.get_all(
			"Comment",
			filters={"reference_doctype": "Accumulating Generator", "reference_name": gen.name},
			pluck="content",
		)
		self.assertTrue(any(invoice in c for c in comments))
		again = run_generator(gen.name, "2026-03-01").invoices
		self.assertEqual(frappe.db.count("Sales Invoice Item", {"parent": again[0]}), 2)

	def test_deleting_a_generated_draft_returns_items(self):
		gen = make_generator(generate_as="Draft")
		item = add(gen.name, self.listing, service_date="2026-01-05").name
		frappe.db.commit()
		invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		frappe.delete_doc("Sales Invoice", invoice)
		self.assertEqual(unbilled(gen.name), [item])
		self.assertFalse(frappe.db.exists("Sales Invoice", invoice))

	def test_deleting_a_generator_with_invoices_is_refused(self):
		gen = make_generator()
		add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.commit()
		run_generator(gen.name, "2026-02-01")
		with self.assertRaises(frappe.ValidationError) as ctx:
			frappe.delete_doc("Accumulating Generator", gen.name)
		self.assertIn("Archive", str(ctx.exception))

	def test_amending_a_cancelled_invoice_rebills_once(self):
		gen = make_generator()
		add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.commit()
		original = frappe.get_doc("Sales Invoice", run_generator(gen.name, "2026-02-01").invoices[0])
		original.cancel()
		amended = frappe.copy_doc(original)
		amended.docstatus = 0
		amended.amended_from = original.name
		amended.accumulating_generator = original.accumulating_generator
		amended.accumulating_occurrence = original.accumulating_occurrence
		amended.insert()
		amended.submit()
		self.assertIsNone(amended.accumulating_occurrence)
		self.assertEqual(unbilled(gen.name), [])
		frappe.db.commit()
		self.assertEqual(run_generator(gen.name, "2026-03-01").invoices, [])
