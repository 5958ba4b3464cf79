"""The guided start (Module Onboarding "Accumulating Billing" on the workspace): each step is ticked by the real
action, not by a click in the widget, and not by the demo."""

import json

import frappe
from frappe.tests.utils import FrappeTestCase

from accumulating_billing import api
from accumulating_billing.accumulating_billing.report.upcoming_accumulating_invoices import (
	upcoming_accumulating_invoices as report,
)
from accumulating_billing.billing import onboarding
from accumulating_billing.tests.utils import (
	add,
	ensure_fiscal_years,
	make_generator,
	make_item,
	make_template,
	retire_created_generators,
)

STEP = "Onboarding Step"


def ticked(step: str) -> bool:
	return bool(frappe.db.get_value(STEP, step, "is_complete"))


class TestOnboarding(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_fiscal_years(2026)
		cls.item = make_item("_AB Onboarding Service", price=10)
		frappe.db.commit()  # the tests roll back (and commit) as billing does

	def setUp(self):
		for step in onboarding.STEPS:
			frappe.db.set_value(STEP, step, {"is_complete": 0, "is_skipped": 0}, update_modified=False)
		frappe.db.set_value(
			"Module Onboarding", onboarding.ONBOARDING, "is_complete", 0, update_modified=False
		)
		onboarding.forget_ticks()

	def tearDown(self):
		frappe.db.rollback()
		retire_created_generators()
		self.setUp()  # the next tests (and the browser tests) see the guided start from its beginning
		frappe.db.commit()

	def test_the_workspace_shows_the_five_steps(self):
		page = frappe.desk.desktop.get_desktop_page(json.dumps({"name": "Accumulating Billing", "public": 1}))
		(widget,) = page["onboardings"]["items"]
		self.assertEqual([s["name"] for s in widget["items"]], list(onboarding.STEPS))
		actions = [s["action"] for s in widget["items"]]
		self.assertEqual(actions, ["Create Entry", "Create Entry", "View Report", "Go to Page", "Go to Page"])

	def test_creating_a_generator_ticks_create(self):
		self.assertFalse(ticked(onboarding.CREATE))
		make_generator(status="Draft")
		self.assertTrue(ticked(onboarding.CREATE))

	def test_creating_a_template_ticks_create_and_offering_it_ticks_kickoff(self):
		template = make_template()
		self.assertTrue(ticked(onboarding.CREATE))
		self.assertFalse(ticked(onboarding.KICKOFF))  # not offered at kickoff yet
		template.offered_at_kickoff = 1
		template.save()
		self.assertTrue(ticked(onboarding.KICKOFF))

	def test_a_disabled_template_offered_at_kickoff_does_not_tick_kickoff(self):
		make_template(enabled=0, offered_at_kickoff=1)
		self.assertFalse(ticked(onboarding.KICKOFF))

	def test_adding_an_item_ticks_add_item_and_the_preview_with_lines_ticks_preview(self):
		gen = make_generator(first_creation_date="2026-02-01")
		api.get_tab(gen.name)
		self.assertFalse(ticked(onboarding.PREVIEW))  # an empty tab previews nothing
		self.assertFalse(ticked(onboarding.ADD_ITEM))
		api.add_item(gen.name, self.item, qty=2, rate=10, service_date="2026-01-10")
		self.assertTrue(ticked(onboarding.ADD_ITEM))
		tab = api.get_tab(gen.name)
		self.assertEqual(tab["lines"], 1)
		self.assertTrue(ticked(onboarding.PREVIEW))

	def test_the_report_with_a_tab_that_has_items_ticks_preview(self):
		gen = make_generator(first_creation_date="2026-02-01")
		report.execute({"from_date": "2026-01-01", "to_date": "2026-03-01", "customer": gen.customer})
		self.assertFalse(ticked(onboarding.PREVIEW))  # its tab is empty
		add(gen.name, self.item)
		report.execute({"from_date": "2026-01-01", "to_date": "2026-03-01", "customer": gen.customer})
		self.assertTrue(ticked(onboarding.PREVIEW))

	def test_generate_now_ticks_only_when_it_makes_an_invoice(self):
		gen = make_generator(first_creation_date="2026-02-01")
		frappe.db.commit()
		self.assertIsNone(api.generate_now(gen.name, "2026-01-20"))  # nothing to bill
		self.assertFalse(ticked(onboarding.GENERATE_NOW))
		add(gen.name, self.item, service_date="2026-01-10")
		frappe.db.commit()
		self.assertTrue(api.generate_now(gen.name, "2026-01-20"))
		self.assertTrue(ticked(onboarding.GENERATE_NOW))

	def test_the_demo_ticks_nothing(self):
		frappe.flags.accumulating_demo = True
		try:
			gen = make_generator(first_creation_date="2026-02-01")
			add(gen.name, self.item)
			make_template(offered_at_kickoff=1)
		finally:
			frappe.flags.accumulating_demo = False
		self.assertFalse(any(ticked(step) for step in onboarding.STEPS))

	def test_the_widget_cannot_tick_a_step_that_was_not_done(self):
		"""Frappe's widget ticks a "Go to Page" step when its button is clicked: refused until it is done."""
		with self.assertRaises(frappe.ValidationError):
			onboarding.update_onboarding_step(onboarding.GENERATE_NOW, "is_complete", 1)
		self.assertFalse(ticked(onboarding.GENERATE_NOW))
		# skipping stays the person's choice
		onboarding.update_onboarding_step(onboarding.GENERATE_NOW, "is_skipped", 1)
		self.assertTrue(frappe.db.get_value(STEP, onboarding.GENERATE_NOW, "is_skipped"))
		# once done, the widget's own tick is accepted (nothing to change)
		make_generator(status="Draft")
		onboarding.update_onboarding_step(onboarding.CREATE, "is_complete", 1)
		self.assertTrue(ticked(onboarding.CREATE))

	def test_the_override_is_the_method_the_widget_calls(self):
		self.assertEqual(
			frappe.get_hooks("override_whitelisted_methods")["frappe.desk.desktop.update_onboarding_step"][
				-1
			],
			"accumulating_billing.billing.onboarding.update_onboarding_step",
		)

	def test_all_steps_done_completes_the_onboarding(self):
		for step in onboarding.STEPS:
			frappe.db.set_value(STEP, step, "is_complete", 1, update_modified=False)
		page = frappe.desk.desktop.get_desktop_page(json.dumps({"name": "Accumulating Billing", "public": 1}))
		self.assertEqual(page["onboardings"]["items"], [])  # Frappe hides a finished guided start
		self.assertTrue(frappe.db.get_value("Module Onboarding", onboarding.ONBOARDING, "is_complete"))
