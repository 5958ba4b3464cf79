"""`accumulating-billing demo` on a site whose ERPNext setup wizard never ran completes ERPNext's setup itself
(billing/demo/setup.py), through Frappe's setup_complete; a site whose setup is done is never touched.

This test site's setup is done (run-tests does it), so the wizard itself cannot run here: the tests prove what
the demo hands to Frappe's setup_complete (the options, checked, with their defaults), that it hands nothing on
a site set up, and what it refuses. `scripts/test.sh` runs the whole path on a brand-new site of its own (new-site
with ERPNext and the app, then the demo, twice, then --remove)."""

from datetime import date, datetime
from unittest.mock import patch
from zoneinfo import ZoneInfo

import frappe
from frappe.tests.utils import FrappeTestCase

from accumulating_billing.billing.demo import setup as demo_setup

SETUP_COMPLETE = "frappe.desk.page.setup_wizard.setup_wizard.setup_complete"
SYSTEM = ("country", "time_zone", "currency", "language", "setup_complete")


def site_setup() -> dict:
	return {
		"system": frappe.db.get_value("System Settings", None, SYSTEM, as_dict=True),
		"company": frappe.db.get_single_value("Global Defaults", "default_company"),
		"companies": frappe.db.count("Company"),
		"fiscal years": frappe.db.count("Fiscal Year"),
	}


class TestDemoSetup(FrappeTestCase):
	def never_set_up(self, result=None):
		"""The site as `bench new-site` leaves it: setup not complete, no company; Frappe's setup_complete
		replaced by a recorder that answers `result` (and then says the setup is complete)."""
		state = {"complete": False, "calls": [], "background": []}

		def setup_complete(args):
			state["calls"].append(args)
			state["background"].append(frappe.local.conf.get("trigger_site_setup_in_background"))
			state["complete"] = (result or {"status": "ok"})["status"] == "ok"
			return result or {"status": "ok"}

		for target, replacement in (
			("frappe.is_setup_complete", lambda: state["complete"]),
			(SETUP_COMPLETE, setup_complete),
		):
			patcher = patch(target, replacement)
			patcher.start()
			self.addCleanup(patcher.stop)
		patcher = patch.object(demo_setup, "has_company", lambda: False)
		patcher.start()
		self.addCleanup(patcher.stop)
		return state

	def test_a_site_set_up_is_never_touched(self):
		before = site_setup()
		with patch(SETUP_COMPLETE) as setup_complete:
			done = demo_setup.complete_if_needed(
				company="Acme Services GmbH", country="Germany", currency="EUR", timezone="Europe/Berlin"
			)
		self.assertFalse(done)
		setup_complete.assert_not_called()
		self.assertEqual(site_setup(), before)

	def test_a_site_never_set_up_gets_erpnext_setup_with_the_options(self):
		state = self.never_set_up()
		lines = []
		frappe.local.conf["trigger_site_setup_in_background"] = True
		self.addCleanup(frappe.local.conf.pop, "trigger_site_setup_in_background", None)
		done = demo_setup.complete_if_needed(
			company="Acme Services GmbH", country="Germany", echo=lines.append
		)
		self.assertTrue(done)
		(args,) = state["calls"]
		year = datetime.now(ZoneInfo("Europe/Berlin")).year  # the fiscal year: the calendar year there
		self.assertEqual(
			args,
			{
				"language": "English",
				"country": "Germany",
				"timezone": "Europe/Berlin",
				"currency": "EUR",
				"company_name": "Acme Services GmbH",
				"company_abbr": "ASG",
				"chart_of_accounts": "Standard",
				"fy_start_date": f"{year}-01-01",
				"fy_end_date": f"{year}-12-31",
				"setup_demo": 0,
			},
		)
		# in this process even where the site runs the wizard in the background: the demo needs the company now
		self.assertEqual(state["background"], [False])
		self.assertTrue(frappe.local.conf["trigger_site_setup_in_background"])
		self.assertEqual(len(lines), 1)
		self.assertIn(
			"Acme Services GmbH (ASG), country Germany, currency EUR, time zone Europe/Berlin", lines[0]
		)

	def test_the_defaults(self):
		today = date(2027, 2, 3)
		args = demo_setup.setup_args(today=today)
		self.assertEqual(
			(args.company_name, args.company_abbr, args.country, args.currency, args.timezone),
			("Demo Company", "DC", "United States", "USD", "America/New_York"),
		)
		self.assertEqual((args.fy_start_date, args.fy_end_date), ("2027-01-01", "2027-12-31"))
		india = demo_setup.setup_args(country="India", today=today)
		self.assertEqual((india.currency, india.timezone), ("INR", "Asia/Kolkata"))
		usd_in_india = demo_setup.setup_args(
			company="  Bombay  Cloud Works Private Limited Services Group ", country="India", currency="usd"
		)
		self.assertEqual(usd_in_india.currency, "USD")
		self.assertEqual(usd_in_india.company_name, "Bombay  Cloud Works Private Limited Services Group")
		self.assertEqual(usd_in_india.company_abbr, "BCWPLSG")
		self.assertEqual(demo_setup.abbreviation("A B C D E F G H I J K L"), "ABCDEFGHIJ")  # the wizard's 10

	def test_bad_options_are_refused_before_the_setup_runs(self):
		state = self.never_set_up()
		cases = [
			({"country": "Atlantis"}, "Country Atlantis is not known"),
			({"currency": "XYZ"}, "Currency XYZ is not known"),
			({"company": "company"}, "other than 'Company'"),
			({"company": "   "}, "other than 'Company'"),
			({"timezone": "Mars/Olympus"}, "Time zone Mars/Olympus is not known"),
		]
		for options, message in cases:
			with self.subTest(options=options):
				with self.assertRaisesRegex(frappe.ValidationError, message):
					demo_setup.complete_if_needed(**options)
		self.assertEqual(state["calls"], [])

	def test_a_half_set_up_site_is_refused(self):
		"""The wizard not finished but a company made by hand: the demo does not guess; the person finishes it."""
		with patch("frappe.is_setup_complete", lambda: False), patch(SETUP_COMPLETE) as setup_complete:
			with self.assertRaisesRegex(frappe.ValidationError, "half set up|not finished"):
				demo_setup.complete_if_needed()
		setup_complete.assert_not_called()

	def test_a_setup_that_does_not_complete_is_reported(self):
		self.never_set_up(result={"status": "registered"})
		with self.assertRaisesRegex(frappe.ValidationError, "did not complete"):
			demo_setup.complete_if_needed()
