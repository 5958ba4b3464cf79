"""Generation end to end on a real site: items accumulate, runs bill them exactly once (DESIGN §4-§5)."""

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import getdate

from accumulating_billing.billing.generation import run_generator
from accumulating_billing.billing.tasks import process_due
from accumulating_billing.tests.utils import (
	add,
	ensure_fiscal_years,
	invoices_of,
	make_customer,
	make_generator,
	make_item,
	retire_created_generators,
	unbilled,
)


class GenerationTestCase(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_fiscal_years(2025, 2026, 2027)
		cls.backup = make_item("_AB Backup", price=40)
		cls.listing = make_item("_AB Listing Update")
		frappe.db.commit()

	def tearDown(self):
		retire_created_generators()


class TestBobExample(GenerationTestCase):
	def test_monthly_tab_for_bob(self):
		bob = make_customer("_AB Bob")
		gen = make_generator(bob, first_creation_date="2026-02-01", title="Bob website maintenance")
		add(gen.name, self.backup, qty=1, rate=None, service_date="2026-01-05")  # price list: 40
		add(gen.name, self.listing, qty=3, rate=15, service_date="2026-01-14")
		add(gen.name, self.backup, qty=1, rate=None, service_date="2026-01-28")
		frappe.db.commit()

		self.assertEqual(process_due("2026-01-31"), [])
		created = run_generator(gen.name, "2026-02-01").invoices
		self.assertEqual(len(created), 1)

		si = frappe.get_doc("Sales Invoice", created[0])
		self.assertEqual(si.docstatus, 1)
		self.assertEqual(getdate(si.posting_date), getdate("2026-02-01"))
		self.assertEqual(si.customer, bob)
		self.assertEqual(str(si.accumulating_occurrence), "2026-02-01")
		self.assertEqual(
			sorted((i.item_code, i.qty, i.rate) for i in si.items),
			sorted([(self.backup, 1, 40), (self.listing, 3, 15), (self.backup, 1, 40)]),
		)
		self.assertEqual(si.net_total, 125)
		self.assertEqual(si.grand_total, 125)
		self.assertTrue(all(i.accumulating_generator_item for i in si.items))

		self.assertEqual(unbilled(gen.name), [])
		gen.reload()
		self.assertEqual(str(gen.next_creation_date), "2026-03-01")
		self.assertEqual(gen.invoices_generated, 1)
		self.assertEqual(str(gen.last_creation_date), "2026-02-01")
		billed = frappe.get_all(
			"Accumulating Generator Item", filters={"generator": gen.name}, fields=["status", "sales_invoice"]
		)
		self.assertEqual({(b.status, b.sales_invoice) for b in billed}, {("Billed", si.name)})

		# a second run on the same day makes nothing
		self.assertEqual(run_generator(gen.name, "2026-02-01").invoices, [])
		self.assertEqual(len(invoices_of(gen.name)), 1)
