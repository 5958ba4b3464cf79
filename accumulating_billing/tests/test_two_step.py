"""Two-step billing (*Submit Invoices in a Second Transaction*, issue 15): reserve (insert the draft, mark its
items, advance; commit), then finalize (submit; commit). Each invoice is submitted exactly once, by whoever finds
it reserved first, and what a submitted invoice owes (Generated run, pay link, email) is owed once."""

import threading
from unittest.mock import patch

import frappe

from accumulating_billing.billing import email, generation_log, locks, tasks, two_step
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.doctypes import LOG, RUN
from accumulating_billing.tests.base import TwoStepTestCase
from accumulating_billing.tests.faults.connections import Connection
from accumulating_billing.tests.two_step_utils import (
	billed_on,
	failing_submit,
	listened,
	refused_submit,
	stopped_after_reserve,
)
from accumulating_billing.tests.utils import (
	add,
	company,
	invoices_of,
	make_emailing_generator,
	make_generator,
	make_user,
	unbilled,
)


class TestTwoStepRun(TwoStepTestCase):
	def test_an_occurrence_reserves_then_submits_and_owes_once(self):
		gen = listened(make_emailing_generator(self.listing))
		item = unbilled(gen.name)[0]
		jobs = []
		with patch.object(frappe, "enqueue", lambda method, **kw: jobs.append((method, kw))):
			result = run_generator(gen.name, "2026-02-01")
		self.assertIsNone(result.error)
		self.assertEqual(len(result.invoices), 1, result)
		invoice = frappe.get_doc("Sales Invoice", result.invoices[0])
		self.assertEqual((invoice.docstatus, invoice.accumulating_finalize), (1, 0))
		self.assertEqual(billed_on(gen.name), [(item, "Billed", invoice.name)])
		gen.reload()
		self.assertEqual((str(gen.next_creation_date), gen.invoices_generated), ("2026-03-01", 1))
		# owed once, from the submit: one Generated run, the email Pending on the one log line, one email job
		self.assertEqual(
			frappe.get_all(RUN, filters={"sales_invoice": invoice.name}, pluck="event"), ["Generated"]
		)
		self.assertEqual(
			frappe.get_all(
				LOG, filters={"sales_invoice": invoice.name, "outcome": "Billed"}, pluck="email_status"
			),
			["Pending"],
		)
		self.assertEqual(
			[kw["invoice"] for method, kw in jobs if method.endswith("send_invoice_email")], [invoice.name]
		)
		# a second run the same day, and the sweep, find nothing reserved and bill nothing
		with patch.object(two_step, "SWEEP_AFTER_MINUTES", -1):
			self.assertNotIn(gen.name, two_step.sweep_reserved())
		self.assertEqual(run_generator(gen.name, "2026-02-01").invoices, [])
		self.assertEqual(len(invoices_of(gen.name)), 1)

	def test_a_refused_submit_keeps_the_draft_reserved_and_stops_later_occurrences(self):
		gen = listened(make_generator(first_creation_date="2026-02-01"))
		first = add(gen.name, self.listing, service_date="2026-01-10").name
		frappe.db.commit()
		with failing_submit(times=10):
			result = run_generator(gen.name, "2026-02-01")
			self.assertIn("credit limit crossed", result.error)
			reserved = invoices_of(gen.name)
			self.assertEqual(
				[(r.docstatus, str(r.accumulating_occurrence)) for r in reserved], [(0, "2026-02-01")]
			)
			self.assertEqual(billed_on(gen.name), [(first, "Billed", reserved[0].name)])
			# stored as built by the reserve, the waiting draft is computed once its submit was refused
			self.assertEqual(reserved[0].grand_total, 10)
			self.assertTrue(frappe.db.get_value("Sales Invoice", reserved[0].name, "debit_to"))
			gen.reload()
			self.assertEqual((gen.consecutive_failures, str(gen.next_creation_date)), (1, "2026-03-01"))
			# the next occurrence is due, but the reserved invoice comes first: nothing later is billed
			add(gen.name, self.listing, service_date="2026-02-10")
			frappe.db.commit()
			result = run_generator(gen.name, "2026-03-01")
			self.assertIn("credit limit crossed", result.error)
			self.assertEqual(len(invoices_of(gen.name)), 1)
			gen.reload()
			self.assertEqual(gen.consecutive_failures, 1)  # the same refusal again is not another failure
		# the refusal is lifted: the reserved invoice is submitted, then March is billed
		result = run_generator(gen.name, "2026-03-01")
		self.assertIsNone(result.error)
		invoices = invoices_of(gen.name)
		self.assertEqual(
			[(r.docstatus, str(r.accumulating_occurrence)) for r in invoices],
			[(1, "2026-02-01"), (1, "2026-03-01")],
		)
		self.assertEqual(unbilled(gen.name), [])
		gen.reload()
		self.assertEqual((gen.consecutive_failures, gen.last_error), (0, None))
		self.assertEqual(frappe.db.count(RUN, {"generator": gen.name, "event": "Generated"}), 2)

	def test_a_reserved_invoice_left_to_another_worker_holds_the_run_back(self):
		"""The run's locked read finds an invoice reserved earlier and not submitted; the run tries to submit it
		first, and while another worker has it (finalize_pending leaves it to them), bills nothing later."""
		gen = make_generator(first_creation_date="2026-02-01")
		add(gen.name, self.listing, service_date="2026-01-10")
		frappe.db.commit()
		with stopped_after_reserve():  # the run stopped after its reserve
			run_generator(gen.name, "2026-02-01")
		[reserved] = two_step.reserved_invoices(gen.name)
		add(gen.name, self.listing, service_date="2026-02-10")
		frappe.db.commit()
		with patch.object(two_step, "finalize_pending", return_value=None) as left:
			result = run_generator(gen.name, "2026-03-01")
		self.assertEqual(left.call_count, 1)
		self.assertEqual((result.invoices, result.error, len(result.log)), ([], None, 1))
		self.assertIn("busy", result.log[0])
		self.assertEqual(two_step.reserved_invoices(gen.name), [reserved])
		# nobody has it: the next run submits it, then bills March
		self.assertIsNone(run_generator(gen.name, "2026-03-01").error)
		self.assertEqual(
			[
				(r.name == reserved, r.docstatus, str(r.accumulating_occurrence))
				for r in invoices_of(gen.name)
			],
			[(True, 1, "2026-02-01"), (False, 1, "2026-03-01")],
		)

	def test_the_locked_read_asks_whether_a_reserved_invoice_waits(self):
		"""Two-step billing's probe rides in the statement that locks the generator (locks.read_generator) and
		answers as reserved_invoices does."""
		gen = make_generator(first_creation_date="2026-02-01")
		add(gen.name, self.listing, service_date="2026-01-10")
		frappe.db.commit()
		probes = two_step.TWO_STEPS.probes()

		def probed():
			doc = locks.lock_and_load_generator_or_skip(gen.name, probes)
			frappe.db.rollback()
			return doc.flags.probed, two_step.TWO_STEPS.waits(doc)

		self.assertEqual(probed(), ({"reserved": False}, False))
		with stopped_after_reserve():
			run_generator(gen.name, "2026-02-01")
		[reserved] = two_step.reserved_invoices(gen.name)
		self.assertEqual(probed(), ({"reserved": True}, True))
		frappe.db.set_value("Sales Invoice", reserved, "accumulating_review", 1, update_modified=False)
		frappe.db.commit()
		self.assertEqual(probed(), ({"reserved": False}, False))  # kept for a person: no run submits it
		frappe.db.set_value("Sales Invoice", reserved, "accumulating_review", 0, update_modified=False)
		frappe.db.commit()
		self.assertIsNone(two_step.finalize(gen.name, reserved))
		self.assertEqual(probed(), ({"reserved": False}, False))
		# asked nothing, the locked read answers nothing; the finisher then asks the database
		doc = locks.lock_and_load_generator_or_skip(gen.name)
		frappe.db.rollback()
		self.assertEqual((doc.flags.probed, two_step.TWO_STEPS.waits(doc)), ({}, False))

	def test_the_reserved_probe_locks_nothing_and_skips_nothing(self):
		"""As the child-table probes (test_locks): a reserved invoice another transaction holds is still seen, and
		the run, holding the generator, holds neither the invoice's row nor its tab row."""
		gen = make_generator(first_creation_date="2026-02-01")
		add(gen.name, self.listing, service_date="2026-01-10")
		frappe.db.commit()
		with stopped_after_reserve():
			run_generator(gen.name, "2026-02-01")
		[reserved] = two_step.reserved_invoices(gen.name)
		other = Connection(frappe.local.site, "probe-other")
		self.addCleanup(other.close)
		holding, release = threading.Event(), threading.Event()

		def hold_invoice():
			frappe.db.sql("select `name` from `tabSales Invoice` where `name` = %s for update", reserved)
			frappe.db.sql(
				"select `name` from `tabAccumulating Invoice Tab` where `parent` = %s for update", reserved
			)
			holding.set()
			release.wait(30)

		held = other.submit(hold_invoice)
		self.assertTrue(holding.wait(30))
		try:
			doc = locks.lock_and_load_generator_or_skip(gen.name, two_step.TWO_STEPS.probes())
		finally:
			release.set()
			held.result(30)
		self.assertEqual(doc.flags.probed, {"reserved": True})

		def write_invoice_rows():
			frappe.db.sql("set session innodb_lock_wait_timeout = 2")
			frappe.db.sql("update `tabSales Invoice` set `idx` = `idx` + 1 where `name` = %s", reserved)
			rows = frappe.db._cursor.rowcount
			frappe.db.sql(
				"update `tabAccumulating Invoice Tab` set `idx` = `idx` + 1 where `parent` = %s", reserved
			)
			return rows, frappe.db._cursor.rowcount

		# this transaction still holds the generator row: the other one writes both rows without waiting (and rolls
		# back: Connection.submit)
		self.assertEqual(other.run(write_invoice_rows), (1, 1))
		frappe.db.rollback()

	def test_the_sweep_counts_one_failure_per_distinct_error(self):
		"""The hourly sweep tries a reserved invoice whose submit keeps failing every hour: the same error counts
		once (one failure, one log line); another error counts again. The generator waits for that invoice, so
		the managers are alerted at its first failure, once (not after five)."""
		make_user(["Accounts Manager"])
		gen = make_generator(first_creation_date="2026-02-01")
		add(gen.name, self.listing, service_date="2026-01-10")
		frappe.db.commit()
		with failing_submit(times=100):
			self.assertIn("credit limit crossed", run_generator(gen.name, "2026-02-01").error)
			with patch.object(two_step, "SWEEP_AFTER_MINUTES", -1):
				for _hour in range(6):
					self.assertNotIn(gen.name, two_step.sweep_reserved())
		gen.reload()
		self.assertEqual((gen.consecutive_failures, gen.last_error), (1, "credit limit crossed"))
		self.assertEqual(frappe.db.count(LOG, {"generator": gen.name, "outcome": "Failed"}), 1)
		alerts = {"document_name": gen.name, "subject": ("like", "%waits%")}
		managers = generation_log.people_to_alert()
		self.assertTrue(managers)
		self.assertEqual(frappe.db.count("Notification Log", alerts), len(managers))
		with (
			refused_submit("the posting period is closed"),
			patch.object(two_step, "SWEEP_AFTER_MINUTES", -1),
		):
			two_step.sweep_reserved()
			two_step.sweep_reserved()
		gen.reload()
		self.assertEqual((gen.consecutive_failures, gen.last_error), (2, "the posting period is closed"))
		self.assertEqual(frappe.db.count(LOG, {"generator": gen.name, "outcome": "Failed"}), 2)
		self.assertEqual(frappe.db.count("Notification Log", alerts), len(managers))  # told once
		with patch.object(two_step, "SWEEP_AFTER_MINUTES", -1):
			self.assertIn(gen.name, two_step.sweep_reserved())  # the refusal is lifted
		gen.reload()
		self.assertEqual((gen.consecutive_failures, gen.last_error), (0, None))

	def test_one_refusal_seen_in_two_languages_counts_once(self):
		"""ERPNext writes its refusal in the language of the process that meets it (the hourly sweep in the site's,
		a run a person starts in theirs): the same refusal met again in German after English is the same failure
		(compared by its key, not by its text), so it is counted, logged and alerted once."""
		gen = make_generator(first_creation_date="2026-02-03")
		add(gen.name, self.listing, service_date="2026-01-10")
		frappe.db.commit()
		period = frappe.new_doc("Accounting Period")
		period.update(
			{
				"period_name": f"_AB Closed {frappe.generate_hash(length=6)}",
				"company": company(),
				"start_date": "2026-02-03",
				"end_date": "2026-02-03",
			}
		)
		period.append("closed_documents", {"document_type": "Sales Invoice", "closed": 1})
		period.insert(ignore_permissions=True)
		frappe.db.commit()
		language = frappe.local.lang
		try:
			english = run_generator(gen.name, "2026-02-03").error
			[reserved] = two_step.reserved_invoices(gen.name)
			frappe.local.lang = "de"
			german = two_step.finalize(gen.name, reserved, wait=False)
		finally:
			frappe.local.lang = language
			frappe.delete_doc("Accounting Period", period.name, ignore_permissions=True, force=True)
			frappe.db.commit()
		self.assertIn("closed Accounting Period", english)
		self.assertIn("Abrechnungsperiode", german)  # the same refusal, written in another language
		gen.reload()
		self.assertEqual((gen.consecutive_failures, gen.last_error), (1, english))
		self.assertEqual(frappe.db.count(LOG, {"generator": gen.name, "outcome": "Failed"}), 1)
		# the period is open again: the sweep submits it
		with patch.object(two_step, "SWEEP_AFTER_MINUTES", -1):
			self.assertIn(gen.name, two_step.sweep_reserved())
		self.assertEqual(frappe.db.get_value("Sales Invoice", reserved, "docstatus"), 1)

	def test_the_sweep_submits_what_a_crash_left_reserved(self):
		gen = listened(make_emailing_generator(self.listing))
		with stopped_after_reserve():  # the process died after the reserve
			run_generator(gen.name, "2026-02-01")
		[reserved] = invoices_of(gen.name)
		self.assertEqual(reserved.docstatus, 0)
		self.assertEqual(frappe.db.count(RUN, {"sales_invoice": reserved.name}), 0)
		# the email is not owed yet: the hourly email sweep must not take the draft
		self.assertNotIn(reserved.name, email.owed_invoices())
		# too recent for the sweep (its run may be submitting it right now)
		self.assertEqual(two_step.sweep_reserved(), [])
		self.assertEqual(frappe.db.get_value("Sales Invoice", reserved.name, "docstatus"), 0)
		jobs = []
		with (
			patch.object(two_step, "SWEEP_AFTER_MINUTES", -1),
			patch.object(frappe, "enqueue", lambda method, **kw: jobs.append(kw.get("invoice"))),
		):
			self.assertIn(gen.name, two_step.sweep_reserved())
		self.assertEqual(frappe.db.get_value("Sales Invoice", reserved.name, "docstatus"), 1)
		self.assertEqual(frappe.db.count(RUN, {"sales_invoice": reserved.name, "event": "Generated"}), 1)
		self.assertIn(reserved.name, jobs)
		self.assertIn(reserved.name, email.owed_invoices())

	def test_a_reserved_draft_submitted_by_hand_is_owed_once_and_not_submitted_again(self):
		gen = listened(make_generator(first_creation_date="2026-02-01"))
		add(gen.name, self.listing, service_date="2026-01-10")
		frappe.db.commit()
		with stopped_after_reserve():
			run_generator(gen.name, "2026-02-01")
		[reserved] = invoices_of(gen.name)
		doc = frappe.get_doc("Sales Invoice", reserved.name)
		doc.submit()
		frappe.db.commit()
		self.assertEqual(frappe.db.get_value("Sales Invoice", reserved.name, "accumulating_finalize"), 0)
		self.assertIsNone(two_step.finalize(gen.name, reserved.name))
		self.assertEqual(frappe.db.count(RUN, {"sales_invoice": reserved.name, "event": "Generated"}), 1)

	def test_deleting_a_reserved_draft_releases_its_items(self):
		gen = make_generator(first_creation_date="2026-02-01")
		item = add(gen.name, self.listing, service_date="2026-01-10").name
		frappe.db.commit()
		with stopped_after_reserve():
			run_generator(gen.name, "2026-02-01")
		[reserved] = invoices_of(gen.name)
		frappe.delete_doc("Sales Invoice", reserved.name, ignore_permissions=True)
		frappe.db.commit()
		self.assertEqual(unbilled(gen.name), [item])
		self.assertEqual(two_step.reserved_invoices(gen.name), [])

	def test_the_submit_runs_at_read_committed_and_the_session_level_comes_back(self):
		"""The finalize transaction takes no gap locks (they made the next invoice's reserve wait on it); the
		session is back at its own level afterwards."""
		gen = make_generator(first_creation_date="2026-02-01")
		add(gen.name, self.listing, service_date="2026-01-10")
		frappe.db.commit()
		before = frappe.db.sql("SELECT @@session.tx_isolation")[0][0]
		seen = []
		real = two_step.finish_reserved

		def finish(doc, method=None):
			seen.append(frappe.db.sql("SELECT @@session.tx_isolation")[0][0])
			return real(doc, method)

		with patch.object(two_step, "finish_reserved", finish):
			[name] = run_generator(gen.name, "2026-02-01").invoices
		self.assertEqual(frappe.db.get_value("Sales Invoice", name, "docstatus"), 1)
		self.assertEqual(seen, ["READ-COMMITTED"])
		self.assertEqual(frappe.db.sql("SELECT @@session.tx_isolation")[0][0], before)

	def test_draft_generators_and_generate_now_stay_in_one_step(self):
		draft = make_generator(first_creation_date="2026-02-01", generate_as="Draft")
		add(draft.name, self.listing, service_date="2026-01-10")
		frappe.db.commit()
		[name] = run_generator(draft.name, "2026-02-01").invoices
		self.assertEqual(
			frappe.db.get_value("Sales Invoice", name, ["docstatus", "accumulating_finalize"]), (0, 0)
		)
		self.assertEqual(two_step.reserved_invoices(draft.name), [])

	def test_one_series_numbers_stay_gapless_and_jobs_spread_over_shares(self):
		gens = [make_generator(first_creation_date="2026-02-01") for _ in range(3)]
		for gen in gens:
			add(gen.name, self.listing, service_date="2026-01-10")
		frappe.db.commit()
		names = [n for gen in gens for n in run_generator(gen.name, "2026-02-01").invoices]
		self.assertEqual(len(names), 3)
		numbers = sorted(int(n.rsplit("-", 1)[1]) for n in names)
		self.assertEqual(numbers, list(range(numbers[0], numbers[0] + 3)))
		# in two steps a generator's share no longer follows its naming series
		with patch.object(tasks, "invoice_series_options", side_effect=AssertionError("series consulted")):
			tasks.process_share("2026-02-01", 0, 2, budget=0)
