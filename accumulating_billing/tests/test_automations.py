"""Automations on Generated and Paid (issue 13): fired once per generated invoice and once per transition to
paid, however ERPNext settles it, after the commit; owed in the database and swept; failures isolated."""

from unittest.mock import patch

import frappe

from accumulating_billing.billing import automations
from accumulating_billing.tests.automation_utils import disable_notification, fire_owed, runs_of
from accumulating_billing.tests.base import AutomationTestCase
from accumulating_billing.tests.ledger import (
	credit_in_full,
	emails_with,
	make_notification,
	make_webhook,
	pay_with_journal_entry,
	pay_with_payment_entry,
)
from accumulating_billing.tests.utils import (
	generators_of,
	make_template,
)


class TestGenerated(AutomationTestCase):
	def test_notification_webhook_and_method_fire_once(self):
		tag = frappe.generate_hash(length=6)
		site_wide = make_notification(
			f"site-{tag}", event="Method", method="on_accumulating_invoice_generated"
		)
		self.addCleanup(disable_notification, site_wide)
		invoice = self.invoice_of(
			{"event": "Generated", "notification": make_notification(tag)},
			{"event": "Generated", "webhook": make_webhook(self.receiver.url)},
		)
		runs = runs_of(invoice)
		self.assertEqual([(r.event, r.status) for r in runs], [("Generated", "Pending")])
		self.assertEqual(automations.fire(runs[0].name), "Done")
		frappe.db.commit()
		self.assertEqual(emails_with(tag, invoice), 1)
		self.assertEqual(emails_with(f"site-{tag}", invoice), 1)
		self.assertEqual(self.receiver.hits_for(invoice), 1)
		# a retried job, the sweep: nothing fires twice
		self.assertIsNone(automations.fire(runs[0].name))
		fire_owed()
		self.assertEqual((emails_with(tag, invoice), self.receiver.hits_for(invoice)), (1, 1))

	def test_an_invoice_nothing_listens_to_owes_no_run(self):
		"""No automation row and nothing site-wide on the event: no run, no job (most invoices)."""
		self.assertFalse(automations.site_listens("Generated"))
		invoice = self.invoice_of({"event": "Paid", "notification": make_notification("paid-only")})
		self.assertEqual(runs_of(invoice), [])
		# a site-wide Notification on the method makes every generated invoice owe it
		site_wide = make_notification(
			f"site-method-{frappe.generate_hash(length=6)}",
			event="Method",
			method="on_accumulating_invoice_generated",
		)
		self.addCleanup(disable_notification, site_wide)
		frappe.db.commit()
		self.assertTrue(automations.site_listens("Generated"))
		invoice = self.invoice_of()
		self.assertEqual([r.event for r in runs_of(invoice)], ["Generated"])

	def test_draft_invoices_fire_generated_too(self):
		tag = frappe.generate_hash(length=6)
		invoice = self.invoice_of(
			{"event": "Generated", "notification": make_notification(tag)}, generate_as="Draft"
		)
		fire_owed()
		self.assertEqual(emails_with(tag, invoice), 1)
		self.assertEqual([r.status for r in runs_of(invoice)], ["Done"])


