"""Billing early with a real RQ worker (issue 27): the line that makes a tab reach its threshold is committed, its
look at the tab enqueues the job through Redis, a `bench worker` started for this test runs it, and the tab is
billed within a minute of that commit, with the schedule unchanged. Nothing in the job is played in process here
(test_threshold.py tests the job's logic in process)."""

import time

import frappe
from frappe.utils import add_months, get_first_day, getdate, nowdate

from accumulating_billing import api
from accumulating_billing.billing import watch
from accumulating_billing.doctypes import GENERATOR, ITEM
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.faults.connections import Connection
from accumulating_billing.tests.faults.invariants import check_invariants
from accumulating_billing.tests.real_worker import RealWorker, wait_until
from accumulating_billing.tests.utils import (
	add_committed_each,
	ensure_fiscal_years,
	invoices_of,
	make_customer,
	make_generator,
)

WITHIN_SECONDS = 60


class TestBillingEarlyWithARealWorker(GenerationTestCase):
	def watched_today(self):
		"""(today, a generator billed early at 50.00, monthly from the first of next month); committed."""
		today = getdate(nowdate())
		ensure_fiscal_years(today.year)
		gen = make_generator(
			make_customer(),
			first_creation_date=get_first_day(add_months(today, 1)),
			bill_when_unbilled_reaches=50,
			generate_as="Open",
		)
		frappe.db.commit()
		return today, gen

	def test_a_tab_reaching_its_threshold_is_billed_within_a_minute(self):
		today, gen = self.watched_today()
		schedule = frappe.db.get_value(GENERATOR, gen.name, ["next_creation_date", "invoices_generated"])
		added = set()
		with RealWorker() as worker:
			for _k in range(4):
				added.add(api.add_item(gen.name, self.listing, qty=1, rate=10, service_date=str(today)))
				frappe.db.commit()
			self.assertEqual(invoices_of(gen.name), [])  # 40 of 50
			added.add(api.add_item(gen.name, self.listing, qty=1, rate=10, service_date=str(today)))
			frappe.db.commit()  # 50: after this commit the job is enqueued, and the worker takes it
			crossed = time.monotonic()
			invoices, _waited = wait_until(lambda: invoices_of(gen.name), WITHIN_SECONDS + 30)
			elapsed = time.monotonic() - crossed
			self.assertTrue(worker.alive(), worker.output()[-3000:])
			self.assertTrue(
				invoices, f"not billed {elapsed:.0f} s after the commit:\n{worker.output()[-3000:]}"
			)
		self.assertLess(elapsed, WITHIN_SECONDS)
		[invoice] = invoices
		self.assertEqual((invoice.docstatus, invoice.net_total, invoice.posting_date), (1, 50, today))
		self.assertEqual(
			frappe.db.get_value(GENERATOR, gen.name, ["next_creation_date", "invoices_generated"]), schedule
		)
		check_invariants([gen.name], added)

	def test_four_concurrent_adders_across_a_threshold_of_50_bill_every_item_once(self):
		"""Four adders on their own connections add ten items of 5.00 each, committing each: the tab crosses 50 again
		and again while the worker bills it. Every item is billed exactly once (or still waits, below 50)."""
		today, gen = self.watched_today()
		site, item = frappe.local.site, self.listing

		connections = [Connection(site, f"adder-{i}") for i in range(4)]
		with RealWorker():
			try:
				futures = [
					conn.submit(add_committed_each, gen.name, item, 10, 5, today, str(i))
					for i, conn in enumerate(connections)
				]
				added = {name for future in futures for name in future.result(300)}
			finally:
				for conn in connections:
					conn.close()

			def settled():
				left = frappe.get_all(
					ITEM, filters={"generator": gen.name, "status": "Unbilled"}, pluck="amount"
				)
				return sum(left) < 50 and not watch.job_pending(gen.name)

			done, waited = wait_until(settled, WITHIN_SECONDS + 30)
			self.assertTrue(done, f"the tab still holds 50.00 or more {waited:.0f} s after the last add")
		self.assertEqual(len(added), 40)
		check_invariants([gen.name], added)
		invoices = invoices_of(gen.name, docstatus=1)
		self.assertTrue(invoices)
		self.assertTrue(all(row.net_total >= 50 for row in invoices), invoices)
		billed = frappe.db.count(ITEM, {"generator": gen.name, "status": "Billed"})
		self.assertEqual(sum(row.net_total for row in invoices), billed * 5)
