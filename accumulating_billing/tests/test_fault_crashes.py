"""Fault suite (issue 7), part 2: a crash at any step is retried into exactly one invoice and one email.

Crash injection at every step of the generation transaction and of the after-commit email step (STEPS),
as a raised error and as a process death (the connection is dropped without any handler running): after
a retry, exactly one invoice per occurrence and one email per invoice. Bounded and reproducible; prints its
figures. Runs in `bench run-tests` and therefore in `.ci/run`; the plumbing is in `faults`.
"""

import json
import time
from contextlib import ExitStack

import frappe
from frappe.model.base_document import BaseDocument, get_controller

from accumulating_billing import engine
from accumulating_billing.billing import child_rows, combined, email, generation, locks, tasks, two_step
from accumulating_billing.billing import tab as tab_module
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.combined_utils import invoices_billing, make_payer_group
from accumulating_billing.tests.faults import GENERATOR, ITEM, LOG
from accumulating_billing.tests.faults.connections import Connection
from accumulating_billing.tests.faults.crashes import (
	EMAIL_COMMITTED_STEP,
	ENQUEUE_STEP,
	Injector,
	Kill,
	after,
	at_commit,
	before,
	capture_enqueue,
	run_email_jobs,
)
from accumulating_billing.tests.source_docs import make_timesheet, service_item
from accumulating_billing.tests.utils import (
	add,
	ensure_outgoing_email_account,
	make_billing_contact,
	make_customer,
	make_generator,
)


def sales_invoice_class():
	return get_controller("Sales Invoice")


# step name -> patches that crash there; the steps of one occurrence in the order they happen
STEPS = {
	"lock the generator row": lambda i, w: after(locks, "lock_and_load_generator_or_skip", i, w),
	"re-check the occurrence is due": lambda i, w: after(engine, "due_runs", i, w),
	"lock and read the unbilled items": lambda i, w: after(generation, "lock_unbilled_items", i, w),
	"engine decides the run": lambda i, w: after(engine, "decide_run", i, w),
	"build the Sales Invoice": lambda i, w: after(generation, "build_sales_invoice", i, w),
	"number taken, before marking items": lambda i, w: before(tab_module, "mark_billed", i, w),
	"items marked Billed": lambda i, w: after(tab_module, "mark_billed", i, w),
	"validated, before submit": lambda i, w: before(
		sales_invoice_class(), "run_method", i, w, lambda self, method, *a, **k: method == "before_submit"
	),
	"insert: invoice row written, lines not yet": lambda i, w: after(
		BaseDocument, "db_insert", i, w, lambda self, *a, **k: self.doctype == "Sales Invoice"
	),
	"insert: lines written, one INSERT a table": lambda i, w: after(child_rows, "store_children", i, w),
	"submit: GL entries posted": lambda i, w: after(sales_invoice_class(), "make_gl_entries", i, w),
	"submitted, before the log": lambda i, w: before(generation, "write_log", i, w),
	"generation log written": lambda i, w: after(generation, "write_log", i, w),
	"schedule advanced": lambda i, w: after(
		locks, "update_locked_generator", i, w, lambda name, values: "next_creation_date" in values
	),
	"one-time discount/taxes cleared": lambda i, w: after(generation, "clear_one_time_settings", i, w),
	"commit": lambda i, w: at_commit(i),
	# the email's after-commit callback (owed.py): an error there is logged and the email stays owed (swept)
	"after commit: before side effects": lambda i, w: before(email, "enqueue_invoice_email", i, w),
	"after commit: email enqueue fails": None,  # see capture_enqueue
	"email job: before sending": lambda i, w: before(email, "make_communication", i, w),
	"email job: email queued, before its commit": lambda i, w: after(email, "make_communication", i, w),
	"email job: after its commit (worker dies, job retried)": None,  # see run_email_jobs
}
AFTER_COMMIT_STEPS = (
	"after commit: before side effects",
	ENQUEUE_STEP,
	"email job: before sending",
	"email job: email queued, before its commit",
	EMAIL_COMMITTED_STEP,
)
RUN_DATE = "2026-02-01"
# two-step billing (two_step.py): the steps of the reserve transaction, then of the finalize transaction
TWO_STEP_STEPS = {
	"reserve: number taken, before marking items": STEPS["number taken, before marking items"],
	"reserve: draft row written": STEPS["insert: invoice row written, lines not yet"],
	"reserve: items marked Billed": STEPS["items marked Billed"],
	"reserve: generation log written": STEPS["generation log written"],
	"reserve: schedule advanced": STEPS["schedule advanced"],
	"reserve: commit": lambda i, w: at_commit(i, where=w),
	"reserved, before the finalize": lambda i, w: before(two_step, "finalize", i, w),
	"finalize: generator locked": lambda i, w: after(locks, "lock_generator", i, w),
	"finalize: before submit": STEPS["validated, before submit"],
	# the invoice inserted over the reserve's stored draft (child_rows.written_over): its row, then its lines
	"finalize: invoice row written over the draft, lines not yet": lambda i, w: after(
		child_rows, "insert_rows", i, w, lambda rows, over=False: over and rows[0].doctype == "Sales Invoice"
	),
	"finalize: lines written over the draft": lambda i, w: after(
		child_rows, "store_children", i, w, lambda rows, stored=None: bool(stored)
	),
	"finalize: GL entries posted": STEPS["submit: GL entries posted"],
	"finalize: owed recorded (on_submit)": lambda i, w: after(two_step, "finish_reserved", i, w),
	"finalize: commit": lambda i, w: at_commit(i, two_step, "finish_reserved", w),
	ENQUEUE_STEP: None,  # see capture_enqueue
	"email job: before sending": STEPS["email job: before sending"],
	EMAIL_COMMITTED_STEP: None,  # see run_email_jobs
}


