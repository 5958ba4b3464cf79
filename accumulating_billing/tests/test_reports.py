"""The workspace's report and number cards on a real site (issue 6)."""

import json

import frappe
from frappe.desk.doctype.number_card.number_card import get_result

from accumulating_billing.accumulating_billing.report.upcoming_accumulating_invoices import (
	upcoming_accumulating_invoices as report,
)
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.utils import add, make_customer, make_generator, make_user


class TestUpcomingInvoicesReport(GenerationTestCase):
	def test_rows_and_chart(self):
		customer = make_customer()
		due = make_generator(customer, first_creation_date="2031-03-10")
		later = make_generator(customer, first_creation_date="2031-06-10")
		add(due.name, self.listing, qty=2, rate=15, service_date="2031-03-01")
		add(due.name, self.listing, qty=1, rate=5, service_date="2031-03-02")
		columns, rows, _message, chart = report.execute(
			{"from_date": "2031-03-01", "to_date": "2031-03-31", "customer": customer}
		)
		self.assertIn("unbilled_amount", [c["fieldname"] for c in columns])
		self.assertEqual([r.generator for r in rows], [due.name])
		self.assertEqual((rows[0].unbilled_items, rows[0].unbilled_amount), (2, 35))
		self.assertNotIn(later.name, [r.generator for r in rows])
		self.assertEqual(chart["data"]["labels"], ["2031-03-10"])
		self.assertEqual(chart["data"]["datasets"][0]["values"], [35])

	def test_rows_follow_the_users_permissions(self):
		mine = make_generator(first_creation_date="2031-03-10")
		other = make_generator(first_creation_date="2031-03-10")
		user = make_user(["Accounts User"])
		frappe.get_doc(
			{"doctype": "User Permission", "user": user, "allow": "Customer", "for_value": mine.customer}
		).insert(ignore_permissions=True)
		frappe.set_user(user)
		names = [r.generator for r in report.execute({"from_date": "2031-03-01", "to_date": "2031-03-31"})[1]]
		self.assertIn(mine.name, names)
		self.assertNotIn(other.name, names)


class TestNumberCards(GenerationTestCase):
	# Unbilled Accumulating Amount is the Unbilled Revenue report's total: test_unbilled_revenue.py
	def card(self, name: str):
		doc = frappe.get_doc("Number Card", name)
		return get_result(doc, json.dumps(json.loads(doc.filters_json)))

	def test_cards_count_what_they_say(self):
		active_before = self.card("Active Accumulating Generators")
		failing_before = self.card("Failing Accumulating Generators")
		make_generator()
		failing = make_generator()
		frappe.db.set_value("Accumulating Generator", failing.name, "consecutive_failures", 5)
		self.assertEqual(self.card("Active Accumulating Generators"), active_before + 2)
		self.assertEqual(self.card("Failing Accumulating Generators"), failing_before + 1)
