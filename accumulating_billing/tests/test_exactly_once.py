"""Exactly once under concurrency, crashes and ERPNext validation failures (docs/architecture.md §3)."""

import threading
from unittest.mock import patch

import frappe

from accumulating_billing.billing import generation, generation_log, locks, tab
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.doctypes import ITEM
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.utils import add, invoices_of, make_generator, make_item, unbilled


def in_own_connection(site: str, fn, *args, results: list, barrier: threading.Barrier | None = None):
	"""Run fn in a thread with its own frappe.init/connect (a second worker)."""

	def target():
		frappe.init(site=site)
		frappe.connect()
		frappe.set_user("Administrator")
		try:
			if barrier:
				barrier.wait(timeout=30)
			results.append(fn(*args))
		except Exception as e:
			results.append(e)
		finally:
			frappe.db.commit()
			frappe.destroy()

	thread = threading.Thread(target=target)
	thread.start()
	return thread


def other_connections() -> list[dict]:
	"""What this site's other connections are doing (the statement each runs, its state and for how long): a test
	that finds another connection stuck says which statement it is stuck on. A database user sees its own
	connections without the PROCESS privilege (InnoDB's lock tables need it; a site's user has not)."""
	return frappe.db.sql(
		"select `id`, `command`, `time`, `state`, left(`info`, 300) as `info` from information_schema.processlist "
		"where `db` = database() and `id` != connection_id() and `command` != 'Sleep'",
		as_dict=True,
	)


class TestConcurrency(GenerationTestCase):
	def test_two_workers_race_on_one_occurrence(self):
		gen = make_generator(first_creation_date="2026-02-01")
		for day in ("2026-01-05", "2026-01-06", "2026-01-07"):
			add(gen.name, self.listing, service_date=day)
		frappe.db.commit()
		results, barrier = [], threading.Barrier(2)
		threads = [
			in_own_connection(
				frappe.local.site, run_generator, gen.name, "2026-02-01", results=results, barrier=barrier
			)
			for _ in range(2)
		]
		for t in threads:
			t.join(60)
		self.assertFalse([r for r in results if isinstance(r, Exception)], results)
		made = [inv for r in results for inv in r.invoices]
		self.assertEqual(len(made), 1)
		frappe.db.rollback()  # fresh snapshot
		self.assertEqual(len(invoices_of(gen.name)), 1)
		self.assertEqual(unbilled(gen.name), [])
		self.assertEqual(frappe.db.get_value("Accumulating Generator", gen.name, "invoices_generated"), 1)

	def test_item_added_from_another_connection_during_generation_is_billed_once(self):
		gen = make_generator(first_creation_date="2026-02-01")
		add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.commit()
		site = frappe.local.site
		results: list = []
		threads: list = []
		busy: list = []  # what the site's other connections were doing when the adder had not finished
		real_create = generation.create_invoice

		def create_while_someone_adds(*args, **kwargs):
			# the items are locked now; another connection adds an item dated before the run
			threads.append(
				in_own_connection(
					site,
					lambda: add(gen.name, self.listing, qty=7, service_date="2026-01-20").name,
					results=results,
				)
			)
			threads[0].join(30)  # only the swept rows are locked: the adder never waits on a run
			if threads[0].is_alive():
				busy.extend(other_connections())
			return real_create(*args, **kwargs)

		with patch.object(generation, "create_invoice", side_effect=create_while_someone_adds):
			first = run_generator(gen.name, "2026-02-01").invoices
		self.assertFalse(busy or threads[0].is_alive(), f"the adder waited on the run's locks: {busy}")
		self.assertEqual(len(results), 1)
		self.assertNotIsInstance(results[0], Exception)
		frappe.db.rollback()
		late_item = results[0]
		self.assertEqual(len(first), 1)
		# the run billed what its snapshot saw; the late item waits for the next invoice
		self.assertEqual(frappe.db.get_value("Sales Invoice", first[0], "total_qty"), 1)
		second = run_generator(gen.name, "2026-03-01").invoices
		billed_on = frappe.db.get_value("Accumulating Generator Item", late_item, "sales_invoice")
		self.assertEqual([billed_on], second)
		lines = frappe.get_all(
			"Sales Invoice Item",
			filters={"accumulating_generator_item": late_item, "docstatus": 1},
			pluck="parent",
		)
		self.assertEqual(lines, [billed_on])
		self.assertEqual(unbilled(gen.name), [])