# a combined invoice (issue 28, billing/combined.py): the steps of one occurrence, where each tab's part happens in
# turn, and its commit (after combined.bill, not run_occurrence)
COMBINED_STEPS = {
	**{step: patch for step, patch in STEPS.items() if step != "commit"},
	# the payer's tabs are locked one by one (locks.lock_generators_or_skip), then reloaded
	"lock the generator row": lambda i, w: after(locks, "lock_generator_or_skip", i, w),
	"first tab decided, before the next tab's decision": lambda i, w: after(
		generation, "decide_occurrence", i, w
	),
	"first tab settled, before the next tab's": lambda i, w: after(generation, "settle_occurrence", i, w),
	"commit": lambda i, w: at_commit(i, combined, "bill", w),
}


class TestCrashInjection(GenerationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_outgoing_email_account()
		frappe.db.commit()

	def make_case(self, timesheet: bool = False, combined: bool = False):
		"""An Open and Email generator with two items; or, with `timesheet`, an Open generator whose tab holds
		the two billable logs of a submitted Timesheet (the invoice carries ERPNext's timesheet rows); or, with
		`combined`, a payer's own tab and two clinics' tabs billed to it on one invoice (issue 28). Returns (the
		generator to run, the items, the tabs the one invoice must bill)."""
		if combined:
			group = make_payer_group(self.listing, items=2, generate_as="Open and Email")
			make_billing_contact(group.payer)
			frappe.db.commit()
			return group.tabs[0], [i for tab in group.tabs for i in group.billed[tab]], group.tabs
		customer = make_customer()
		if timesheet:
			gen = make_generator(
				customer, first_creation_date=RUN_DATE, accumulate_timesheets=1, timesheet_item=service_item()
			)
			make_timesheet(
				[{"start": "2026-01-05 09:00", "hours": 2}, {"start": "2026-01-20 09:00", "hours": 1}],
				customer=customer,
			)
			frappe.db.commit()
			return gen.name, frappe.get_all(ITEM, filters={"generator": gen.name}, pluck="name"), [gen.name]
		make_billing_contact(customer)
		gen = make_generator(customer, first_creation_date=RUN_DATE, generate_as="Open and Email")
		items = [
			add(gen.name, self.listing, qty=2, rate=15, service_date="2026-01-05").name,
			add(gen.name, self.listing, qty=1, rate=40, service_date="2026-01-20").name,
		]
		frappe.db.commit()
		return gen.name, items, [gen.name]

	def crash_and_retry(
		self,
		conn: Connection,
		step: str,
		kind: str,
		timesheet: bool = False,
		steps: dict = STEPS,
		combined: bool = False,
	) -> list[str]:
		"""Crash once at `step`, then let the next tick and the job retry run; returns what is wrong."""
		gen, items, tabs = self.make_case(timesheet, combined)
		injector = Injector(kind)
		jobs: list[str] = []
		with ExitStack() as stack:
			stack.enter_context(capture_enqueue(jobs, injector if step == ENQUEUE_STEP else None))
			if steps[step]:
				stack.enter_context(steps[step](injector, step))
			email_injector = injector if step == EMAIL_COMMITTED_STEP else None
			for call, args in (
				(tasks.process_chunk, ([gen], RUN_DATE)),
				(run_email_jobs, (jobs, email_injector)),
			):
				try:
					conn.run(call, *args)
				except Kill:
					pass
		problems = [] if injector.fired == 1 else [f"the crash never fired ({injector.fired})"]
		# the retry: the next hourly tick (the due generators, then the sweep of owed emails), then the queue
		# retries every email job (a retried job must not send again)
		with capture_enqueue(jobs):
			for _tick in range(50):
				result = conn.run(tasks.process_chunk, [gen], RUN_DATE)[0]
				if not any("busy" in line for line in result.log):
					break
				# the dropped connection's rollback still holds the generator row (SKIP LOCKED): the next tick
				# bills it, as the next hourly tick would
				time.sleep(0.1)
			conn.run(email.enqueue_owed_emails)
			conn.run(run_email_jobs, jobs)
		frappe.db.rollback()
		invoices = frappe.get_all(
			"Sales Invoice",
			filters={"name": ("in", invoices_billing(tabs, docstatus=("<", 3)) or [""])},
			fields=["name", "docstatus", "accumulating_occurrence"],
		)
		if [(i.docstatus, str(i.accumulating_occurrence)) for i in invoices] != [(1, RUN_DATE)]:
			return [*problems, f"invoices {invoices}"]
		invoice = invoices[0].name
		listed = frappe.get_all(
			"Accumulating Invoice Tab", filters={"parent": invoice}, fields=["generator", "occurrence"]
		)
		if sorted((row.generator, str(row.occurrence)) for row in listed) != [
			(tab, RUN_DATE) for tab in tabs
		]:
			problems.append(f"the invoice lists {listed}, expected {tabs} on {RUN_DATE}")
		billed = frappe.get_all(
			ITEM, filters={"generator": ("in", tabs)}, fields=["name", "status", "sales_invoice"]
		)
		if sorted((b.name, b.status, b.sales_invoice) for b in billed) != sorted(
			(name, "Billed", invoice) for name in items
		):
			problems.append(f"items {billed}")
		for tab in tabs:
			state = frappe.db.get_value(
				GENERATOR,
				tab,
				["next_creation_date", "invoices_generated", "consecutive_failures", "last_error"],
				as_dict=True,
			)
			if (str(state.next_creation_date), state.invoices_generated, state.consecutive_failures) != (
				"2026-03-01",
				1,
				0,
			):
				problems.append(f"generator state of {tab}: {state}")
			logs = frappe.db.count(LOG, {"generator": tab, "outcome": "Billed", "occurrence_date": RUN_DATE})
			if logs != 1:
				problems.append(f"{logs} Billed log lines of {tab}")
		if timesheet:
			return problems + timesheet_problems(invoice, items)
		sent = frappe.get_all(
			"Communication",
			filters={
				"reference_doctype": "Sales Invoice",
				"reference_name": invoice,
				"sent_or_received": "Sent",
			},
			pluck="name",
		)
		queued = frappe.db.count(
			"Email Queue", {"reference_doctype": "Sales Invoice", "reference_name": invoice}
		)
		if (len(sent), queued) != (1, 1):
			problems.append(f"{len(sent)} email(s) sent and {queued} queued for {invoice}, expected 1 and 1")
		return problems

	def run_steps(self, steps, timesheet: bool = False, table: dict = STEPS, combined: bool = False) -> dict:
		conn = Connection(frappe.local.site, "ab-crash")
		failures = {}
		try:
			for step in steps:
				for kind in ("error", "kill"):
					problems = self.crash_and_retry(conn, step, kind, timesheet, table, combined)
					if problems:
						failures[f"{step} ({kind})"] = problems
		finally:
			conn.close()
		return failures

	def crash_everywhere(
		self, label: str, steps, timesheet: bool = False, table: dict = STEPS, combined: bool = False
	) -> None:
		"""Crash at each of `steps` (as an error, then as a process death), retry, and assert nothing is wrong."""
		started = time.monotonic()
		failures = self.run_steps(steps, timesheet, table, combined)
		print(
			f"\nfault suite / crash injection {label}: {len(steps)} steps x 2 kinds = {2 * len(steps)} injected "
			f"crashes, {len(failures)} failed, {time.monotonic() - started:.0f}s; steps: {'; '.join(steps)}"
		)
		self.assertFalse(failures, json.dumps(failures, indent=1, default=str))

	def test_crash_at_every_step_of_the_transaction(self):
		self.crash_everywhere("in the transaction", [s for s in STEPS if s not in AFTER_COMMIT_STEPS])

	def test_crash_in_the_after_commit_email_step(self):
		self.crash_everywhere("after commit", AFTER_COMMIT_STEPS)

	def test_crash_at_every_step_of_two_step_billing(self):
		"""Both transactions of a two-step occurrence, and its after-commit email: after any crash, the next run
		(or the sweep) submits the reserved invoice once, and it is emailed once."""
		frappe.db.set_single_value("Accumulating Billing Settings", "two_step_billing", 1)
		frappe.clear_document_cache("Accumulating Billing Settings", "Accumulating Billing Settings")
		frappe.db.commit()
		try:
			self.crash_everywhere("in two-step billing", list(TWO_STEP_STEPS), table=TWO_STEP_STEPS)
		finally:
			frappe.db.set_single_value("Accumulating Billing Settings", "two_step_billing", 0)
			frappe.clear_document_cache("Accumulating Billing Settings", "Accumulating Billing Settings")
			frappe.db.commit()

	def test_crash_at_every_step_of_a_combined_invoice(self):
		"""A payer's own tab and two clinics' tabs on one invoice (issue 28): after a crash at any step of the
		occurrence (each tab's part included) and of its email, the retry makes one invoice that lists the three
		tabs, bills every item once, advances each tab once and is emailed once."""
		self.crash_everywhere(
			"of a combined invoice", list(COMBINED_STEPS), table=COMBINED_STEPS, combined=True
		)

	def test_crash_at_every_step_of_a_combined_invoice_in_two_step_billing(self):
		frappe.db.set_single_value("Accumulating Billing Settings", "two_step_billing", 1)
		frappe.clear_document_cache("Accumulating Billing Settings", "Accumulating Billing Settings")
		frappe.db.commit()
		try:
			steps = {**TWO_STEP_STEPS, "reserve: commit": COMBINED_STEPS["commit"]}
			self.crash_everywhere(
				"of a combined invoice in two steps", list(steps), table=steps, combined=True
			)
		finally:
			frappe.db.set_single_value("Accumulating Billing Settings", "two_step_billing", 0)
			frappe.clear_document_cache("Accumulating Billing Settings", "Accumulating Billing Settings")
			frappe.db.commit()

	def test_crash_at_every_step_with_timesheet_rows_attached(self):
		"""The invoice carries ERPNext's timesheet rows: after any crash and the retry, the Timesheet is billed
		once, by the one invoice, exactly as the tab says."""
		steps = [s for s in STEPS if s not in AFTER_COMMIT_STEPS]
		self.crash_everywhere("with timesheet rows", steps, timesheet=True)


def timesheet_problems(invoice: str, items: list[str]) -> list[str]:
	"""The Timesheet behind `items` is billed by `invoice` alone: one timesheet row per log, every log marked."""
	details = frappe.get_all(ITEM, filters={"name": ("in", items)}, pluck="source_detail")
	rows = frappe.get_all("Sales Invoice Timesheet", filters={"parent": invoice}, pluck="timesheet_detail")
	logs = frappe.get_all(
		"Timesheet Detail", filters={"name": ("in", details)}, fields=["parent", "sales_invoice"]
	)
	problems = []
	if sorted(rows) != sorted(details):
		problems.append(f"timesheet rows {rows}, expected {details}")
	if {log.sales_invoice for log in logs} != {invoice}:
		problems.append(f"time logs billed by {[log.sales_invoice for log in logs]}, expected {invoice}")
	status = frappe.db.get_value("Timesheet", logs[0].parent, ["status", "per_billed"]) if logs else None
	if status != ("Billed", 100):
		problems.append(f"Timesheet status {status}")
	return problems
