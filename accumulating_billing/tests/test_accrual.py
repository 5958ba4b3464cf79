"""The month-end accrual of unbilled revenue (issue 29): one submitted Journal Entry per company and month and its
reversal, totalling the Unbilled Revenue report; idempotent; all or nothing; its settings; the command and the daily
run. On a company of its own (its entries total the whole company)."""

from datetime import date

from freezegun import freeze_time

import frappe
from frappe.utils import getdate

from accumulating_billing.billing import cli
from accumulating_billing.billing.accrual import accrue_due, accrue_month
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.unbilled_utils import (
	SETTINGS,
	accrual_company,
	accrual_entries,
	changed,
	clear_accruals,
	forget_tab_lines,
	ledger,
	report_rows,
	set_accrual,
	unbilled_revenue_account,
)
from accumulating_billing.tests.utils import CREATED_GENERATORS, add, make_customer, make_generator, make_item

LATER = date(2032, 12, 31)  # "today" for the months of these tests: they have all ended


def accrue(month_end: str, company: str | None = None) -> list:
	return accrue_month(getdate(month_end), company, today=LATER)


class AccrualTestCase(GenerationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.company = accrual_company()
		cls.unbilled = unbilled_revenue_account()
		cls.sales = frappe.get_cached_value("Company", cls.company, "default_income_account")
		cls.main = frappe.get_cached_value("Company", cls.company, "cost_center")
		cls.service_income = ledger("_AB Service Income", "Direct Income", "Income")
		cls.service = make_item("_AB Accrual Service")
		item = frappe.get_doc("Item", cls.service)
		if not any(row.company == cls.company for row in item.item_defaults):
			item.append(
				"item_defaults",
				{
					"company": cls.company,
					"income_account": cls.service_income,
					"default_warehouse": frappe.db.get_value(
						"Warehouse", {"company": cls.company, "is_group": 0}
					),
				},
			)
			item.save(ignore_permissions=True)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		set_accrual([], on=False)
		super().tearDownClass()

	def setUp(self):
		clear_accruals(self.company)
		set_accrual([{"company": self.company, "unbilled_revenue_account": self.unbilled}])

	def tearDown(self):
		forget_tab_lines(list(CREATED_GENERATORS))
		clear_accruals(self.company)
		super().tearDown()

	def tab(self, first_date: str = "2031-02-01", **kw):
		return make_generator(make_customer(), company=self.company, first_creation_date=first_date, **kw)

	def report_total(self, as_of: str) -> float:
		return sum(
			row["amount_in_company_currency"] for row in report_rows(company=self.company, as_of_date=as_of)
		)


class TestAccrual(AccrualTestCase):
	def test_a_month_is_accrued_once_with_its_reversal_and_totals_the_report(self):
		gen = self.tab()
		add(gen.name, self.listing, qty=1, rate=100, service_date="2030-12-20")
		add(gen.name, self.service, qty=2, rate=30, service_date="2031-01-10")
		add(gen.name, self.service, qty=1, rate=25, service_date="2031-02-05")  # February's
		frappe.db.commit()

		[result] = accrue("2031-01-31")
		self.assertTrue(result.posted, result.message)
		accrual, reversal = accrual_entries(self.company, "2031-01-31")
		self.assertEqual((accrual.name, reversal.name), (result.accrual, result.reversal))
		self.assertEqual(
			(accrual.posting_date, reversal.posting_date, reversal.reversal_of),
			(getdate("2031-01-31"), getdate("2031-02-01"), accrual.name),
		)
		# debit the unbilled revenue account with the report's total; credit the income accounts the invoices will
		self.assertEqual(
			accrual.lines,
			{
				(self.unbilled, self.main): (160, 0),
				(self.sales, self.main): (0, 100),
				(self.service_income, self.main): (0, 60),
			},
		)
		self.assertEqual(accrual.total_debit, self.report_total("2031-01-31"))
		self.assertEqual(
			reversal.lines, {key: (credit, debit) for key, (debit, credit) in accrual.lines.items()}
		)
		self.assertEqual(frappe.db.count("GL Entry", {"voucher_no": accrual.name, "is_cancelled": 0}), 3)

		# a second run posts nothing and names what is there
		[again] = accrue("2031-01-31")
		self.assertFalse(again.posted)
		self.assertIn(accrual.name, again.message)
		self.assertIn(reversal.name, again.message)
		self.assertEqual(len(accrual_entries(self.company, "2031-01-31", docstatus=None)), 2)

		# billing the tab later changes neither the month's figure nor its accrual
		self.assertEqual(len(run_generator(gen.name, "2031-02-01").invoices), 1)
		self.assertEqual(self.report_total("2031-01-31"), 160)
		self.assertFalse(accrue("2031-01-31")[0].posted)
		# the next month accrues only what is unbilled at its end
		[february] = accrue("2031-02-28")
		self.assertEqual(accrual_entries(self.company, "2031-02-28")[0].total_debit, 25)
		self.assertTrue(february.posted)

	def test_a_cancelled_accrual_is_posted_again(self):
		gen = self.tab()
		add(gen.name, self.service, qty=1, rate=40, service_date="2031-03-10")
		frappe.db.commit()
		first = accrue("2031-03-31")[0]
		# only the reversal cancelled: the run reverses the accrual again
		frappe.get_doc("Journal Entry", first.reversal).cancel()
		frappe.db.commit()
		[again] = accrue("2031-03-31")
		self.assertTrue(again.posted)
		self.assertEqual(again.accrual, first.accrual)
		self.assertNotEqual(again.reversal, first.reversal)
		# both cancelled (reversal first, as ERPNext's link demands): both are posted anew
		frappe.get_doc("Journal Entry", again.reversal).cancel()
		frappe.get_doc("Journal Entry", first.accrual).cancel()
		frappe.db.commit()
		[anew] = accrue("2031-03-31")
		self.assertTrue(anew.posted)
		self.assertNotIn(anew.accrual, (first.accrual,))
		self.assertEqual(
			[(e.name, e.docstatus) for e in accrual_entries(self.company, "2031-03-31")],
			[(anew.accrual, 1), (anew.reversal, 1)],
		)

	def test_a_generators_cost_center_goes_on_its_income_lines(self):
		ops = frappe.db.get_value("Cost Center", {"cost_center_name": "_AB Ops", "company": self.company})
		if not ops:
			ops = (
				frappe.get_doc(
					{
						"doctype": "Cost Center",
						"cost_center_name": "_AB Ops",
						"company": self.company,
						"parent_cost_center": frappe.db.get_value(
							"Cost Center", {"company": self.company, "is_group": 1}
						),
					}
				)
				.insert(ignore_permissions=True)
				.name
			)
		gen = self.tab(cost_center=ops)
		add(gen.name, self.listing, qty=1, rate=70, service_date="2031-04-10")
		frappe.db.commit()
		accrue("2031-04-30")
		[accrual, _reversal] = accrual_entries(self.company, "2031-04-30")
		self.assertEqual(accrual.lines, {(self.unbilled, self.main): (70, 0), (self.sales, ops): (0, 70)})

	def test_nothing_unbilled_posts_nothing(self):
		[result] = accrue("2031-05-31")
		self.assertFalse(result.posted or result.failed)
		self.assertIn("nothing", result.message)
		self.assertEqual(accrual_entries(self.company, "2031-05-31", docstatus=None), [])


class TestAllOrNothing(AccrualTestCase):
	def closed_period(self, start: str, end: str) -> str:
		period = frappe.get_doc(
			{
				"doctype": "Accounting Period",
				"period_name": f"_AB Closed {start}",
				"company": self.company,
				"start_date": start,
				"end_date": end,
				"closed_documents": [{"document_type": "Journal Entry", "closed": 1}],
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		self.addCleanup(self.reopen, period.name)
		return period.name

	def reopen(self, name: str) -> None:
		frappe.db.rollback()
		frappe.delete_doc("Accounting Period", name, force=True, ignore_permissions=True)
		frappe.db.commit()

	def test_a_closed_month_posts_nothing(self):
		gen = self.tab()
		add(gen.name, self.service, qty=1, rate=10, service_date="2031-06-10")
		frappe.db.commit()
		period = self.closed_period("2031-06-01", "2031-06-30")
		[result] = accrue("2031-06-30")
		self.assertTrue(result.failed)
		self.assertIn(self.company, result.message)
		self.assertIn(period, result.message)
		self.assertEqual(accrual_entries(self.company, "2031-06-30", docstatus=None), [])

	def test_a_closed_next_month_posts_no_accrual_either(self):
		"""The reversal's day is closed: the accrual, already submitted in the same transaction, goes too."""
		gen = self.tab()
		add(gen.name, self.service, qty=1, rate=10, service_date="2031-07-10")
		frappe.db.commit()
		self.closed_period("2031-08-01", "2031-08-31")
		[result] = accrue("2031-07-31")
		self.assertTrue(result.failed)
		self.assertEqual(accrual_entries(self.company, "2031-07-31", docstatus=None), [])

	def test_a_missing_account_posts_nothing(self):
		gen = self.tab()
		add(gen.name, self.service, qty=1, rate=10, service_date="2031-09-10")
		# a new item: ERPNext writes the income account of an invoice onto the Item Defaults of the items it bills
		bare = make_item(f"_AB Bare {frappe.generate_hash(length=6)}")
		add(gen.name, bare, qty=1, rate=10, service_date="2031-09-11")
		frappe.db.commit()
		# the unbilled revenue account disabled since the settings were saved
		with changed("Account", self.unbilled, "disabled", 1):
			[result] = accrue("2031-09-30")
		self.assertTrue(result.failed, result.message)
		self.assertIn(self.unbilled, result.message)
		# an item whose income account ERPNext cannot find: no default on the item and none on the company
		with changed("Company", self.company, "default_income_account", None):
			[result] = accrue("2031-09-30")
		self.assertTrue(result.failed, result.message)
		self.assertIn(bare, result.message)
		self.assertEqual(accrual_entries(self.company, "2031-09-30", docstatus=None), [])


class TestSettings(AccrualTestCase):
	def refused(self, row: dict, message: str) -> None:
		with self.assertRaisesRegex(frappe.ValidationError, message):
			set_accrual([{"company": self.company, "unbilled_revenue_account": self.unbilled, **row}])
		frappe.db.rollback()

	def test_accounts_must_fit_the_company(self):
		other_company = frappe.db.get_single_value("Global Defaults", "default_company")
		self.refused({"unbilled_revenue_account": unbilled_revenue_account(other_company)}, "does not belong")
		self.refused(
			{
				"unbilled_revenue_account": frappe.db.get_value(
					"Account", {"company": self.company, "is_group": 1}
				)
			},
			"group",
		)
		self.refused({"unbilled_revenue_account": self.sales}, "asset account")
		receivable = frappe.get_cached_value("Company", self.company, "default_receivable_account")
		self.refused({"unbilled_revenue_account": receivable}, "receivable")
		euro = ledger("_AB Unbilled EUR", "Current Assets", "Asset", account_currency="EUR")
		self.refused({"unbilled_revenue_account": euro}, "company currency")
		other_center = frappe.get_cached_value("Company", other_company, "cost_center")
		self.refused({"cost_center": other_center}, "does not belong")
		with self.assertRaisesRegex(frappe.ValidationError, "has a row"):
			set_accrual([{"company": self.company, "unbilled_revenue_account": self.unbilled}] * 2)
		frappe.db.rollback()
		with self.assertRaisesRegex(frappe.ValidationError, "Accrual Accounts"):
			set_accrual([], on=True)
		frappe.db.rollback()
		set_accrual(
			[{"company": self.company, "unbilled_revenue_account": self.unbilled, "cost_center": self.main}]
		)

	def test_an_unknown_company_is_a_clear_error(self):
		with self.assertRaisesRegex(frappe.ValidationError, "no Unbilled Revenue Account"):
			accrue("2031-01-31", frappe.db.get_single_value("Global Defaults", "default_company"))


class TestCommandAndDailyRun(AccrualTestCase):
	def test_the_command(self):
		gen = self.tab()
		add(gen.name, self.service, qty=1, rate=12, service_date="2031-10-10")
		frappe.db.commit()
		lines = []
		with freeze_time("2031-11-03 10:00:00"):
			cli.accrue("2031-10", None, lines.append)
			cli.accrue("2031-10", self.company, lines.append)
			with self.assertRaisesRegex(frappe.ValidationError, "has not ended"):
				cli.accrue("2031-11", None, lines.append)
		self.assertIn("accrued", lines[0])
		self.assertIn("already", lines[1])
		for bad in ("2031-13", "October", ""):
			with self.assertRaisesRegex(frappe.ValidationError, "YYYY-MM"):
				cli.accrue(bad, None, lines.append)

	def test_the_command_fails_when_a_company_fails(self):
		gen = self.tab()
		add(gen.name, self.service, qty=1, rate=12, service_date="2031-10-10")
		frappe.db.commit()
		lines = []
		with (
			changed("Account", self.unbilled, "disabled", 1),
			freeze_time("2031-11-03 10:00:00"),
			self.assertRaisesRegex(frappe.ValidationError, "failed"),
		):
			cli.accrue("2031-10", None, lines.append)
		self.assertIn("FAILED", lines[0])

	def test_the_daily_run_accrues_the_month_that_ended(self):
		gen = self.tab()
		add(gen.name, self.service, qty=1, rate=33, service_date="2031-11-10")
		frappe.db.commit()
		# on 30 November the month has not ended: the run looks at October, which had nothing unbilled
		[october] = accrue_due("2031-11-30")
		self.assertFalse(october.posted or october.failed)
		[result] = accrue_due("2031-12-01")
		self.assertTrue(result.posted, result.message)
		self.assertEqual(accrual_entries(self.company, "2031-11-30")[0].total_debit, 33)
		self.assertEqual(accrue_due("2031-12-01"), [])  # posted: left alone
		self.assertEqual(accrue_due("2031-12-20"), [])
		# cancelled by a person: the daily run leaves it cancelled; the command posts it again
		for name in reversed([e.name for e in accrual_entries(self.company, "2031-11-30")]):
			frappe.get_doc("Journal Entry", name).cancel()
		frappe.db.commit()
		self.assertEqual(accrue_due("2031-12-02"), [])
		self.assertTrue(accrue("2031-11-30")[0].posted)

	def test_the_daily_run_needs_the_setting_and_a_company_set_up_before_the_month_ended(self):
		gen = self.tab()
		add(gen.name, self.service, qty=1, rate=33, service_date="2032-01-10")
		set_accrual([{"company": self.company, "unbilled_revenue_account": self.unbilled}], on=False)
		self.assertEqual(accrue_due("2032-02-01"), [])
		set_accrual([{"company": self.company, "unbilled_revenue_account": self.unbilled}], on=True)
		row = frappe.get_single(SETTINGS).accrual_accounts[0]
		frappe.db.set_value(row.doctype, row.name, "creation", "2032-02-15 09:00:00")
		frappe.db.commit()
		self.assertEqual(accrue_due("2032-02-20"), [])  # set up after January ended: January is not accrued
		[february] = accrue_due("2032-03-01")  # February is, with January's line still unbilled at its end
		self.assertTrue(february.posted, february.message)
		self.assertEqual(accrual_entries(self.company, "2032-02-29")[0].total_debit, 33)
		self.assertEqual(accrual_entries(self.company, "2032-01-31", docstatus=None), [])

	def test_a_failed_daily_run_is_logged_and_tried_again(self):
		gen = self.tab()
		add(gen.name, self.service, qty=1, rate=5, service_date="2032-03-10")
		frappe.db.commit()
		with changed("Account", self.unbilled, "disabled", 1):
			[result] = accrue_due("2032-04-01")
		self.assertTrue(result.failed)
		self.assertTrue(
			frappe.db.exists(
				"Error Log", {"method": ("like", f"%{self.company}%"), "reference_doctype": SETTINGS}
			)
		)
		[again] = accrue_due("2032-04-02")
		self.assertTrue(again.posted, again.message)
