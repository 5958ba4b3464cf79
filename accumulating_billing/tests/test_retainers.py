"""Prepaid retainers (issue 14): with Apply Advances Automatically, generated invoices take the customer's
unallocated advance payments, oldest first, in the company currency and in the customer's currency."""

import frappe

from accumulating_billing import api
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.billing.portal import running_tabs
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.ledger import euro_customer, receive_advance
from accumulating_billing.tests.utils import add, make_customer, make_generator, portal_user_for

MONTHS = ("2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01")


class TestRetainers(GenerationTestCase):
	def retainer_case(self, customer: str, **settings):
		"""A monthly generator of 100.00 a month (items in January to April) with advances applied."""
		gen = make_generator(customer, apply_advances_automatically=1, **settings)
		for month in ("01", "02", "03", "04"):
			add(gen.name, self.listing, qty=1, rate=100, service_date=f"2026-{month}-10")
		frappe.db.commit()
		return gen

	def bill_four_months(self, gen) -> list[float]:
		outstanding = []
		for day in MONTHS:
			invoices = run_generator(gen.name, day).invoices
			self.assertEqual(len(invoices), 1, day)
			outstanding.append(frappe.db.get_value("Sales Invoice", invoices[0], "outstanding_amount"))
		return outstanding

	def test_a_retainer_pays_three_invoices_and_part_of_the_fourth(self):
		customer = make_customer()
		receive_advance(customer, 350, "2026-01-02")
		gen = self.retainer_case(customer)
		self.assertEqual(api.get_tab(gen.name)["advance"]["amount"], 350)
		self.assertEqual(self.bill_four_months(gen), [0, 0, 0, 50])
		self.assertEqual(api.get_tab(gen.name)["advance"]["amount"], 0)

	def test_oldest_advance_first_and_the_portal_shows_the_balance(self):
		customer = make_customer()
		first = receive_advance(customer, 60, "2026-01-02")
		second = receive_advance(customer, 500, "2026-01-20")
		gen = self.retainer_case(customer, title="Retainer tab")
		invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		advances = frappe.get_all(
			"Sales Invoice Advance",
			filters={"parent": invoice},
			fields=["reference_name", "allocated_amount"],
			order_by="idx asc",
		)
		self.assertEqual(
			[(a.reference_name, a.allocated_amount) for a in advances], [(first.name, 60), (second.name, 40)]
		)
		tab = next(t for t in running_tabs(portal_user_for(customer)) if t["title"] == "Retainer tab")
		self.assertEqual(tab["advance"]["amount"], 460)

	def test_an_advance_in_the_customer_currency(self):
		customer, account = euro_customer()
		receive_advance(customer, 350, "2026-01-02", account=account, rate=1.1)
		gen = self.retainer_case(customer, currency="EUR", selling_price_list="_AB EUR Selling")
		self.assertEqual(self.bill_four_months(gen), [0, 0, 0, 50])
		self.assertEqual(
			{
				frappe.db.get_value("Sales Invoice", i.name, "currency")
				for i in frappe.get_all(
					"Sales Invoice", filters={"accumulating_generator": gen.name}, fields=["name"]
				)
			},
			{"EUR"},
		)

	def test_without_the_setting_advances_stay(self):
		customer = make_customer()
		receive_advance(customer, 350, "2026-01-02")
		gen = make_generator(customer)
		add(gen.name, self.listing, qty=1, rate=100, service_date="2026-01-10")
		frappe.db.commit()
		invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "outstanding_amount"), 100)
