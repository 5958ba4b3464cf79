"""Unbilled Revenue as of any date (issue 29): the report, its as-of rule through every way a tab line's billing
changes, the conversion into the company currency, the drill-down, who may run it, and the number card."""

import json

from freezegun import freeze_time

import frappe
from frappe.utils import getdate

from accumulating_billing.billing.generation import generate_now, run_generator
from accumulating_billing.billing.unbilled import exchange_rate
from accumulating_billing.doctypes import CONTRIBUTOR_ROLE, ITEM
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.ledger import euro_customer
from accumulating_billing.tests.source_docs import (
	make_delivery_note,
	make_return,
	make_timesheet,
	service_item,
	stock_item,
)
from accumulating_billing.tests.unbilled_utils import (
	REPORT,
	YEARS,
	forget_tab_lines,
	report_rows,
	run_report,
	selling_rate,
)
from accumulating_billing.tests.utils import (
	CREATED_GENERATORS,
	add,
	company,
	ensure_fiscal_years,
	fetch,
	login,
	make_customer,
	make_generator,
	make_item,
	make_user,
	portal_user_for,
)

BUCKETS = ("age_0_30", "age_31_60", "age_61_90", "age_over_90")


class UnbilledTestCase(GenerationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_fiscal_years(*YEARS)
		frappe.db.commit()

	def tearDown(self):
		# the lines of this test's tabs would count in every later as-of figure of the company
		forget_tab_lines(list(CREATED_GENERATORS))
		super().tearDown()

	def row(self, customer: str, as_of: str, **filters) -> dict | None:
		"""The customer's one row (one tab) as of `as_of`, or None when nothing of it is unbilled."""
		rows = report_rows(company=company(), customer=customer, as_of_date=as_of, **filters)
		self.assertLessEqual(len(rows), 1, rows)
		return rows[0] if rows else None

	def figures(self, customer: str, as_of: str) -> tuple:
		"""(amount, company-currency amount, the four age buckets) of the customer's tab, zeros when none."""
		row = self.row(customer, as_of) or {}
		return (
			row.get("amount", 0),
			row.get("amount_in_company_currency", 0),
			*(row.get(key, 0) for key in BUCKETS),
		)


class TestAsOfAnyDate(UnbilledTestCase):
	def test_december_january_february_as_of_january_31_before_and_after_the_february_billing(self):
		customer = make_customer()
		gen = make_generator(customer, first_creation_date="2031-02-01")
		add(gen.name, self.listing, qty=1, rate=100, service_date="2030-12-10")  # 52 days old on 31 Jan
		add(gen.name, self.listing, qty=2, rate=20, service_date="2031-01-20")  # 11 days old
		add(gen.name, self.listing, qty=1, rate=25, service_date="2031-02-05")  # not delivered by 31 Jan
		frappe.db.commit()
		january = (140, 140, 40, 100, 0, 0)
		self.assertEqual(self.figures(customer, "2031-01-31"), january)
		self.assertEqual(self.figures(customer, "2030-12-31"), (100, 100, 100, 0, 0, 0))
		self.assertEqual(self.figures(customer, "2030-12-09"), (0, 0, 0, 0, 0, 0))

		invoices = run_generator(gen.name, "2031-02-01").invoices  # bills December and January
		self.assertEqual(len(invoices), 1)
		self.assertEqual(self.figures(customer, "2031-01-31"), january)  # a past month-end does not change
		self.assertEqual(self.figures(customer, "2031-02-01"), (0, 0, 0, 0, 0, 0))
		self.assertEqual(self.figures(customer, "2031-02-28"), (25, 25, 25, 0, 0, 0))
		self.assertEqual(self.figures(customer, "2031-06-30"), (25, 25, 0, 0, 0, 25))

		# the drill-down: the lines of that tab as of 31 January, each with the invoice that bills it now
		lines = report_rows(
			company=company(), generator=gen.name, as_of_date="2031-01-31", group_by="Tab Line"
		)
		self.assertEqual(
			[(r["amount"], r["age"], r["sales_invoice"]) for r in lines],
			[
				(100, 52, invoices[0]),
				(40, 11, invoices[0]),
			],
		)
		self.assertEqual(sum(r["amount_in_company_currency"] for r in lines), 140)
		self.assertEqual([r.get("age_31_60", 0) for r in lines], [100, 0])

	def test_total_row_and_chart_in_company_currency(self):
		customer = make_customer()
		gen = make_generator(customer, first_creation_date="2031-02-01")
		other = make_generator(customer, first_creation_date="2031-02-01")
		add(gen.name, self.listing, qty=1, rate=10, service_date="2031-01-20")
		add(other.name, self.listing, qty=1, rate=7.5, service_date="2030-10-01")
		frappe.db.commit()
		result = run_report(company=company(), customer=customer, as_of_date="2031-01-31")
		rows = [row for row in result["result"] if isinstance(row, dict)]
		self.assertEqual(sorted(row["generator"] for row in rows), sorted([gen.name, other.name]))
		columns = [column["fieldname"] for column in result["columns"]]
		total = result["result"][-1]
		self.assertIsInstance(total, list)  # Frappe's total row
		self.assertEqual(total[columns.index("amount_in_company_currency")], 17.5)
		self.assertEqual(total[columns.index("age_over_90")], 7.5)  # 122 days old
		chart = result["chart"]
		self.assertEqual(chart["data"]["datasets"][0]["values"], [10, 0, 0, 7.5])
		self.assertEqual(len(chart["data"]["labels"]), 4)
		# amounts in tab currencies are never added up across tabs
		amount = next(c for c in result["columns"] if c["fieldname"] == "amount")
		self.assertTrue(amount["disable_total"])

	def test_group_by_customer_and_ageing_ranges_of_ones_own(self):
		customer = make_customer()
		for service_date in ("2031-01-25", "2031-01-05"):
			gen = make_generator(customer, first_creation_date="2031-02-01")
			add(gen.name, self.listing, qty=1, rate=10, service_date=service_date)
		frappe.db.commit()
		rows = report_rows(
			company=company(), customer=customer, as_of_date="2031-01-31", group_by="Customer", range="7, 14"
		)
		self.assertEqual(len(rows), 1)
		self.assertEqual(
			(
				rows[0]["lines"],
				rows[0]["amount_in_company_currency"],
				rows[0]["age_0_7"],
				rows[0]["age_over_14"],
			),
			(2, 20, 10, 10),
		)
		with self.assertRaisesRegex(frappe.ValidationError, "Ageing Range"):
			run_report(company=company(), customer=customer, as_of_date="2031-01-31", range="60, 30")

	def test_a_cancelled_invoice_counts_as_never_posted(self):
		customer = make_customer()
		gen = make_generator(customer, first_creation_date="2031-02-01")
		add(gen.name, self.listing, qty=1, rate=100, service_date="2031-01-10")
		add(gen.name, self.listing, qty=1, rate=25, service_date="2031-02-05")
		frappe.db.commit()
		invoice = run_generator(gen.name, "2031-02-01").invoices[0]
		self.assertEqual(self.figures(customer, "2031-02-28")[:2], (25, 25))
		frappe.get_doc("Sales Invoice", invoice).cancel()
		frappe.db.commit()
		# its lines are back on the tab, and the cancelled invoice never billed them as of any date
		self.assertEqual(self.figures(customer, "2031-02-28")[:2], (125, 125))
		self.assertEqual(self.figures(customer, "2031-01-31")[:2], (100, 100))
		# billed again later, on another invoice: as of before it they still count
		self.assertTrue(generate_now(gen.name, "2031-03-05")[0])
		self.assertEqual(self.figures(customer, "2031-02-28")[:2], (125, 125))
		self.assertIsNone(self.row(customer, "2031-03-05"))

	def test_a_generated_draft_bills_nothing_until_it_is_submitted(self):
		customer = make_customer()
		gen = make_generator(customer, first_creation_date="2031-02-01", generate_as="Draft")
		line = add(gen.name, self.listing, qty=1, rate=60, service_date="2031-01-10")
		frappe.db.commit()
		draft = run_generator(gen.name, "2031-02-01").invoices[0]
		self.assertEqual(frappe.db.get_value(ITEM, line.name, "status"), "Billed")
		self.assertEqual(self.figures(customer, "2031-02-28")[:2], (60, 60))
		frappe.get_doc("Sales Invoice", draft).submit()
		frappe.db.commit()
		self.assertIsNone(self.row(customer, "2031-02-28"))
		self.assertEqual(self.figures(customer, "2031-01-31")[:2], (60, 60))

	def test_a_held_line_is_unbilled(self):
		customer = make_customer()
		fragile = make_item(f"_AB Fragile {frappe.generate_hash(length=5)}")
		gen = make_generator(customer, first_creation_date="2031-02-01")
		add(gen.name, self.listing, qty=1, rate=10, service_date="2031-01-10")
		held = add(gen.name, fragile, qty=1, rate=30, service_date="2031-01-12")
		item = frappe.get_doc("Item", fragile)
		item.disabled = 1
		item.save(ignore_permissions=True)
		frappe.db.commit()
		self.assertEqual(len(run_generator(gen.name, "2031-02-01").invoices), 1)
		self.assertEqual(frappe.db.get_value(ITEM, held.name, "status"), "On Hold")
		self.assertEqual(self.figures(customer, "2031-02-28")[:2], (30, 30))
		self.assertEqual(self.figures(customer, "2031-01-31")[:2], (40, 40))

	def test_a_voided_line_counts_until_its_void_and_an_amendment_stands_in_from_its_day(self):
		"""Voiding (issue 30) changes no past figure: a line counts until the day it is voided; an amended line's
		replacement counts from the amendment's day on, its original until then (never both)."""
		from accumulating_billing.billing import voiding

		customer = make_customer()
		gen = make_generator(customer, first_creation_date="2031-03-01")
		voided = add(gen.name, self.listing, qty=1, rate=100, service_date="2031-01-10")
		amended = add(gen.name, self.listing, qty=1, rate=30, service_date="2031-01-12")
		frappe.db.commit()
		with freeze_time("2031-02-10 15:00:00"):
			voiding.void(voided.name, "entered twice")
		with freeze_time("2031-02-15 15:00:00"):
			voiding.amend(amended.name, {"rate": 50})
		frappe.db.commit()
		self.assertEqual(self.figures(customer, "2031-01-31")[:2], (130, 130))
		self.assertEqual(self.figures(customer, "2031-02-10")[:2], (30, 30))  # voided that day
		self.assertEqual(self.figures(customer, "2031-02-14")[:2], (30, 30))  # the original, not yet amended
		self.assertEqual(self.figures(customer, "2031-02-28")[:2], (50, 50))  # its replacement alone

	def test_grouped_lines_are_billed_item_by_item(self):
		customer = make_customer()
		gen = make_generator(customer, first_creation_date="2031-02-01", invoice_lines="Grouped")
		for day in (5, 6, 7):
			add(gen.name, self.listing, qty=1, rate=15, service_date=f"2031-01-{day:02d}")
		frappe.db.commit()
		invoice = run_generator(gen.name, "2031-02-01").invoices[0]
		self.assertEqual(len(frappe.get_doc("Sales Invoice", invoice).items), 1)
		self.assertEqual(self.figures(customer, "2031-01-31")[:2], (45, 45))
		self.assertIsNone(self.row(customer, "2031-02-01"))

	def test_a_line_billed_by_hand_keeps_its_invoice(self):
		"""A hand-made invoice (the Timesheet's Create ▸ Sales Invoice) bills the line as of its own posting date;
		cancelled, the line is back on the tab and unbilled as of any date again."""
		from erpnext.projects.doctype.timesheet.timesheet import make_sales_invoice

		customer = make_customer()
		hour = service_item()
		gen = make_generator(
			customer, first_creation_date="2031-03-01", accumulate_timesheets=1, timesheet_item=hour
		)
		ts = make_timesheet([{"start": "2031-01-05 09:00", "hours": 2, "rate": 50}], customer=customer)
		line = frappe.get_all(ITEM, filters={"generator": gen.name}, pluck="name")[0]
		hand = make_sales_invoice(ts.name, hour, customer)
		hand.posting_date = hand.due_date = getdate("2031-02-10")
		hand.set_posting_time = 1
		hand.insert(ignore_permissions=True).submit()
		frappe.db.commit()
		self.assertEqual(frappe.db.get_value(ITEM, line, ["status", "sales_invoice"]), ("Billed", hand.name))
		self.assertEqual(self.figures(customer, "2031-01-31")[:2], (100, 100))
		self.assertIsNone(self.row(customer, "2031-02-10"))
		hand.reload()
		hand.cancel()
		frappe.db.commit()
		self.assertEqual(frappe.db.get_value(ITEM, line, ["status", "sales_invoice"]), ("Unbilled", None))
		self.assertEqual(self.figures(customer, "2031-02-28")[:2], (100, 100))

	def test_a_return_is_a_negative_line_until_its_credit_note(self):
		customer = make_customer()
		router = stock_item()
		gen = make_generator(customer, first_creation_date="2031-02-01", accumulate_delivery_notes=1)
		dn = make_delivery_note(customer, [{"item_code": router, "qty": 4, "rate": 25}], "2031-01-05")
		frappe.db.commit()
		self.assertEqual(len(run_generator(gen.name, "2031-02-01").invoices), 1)
		make_return(dn, "2031-02-10", {router: 1})
		frappe.db.commit()
		self.assertEqual(self.figures(customer, "2031-02-11")[:3], (-25, -25, -25))
		make_delivery_note(customer, [{"item_code": router, "qty": 2, "rate": 25}], "2031-02-12")
		frappe.db.commit()
		self.assertEqual(self.figures(customer, "2031-02-28")[:3], (25, 25, 25))
		run_generator(gen.name, "2031-03-01")  # an invoice and a credit note, dated 1 March
		note = frappe.db.get_value(ITEM, {"generator": gen.name, "qty": ("<", 0)}, "sales_invoice")
		self.assertEqual(frappe.db.get_value("Sales Invoice", note, ["is_return", "docstatus"]), (1, 1))
		self.assertEqual(self.figures(customer, "2031-02-28")[:2], (25, 25))
		self.assertEqual(self.figures(customer, "2031-02-11")[:2], (-25, -25))
		self.assertIsNone(self.row(customer, "2031-03-01"))


class TestCompanyCurrency(UnbilledTestCase):
	def test_a_euro_tab_on_a_dollar_company_converts_at_the_rate_of_the_date(self):
		customer, _account = euro_customer()
		selling_rate("EUR", "USD", "2031-01-15", 1.2)
		selling_rate("EUR", "USD", "2031-02-15", 1.3)
		gen = make_generator(
			customer, currency="EUR", selling_price_list="_AB EUR Selling", first_creation_date="2031-03-01"
		)
		add(gen.name, self.listing, qty=1, rate=100.10, service_date="2031-01-05")
		add(gen.name, self.listing, qty=3, rate=33.33, service_date="2031-02-10")
		frappe.db.commit()
		january = self.row(customer, "2031-01-31")
		self.assertEqual(
			(january["currency"], january["company_currency"], january["exchange_rate"]), ("EUR", "USD", 1.2)
		)
		self.assertEqual((january["amount"], january["amount_in_company_currency"]), (100.1, 120.12))
		february = self.row(customer, "2031-02-28")
		self.assertEqual(february["exchange_rate"], 1.3)
		# 200.09 EUR x 1.3 = 260.117; the buckets convert alike and add up to it
		self.assertEqual((february["amount"], february["amount_in_company_currency"]), (200.09, 260.12))
		self.assertEqual((february["age_0_30"], february["age_31_60"]), (129.99, 130.13))

	def test_a_missing_rate_is_an_error_that_names_the_pair(self):
		customer, _account = euro_customer()
		gen = make_generator(customer, currency="EUR", selling_price_list="_AB EUR Selling")
		add(gen.name, self.listing, qty=1, rate=10, service_date="2000-06-01")
		frappe.db.commit()
		# no Currency Exchange from EUR to USD dated on or before 30 June 2000, and no exchange rate service
		frappe.db.set_single_value("Currency Exchange Settings", "disabled", 1)
		frappe.clear_document_cache("Currency Exchange Settings", "Currency Exchange Settings")
		try:
			with self.assertRaisesRegex(frappe.ValidationError, "No exchange rate from EUR to USD"):
				self.row(customer, "2000-06-30")
			with self.assertRaisesRegex(frappe.ValidationError, "EUR to USD"):
				exchange_rate("EUR", "USD", getdate("2000-06-30"))
		finally:
			frappe.db.rollback()
			frappe.clear_document_cache("Currency Exchange Settings", "Currency Exchange Settings")

	def test_the_number_card_is_the_reports_company_currency_total(self):
		"""*Unbilled Accumulating Amount*: the report's company-currency total for the user's default company as of
		today, never amounts in several currencies added up."""
		card = frappe.get_doc("Number Card", "Unbilled Accumulating Amount")
		self.assertEqual(
			(card.type, card.report_name, card.report_field, card.report_function),
			("Report", REPORT, "amount_in_company_currency", "Sum"),
		)
		self.assertEqual(
			json.loads(card.dynamic_filters_json), {"company": "frappe.defaults.get_user_default('Company')"}
		)
		customer, _account = euro_customer()
		selling_rate("EUR", "USD", "2031-01-15", 1.2)
		gen = make_generator(customer, currency="EUR", selling_price_list="_AB EUR Selling")
		add(gen.name, self.listing, qty=1, rate=100.10, service_date="2031-01-05")
		frappe.db.commit()
		with freeze_time("2031-01-31 15:00:00"):
			before_ours = self.card_value()  # as the card runs it: the company only, as of today
			forget_tab_lines([gen.name])
			self.assertAlmostEqual(before_ours - self.card_value(), 120.12, places=2)

	def card_value(self) -> float:
		"""What the card shows: the sum of the report field over the rows of the report run with its filters."""
		result = run_report(company=company())
		return sum(row["amount_in_company_currency"] for row in result["result"] if isinstance(row, dict))


class TestWhoMayRunIt(UnbilledTestCase):
	def test_rows_follow_the_users_permissions(self):
		mine, other = make_customer(), make_customer()
		for customer in (mine, other):
			gen = make_generator(customer, first_creation_date="2031-02-01")
			add(gen.name, self.listing, qty=1, rate=10, service_date="2031-01-10")
		user = make_user(["Accounts User"])
		frappe.get_doc(
			{"doctype": "User Permission", "user": user, "allow": "Customer", "for_value": mine}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		frappe.set_user(user)
		result = run_report(company=company(), as_of_date="2031-01-31")
		customers = {row["customer"] for row in result["result"] if isinstance(row, dict)}
		self.assertEqual(customers, {mine})
		self.assertEqual(result["chart"]["data"]["datasets"][0]["values"][0], 10)  # only what they may see

	def test_accounts_roles_only(self):
		customer = make_customer()
		gen = make_generator(customer, first_creation_date="2031-02-01")
		add(gen.name, self.listing, qty=1, rate=10, service_date="2031-01-10")
		callers = {
			"Accounts User": make_user(["Accounts User"]),
			"contributor": make_user([CONTRIBUTOR_ROLE]),
			"portal user": portal_user_for(customer),
		}
		frappe.get_doc(
			{
				"doctype": "User Permission",
				"user": callers["contributor"],
				"allow": "Customer",
				"for_value": customer,
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		filters = json.dumps({"company": company(), "customer": customer, "as_of_date": "2031-01-31"})
		answers = {}
		for caller, user in callers.items():
			response = fetch(
				login(user),
				"/api/method/frappe.desk.query_report.run",
				method="post",
				data={"report_name": REPORT, "filters": filters},
			)
			answers[caller] = response.status_code
		from frappe.utils import get_test_client

		answers["guest"] = fetch(
			get_test_client(),
			"/api/method/frappe.desk.query_report.run",
			method="post",
			data={"report_name": REPORT, "filters": filters},
		).status_code
		self.assertEqual(
			answers, {"Accounts User": 200, "contributor": 403, "portal user": 403, "guest": 403}
		)
