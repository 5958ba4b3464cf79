"""Tab Reaches alerts (issue 27): a Notification or Webhook on Accumulating Generator fires once per tab period
when the unbilled total reaches the row's amount, recorded after the commit of the line that crossed, and again
after the tab is billed; the message can use the total; two jobs at once record it once."""

from unittest.mock import patch

import frappe

from accumulating_billing.billing import automations, threshold, watch
from accumulating_billing.billing.generation import generate_now
from accumulating_billing.doctypes import GENERATOR, RUN
from accumulating_billing.tests.automation_utils import fire_owed
from accumulating_billing.tests.base import AutomationTestCase, WatchedTabs
from accumulating_billing.tests.faults.connections import Connection
from accumulating_billing.tests.ledger import make_notification, make_webhook
from accumulating_billing.tests.utils import make_customer, make_generator, make_template

TODAY = "2026-03-10 11:00:00"
DAY = "2026-03-10"


def make_tab_notification(tag: str) -> str:
	"""An email Notification on Accumulating Generator (Event Custom) whose message uses the tab's total."""
	message = f"AB {tag}: the tab of {{{{ doc.customer }}}} reached {{{{ doc.unbilled_total }}}}"
	return make_notification(tag, doctype=GENERATOR, message=message)


def make_tab_webhook(url: str) -> str:
	return make_webhook(url, GENERATOR, (("name", "generator"), ("unbilled_total", "unbilled_total")))


def tab_runs(generator: str) -> list:
	return frappe.get_all(
		RUN,
		filters={"generator": generator, "event": "Tab Reaches"},
		fields=["name", "status", "tab_total", "automation", "sales_invoice", "error"],
		order_by="creation asc",
	)


def tab_emails(tag: str, generator: str) -> list[str]:
	return frappe.get_all(
		"Email Queue", filters={"message": ("like", f"%AB {tag} {generator}%")}, pluck="message"
	)


class TestTabReaches(WatchedTabs, AutomationTestCase):
	def alerted(self, amount: float = 100, **kw):
		tag = frappe.generate_hash(length=6)
		gen = make_generator(
			make_customer(),
			first_creation_date="2026-04-01",
			automations=[
				{"event": "Tab Reaches", "tab_amount": amount, "notification": make_tab_notification(tag)},
				{
					"event": "Tab Reaches",
					"tab_amount": amount,
					"webhook": make_tab_webhook(self.receiver.url),
				},
			],
			**kw,
		)
		frappe.db.commit()
		return gen, tag

	def fire_recorded(self, generator: str) -> list[str]:
		runs = threshold.record_alerts(generator)
		return [automations.fire(run) for run in runs]

	def test_fires_once_per_crossing_and_again_after_billing(self):
		gen, tag = self.alerted(100)
		with self.freeze_time(TODAY, tick=True):
			self.add_committed(gen.name, 60)
			self.assertEqual(self.requested, [])
			self.add_committed(gen.name, 50)
			self.assertEqual(self.requested, [gen.name])  # after the commit of the line that crossed
			fired = self.fire_recorded(gen.name)
			runs = tab_runs(gen.name)
			self.assertEqual(fired, ["Done", "Done"], runs)  # its two rows
			self.assertEqual(
				[(r.status, r.tab_total, r.sales_invoice) for r in runs], [("Done", 110, None)] * 2
			)
			[email] = tab_emails(tag, gen.name)
			self.assertIn("reached 110", email)  # the message uses the tab's unbilled total
			self.assertEqual(self.receiver.hits_for(gen.name), 1)
			self.assertIn('"unbilled_total": 110.0', self.receiver.bodies[-1])
			# more lines in the same tab period: no new crossing, nothing asked, nothing recorded
			self.requested.clear()
			self.add_committed(gen.name, 30)
			self.assertEqual(self.requested, [])
			self.assertEqual(threshold.record_alerts(gen.name), [])
			fire_owed()
			self.assertEqual((len(tab_emails(tag, gen.name)), self.receiver.hits_for(gen.name)), (1, 1))
			# billed: a new tab period, the alert is armed again
			generate_now(gen.name, DAY)
			self.add_committed(gen.name, 40)
			self.assertEqual(self.requested, [])
			self.add_committed(gen.name, 70)
			self.assertEqual(self.requested, [gen.name])
			self.assertEqual(self.fire_recorded(gen.name), ["Done", "Done"])
		self.assertEqual((len(tab_emails(tag, gen.name)), self.receiver.hits_for(gen.name)), (2, 2))
		self.assertEqual(len(tab_runs(gen.name)), 4)

	def test_two_jobs_at_once_record_it_once(self):
		gen, _tag = self.alerted(50)
		with patch.object(watch, "request_job", lambda g: True):
			self.add_committed(gen.name, 80, frappe.utils.nowdate())
		connections = [Connection(frappe.local.site, f"alert-{i}") for i in range(2)]
		try:
			futures = [conn.submit(threshold.record_alerts, gen.name) for conn in connections]
			recorded = [run for future in futures for run in future.result(120)]
		finally:
			for conn in connections:
				conn.close()
		self.assertEqual(len(recorded), 2)  # one per row, whichever job recorded it
		frappe.db.rollback()  # this connection's snapshot: after their commits
		self.assertEqual(len(tab_runs(gen.name)), 2)

	def test_the_hourly_sweep_asks_for_an_alert_its_job_lost(self):
		gen, _tag = self.alerted(100)
		with self.freeze_time(TODAY, tick=True):
			self.add_committed(gen.name, 120)
			self.requested.clear()  # the job never ran
			threshold.enqueue_reached()
			self.assertIn(gen.name, self.requested)
			self.fire_recorded(gen.name)
			self.requested.clear()
			threshold.enqueue_reached()
			self.assertNotIn(gen.name, self.requested)  # fired in this period: nothing to catch up

	def test_a_paused_tab_alerts_too_but_is_not_billed(self):
		gen, _tag = self.alerted(100, bill_when_unbilled_reaches=100)
		frappe.db.set_value(GENERATOR, gen.name, "status", "Paused")
		frappe.db.commit()
		with self.freeze_time(TODAY, tick=True):
			self.add_committed(gen.name, 120)
			self.assertEqual(self.requested, [gen.name])
			self.assertEqual(threshold.watch_tab(gen.name), [])  # billing early needs an Active generator
		self.assertEqual([r.status for r in tab_runs(gen.name)], ["Pending", "Pending"])

	def test_the_rows_are_checked_on_save(self):
		hook = make_tab_webhook(self.receiver.url)
		invoice_notification = make_notification(f"si-{frappe.generate_hash(length=5)}")
		tab_notification = make_tab_notification(frappe.generate_hash(length=5))
		cases = [
			({"event": "Tab Reaches", "tab_amount": 0, "webhook": hook}, "Tab Amount greater than 0"),
			(
				{"event": "Tab Reaches", "tab_amount": 10, "assign_template": make_template().name},
				"not Assign Template",
			),
			(
				{"event": "Tab Reaches", "tab_amount": 10, "notification": invoice_notification},
				"on Accumulating Generator",
			),
			({"event": "Generated", "notification": tab_notification}, "on Sales Invoice"),
		]
		for row, message in cases:
			with self.subTest(row=row), self.assertRaisesRegex(frappe.ValidationError, message):
				make_generator(make_customer(), automations=[row])
		make_generator(
			make_customer(), automations=[{"event": "Tab Reaches", "tab_amount": 10, "webhook": hook}]
		)
