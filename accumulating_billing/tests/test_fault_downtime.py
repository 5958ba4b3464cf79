"""Fault suite (issue 7), part 3: scheduler downtime changes nothing.

Scheduler downtime of 1, 3 and 14 occurrences (and 14 with an After N Invoices end): the result - invoices,
generation log, generator state, unbilled items - equals the run without downtime. Reproducible (the items
come from a seeded random.Random); prints its figures. Runs in `bench run-tests` and therefore in `.ci/run`;
the plumbing is in `faults`.
"""

import random
from datetime import date, timedelta

import frappe

from accumulating_billing.billing import tasks
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.faults import SEED
from accumulating_billing.tests.faults.outcomes import outcome_of
from accumulating_billing.tests.source_docs import make_timesheet, service_item
from accumulating_billing.tests.utils import add, make_customer, make_generator


class TestDowntime(GenerationTestCase):
	FIRST = date(2026, 3, 2)  # weekly, Mondays

	def twin_generators(self, **settings) -> list[str]:
		"""Two generators with the same settings and the same items: weeks with nothing, weeks below the
		minimum amount that carry over, items dated on an occurrence (they wait for the next one)."""
		rng = random.Random(SEED)
		plan = []
		for week in range(18):
			for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
				day = self.FIRST - timedelta(days=7) + timedelta(days=7 * week + rng.randint(0, 6))
				plan.append((day, rng.choice((1, 2)), rng.choice((5, 12.5, 30))))
		names = []
		for _ in range(2):
			gen = make_generator(
				first_creation_date=str(self.FIRST),
				interval_unit="Week",
				minimum_amount=20,
				due_days=10,
				**settings,
			)
			for day, qty, rate in plan:
				add(gen.name, self.listing, qty=qty, rate=rate, service_date=day)
			names.append(gen.name)
		frappe.db.commit()
		return names

	def run_with_downtime(self, missed: int, **settings) -> tuple[dict, dict, int]:
		return self.run_twins(*self.twin_generators(**settings), missed)

	def run_twins(self, on_time: str, with_downtime: str, missed: int) -> tuple[dict, dict, int]:
		occurrences = [self.FIRST + timedelta(days=7 * k) for k in range(missed + 2)]
		for day in occurrences:
			tasks.process_chunk([on_time], str(day))
		# the other one runs on the first occurrence, misses `missed`, comes back two days after the last
		# missed one (runs hourly until caught up: at most 12 occurrences per run), then runs on time again
		tasks.process_chunk([with_downtime], str(occurrences[0]))
		back = occurrences[missed] + timedelta(days=2)
		runs = 0
		while tasks.due_generators(back) and with_downtime in tasks.due_generators(back) and runs < 5:
			tasks.process_chunk([with_downtime], str(back))
			runs += 1
		tasks.process_chunk([with_downtime], str(occurrences[-1]))
		frappe.db.rollback()
		return outcome_of(on_time), outcome_of(with_downtime), runs

	def test_downtime_of_1_3_and_14_occurrences_equals_running_on_time(self):
		figures = []
		for missed, settings in (
			(1, {}),
			(3, {}),
			(14, {}),
			(14, {"end_condition": "After N Invoices", "end_after_invoices": 6}),
		):
			with self.subTest(missed=missed, **settings):
				expected, actual, runs = self.run_with_downtime(missed, **settings)
				self.assertEqual(actual, expected)
				self.assertTrue(expected["invoices"])
				figures.append(
					f"{missed} missed{' (After 6)' if settings else ''}: {len(expected['invoices'])} invoices, "
					f"{len(expected['log'])} log lines equal after {runs} catch-up run(s)"
				)
		print("\nfault suite / downtime: " + "; ".join(figures))

	def test_downtime_spanning_timesheets_equals_running_on_time(self):
		"""Two customers with the same Timesheet, billed weekly: one on time, one after 3 missed weeks. The
		invoices, their ERPNext timesheet rows and the Timesheets' billed state are the same."""
		rng = random.Random(SEED)
		plan = [
			(self.FIRST - timedelta(days=7) + timedelta(days=rng.randint(0, 34)), rng.choice((0.5, 1, 2)))
			for _ in range(10)
		]
		twins = []
		for _ in range(2):
			customer = make_customer()
			gen = make_generator(
				customer,
				first_creation_date=str(self.FIRST),
				interval_unit="Week",
				accumulate_timesheets=1,
				timesheet_item=service_item(),
			)
			logs = [{"start": f"{day} {8 + k:02d}:00", "hours": hours} for k, (day, hours) in enumerate(plan)]
			twins.append((gen.name, make_timesheet(logs, customer=customer).name))
		frappe.db.commit()
		expected, actual, runs = self.run_twins(twins[0][0], twins[1][0], 3)
		self.assertEqual(actual, expected)
		self.assertEqual(*(timesheet_outcome(*twin) for twin in twins))
		self.assertTrue(expected["invoices"])
		print(
			f"\nfault suite / downtime spanning timesheets: 3 missed, {len(expected['invoices'])} invoices "
			f"with timesheet rows equal after {runs} catch-up run(s)"
		)


def timesheet_outcome(generator: str, timesheet: str) -> tuple:
	"""Per invoice, its timesheet rows (log date, hours); then the Timesheet's billed state."""
	rows = []
	for invoice in frappe.get_all(
		"Sales Invoice",
		filters={"accumulating_generator": generator, "docstatus": 1},
		fields=["name", "posting_date"],
		order_by="posting_date asc",
	):
		rows.append(
			(
				str(invoice.posting_date),
				sorted(
					(str(r.from_time), r.billing_hours)
					for r in frappe.get_all(
						"Sales Invoice Timesheet",
						filters={"parent": invoice.name},
						fields=["from_time", "billing_hours"],
					)
				),
			)
		)
	return rows, frappe.db.get_value("Timesheet", timesheet, ["status", "per_billed", "total_billed_hours"])