class TestLockedValuesWin(GenerationTestCase):
	"""An item re-dated by another transaction between a run's first read of its tab and its lock of the items is
	left for its own period: the locked values win."""

	def setUp(self):
		super().setUp()
		self.gen = make_generator(first_creation_date="2026-02-01")
		self.keep = add(self.gen.name, self.listing, service_date="2026-01-05")
		self.moved = add(self.gen.name, self.listing, qty=3, service_date="2026-01-06")
		frappe.db.commit()
		self.results = []

	def then_re_date(self, read):
		"""`read`, then another connection moves `self.moved` to 10 Feb and commits."""
		site = frappe.local.site

		def read_then_someone_re_dates(*args, **kwargs):
			found = read(*args, **kwargs)
			move = lambda: frappe.db.set_value(ITEM, self.moved.name, "service_date", "2026-02-10")  # noqa: E731
			in_own_connection(site, move, results=self.results).join(30)
			return found

		return read_then_someone_re_dates

	def assert_left_for_its_period(self, first: str):
		self.assertEqual(len(self.results), 1)
		self.assertNotIsInstance(self.results[0], Exception)
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value(ITEM, self.keep.name, "sales_invoice"), first)
		self.assertEqual(frappe.db.get_value("Sales Invoice", first, "total_qty"), 1)
		self.assertEqual(frappe.db.get_value(ITEM, self.moved.name, "status"), "Unbilled")
		second = run_generator(self.gen.name, "2026-03-01").invoices
		self.assertEqual(frappe.db.get_value(ITEM, self.moved.name, "sales_invoice"), second[0])

	def test_an_item_re_dated_after_the_runs_first_read_waits_for_its_own_period(self):
		# Generate Now up to 31 Jan: the item moved to 10 Feb is no longer part of it
		with patch.object(tab, "unbilled_names", side_effect=self.then_re_date(tab.unbilled_names)):
			invoice, _message = generation.generate_now(self.gen.name, "2026-01-31")
		self.assert_left_for_its_period(invoice)

	def test_an_item_re_dated_after_a_scheduled_runs_read_of_its_tab_waits_for_its_own_period(self):
		"""A scheduled run reads its candidates along with the generator (tab.along)."""
		read = self.then_re_date(locks.lock_and_load_generator_or_skip)
		with (
			patch.object(locks, "lock_and_load_generator_or_skip", side_effect=read),
			patch.object(tab, "unbilled_names", wraps=tab.unbilled_names) as plain_read,
		):
			invoices = run_generator(self.gen.name, "2026-02-01").invoices
		self.assertEqual(plain_read.call_count, 0)  # the candidates came with the generator's read
		self.assertEqual(len(invoices), 1)
		self.assert_left_for_its_period(invoices[0])


class TestTransientDatabaseErrors(GenerationTestCase):
	def run_with_errors(self, errors: int):
		gen = make_generator(first_creation_date="2026-02-01")
		add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.commit()
		real_run = generation.run_occurrence
		raised: list = []

		def deadlock_first(*args, **kwargs):
			if len(raised) < errors:
				raised.append(1)
				frappe.db.set_value("Accumulating Generator", gen.name, "invoices_generated", 99)
				raise frappe.QueryDeadlockError("Deadlock found when trying to get lock")
			return real_run(*args, **kwargs)

		with patch.object(generation, "run_occurrence", side_effect=deadlock_first):
			result = run_generator(gen.name, "2026-02-01")
		gen.reload()
		return gen, result

	def test_a_deadlock_is_retried_once_and_bills(self):
		gen, result = self.run_with_errors(1)
		self.assertEqual((len(result.invoices), result.error), (1, None))
		self.assertEqual((gen.invoices_generated, gen.consecutive_failures), (1, 0))
		self.assertEqual(str(gen.next_creation_date), "2026-03-01")

	def test_a_second_deadlock_is_a_failure_that_keeps_the_date(self):
		gen, result = self.run_with_errors(2)
		self.assertEqual(result.invoices, [])
		self.assertIn("Deadlock", result.error)
		self.assertEqual((gen.invoices_generated, gen.consecutive_failures), (0, 1))
		self.assertEqual(str(gen.next_creation_date), "2026-02-01")
		self.assertEqual(len(invoices_of(gen.name)), 0)


class TestBusyGenerator(GenerationTestCase):
	def test_a_generator_held_by_another_worker_is_skipped_not_failed(self):
		gen = make_generator(first_creation_date="2026-02-01")
		add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.commit()
		holding, release = threading.Event(), threading.Event()

		def hold_the_row():
			frappe.db.get_value("Accumulating Generator", gen.name, "name", for_update=True)
			holding.set()
			release.wait(30)

		results: list = []
		holder = in_own_connection(frappe.local.site, hold_the_row, results=results)
		self.assertTrue(holding.wait(30))
		try:
			busy = run_generator(gen.name, "2026-02-01")
		finally:
			release.set()
			holder.join(30)
		self.assertEqual((busy.invoices, busy.error), ([], None))
		self.assertIn("busy", busy.log[0])
		gen.reload()
		self.assertEqual((gen.consecutive_failures, str(gen.next_creation_date)), (0, "2026-02-01"))
		self.assertEqual(len(run_generator(gen.name, "2026-02-01").invoices), 1)


