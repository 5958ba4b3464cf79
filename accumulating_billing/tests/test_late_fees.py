"""Late fees on overdue generated invoices (issue 13): once per invoice after the grace days, on the tab or as a
Dunning; none when paid in time; withdrawn when the invoice is cancelled or credited in full."""

import frappe

from accumulating_billing.billing import tasks
from accumulating_billing.billing.generation import generate_now, run_generator
from accumulating_billing.doctypes import ITEM
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.faults.connections import Connection
from accumulating_billing.tests.ledger import credit_in_full, pay_with_payment_entry
from accumulating_billing.tests.utils import add, company, make_customer, make_generator, make_item


def fees_of(invoice: str) -> list:
	return frappe.get_all(
		ITEM,
		filters={"source_doctype": "Sales Invoice", "source_detail": invoice},
		fields=["name", "generator", "status", "rate", "amount", "service_date", "description"],
	)


def dunning_type() -> str:
	name = frappe.db.get_value("Dunning Type", {"dunning_type": "_AB Reminder", "company": company()})
	if name:
		return name
	return (
		frappe.get_doc(
			{
				"doctype": "Dunning Type",
				"dunning_type": "_AB Reminder",
				"company": company(),
				"dunning_fee": 5,
				"rate_of_interest": 0,
				"income_account": frappe.db.get_value(
					"Account", {"company": company(), "account_type": "Income Account", "is_group": 0}
				),
				"cost_center": frappe.get_cached_value("Company", company(), "cost_center"),
			}
		)
		.insert(ignore_permissions=True)
		.name
	)


class TestLateFees(GenerationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.fee_item = make_item("_AB Late Fee")
		frappe.db.commit()

	def setUp(self):
		tasks.apply_late_fees("2026-12-31")  # overdue invoices of earlier tests are charged: not this test's
		frappe.db.commit()

	def overdue(self, **settings) -> tuple[str, str]:
		"""An invoice of 100.00 dated 1 Feb 2026, due 11 Feb, late from 17 Feb (5 grace days); committed."""
		values = {
			"late_fee_type": "Fixed Amount",
			"late_fee_amount": 15,
			"late_fee_item": self.fee_item,
			"late_fee_grace_days": 5,
			**settings,
		}
		gen = make_generator(make_customer(), due_days=10, **values)
		add(gen.name, self.listing, qty=2, rate=50, service_date="2026-01-10")
		frappe.db.commit()
		invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		return gen.name, invoice

	def test_one_fee_after_the_grace_days_billed_on_the_next_invoice(self):
		gen, invoice = self.overdue()
		self.assertEqual(tasks.apply_late_fees("2026-02-16"), [])
		created = tasks.apply_late_fees("2026-02-17")
		fees = fees_of(invoice)
		self.assertEqual(created, [f.name for f in fees])
		self.assertEqual(
			[(f.generator, f.amount, str(f.service_date)) for f in fees], [(gen, 15, "2026-02-17")]
		)
		self.assertIn(invoice, fees[0].description)
		self.assertEqual(tasks.apply_late_fees("2026-02-18"), [])  # never twice
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "accumulating_late_fee"), fees[0].name)
		march = run_generator(gen, "2026-03-01").invoices
		self.assertEqual(len(march), 1)
		self.assertEqual(frappe.db.get_value(ITEM, fees[0].name, "sales_invoice"), march[0])

	def test_a_percentage_of_the_outstanding_amount(self):
		_gen, invoice = self.overdue(late_fee_type="Percentage", late_fee_percentage=2.5, late_fee_amount=0)
		pay_with_payment_entry(invoice, "2026-02-10", amount=40)
		frappe.db.commit()
		tasks.apply_late_fees("2026-02-20")
		self.assertEqual([f.amount for f in fees_of(invoice)], [1.5])  # 2.5 % of 60.00

	def test_paid_in_time_means_no_fee(self):
		_gen, invoice = self.overdue()
		pay_with_payment_entry(invoice, "2026-02-12")
		frappe.db.commit()
		self.assertEqual(tasks.apply_late_fees("2026-03-20"), [])
		self.assertEqual(fees_of(invoice), [])

	def test_a_cancelled_invoice_takes_its_fee_off_the_tab(self):
		gen, invoice = self.overdue()
		tasks.apply_late_fees("2026-02-17")
		self.assertEqual(len(fees_of(invoice)), 1)
		frappe.get_doc("Sales Invoice", invoice).cancel()
		frappe.db.commit()
		self.assertEqual(fees_of(invoice), [])
		self.assertTrue(
			frappe.db.exists("Comment", {"reference_name": gen, "content": ("like", "%late fee%")})
		)

	def test_an_invoice_credited_in_full_takes_its_fee_off_the_tab(self):
		_gen, invoice = self.overdue()
		tasks.apply_late_fees("2026-02-17")
		credit_in_full(invoice, "2026-02-20")
		frappe.db.commit()
		self.assertEqual(fees_of(invoice), [])

	def test_a_completed_generator_still_gets_the_fee(self):
		gen, invoice = self.overdue(end_condition="After N Invoices", end_after_invoices=1)
		self.assertEqual(frappe.db.get_value("Accumulating Generator", gen, "status"), "Completed")
		tasks.apply_late_fees("2026-02-17")
		self.assertEqual(len(fees_of(invoice)), 1)
		billed, _message = generate_now(gen, "2026-02-20")
		self.assertTrue(billed)

	def test_two_concurrent_jobs_charge_once(self):
		_gen, invoice = self.overdue()
		site = frappe.local.site
		connections = [Connection(site, "ab-fee-a"), Connection(site, "ab-fee-b")]
		try:
			futures = [conn.submit(tasks.apply_late_fees, "2026-02-17") for conn in connections]
			results = [future.result(120) for future in futures]
		finally:
			for conn in connections:
				conn.close()
		frappe.db.rollback()
		self.assertEqual(len(fees_of(invoice)), 1)
		self.assertEqual(sum(len(r) for r in results), 1)

	def test_the_dunning_variant(self):
		_gen, invoice = self.overdue(late_fee_as_dunning=1, dunning_type=dunning_type(), late_fee_item=None)
		created = tasks.apply_late_fees("2026-02-17")
		self.assertEqual(len(created), 1)
		dunning = frappe.get_doc("Dunning", created[0])
		self.assertEqual([row.sales_invoice for row in dunning.overdue_payments], [invoice])
		self.assertEqual((dunning.docstatus, dunning.dunning_fee), (0, 15))
		self.assertEqual(fees_of(invoice), [])
		self.assertEqual(tasks.apply_late_fees("2026-02-18"), [])
		frappe.get_doc("Sales Invoice", invoice).cancel()
		frappe.db.commit()
		self.assertFalse(frappe.db.exists("Dunning", created[0]))
