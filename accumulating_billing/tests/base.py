"""The test case bases of the integration tests: a site with fiscal years and two items, generators retired after
each test (GenerationTestCase); an outgoing email account (EmailingTestCase) and a payment gateway
(GatewayTestCase); the automations' receiver and sweep (AutomationTestCase); two-step billing on
(TwoStepTestCase); the jobs of watched tabs asked for, not run (WatchedTabs). Test modules are specs and import
these; no test module imports another."""

from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase

from accumulating_billing.billing import watch
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.billing.payments import payments_installed
from accumulating_billing.tests.automation_utils import disable_test_webhooks, fire_owed
from accumulating_billing.tests.ledger import Receiver, stripe_gateway_account
from accumulating_billing.tests.two_step_utils import set_two_step
from accumulating_billing.tests.utils import (
	add,
	ensure_fiscal_years,
	ensure_outgoing_email_account,
	make_customer,
	make_generator,
	make_item,
	retire_created_generators,
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
		frappe.set_user("Administrator")
		retire_created_generators()


class EmailingTestCase(GenerationTestCase):
	"""A site that can send email (an outgoing Email Account)."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_outgoing_email_account()
		frappe.db.commit()


class GatewayTestCase(EmailingTestCase):
	"""Pay links: Frappe's payments app and a (Stripe, offline) Payment Gateway Account in `self.gateway`; skipped,
	and counted as skipped, where the payments app is not installed."""

	def setUp(self):
		if not payments_installed():
			self.skipTest("the payments app is not installed on this site (bench get-app payments)")
		self.gateway = stripe_gateway_account()
		frappe.db.commit()


class AutomationTestCase(EmailingTestCase):
	def setUp(self):
		self.receiver = Receiver()
		self.addCleanup(self.receiver.close)
		self.addCleanup(disable_test_webhooks)
		fire_owed()  # what earlier tests left owed is not this test's

	def invoice_of(self, *automation_rows, **settings) -> str:
		"""A generator with these automations and one item, billed on 1 Feb 2026 (Open); committed."""
		gen = make_generator(
			make_customer(), automations=[dict(row) for row in automation_rows], due_days=10, **settings
		)
		add(gen.name, self.listing, qty=2, rate=50, service_date="2026-01-10")
		frappe.db.commit()
		invoices = run_generator(gen.name, "2026-02-01").invoices
		self.assertEqual(len(invoices), 1)
		return invoices[0]


class TwoStepTestCase(GenerationTestCase):
	def setUp(self):
		super().setUp()
		set_two_step(True)

	def tearDown(self):
		set_two_step(False)
		super().tearDown()


class WatchedTabs:
	"""A mixin for the tests of watched tabs (issue 27): the job a tab asks for after a commit is recorded in
	`self.requested`, not enqueued; each test runs the job itself, in process."""

	def setUp(self):
		super().setUp()
		self.requested: list[str] = []
		patcher = patch.object(
			watch, "request_job", lambda generator: self.requested.append(generator) or True
		)
		patcher.start()
		self.addCleanup(patcher.stop)

	def add_committed(self, generator: str, rate: float, service_date: str = "2026-03-05") -> str:
		"""One line of the listing item, committed: the look at its tab runs after the commit."""
		name = add(generator, self.listing, qty=1, rate=rate, service_date=service_date).name
		frappe.db.commit()
		return name
