"""The scheduler and the CLI (billing/tasks.py, billing/cli.py): the hourly tick enqueues deterministic shares
to the long queue, every due generator is taken once, and `accumulating-billing run` bills (or only lists)."""

from unittest.mock import patch

import frappe

from accumulating_billing.billing import app_settings, cli, generation, tasks
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.utils import (
	add,
	ensure_fiscal_years,
	invoices_of,
	make_generator,
)


class TestSchedulerAndCli(GenerationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_fiscal_years(2030)
		frappe.db.commit()

	def test_enqueue_due_uses_long_queue_and_deterministic_job_ids(self):
		make_generator(first_creation_date="2030-05-01")
		frappe.db.commit()
		with patch.object(frappe, "enqueue") as enqueue:
			first = tasks.enqueue_due("2030-05-01")
			second = tasks.enqueue_due("2030-05-01")
		self.assertEqual(first, second)
		parts = app_settings.jobs_per_tick()
		self.assertEqual(len(first), parts)
		self.assertEqual(len(set(first)), parts)
		for call in enqueue.call_args_list:
			self.assertEqual(call.args[0], "accumulating_billing.billing.tasks.process_share")
			self.assertEqual(call.kwargs["queue"], "long")
			self.assertTrue(call.kwargs["deduplicate"])
			self.assertEqual((call.kwargs["parts"], call.kwargs["as_of"]), (parts, "2030-05-01"))
		self.assertEqual(sorted({c.kwargs["part"] for c in enqueue.call_args_list}), list(range(parts)))

	def test_nothing_due_enqueues_nothing(self):
		with patch.object(frappe, "enqueue") as enqueue:
			self.assertEqual(tasks.enqueue_due("1990-01-01"), [])
		enqueue.assert_not_called()

	def test_the_shares_take_every_due_generator_once(self):
		gens = [make_generator(first_creation_date="2030-07-01") for _ in range(7)]
		frappe.db.commit()
		taken: list[str] = []

		def record(name, as_of):  # generators of other tests are due too: only record, bill nothing
			taken.append(name)
			return generation.RunResult(name)

		settings = frappe.get_single("Accumulating Billing Settings")
		settings.billing_jobs_per_tick = 3
		settings.save()
		try:
			due = tasks.due_generators(frappe.utils.getdate("2030-07-01"))
			with patch.object(frappe, "enqueue") as enqueue:
				tasks.enqueue_due("2030-07-01")
			shares = [
				{k: call.kwargs[k] for k in ("as_of", "part", "parts")} for call in enqueue.call_args_list
			]
			self.assertEqual(len(shares), 3)
			with patch.object(tasks, "run_isolated", side_effect=record):
				for share in shares:
					tasks.process_share(**share)
		finally:
			settings.reload()
			settings.billing_jobs_per_tick = 0  # back to the default
			settings.save()
		self.assertEqual(settings.billing_jobs_per_tick, app_settings.DEFAULT_JOBS_PER_TICK)
		self.assertEqual(sorted(taken), sorted(due))  # every due generator in exactly one share
		for gen in gens:
			self.assertIn(gen.name, taken)

	def test_a_share_stops_taking_generators_when_its_time_budget_is_spent(self):
		gen = make_generator(first_creation_date="2030-08-01")
		frappe.db.commit()
		with patch.object(tasks, "run_isolated", side_effect=lambda name, as_of: generation.RunResult(name)):
			self.assertEqual(tasks.process_share("2030-08-01", 0, 1, budget=-1), [])
			results = tasks.process_share("2030-08-01", 0, 1)
		self.assertIn(gen.name, [r.generator for r in results])

	def test_generators_of_one_naming_series_go_to_one_job(self):
		options = ["A-.####", "B-.####", "C-.####"]
		self.assertEqual({tasks.share_of(f"G{i}", 4, "C-.####", options) for i in range(50)}, {2})
		self.assertEqual(tasks.share_of("G1", 2, "B-.####", options), 1)
		self.assertEqual(tasks.share_of("G1", 4, None, options), tasks.share_of("G1", 4))
		self.assertEqual(tasks.share_of("G1", 4, "GONE-.####", options), tasks.share_of("G1", 4))

		series = tasks.invoice_series_options()[0]
		gens = [
			make_generator(first_creation_date="2030-09-01", naming_series_for_invoice=series).name
			for _ in range(4)
		]
		frappe.db.commit()
		taken: dict[int, list[str]] = {}
		with patch.object(tasks, "run_isolated", side_effect=lambda name, as_of: generation.RunResult(name)):
			for part in range(3):
				taken[part] = [r.generator for r in tasks.process_share("2030-09-01", part, 3)]
		self.assertEqual([part for part in taken if set(gens) & set(taken[part])], [0])
		self.assertTrue(set(gens) <= set(taken[0]))

	def test_a_share_bills_the_generators_that_failed_last_after_the_others(self):
		failing = make_generator(first_creation_date="2030-10-01")
		healthy = make_generator(first_creation_date="2030-10-02")
		frappe.db.set_value("Accumulating Generator", failing.name, "consecutive_failures", 2)
		frappe.db.commit()
		order: list[str] = []

		def record(name, as_of):
			order.append(name)
			return generation.RunResult(name)

		with patch.object(tasks, "run_isolated", side_effect=record):
			tasks.process_share("2030-10-02", 0, 1)
		self.assertLess(order.index(healthy.name), order.index(failing.name))

	def test_a_bad_number_of_jobs_written_around_the_form_still_bills(self):
		frappe.db.set_single_value("Accumulating Billing Settings", "billing_jobs_per_tick", -3)
		try:
			self.assertEqual(app_settings.jobs_per_tick(), 1)
		finally:
			frappe.db.set_single_value("Accumulating Billing Settings", "billing_jobs_per_tick", 0)
		self.assertEqual(app_settings.jobs_per_tick(), app_settings.DEFAULT_JOBS_PER_TICK)

	def test_share_of_is_stable_and_spreads_names(self):
		names = [f"ACG-{i:05d}" for i in range(400)]
		shares = [tasks.share_of(name, 4) for name in names]
		self.assertEqual(shares, [tasks.share_of(name, 4) for name in names])
		counts = [shares.count(k) for k in range(4)]
		self.assertTrue(all(60 <= c <= 140 for c in counts), counts)

	def test_cli_dry_run_changes_nothing_then_run_bills(self):
		gen = make_generator(first_creation_date="2030-06-01")
		add(gen.name, self.listing, service_date="2030-05-05")
		frappe.db.commit()
		out: list[str] = []
		cli.run("2030-06-01", True, out.append)
		self.assertTrue(any(gen.name in line and "2030-06-01" in line for line in out), out)
		self.assertIn("nothing changed", out[-1])
		self.assertEqual(invoices_of(gen.name), [])
		out.clear()
		cli.run("2030-06-01", False, out.append)
		self.assertTrue(any("billed 1 item" in line for line in out), out)
		self.assertEqual(len(invoices_of(gen.name)), 1)