class TestCrashAndFailure(GenerationTestCase):
	def test_exception_after_insert_before_marking_rolls_everything_back(self):
		gen = make_generator(first_creation_date="2026-02-01")
		items = [add(gen.name, self.listing, service_date=d).name for d in ("2026-01-05", "2026-01-06")]
		frappe.db.commit()
		with patch.object(tab, "mark_billed", side_effect=RuntimeError("power cut")):
			result = run_generator(gen.name, "2026-02-01")
		self.assertEqual(result.invoices, [])
		self.assertIn("power cut", result.error)
		self.assertEqual(invoices_of(gen.name), [])
		self.assertEqual(sorted(unbilled(gen.name)), sorted(items))
		gen.reload()
		self.assertEqual(str(gen.next_creation_date), "2026-02-01")
		self.assertEqual(gen.consecutive_failures, 1)
		self.assertIn("power cut", gen.last_error)
		self.assertTrue(
			frappe.db.exists(
				"Error Log", {"reference_doctype": "Accumulating Generator", "reference_name": gen.name}
			)
		)
		retry = run_generator(gen.name, "2026-02-01")
		self.assertEqual(len(retry.invoices), 1)
		self.assertEqual(len(invoices_of(gen.name)), 1)
		gen.reload()
		self.assertEqual((gen.consecutive_failures, gen.last_error), (0, None))

	def test_erpnext_validation_failure_keeps_next_date_then_bills_after_fix(self):
		code = make_item(f"_AB Soon Disabled {frappe.generate_hash(length=5)}")
		# Stop the Invoice: ERPNext's refusal fails the occurrence (the default holds the line, issue 19)
		gen = make_generator(first_creation_date="2026-02-01", on_refused_line="Stop the Invoice")
		add(gen.name, code, service_date="2026-01-05")
		frappe.db.set_value("Item", code, "disabled", 1)
		frappe.db.commit()
		result = run_generator(gen.name, "2026-02-01")
		self.assertEqual(result.invoices, [])
		self.assertTrue(result.error)
		self.assertEqual(invoices_of(gen.name), [])
		gen.reload()
		self.assertEqual(str(gen.next_creation_date), "2026-02-01")
		self.assertTrue(gen.last_error)
		frappe.db.set_value("Item", code, "disabled", 0)
		frappe.db.commit()
		self.assertEqual(len(run_generator(gen.name, "2026-02-01").invoices), 1)

	def test_failing_after_five_and_other_generators_go_on(self):
		gen = make_generator(first_creation_date="2026-02-01")
		healthy = make_generator(first_creation_date="2026-02-01")
		add(gen.name, self.listing, service_date="2026-01-05")
		add(healthy.name, self.listing, service_date="2026-01-05")
		frappe.db.commit()
		real = generation.create_invoice

		def fail_for_one(generator, *args, **kwargs):
			if generator.name == gen.name:
				raise frappe.ValidationError("tax account missing")
			return real(generator, *args, **kwargs)

		with (
			patch.object(generation, "create_invoice", side_effect=fail_for_one),
			patch.object(generation_log, "notify_failing") as notify,
		):
			from accumulating_billing.billing.tasks import process_chunk

			for _ in range(5):
				process_chunk([gen.name, healthy.name], "2026-02-01")
		self.assertEqual(notify.call_count, 1)
		gen.reload()
		self.assertEqual(gen.consecutive_failures, 5)
		self.assertEqual(str(gen.next_creation_date), "2026-02-01")
		self.assertEqual(len(invoices_of(healthy.name)), 1)

	def test_duplicate_occurrence_key_is_already_done(self):
		gen = make_generator(first_creation_date="2026-02-01")
		add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.commit()
		first = run_generator(gen.name, "2026-02-01").invoices[0]
		# someone moves the schedule back by hand: the database key refuses a second invoice for Feb 1
		add(gen.name, self.listing, service_date="2026-01-06")
		frappe.db.set_value("Accumulating Generator", gen.name, "next_creation_date", "2026-02-01")
		frappe.db.commit()
		again = run_generator(gen.name, "2026-02-01")
		self.assertEqual(again.invoices, [])
		self.assertIsNone(again.error)
		self.assertEqual([i.name for i in invoices_of(gen.name)], [first])
		self.assertEqual(
			str(frappe.db.get_value("Accumulating Generator", gen.name, "next_creation_date")), "2026-03-01"
		)
