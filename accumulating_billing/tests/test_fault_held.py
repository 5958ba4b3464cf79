"""Fault suite (issue 7), held lines (issue 19 §2): never twice, never lost.

- A crash at each step between the hold and the invoice, and while the notice is sent after the run (as a raised
  error and as a process death): the hold, the notice it owes and the invoice commit together or not at all, and
  the notice is sent once; after the retry, one invoice of the other lines, the refused line On Hold once, one
  notice naming it per user.
- A release racing a run, in randomized rounds on two worker connections: every line ends billed exactly once,
  unbilled, or on hold (check_invariants), whatever the database decides.

Bounded and reproducible (seeded); prints its figures. The plumbing is in `faults`.
"""

import json
import random
import time
from contextlib import ExitStack

import frappe

from accumulating_billing import api
from accumulating_billing.billing import generation, held_notices, tab, tasks
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.faults import GENERATOR, ITEM, LOG, SEED
from accumulating_billing.tests.faults.connections import Connection
from accumulating_billing.tests.faults.crashes import Injector, Kill, after, at_commit, before
from accumulating_billing.tests.faults.invariants import check_invariants
from accumulating_billing.tests.utils import add, make_generator, make_item, make_user

RUN_DATE = "2026-02-01"
# the steps of an occurrence that holds a line, from the hold to the commit
STEPS = {
	"line held, before the invoice is built": lambda i, w: after(generation, "hold_refused", i, w),
	"invoice built": lambda i, w: after(generation, "build_sales_invoice", i, w),
	"number taken, before marking items": lambda i, w: before(tab, "mark_billed", i, w),
	"items marked Billed": lambda i, w: after(tab, "mark_billed", i, w),
	"log written": lambda i, w: after(generation, "write_log", i, w),
	"commit": lambda i, w: at_commit(i),
	# after the run (held_notices.py): the messages written, before their commit; then stamped and committed
	"notice: messages written, before the commit": lambda i, w: after(held_notices, "send", i, w),
	"notice: sent and committed": lambda i, w: after(held_notices, "notify", i, w),
}


def set_disabled(code: str, disabled: int) -> None:
	doc = frappe.get_doc("Item", code)
	doc.disabled = disabled
	doc.save(ignore_permissions=True)
	frappe.db.commit()


