"""Billing early under concurrency (issue 27), on real parallel database connections: four adders of ten items
each cross a threshold of 50 again and again while two threshold jobs and the scheduled run bill the same tab.
Every item is billed exactly once or still unbilled (the fault suite's invariants), every threshold invoice bills
at least the threshold, and what is left is below it once the hourly catch-up has run."""

import queue
import threading
from unittest.mock import patch

import frappe
from frappe.utils import add_days, flt, getdate, nowdate

from accumulating_billing.billing import threshold, watch
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.doctypes import ITEM
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.faults.connections import Connection
from accumulating_billing.tests.faults.invariants import check_invariants
from accumulating_billing.tests.utils import (
	add_committed_each,
	ensure_fiscal_years,
	invoices_of,
	make_customer,
	make_generator,
)


class TestThresholdUnderConcurrency(GenerationTestCase):
	def test_four_adders_across_a_threshold_bill_every_item_exactly_once(self):
		today = getdate(nowdate())
		yesterday = getdate(add_days(today, -1))
		ensure_fiscal_years(yesterday.year, today.year)
		gen = make_generator(make_customer(), first_creation_date=today, bill_when_unbilled_reaches=50)
		frappe.db.commit()
		site, item = frappe.local.site, self.listing
		asked: queue.Queue = queue.Queue()
		adding_done = threading.Event()

		def work() -> list[str]:
			"""A worker of the jobs asked for (the real job, in this connection)."""
			billed = []
			while not (adding_done.is_set() and asked.empty()):
				try:
					generator = asked.get(timeout=0.2)
				except queue.Empty:
					continue
				billed += threshold.watch_tab(generator)
			return billed

		connections = [Connection(site, f"adder-{i}") for i in range(4)]
		workers = [Connection(site, f"threshold-job-{i}") for i in range(2)]
		scheduler = Connection(site, "scheduled-run")
		try:
			with patch.object(watch, "request_job", lambda generator: asked.put(generator) or True):
				jobs = [worker.submit(work) for worker in workers]
				adds = [
					conn.submit(add_committed_each, gen.name, item, 10, 5, yesterday, str(i))
					for i, conn in enumerate(connections)
				]
				# the scheduled occurrence of today bills the items dated before it, in the middle of it all
				scheduled = scheduler.submit(run_generator, gen.name, str(today), delay=0.5)
				added = {name for future in adds for name in future.result(300)}
				scheduled_result = scheduled.result(300)
				adding_done.set()
				threshold_invoices = [name for job in jobs for name in job.result(300)]
		finally:
			adding_done.set()
			for conn in (*connections, *workers, scheduler):
				conn.close()
		frappe.db.rollback()
		self.assertEqual(len(added), 40)
		self.assertIsNone(scheduled_result.error)
		self.assertTrue(asked.empty())
		# the hourly catch-up bills what is still at the threshold (a job that ended as the last lines arrived)
		threshold_invoices += threshold.bill_reached(today)
		frappe.db.rollback()
		check_invariants([gen.name], added)
		self.assertTrue(threshold_invoices)
		invoices = {row.name: row for row in invoices_of(gen.name, docstatus=1)}
		for name in threshold_invoices:
			self.assertIsNone(invoices[name].accumulating_occurrence)  # off-cycle, through Generate Now
			self.assertGreaterEqual(flt(invoices[name].net_total), 50)
		billed = frappe.db.count(ITEM, {"generator": gen.name, "status": "Billed"})
		left = frappe.get_all(ITEM, filters={"generator": gen.name, "status": "Unbilled"}, pluck="amount")
		self.assertEqual(billed + len(left), 40)
		self.assertLess(sum(left), 50)
		self.assertEqual(sum(flt(row.net_total) for row in invoices.values()), 200 - sum(left))
