"""`bench accumulating-billing demo`: on a site with ERPNext it makes a demo that bills (invoices, a skip below
the minimum, carry-overs, running tabs), a second run adds nothing, and `--remove` leaves nothing it made.

The demo commits (billing does); the test starts and ends with `remove()`, so the site is as before."""

from datetime import date, datetime

import frappe
from frappe.tests.utils import FrappeTestCase

from accumulating_billing.billing import demo
from accumulating_billing.billing.demo import build
from accumulating_billing.billing.demo.records import TAG
from accumulating_billing.doctypes import GENERATOR, ITEM
from accumulating_billing.tests.utils import make_template

TODAY = date(2026, 3, 18)
# the clock of the site during the demo: today, ticking (a frozen time without microseconds trips Frappe's
# "document modified" check between two saves of one document)
NOW = datetime(2026, 3, 18, 10, 0, 0, 123456)
# what the demo makes or what its actions leave behind: counted before, after each run and after --remove
COUNTED = (
	"Customer",
	"Item",
	"User",
	"User Permission",
	"Project",
	"Timesheet",
	"Activity Type",
	"Fiscal Year",
	GENERATOR,
	ITEM,
	"Accumulating Generator Template",
	"Accumulating Assignment Rule",
	"Accumulating Generation Log",
	"Sales Invoice",
	"Sales Invoice Item",
	"GL Entry",
	"Payment Ledger Entry",
	"Tag Link",
	"Tag",
	"Comment",
)


def counts() -> dict[str, int]:
	# Frappe's own "Deleted" notes record the removal itself; every other comment is counted
	only = {"Comment": {"comment_type": ("!=", "Deleted")}}
	return {doctype: frappe.db.count(doctype, only.get(doctype)) for doctype in COUNTED}


