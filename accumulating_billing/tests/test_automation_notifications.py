"""Notifications in automations (issue 19 §4): a Notification that fails counts as a failure of the run (Frappe's
Notification.send only logs it), and a Slack message, which no rollback takes back, is sent after the run's
commit and never twice."""

from unittest.mock import patch

import frappe

from accumulating_billing.billing import automations
from accumulating_billing.doctypes import LOG
from accumulating_billing.tests.automation_utils import disable_notification, runs_of
from accumulating_billing.tests.base import AutomationTestCase
from accumulating_billing.tests.ledger import make_notification


class Crash(Exception):
	"""The worker dies before the run's commit."""


class WorkerDeath(BaseException):
	"""The process is killed (a job timeout, an OOM kill): no `except Exception` sees it."""


def make_failing_notification(tag: str, **kw) -> str:
	"""An email Notification whose message cannot be rendered (a division by zero): Frappe logs and swallows it."""
	name = f"_AB Failing {tag}"
	frappe.get_doc(
		{
			"doctype": "Notification",
			"name": name,
			"subject": f"AB failing {tag}",
			"document_type": "Sales Invoice",
			"event": kw.pop("event", "Custom"),
			"channel": "Email",
			"message": "{{ 1 / 0 }}",
			"recipients": [{"cc": "ab-notify@example.com"}],
			"enabled": 1,
			**kw,
		}
	).insert(ignore_permissions=True)
	return name


def make_slack_notification(tag: str, url: str, **kw) -> str:
	hook = frappe.get_doc(
		{"doctype": "Slack Webhook URL", "webhook_name": f"_AB Slack {tag}", "webhook_url": url}
	).insert(ignore_permissions=True)
	name = f"_AB Slack {tag}"
	frappe.get_doc(
		{
			"doctype": "Notification",
			"name": name,
			"subject": f"AB slack {tag}",
			"document_type": "Sales Invoice",
			"event": "Custom",
			"channel": "Slack",
			"slack_webhook_url": hook.name,
			"message": f"AB slack {tag} {{{{ doc.name }}}}",
			"enabled": 1,
			**kw,
		}
	).insert(ignore_permissions=True)
	return name


class TestFailingNotifications(AutomationTestCase):
	def test_a_notification_frappe_fails_to_send_fails_the_run(self):
		failing = make_failing_notification(frappe.generate_hash(length=6))
		working = make_notification(frappe.generate_hash(length=6))
		invoice = self.invoice_of(
			{"event": "Generated", "notification": failing}, {"event": "Generated", "notification": working}
		)
		[run] = runs_of(invoice)
		self.assertEqual(automations.fire(run.name), "Failed")
		[run] = runs_of(invoice)
		self.assertIn(f"Notification {failing}", run.error)
		self.assertIn("division by zero", run.error)
		self.assertNotIn(working, run.error)  # each automation fails alone
		generator = frappe.db.get_value("Sales Invoice", invoice, "accumulating_generator")
		self.assertTrue(
			frappe.db.exists(
				LOG, {"generator": generator, "outcome": "Automation Failed", "sales_invoice": invoice}
			)
		)

	def test_a_failing_site_wide_notification_fails_the_method_step(self):
		failing = make_failing_notification(
			frappe.generate_hash(length=6), event="Method", method="on_accumulating_invoice_generated"
		)
		self.addCleanup(disable_notification, failing)
		frappe.db.commit()
		invoice = self.invoice_of()
		[run] = runs_of(invoice)
		self.assertEqual(automations.fire(run.name), "Failed")
		self.assertIn("method on_accumulating_invoice_generated", runs_of(invoice)[0].error)


class TestSlackAfterCommit(AutomationTestCase):
	def slack_run(self, target, attribute: str, death: type[BaseException]):
		"""An invoice whose Generated run sends a Slack message, fired once with `target.attribute` dying (`death`)
		right after it ran. Returns (invoice, run)."""
		slack = make_slack_notification(frappe.generate_hash(length=6), self.receiver.url)
		invoice = self.invoice_of({"event": "Generated", "notification": slack})
		[run] = runs_of(invoice)
		real = getattr(target, attribute)

		def runs_then_dies(*args, **kwargs):
			real(*args, **kwargs)
			raise death

		with patch.object(target, attribute, runs_then_dies):
			with self.assertRaises(death):
				automations.fire(run.name)
		frappe.db.rollback()
		return invoice, run

	def fire_again_after_a_dead_worker(self, run) -> str:
		"""A worker that died after the send (the run still owed) fires it again."""
		frappe.db.set_value(automations.RUN, run.name, "status", automations.SENDING)
		frappe.db.commit()
		return automations.fire(run.name)

	def test_slack_is_sent_after_the_commit_and_never_twice(self):
		invoice, run = self.slack_run(automations, "fire_in_transaction", Crash)
		self.assertEqual(self.receiver.hits_for(invoice), 0)  # nothing left the site before the commit
		self.assertEqual(runs_of(invoice)[0].status, "Pending")
		self.assertEqual(automations.fire(run.name), "Done")
		self.assertEqual(self.receiver.hits_for(invoice), 1)
		self.assertEqual(self.fire_again_after_a_dead_worker(run), "Done")
		self.assertEqual(self.receiver.hits_for(invoice), 1)  # Slack is not sent twice

	def test_a_worker_dying_in_the_middle_of_a_slack_send_never_sends_it_again(self):
		"""The attempt is committed before the send: a crash after the message left, before anything else was
		written, and the run fired again sends nothing more (at most once)."""
		from accumulating_billing.billing import notifications

		invoice, run = self.slack_run(notifications, "send", WorkerDeath)
		self.assertEqual(self.receiver.hits_for(invoice), 1)
		self.fire_again_after_a_dead_worker(run)
		self.assertEqual(self.receiver.hits_for(invoice), 1)

	def test_a_site_wide_slack_notification_is_sent_after_the_commit_too(self):
		slack = make_slack_notification(
			frappe.generate_hash(length=6),
			self.receiver.url,
			event="Method",
			method="on_accumulating_invoice_generated",
		)
		self.addCleanup(disable_notification, slack)
		frappe.db.commit()
		invoice = self.invoice_of()
		[run] = runs_of(invoice)
		real = automations.fire_in_transaction

		def dies_before_the_commit(*args, **kwargs):
			real(*args, **kwargs)
			raise Crash

		with patch.object(automations, "fire_in_transaction", dies_before_the_commit):
			with self.assertRaises(Crash):
				automations.fire(run.name)
		frappe.db.rollback()
		self.assertEqual(self.receiver.hits_for(invoice), 0)
		self.assertEqual(automations.fire(run.name), "Done")
		self.assertEqual(self.receiver.hits_for(invoice), 1)

	def test_a_refused_slack_message_fails_the_run(self):
		self.receiver.status = 500
		slack = make_slack_notification(frappe.generate_hash(length=6), self.receiver.url)
		invoice = self.invoice_of({"event": "Generated", "notification": slack})
		[run] = runs_of(invoice)
		self.assertEqual(automations.fire(run.name), "Failed")
		self.assertIn(f"Notification {slack}", runs_of(invoice)[0].error)
		self.assertEqual(self.receiver.hits_for(invoice), 1)
		frappe.db.set_value(automations.RUN, run.name, "status", automations.SENDING)
		frappe.db.commit()
		automations.fire(run.name)
		self.assertEqual(self.receiver.hits_for(invoice), 1)  # tried once, never again