class TestHeldLinesUnderFaults(GenerationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.manager = make_user(["Accounts Manager"])
		frappe.db.commit()

	def make_case(self):
		"""A generator with two good lines and one of an item disabled since: (generator, items, held line)."""
		gen = make_generator(first_creation_date=RUN_DATE)
		doomed = make_item(f"_AB Held {frappe.generate_hash(length=6)}")
		good = [
			add(gen.name, self.listing, qty=2, rate=15, service_date="2026-01-05").name,
			add(gen.name, self.backup, qty=1, rate=40, service_date="2026-01-20").name,
		]
		line = add(gen.name, doomed, qty=1, rate=99, service_date="2026-01-10").name
		frappe.db.commit()
		set_disabled(doomed, 1)
		return gen.name, good, line

	def crash_and_retry(self, conn: Connection, step: str, kind: str) -> list[str]:
		gen, good, line = self.make_case()
		injector = Injector(kind)
		with ExitStack() as stack:
			stack.enter_context(STEPS[step](injector, step))
			try:
				conn.run(tasks.process_chunk, [gen], RUN_DATE)
			except Kill:
				pass
		problems = [] if injector.fired == 1 else [f"the crash never fired ({injector.fired})"]
		for _tick in range(50):
			result = conn.run(tasks.process_chunk, [gen], RUN_DATE)[0]
			if not any("busy" in entry for entry in result.log):
				break
			time.sleep(0.1)  # a dropped connection's rollback still holds the row: the next tick bills it
		frappe.db.rollback()
		invoices = frappe.get_all(
			"Sales Invoice", filters={"accumulating_generator": gen, "docstatus": 1}, pluck="name"
		)
		if len(invoices) != 1:
			return [*problems, f"invoices {invoices}"]
		lines = frappe.get_all(
			"Sales Invoice Item", filters={"parent": invoices[0]}, pluck="accumulating_generator_item"
		)
		if sorted(lines) != sorted(good):
			problems.append(f"invoice lines {lines}, expected {good}")
		state = frappe.db.get_value(ITEM, line, ["status", "sales_invoice"])
		if tuple(state) != ("On Hold", None):
			problems.append(f"held line {state}")
		alerts = frappe.db.count(
			"Notification Log",
			{"for_user": self.manager, "document_type": ITEM, "email_content": ("like", f"%{line}%")},
		)
		if alerts != 1:
			problems.append(f"{alerts} notices naming the held line, expected 1")
		logs = frappe.db.count(LOG, {"generator": gen, "outcome": "Billed"})
		if logs != 1:
			problems.append(f"{logs} Billed log lines")
		try:
			check_invariants([gen], {*good, line})
		except AssertionError as e:
			problems.append(str(e))
		return problems

	def test_crash_between_the_hold_and_the_invoice(self):
		started = time.monotonic()
		conn = Connection(frappe.local.site, "ab-held-crash")
		failures = {}
		try:
			for step in STEPS:
				for kind in ("error", "kill"):
					problems = self.crash_and_retry(conn, step, kind)
					if problems:
						failures[f"{step} ({kind})"] = problems
		finally:
			conn.close()
		print(
			f"\nfault suite / held lines, crash injection: {len(STEPS)} steps x 2 kinds = {2 * len(STEPS)} "
			f"injected crashes, {len(failures)} failed, {time.monotonic() - started:.0f}s"
		)
		self.assertFalse(failures, json.dumps(failures, indent=1, default=str))

	def test_release_racing_a_run(self):
		"""Each round: a line held on one billing day is fixed, then released on one connection while the next
		billing day runs on another, in a random order and with random delays. Whatever the database decides,
		the line is billed exactly once (by that run or the one after), never lost, never twice."""
		rng = random.Random(SEED + 19)
		rounds, started = 8, time.monotonic()
		runner = Connection(frappe.local.site, "ab-held-run")
		releaser = Connection(frappe.local.site, "ab-held-release")
		outcomes = {"billed by the racing run": 0, "billed by the run after": 0}
		checks = 0
		try:
			for _round in range(rounds):
				gen, _good, line = self.make_case()
				generation.run_generator(gen, RUN_DATE)
				frappe.db.commit()
				self.assertEqual(frappe.db.get_value(ITEM, line, "status"), "On Hold")
				add(gen, self.listing, qty=1, rate=15, service_date="2026-02-10")
				frappe.db.commit()
				set_disabled(frappe.db.get_value(ITEM, line, "item_code"), 0)
				first = rng.choice(("run", "release"))
				lag = rng.uniform(0, 0.3)
				run = runner.submit(
					tasks.process_chunk, [gen], "2026-03-01", delay=lag if first == "release" else 0
				)
				release = releaser.submit(release_and_commit, gen, line, delay=lag if first == "run" else 0)
				release.result(300)
				run.result(300)
				frappe.db.rollback()
				racing = frappe.db.get_value(ITEM, line, ["status", "sales_invoice"], as_dict=True)
				if racing.status == "Unbilled":
					# released after that run read the tab: the next billing day bills it
					runner.run(tasks.process_chunk, [gen], "2026-04-01")
					frappe.db.rollback()
					outcomes["billed by the run after"] += 1
				else:
					outcomes["billed by the racing run"] += 1
				all_items = set(frappe.get_all(ITEM, filters={"generator": gen}, pluck="name"))
				checks += check_invariants([gen], all_items)
				self.assertEqual(frappe.db.get_value(ITEM, line, "status"), "Billed")
				self.assertEqual(frappe.db.get_value(GENERATOR, gen, "lines_on_hold"), 0)
		finally:
			runner.close()
			releaser.close()
		print(
			f"\nfault suite / held lines, release racing a run: {rounds} rounds, {checks} invariant checks, "
			f"{outcomes}, {time.monotonic() - started:.0f}s"
		)


def release_and_commit(generator: str, line: str) -> list[str]:
	released = api.release_held(generator, [line])
	frappe.db.commit()
	return released
