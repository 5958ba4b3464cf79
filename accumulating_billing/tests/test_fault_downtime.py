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
from accumulating_billing.tests.faults import SEED, outcome_of
from accumulating_billing.tests.test_generation import GenerationTestCase
from accumulating_billing.tests.utils import add, make_generator


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
		on_time, with_downtime = self.twin_generators(**settings)
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