class TestPaid(AutomationTestCase):
	def test_payment_entry_fires_once_and_again_after_a_cancelled_payment(self):
		invoice = self.invoice_of({"event": "Paid", "webhook": make_webhook(self.receiver.url)})
		fire_owed()
		partial = pay_with_payment_entry(invoice, "2026-02-05", amount=40)
		frappe.db.commit()
		self.assertEqual(runs_of(invoice, "Paid"), [])  # partly paid is not paid
		rest = pay_with_payment_entry(invoice, "2026-02-06")
		frappe.db.commit()
		self.assertEqual([(r.transition, r.status) for r in runs_of(invoice, "Paid")], [(1, "Pending")])
		fire_owed()
		self.assertEqual(self.receiver.hits_for(invoice), 1)

		rest.reload()
		rest.cancel()
		frappe.db.commit()
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "accumulating_paid"), 0)
		fire_owed()
		self.assertEqual(self.receiver.hits_for(invoice), 1)
		pay_with_payment_entry(invoice, "2026-02-07")
		frappe.db.commit()
		fire_owed()
		self.assertEqual([r.transition for r in runs_of(invoice, "Paid")], [1, 2])
		self.assertEqual(self.receiver.hits_for(invoice), 2)
		self.assertEqual(partial.docstatus, 1)

	def test_one_webhook_on_both_events_is_sent_for_each(self):
		hook = make_webhook(self.receiver.url)
		invoice = self.invoice_of({"event": "Generated", "webhook": hook}, {"event": "Paid", "webhook": hook})
		pay_with_payment_entry(invoice, "2026-02-05")
		frappe.db.commit()
		fire_owed()
		fire_owed()
		self.assertEqual(self.receiver.hits_for(invoice), 2)

	def test_journal_entry_fires_once(self):
		tag = frappe.generate_hash(length=6)
		invoice = self.invoice_of({"event": "Paid", "notification": make_notification(tag)})
		pay_with_journal_entry(invoice, "2026-02-05")
		frappe.db.commit()
		fire_owed()
		fire_owed()
		self.assertEqual(emails_with(tag, invoice), 1)
		self.assertEqual([r.status for r in runs_of(invoice, "Paid")], ["Done"])

	def test_a_credit_note_in_full_settles_it(self):
		invoice = self.invoice_of({"event": "Paid", "webhook": make_webhook(self.receiver.url)})
		credit_in_full(invoice, "2026-02-05")
		frappe.db.commit()
		fire_owed()
		self.assertEqual(self.receiver.hits_for(invoice), 1)

	def test_paid_assigns_a_template(self):
		template = make_template()
		invoice = self.invoice_of({"event": "Paid", "assign_template": template.name})
		customer = frappe.db.get_value("Sales Invoice", invoice, "customer")
		pay_with_payment_entry(invoice, "2026-02-05")
		frappe.db.commit()
		fire_owed()
		self.assertEqual(len(generators_of(customer, template=template.name)), 1)

	def test_a_crash_after_the_payment_commit_is_fired_once_by_the_sweep(self):
		invoice = self.invoice_of({"event": "Paid", "webhook": make_webhook(self.receiver.url)})
		fire_owed()

		def queue_down(*args, **kwargs):
			raise ConnectionError("the queue is unreachable")

		with patch.object(frappe, "enqueue", queue_down):
			pay_with_payment_entry(invoice, "2026-02-05")
			frappe.db.commit()  # committed; the enqueue after it fails
		self.assertEqual([r.status for r in runs_of(invoice, "Paid")], ["Pending"])
		self.assertEqual(self.receiver.hits_for(invoice), 0)
		fire_owed()
		fire_owed()
		self.assertEqual(self.receiver.hits_for(invoice), 1)

	def test_a_failing_webhook_leaves_the_payment_intact(self):
		self.receiver.status = 500
		invoice = self.invoice_of({"event": "Paid", "webhook": make_webhook(self.receiver.url)})
		generator = frappe.db.get_value("Sales Invoice", invoice, "accumulating_generator")
		payment = pay_with_payment_entry(invoice, "2026-02-05")
		frappe.db.commit()
		fire_owed()
		self.assertEqual(frappe.db.get_value("Payment Entry", payment.name, "docstatus"), 1)
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "outstanding_amount"), 0)
		run = runs_of(invoice, "Paid")[0]
		self.assertEqual(run.status, "Failed")
		self.assertIn("500", run.error)
		self.assertTrue(
			frappe.db.exists(
				"Comment",
				{"reference_name": generator, "content": ("like", f"%{invoice}%failed%")},
			)
		)
		self.assertTrue(
			frappe.db.exists(
				"Accumulating Generation Log",
				{"generator": generator, "outcome": "Automation Failed", "sales_invoice": invoice},
			)
		)
		fire_owed()
		self.assertEqual(self.receiver.hits_for(invoice), 1)  # never sent again


class TestSweepReconciles(AutomationTestCase):
	def test_a_missed_check_is_settled_by_the_sweep(self):
		invoice = self.invoice_of({"event": "Paid", "webhook": make_webhook(self.receiver.url)})
		with patch.object(automations, "settle_paid_states", side_effect=RuntimeError("lost")):
			pay_with_payment_entry(invoice, "2026-02-05")
			frappe.db.commit()  # the check failed: the payment still commits
		self.assertEqual(runs_of(invoice, "Paid"), [])
		fire_owed()
		self.assertEqual(self.receiver.hits_for(invoice), 1)