class TestDemo(FrappeTestCase):
	def setUp(self):
		demo.remove()  # a demo left by an interrupted run

	def tearDown(self):
		demo.remove()

	def make(self, **kw) -> dict:
		with self.freeze_time(NOW, tick=True):
			return demo.make(TODAY, force=True, **kw)

	def test_demo_bills_adds_nothing_twice_and_removes_all(self):
		before = counts()
		bars = []
		result = self.make(progress=lambda title, done, total: bars.append((title, done, total)))
		after_first = counts()
		gens = result["generators"]

		# what it made: three customers, two templates, five generators, a Timesheet, all with the prefix
		self.assertEqual(len(result["customers"]), 3)
		self.assertTrue(all(name.startswith("Demo ") for name in result["customers"].values()))
		self.assertEqual(set(result["templates"]), {"care", "starter"})
		self.assertEqual(set(gens), {"retainer", "fortnightly", "grouped", "paused", "care"})
		self.assertTrue(result["timesheet"])
		self.assertTrue(bars, "progress bars for the long parts")
		# beside real data (this test site, --force): nothing of the demo is public
		self.assertTrue(demo.real_data())
		starter = frappe.db.get_value(
			"Accumulating Generator Template", result["templates"]["starter"], "offered_at_kickoff"
		)
		self.assertEqual(starter, 0)
		self.assertIsNone(result["client_password"])

		# the Assignment Rule assigned Website Care when the demo project was completed
		care = frappe.get_doc(GENERATOR, gens["care"])
		self.assertEqual(care.template, result["templates"]["care"])
		self.assertEqual(care.customer, result["customers"]["northwind"])
		self.assertEqual(str(care.first_creation_date), "2026-04-01")  # Day Of Month 1 after 18 Mar

		# billing days up to today: 3 monthly invoices (retainer), 1 draft (fortnightly), 3 grouped, 2 (paused)
		invoices = {key: self.invoices(name) for key, name in gens.items()}
		self.assertEqual(
			[i.posting_date for i in invoices["retainer"]], ["2026-01-01", "2026-02-01", "2026-03-01"]
		)
		self.assertTrue(all(i.docstatus == 1 for i in invoices["retainer"]))
		self.assertEqual(len(invoices["grouped"]), 3)
		self.assertEqual(len(invoices["paused"]), 2)
		self.assertEqual(invoices["care"], [])
		self.assertEqual(len(result["invoices"]), 9)
		self.assertEqual(len(result["draft_invoices"]), 1)

		# every two weeks with a minimum of 300: 80 and 170 skipped and carried, 350 billed (draft), 40 skipped
		(fortnightly,) = invoices["fortnightly"]
		self.assertEqual((fortnightly.posting_date, fortnightly.docstatus), ("2026-02-24", 0))
		self.assertEqual(fortnightly.net_total, 350)
		self.assertEqual(frappe.db.count("Sales Invoice Item", {"parent": fortnightly.name}), 3)
		self.assertEqual(result["skipped"], 3)
		self.assertEqual(self.unbilled_total(gens["fortnightly"]), 170)

		# grouped lines: a month of class passes and towels is two invoice lines
		for invoice in invoices["grouped"]:
			self.assertEqual(frappe.db.count("Sales Invoice Item", {"parent": invoice.name}), 2)

		# the Timesheet's billable logs joined the retainer's tab; the January one is on the February invoice
		logs = frappe.get_all(
			"Timesheet Detail",
			filters={"parent": result["timesheet"], "is_billable": 1},
			fields=["sales_invoice"],
			order_by="from_time asc",
		)
		self.assertEqual(
			[log.sales_invoice for log in logs],
			[invoices["retainer"][1].name, invoices["retainer"][2].name, None, None],
		)

		# running tabs remain, the items were added by the contributor, one generator is paused
		self.assertEqual(self.unbilled(gens["retainer"]), 4)  # two support requests, two logged times
		added_by = set(
			frappe.get_all(
				ITEM,
				filters={"generator": ("in", list(gens.values())), "source_doctype": ("is", "not set")},
				pluck="added_by",
			)
		)
		self.assertEqual(added_by, {build.CONTRIBUTOR})
		self.assertIn("Accumulating Billing Contributor", frappe.get_roles(build.CONTRIBUTOR))
		paused = frappe.get_doc(GENERATOR, gens["paused"])
		self.assertEqual((paused.status, str(paused.resume_date)), ("Paused", "2026-04-01"))

		# the tour names what to open
		tour = "\n".join(demo.tour(result))
		for name in gens.values():
			self.assertIn(f"/app/accumulating-generator/{name}", tour)
		self.assertIn("/app/accumulating-billing", tour)
		self.assertIn("/running-tab", tour)
		self.assertIn("/client-kickoff", tour)

		# a second run adds nothing
		again = self.make()
		self.assertEqual(again["created"], [])
		self.assertEqual(again["generators"], gens)
		self.assertEqual(counts(), after_first)

		# --remove: nothing the demo made is left, and the rest of the site is as it was
		demo.remove()
		self.assertEqual(counts(), before)
		self.assertFalse(frappe.db.exists("Tag Link", {"tag": TAG}))
		for name in gens.values():
			self.assertFalse(frappe.db.exists(GENERATOR, name))
		self.assertFalse(frappe.db.exists("User", build.CONTRIBUTOR))

	def test_refuses_a_site_with_real_data_without_force(self):
		make_template()  # billing data the demo did not make (rolled back after the test)
		with self.assertRaises(demo.RealDataError) as refused:
			demo.check_site(force=False)
		self.assertIn("Accumulating Generator Template", str(refused.exception))
		self.assertIn("--force", str(refused.exception))
		demo.check_site(force=True)  # with --force it goes on

	def test_a_name_taken_by_a_real_record_stops_it(self):
		frappe.get_doc(
			{
				"doctype": "Customer",
				"customer_name": build.CUSTOMERS["harbor"],
				"customer_group": frappe.db.get_value("Customer Group", {"is_group": 0}, "name"),
				"territory": frappe.db.get_value("Territory", {"is_group": 0}, "name"),
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		try:
			with self.assertRaises(demo.records.NotDemoRecordError):
				self.make()
			demo.remove()
			self.assertTrue(frappe.db.exists("Customer", build.CUSTOMERS["harbor"]))  # not the demo's: kept
		finally:
			frappe.delete_doc("Customer", build.CUSTOMERS["harbor"], ignore_permissions=True, force=True)
			frappe.db.commit()

	def invoices(self, generator: str) -> list:
		return [
			frappe._dict(row, posting_date=str(row.posting_date))
			for row in frappe.get_all(
				"Sales Invoice",
				filters={"accumulating_generator": generator},
				fields=["name", "posting_date", "docstatus", "net_total"],
				order_by="posting_date asc",
			)
		]

	def unbilled(self, generator: str) -> int:
		return frappe.db.count(ITEM, {"generator": generator, "status": "Unbilled"})

	def unbilled_total(self, generator: str) -> float:
		return sum(
			frappe.get_all(ITEM, filters={"generator": generator, "status": "Unbilled"}, pluck="amount")
		)
