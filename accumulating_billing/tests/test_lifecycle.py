"""Pause and resume (billing/lifecycle.py): the rhythm is kept, paused occurrences are not caught up, a paused
generator resumes by itself on its date, and the API checks permission."""

import frappe
from frappe.utils import getdate

from accumulating_billing import api
from accumulating_billing.billing import lifecycle, tasks
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.utils import (
	add,
	invoices_of,
	make_generator,
)


class TestPauseResume(GenerationTestCase):
	def test_pause_then_resume_keeps_rhythm_and_skips_paused_occurrences(self):
		gen = make_generator(first_creation_date="2026-02-01")
		add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.commit()
		lifecycle.pause(gen.name)
		frappe.db.commit()
		self.assertEqual(run_generator(gen.name, "2026-04-10").invoices, [])  # paused: nothing
		add(gen.name, self.listing, service_date="2026-03-05")  # items can still be added
		next_date = lifecycle.resume(gen.name, "2026-04-10")
		frappe.db.commit()
		self.assertEqual(str(next_date), "2026-05-01")
		missed = frappe.get_all(
			"Accumulating Generation Log",
			filters={"generator": gen.name, "outcome": "Missed"},
			pluck="occurrence_date",
		)
		self.assertEqual(sorted(str(d) for d in missed), ["2026-02-01", "2026-03-01", "2026-04-01"])
		created = run_generator(gen.name, "2026-05-01").invoices
		self.assertEqual(len(created), 1)
		self.assertEqual(frappe.db.count("Sales Invoice Item", {"parent": created[0]}), 2)

	def test_paused_generator_resumes_by_itself(self):
		gen = make_generator(first_creation_date="2026-02-01")
		add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.set_value(
			"Accumulating Generator", gen.name, {"status": "Paused", "resume_date": "2026-03-15"}
		)
		frappe.db.commit()
		self.assertIn(gen.name, tasks.due_generators(getdate("2026-03-15")))
		created = tasks.process_due("2026-04-01")
		gen.reload()
		self.assertEqual(gen.status, "Active")
		self.assertEqual(len([i for i in created if i in {x.name for x in invoices_of(gen.name)}]), 1)
		self.assertEqual(str(gen.next_creation_date), "2026-05-01")

	def test_api_checks_permission(self):
		gen = make_generator()
		frappe.db.commit()
		frappe.set_user("Guest")
		try:
			with self.assertRaises(frappe.PermissionError):
				api.pause(gen.name)
		finally:
			frappe.set_user("Administrator")
