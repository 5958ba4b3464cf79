"""Fault suite (issue 7): nothing is lost or billed twice under interleavings, crashes, downtime and bad input.

Bounded and reproducible (a seeded random.Random chooses every operation and its arguments; the database
decides only how concurrent transactions interleave, and the invariants must hold whatever it decides). Each
part prints its figures. Runs in `bench run-tests` and therefore in `.ci/run`.

1. Randomized interleavings of add / generate / generate-now / cancel on two worker connections at once,
   checking after every round: every item billed at most once, billed items <-> invoice lines match,
   invoiced + unbilled = all items added (nothing lost, nothing invented).
2. Crash injection at every step of the generation transaction and of the after-commit email step (STEPS),
   as a raised error and as a process death (the connection is dropped without any handler running): after
   a retry, exactly one invoice per occurrence and one email per invoice.
3. Scheduler downtime of 1, 3 and 14 occurrences: the result equals the run without downtime.
4. A catalogue of bad inputs (API, forms, web form, CLI): each gets a clear message and writes nothing.
"""

import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import date, timedelta
from unittest.mock import patch

import click.testing

import frappe
from frappe.model.base_document import BaseDocument, get_controller
from frappe.utils import strip_html

from accumulating_billing import api, engine
from accumulating_billing.billing import cli, email, generation, tasks
from accumulating_billing.tests.test_generation import GenerationTestCase
from accumulating_billing.tests.utils import (
	CREATED_GENERATORS,
	add,
	company,
	ensure_outgoing_email_account,
	make_billing_contact,
	make_customer,
	make_generator,
	make_item,
	make_template,
	make_user,
)

GENERATOR = "Accumulating Generator"
ITEM = "Accumulating Generator Item"
LOG = "Accumulating Generation Log"
EMAIL_JOB = "accumulating_billing.billing.email.send_invoice_email"
SEED = 20260701
ROUNDS = 300
# errors a user or a worker may legitimately meet while others work on the same data; anything else fails
EXPECTED_ERRORS = (frappe.ValidationError, frappe.QueryDeadlockError, frappe.QueryTimeoutError)


# ------------------------------------------------------------------------------------------ connections


class Connection:
	"""Another database connection: one thread with its own frappe.init/connect, running calls in order.

	A `Kill` raised by a call is a simulated process death: the connection is dropped (the database rolls
	back whatever was not committed) and a fresh one is opened, as a restarted worker would."""

	def __init__(self, site: str, label: str):
		self.site = site
		self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=label)
		self.pool.submit(self._open).result(120)

	def _open(self):
		frappe.init(site=self.site)
		frappe.connect()
		frappe.set_user("Administrator")

	def _restart(self):
		frappe.destroy()
		self._open()

	def submit(self, fn, *args, delay: float = 0, **kwargs):
		def call():
			if delay:
				time.sleep(delay)
			try:
				return fn(*args, **kwargs)
			except Exception:
				frappe.db.rollback()
				raise
			except BaseException:
				self._restart()
				raise
			finally:
				if getattr(frappe.local, "db", None):
					frappe.db.rollback()  # the next call starts on a fresh snapshot
				frappe.clear_messages()

		return self.pool.submit(call)

	def run(self, fn, *args, **kwargs):
		return self.submit(fn, *args, **kwargs).result(300)

	def close(self):
		self.pool.submit(frappe.destroy).result(60)
		self.pool.shutdown()


# ------------------------------------------------------------------------------------------ 1. interleavings


def op_add(generator, item_code, qty, rate, service_date, client_ref):
	name = api.add_item(
		generator, item_code, qty=qty, rate=rate, service_date=str(service_date), client_ref=client_ref
	)
	frappe.db.commit()
	return name


def op_generate(generator, as_of):
	return tasks.process_chunk([generator], str(as_of))[0]


def op_generate_now(generator, posting_date):
	return api.generate_now(generator, posting_date=str(posting_date))


def op_cancel(generator, pick: float):
	"""Cancel a submitted generated invoice, or delete a generated draft (both release its items)."""
	live = frappe.get_all(
		"Sales Invoice",
		filters={"accumulating_generator": generator, "docstatus": ("<", 2)},
		pluck="name",
		order_by="name asc",
	)
	if not live:
		return None
	name = live[int(pick * len(live))]
	invoice = frappe.get_doc("Sales Invoice", name)
	if invoice.docstatus == 1:
		invoice.cancel()
	else:
		frappe.delete_doc("Sales Invoice", name)
	frappe.db.commit()
	return name


OPERATIONS = {"add": op_add, "generate": op_generate, "generate_now": op_generate_now, "cancel": op_cancel}
OPERATION_WEIGHTS = {"add": 5, "generate": 2, "generate_now": 1, "cancel": 1}


def check_invariants(generators: list[str], added: set[str]) -> int:
	"""Assert the bookkeeping invariants over the generators; returns the number of checks made."""
	items = frappe.get_all(
		ITEM,
		filters={"generator": ("in", generators)},
		fields=["name", "status", "sales_invoice", "qty", "amount"],
	)
	SI = frappe.qb.DocType("Sales Invoice")
	SII = frappe.qb.DocType("Sales Invoice Item")
	lines = (
		frappe.qb.from_(SII)
		.join(SI)
		.on(SII.parent == SI.name)
		.select(
			SII.parent,
			SII.accumulating_generator_item,
			SII.qty,
			SII.amount,
			SI.accumulating_generator,
			SI.accumulating_occurrence,
		)
		.where(SI.accumulating_generator.isin(generators) & (SI.docstatus < 2))
		.run(as_dict=True)
	)
	checks = 0
	problems = []

	def check(ok: bool, message: str):
		nonlocal checks
		checks += 1
		if not ok:
			problems.append(message)

	by_name = {i.name: i for i in items}
	check(set(by_name) == added, f"items lost {added - set(by_name)} or invented {set(by_name) - added}")
	lines_of: dict[str, list] = {}
	for line in lines:
		check(bool(line.accumulating_generator_item), f"line of {line.parent} links no generator item")
		lines_of.setdefault(line.accumulating_generator_item, []).append(line)
	for item in items:
		billed_on = lines_of.get(item.name, [])
		check(
			len(billed_on) <= 1, f"{item.name} billed {len(billed_on)} times: {[b.parent for b in billed_on]}"
		)
		check(item.status in ("Billed", "Unbilled"), f"{item.name} has status {item.status}")
		if item.status == "Billed":
			check(
				[b.parent for b in billed_on] == [item.sales_invoice],
				f"billed {item.name} says {item.sales_invoice}, lines say {[b.parent for b in billed_on]}",
			)
			for b in billed_on:
				check(
					(b.qty, b.amount) == (item.qty, item.amount),
					f"{item.name} qty/amount {item.qty}/{item.amount} vs line {b.qty}/{b.amount}",
				)
		else:
			check(not billed_on and not item.sales_invoice, f"unbilled {item.name} is on {billed_on}")
	for line in lines:
		item = by_name.get(line.accumulating_generator_item)
		check(
			bool(item) and item.status == "Billed" and item.sales_invoice == line.parent,
			f"line of {line.parent} bills {line.accumulating_generator_item}, which is not billed on it",
		)
	billed = sum(1 for i in items if i.status == "Billed")
	unbilled = sum(1 for i in items if i.status == "Unbilled")
	check(billed + unbilled == len(added), f"invoiced {billed} + unbilled {unbilled} != {len(added)} added")
	occurrences = {
		(line.accumulating_generator, line.parent, line.accumulating_occurrence)
		for line in lines
		if line.accumulating_occurrence
	}
	keys = [(g, str(o)) for g, _inv, o in occurrences]
	check(len(keys) == len(set(keys)), f"two live invoices for one occurrence: {sorted(keys)}")
	if problems:
		raise AssertionError("\n".join(problems[:20]))
	return checks


class TestInterleavings(GenerationTestCase):
	def test_randomized_interleavings_lose_nothing_and_bill_once(self):
		rng = random.Random(SEED)
		generators = [
			make_generator(first_creation_date="2026-01-05", interval_unit="Week").name,
			make_generator(first_creation_date="2026-01-07", interval_unit="Week", minimum_amount=50).name,
			make_generator(
				first_creation_date="2026-01-06", interval_unit="Day", interval_count=10, generate_as="Draft"
			).name,
		]
		codes = [self.listing, make_item("_AB Fault Hour", price=12.5)]
		frappe.db.commit()
		site = frappe.local.site
		connections = [Connection(site, "ab-fault-a"), Connection(site, "ab-fault-b")]
		added: set[str] = set()
		refs: list[str] = []
		outcomes: dict[str, int] = {}
		samples: dict[str, str] = {}  # the first message of each kind of refusal or failure
		unexpected = []
		invoices = set()
		checks = 0
		clock = date(2026, 1, 10)
		ops = list(OPERATION_WEIGHTS)
		weights = list(OPERATION_WEIGHTS.values())
		started = time.monotonic()

		def plan():
			op = rng.choices(ops, weights)[0]
			gen = rng.choice(generators)
			if op == "add":
				ref = None
				if rng.random() < 0.2:
					ref = rng.choice(refs) if refs and rng.random() < 0.5 else f"ref-{len(refs)}"
					refs.append(ref)
				args = (
					gen,
					rng.choice(codes),
					rng.choice((1, 2, 3)),
					rng.choice((10, 12.5, 40)),
					clock - timedelta(days=rng.randint(0, 20)),
					ref,
				)
			elif op in ("generate", "generate_now"):
				args = (gen, clock)
			else:
				args = (gen, rng.random())
			return op, args

		try:
			for _round in range(ROUNDS):
				clock += timedelta(days=rng.choice((0, 0, 1, 2, 3)))
				plans = [plan() for _ in connections]
				if rng.random() < 0.5:  # same generator on both connections: the hardest case
					plans[1] = (plans[1][0], (plans[0][1][0], *plans[1][1][1:]))
				futures = [
					conn.submit(OPERATIONS[op], *args, delay=rng.choice((0, 0, 0.005, 0.02)))
					for conn, (op, args) in zip(connections, plans, strict=True)
				]
				for (op, _args), future in zip(plans, futures, strict=True):
					try:
						result = future.result(300)
					except EXPECTED_ERRORS as e:
						key = f"{op}: {type(e).__name__}"
						samples.setdefault(key, strip_html(str(e))[:160])
					except Exception as e:
						unexpected.append(f"{op}: {type(e).__name__}: {e}")
						key = f"{op}: {type(e).__name__}"
					else:
						key = f"{op}: ok"
						if op == "add":
							added.add(result)
						elif op == "generate":
							invoices.update(result.invoices)
							if result.error:
								key = f"{op}: run failed"
								samples.setdefault(key, strip_html(result.error)[:160])
						elif op == "generate_now" and result:
							invoices.add(result)
					outcomes[key] = outcomes.get(key, 0) + 1
				frappe.db.rollback()  # a fresh snapshot of what both connections committed
				checks += check_invariants(generators, added)
		finally:
			for conn in connections:
				conn.close()
		self.assertFalse(unexpected, unexpected)
		print(
			f"\nfault suite / interleavings: {ROUNDS} rounds x {len(connections)} connections "
			f"(seed {SEED}), {len(added)} items, {len(invoices)} invoices, {checks} checks, "
			f"{time.monotonic() - started:.0f}s; outcomes {dict(sorted(outcomes.items()))}; "
			f"first messages {samples}"
		)
		self.assertGreater(len(invoices), 20)


# ------------------------------------------------------------------------------------------ 2. crash injection


class Crash(Exception):
	"""An injected failure the application sees and handles."""


class Kill(BaseException):
	"""An injected process death: no `except Exception` handler runs and the connection is dropped."""


class Injector:
	def __init__(self, kind: str):
		self.kind = kind
		self.armed = True
		self.fired = 0
		self.commit_armed = False

	def __call__(self, where: str):
		if self.armed:
			self.armed = False
			self.fired += 1
			raise (Crash if self.kind == "error" else Kill)(f"injected {self.kind} at: {where}")


def after(target, attribute: str, injector: Injector, where: str, when=None):
	"""Patch target.attribute to run, then crash (once) when `when(*args, **kwargs)` holds."""
	real = getattr(target, attribute)

	def wrapper(*args, **kwargs):
		result = real(*args, **kwargs)
		if when is None or when(*args, **kwargs):
			injector(where)
		return result

	return patch.object(target, attribute, wrapper)


def before(target, attribute: str, injector: Injector, where: str, when=None):
	"""Patch target.attribute to crash (once) before it runs."""
	real = getattr(target, attribute)

	def wrapper(*args, **kwargs):
		if when is None or when(*args, **kwargs):
			injector(where)
		return real(*args, **kwargs)

	return patch.object(target, attribute, wrapper)


def at_commit(injector: Injector):
	"""Crash at the COMMIT that follows run_occurrence (nothing of the occurrence reaches the database)."""
	db_class = type(frappe.local.db)
	real_commit = db_class.commit
	real_run = generation.run_occurrence

	def run_occurrence(*args, **kwargs):
		result = real_run(*args, **kwargs)
		injector.commit_armed = True
		return result

	def commit(self, *args, **kwargs):
		if injector.commit_armed:
			injector.commit_armed = False
			injector("commit")
		return real_commit(self, *args, **kwargs)

	stack = ExitStack()
	stack.enter_context(patch.object(generation, "run_occurrence", run_occurrence))
	stack.enter_context(patch.object(db_class, "commit", commit))
	return stack


def sales_invoice_class():
	return get_controller("Sales Invoice")


# step name -> patches that crash there; the steps of one occurrence in the order they happen
STEPS = {
	"lock the generator row": lambda i, w: after(generation, "lock_generator_or_skip", i, w),
	"re-check the occurrence is due": lambda i, w: after(engine, "due_runs", i, w),
	"lock and read the unbilled items": lambda i, w: after(generation, "lock_unbilled_items", i, w),
	"engine decides the run": lambda i, w: after(engine, "decide_run", i, w),
	"build the Sales Invoice": lambda i, w: after(generation, "build_sales_invoice", i, w),
	"insert: invoice row written, lines not yet": lambda i, w: after(
		BaseDocument, "db_insert", i, w, lambda self, *a, **k: self.doctype == "Sales Invoice"
	),
	"inserted, before marking items": lambda i, w: before(generation, "mark_billed", i, w),
	"items marked Billed": lambda i, w: after(generation, "mark_billed", i, w),
	"before submit": lambda i, w: before(sales_invoice_class(), "submit", i, w),
	"submit: GL entries posted": lambda i, w: after(sales_invoice_class(), "make_gl_entries", i, w),
	"submitted, before the log": lambda i, w: before(generation, "write_log", i, w),
	"generation log written": lambda i, w: after(generation, "write_log", i, w),
	"schedule advanced (set_value)": lambda i, w: after(
		type(frappe.local.db),
		"set_value",
		i,
		w,
		lambda self, dt, dn=None, field=None, *a, **k: (
			dt == GENERATOR and isinstance(field, dict) and "next_creation_date" in field
		),
	),
	"one-time discount/taxes cleared": lambda i, w: after(generation, "clear_one_time_settings", i, w),
	"commit": lambda i, w: at_commit(i),
	"after commit: before side effects": lambda i, w: before(generation, "after_invoice_committed", i, w),
	"after commit: email enqueue fails": None,  # see capture_enqueue
	"email job: before sending": lambda i, w: before(email, "make_communication", i, w),
	"email job: email queued, before its commit": lambda i, w: after(email, "make_communication", i, w),
	"email job: after its commit (worker dies, job retried)": None,  # see run_email_jobs
}
ENQUEUE_STEP = "after commit: email enqueue fails"
EMAIL_COMMITTED_STEP = "email job: after its commit (worker dies, job retried)"
AFTER_COMMIT_STEPS = (
	"after commit: before side effects",
	ENQUEUE_STEP,
	"email job: before sending",
	"email job: email queued, before its commit",
	EMAIL_COMMITTED_STEP,
)
RUN_DATE = "2026-02-01"


@contextmanager
def capture_enqueue(jobs: list, injector: Injector | None = None):
	"""frappe.enqueue records email jobs instead of sending them to Redis (the test plays the worker)."""

	def enqueue(method, **kwargs):
		if injector is not None:
			injector(ENQUEUE_STEP)
		if method == EMAIL_JOB:
			jobs.append(kwargs["invoice"])

	with patch.object(frappe, "enqueue", enqueue):
		yield


def run_email_jobs(invoices: list[str], injector: Injector | None = None) -> int:
	"""Play the short-queue worker: run each email job in its own transaction; returns how many failed."""
	failed = 0
	for invoice in list(invoices):
		try:
			email.send_invoice_email(invoice)
			frappe.db.commit()
			if injector is not None:
				injector(EMAIL_COMMITTED_STEP)
		except Exception:
			frappe.db.rollback()
			failed += 1
	return failed


class TestCrashInjection(GenerationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_outgoing_email_account()
		frappe.db.commit()

	def make_case(self):
		customer = make_customer()
		make_billing_contact(customer)
		gen = make_generator(customer, first_creation_date=RUN_DATE, generate_as="Open and Email")
		items = [
			add(gen.name, self.listing, qty=2, rate=15, service_date="2026-01-05").name,
			add(gen.name, self.listing, qty=1, rate=40, service_date="2026-01-20").name,
		]
		frappe.db.commit()
		return gen.name, items

	def crash_and_retry(self, conn: Connection, step: str, kind: str) -> list[str]:
		"""Crash once at `step`, then let the next tick and the job retry run; returns what is wrong."""
		gen, items = self.make_case()
		injector = Injector(kind)
		jobs: list[str] = []
		with ExitStack() as stack:
			stack.enter_context(capture_enqueue(jobs, injector if step == ENQUEUE_STEP else None))
			if STEPS[step]:
				stack.enter_context(STEPS[step](injector, step))
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
			conn.run(tasks.process_chunk, [gen], RUN_DATE)
			conn.run(email.enqueue_owed_emails)
			conn.run(run_email_jobs, jobs)
		frappe.db.rollback()
		invoices = frappe.get_all(
			"Sales Invoice",
			filters={"accumulating_generator": gen},
			fields=["name", "docstatus", "accumulating_occurrence"],
		)
		if [(i.docstatus, str(i.accumulating_occurrence)) for i in invoices] != [(1, RUN_DATE)]:
			return [*problems, f"invoices {invoices}"]
		invoice = invoices[0].name
		billed = frappe.get_all(ITEM, filters={"generator": gen}, fields=["name", "status", "sales_invoice"])
		if sorted((b.name, b.status, b.sales_invoice) for b in billed) != sorted(
			(name, "Billed", invoice) for name in items
		):
			problems.append(f"items {billed}")
		state = frappe.db.get_value(
			GENERATOR,
			gen,
			["next_creation_date", "invoices_generated", "consecutive_failures", "last_error"],
			as_dict=True,
		)
		if (str(state.next_creation_date), state.invoices_generated, state.consecutive_failures) != (
			"2026-03-01",
			1,
			0,
		):
			problems.append(f"generator state {state}")
		logs = frappe.db.count(LOG, {"generator": gen, "outcome": "Billed", "occurrence_date": RUN_DATE})
		if logs != 1:
			problems.append(f"{logs} Billed log lines")
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

	def run_steps(self, steps) -> dict:
		conn = Connection(frappe.local.site, "ab-crash")
		failures = {}
		try:
			for step in steps:
				for kind in ("error", "kill"):
					problems = self.crash_and_retry(conn, step, kind)
					if problems:
						failures[f"{step} ({kind})"] = problems
		finally:
			conn.close()
		return failures

	def test_crash_at_every_step_of_the_transaction(self):
		steps = [s for s in STEPS if s not in AFTER_COMMIT_STEPS]
		started = time.monotonic()
		failures = self.run_steps(steps)
		print(
			f"\nfault suite / crash injection in the transaction: {len(steps)} steps x 2 kinds = "
			f"{2 * len(steps)} injected crashes, {len(failures)} failed, {time.monotonic() - started:.0f}s; "
			f"steps: {'; '.join(steps)}"
		)
		self.assertFalse(failures, json.dumps(failures, indent=1, default=str))

	def test_crash_in_the_after_commit_email_step(self):
		started = time.monotonic()
		failures = self.run_steps(AFTER_COMMIT_STEPS)
		print(
			f"\nfault suite / crash injection after commit: {len(AFTER_COMMIT_STEPS)} steps x 2 kinds = "
			f"{2 * len(AFTER_COMMIT_STEPS)} injected crashes, {len(failures)} failed, "
			f"{time.monotonic() - started:.0f}s; steps: {'; '.join(AFTER_COMMIT_STEPS)}"
		)
		self.assertFalse(failures, json.dumps(failures, indent=1, default=str))


# ------------------------------------------------------------------------------------------ 3. downtime


def outcome_of(gen: str) -> dict:
	"""What a generator produced, without names: its invoices, its log and its state."""
	invoices = []
	for inv in frappe.get_all(
		"Sales Invoice",
		filters={"accumulating_generator": gen, "docstatus": 1},
		fields=["name", "posting_date", "due_date", "accumulating_occurrence", "net_total", "grand_total"],
		order_by="posting_date asc",
	):
		lines = frappe.get_all(
			"Sales Invoice Item",
			filters={"parent": inv.name},
			fields=["item_code", "qty", "rate", "amount", "accumulating_generator_item"],
		)
		dates = {
			line.accumulating_generator_item: str(
				frappe.db.get_value(ITEM, line.accumulating_generator_item, "service_date")
			)
			for line in lines
		}
		invoices.append(
			(
				str(inv.posting_date),
				str(inv.due_date),
				str(inv.accumulating_occurrence),
				inv.net_total,
				inv.grand_total,
				sorted(
					(
						dates[line.accumulating_generator_item],
						line.item_code,
						line.qty,
						line.rate,
						line.amount,
					)
					for line in lines
				),
			)
		)
	log = frappe.get_all(
		LOG,
		filters={"generator": gen},
		fields=["occurrence_date", "outcome", "items_count"],
		order_by="occurrence_date asc, creation asc",
	)
	state = frappe.db.get_value(
		GENERATOR,
		gen,
		["status", "next_creation_date", "last_creation_date", "invoices_generated"],
		as_dict=True,
	)
	unbilled = sorted(
		str(d)
		for d in frappe.get_all(ITEM, filters={"generator": gen, "status": "Unbilled"}, pluck="service_date")
	)
	return {
		"invoices": invoices,
		"log": [(str(entry.occurrence_date), entry.outcome, entry.items_count) for entry in log],
		"state": {k: str(v) for k, v in state.items()},
		"unbilled": unbilled,
	}


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


# ------------------------------------------------------------------------------------------ 4. bad inputs

COUNTED = (
	GENERATOR,
	ITEM,
	LOG,
	"Accumulating Generator Template",
	"Accumulating Kickoff Request",
	"Sales Invoice",
	"Customer",
	"Contact",
	"Address",
	"User",
	"Communication",
	"Email Queue",
)
KICKOFF = "Accumulating Kickoff Request"
SETTINGS = "Accumulating Billing Settings"


def row_counts() -> dict:
	return {doctype: frappe.db.count(doctype) for doctype in COUNTED}


def as_guest_submit_kickoff(data: dict):
	from frappe.website.doctype.web_form.web_form import accept

	frappe.set_user("Guest")
	try:
		return accept(web_form="Client Kickoff", data=json.dumps(data))
	finally:
		frappe.flags.in_web_form = False
		frappe.set_user("Administrator")


def as_user(user: str, fn, *args, **kwargs):
	frappe.set_user(user)
	try:
		return fn(*args, **kwargs)
	finally:
		frappe.set_user("Administrator")


def cli_command(site: str, *args: str):
	"""`bench --site SITE accumulating-billing run ARGS`, in its own thread (the command inits and destroys its
	own frappe.local). A non-zero exit raises ValidationError with what the user sees: the printed output, or
	"Traceback" and the exception when the command died of an unhandled one."""
	from accumulating_billing.commands import accumulating_billing

	result = {}

	def target():
		outcome = click.testing.CliRunner().invoke(
			accumulating_billing,
			["run", *args],
			obj=frappe._dict(sites=[site], force=False, profile=False, verbose=False),
		)
		result["exit"] = outcome.exit_code
		result["text"] = outcome.output
		if outcome.exception is not None and not isinstance(outcome.exception, SystemExit):
			result["text"] += (
				f"\nTraceback (unhandled {type(outcome.exception).__name__}): {outcome.exception}"
			)

	thread = threading.Thread(target=target)
	thread.start()
	thread.join(120)
	if result.get("exit"):
		raise frappe.ValidationError(result["text"])
	return result


class TestBadInputs(GenerationTestCase):
	def setUp(self):
		frappe.set_user("Administrator")

	def fixtures(self):
		f = frappe._dict()
		f.customer = make_customer()
		f.gen = make_generator(f.customer).name
		f.on_date = make_generator(end_condition="On Date", end_date="2026-06-30").name
		f.completed = make_generator().name
		f.archived = make_generator().name
		f.draft = make_generator(status="Draft").name
		f.paused = make_generator().name
		f.priced = make_item("_AB Fault Priced", price=25)
		f.unpriced = make_item(f"_AB Fault Unpriced {frappe.generate_hash(length=5)}")
		f.disabled_item = make_item(f"_AB Fault Disabled {frappe.generate_hash(length=5)}", disabled=1)
		f.not_sales = make_item(f"_AB Fault Not Sales {frappe.generate_hash(length=5)}", is_sales_item=0)
		f.disabled_customer = make_customer(disabled=1)
		currency = frappe.get_cached_value("Company", company(), "default_currency")
		f.foreign = "EUR" if currency != "EUR" else "USD"
		f.currency = currency
		f.foreign_customer = make_customer(default_currency=f.foreign)
		f.foreign_list = f"_AB {f.foreign} Selling"
		if not frappe.db.exists("Price List", f.foreign_list):
			frappe.get_doc(
				{
					"doctype": "Price List",
					"price_list_name": f.foreign_list,
					"currency": f.foreign,
					"selling": 1,
				}
			).insert(ignore_permissions=True)
		f.template = make_template().name
		f.disabled_template = make_template(enabled=0).name
		f.assigned_customer = make_customer()
		CREATED_GENERATORS.append(api.assign_template(f.template, f.assigned_customer))
		f.offered = make_template(title="Fault plan", offered_at_kickoff=1).name
		f.hidden = make_template(title="Fault hidden plan", offered_at_kickoff=0).name
		f.contributor = make_user(["Accumulating Billing Contributor"])
		billed = add(f.gen, f.priced, service_date="2026-01-05")
		f.billed_item = billed.name
		frappe.db.commit()
		generation.run_generator(f.gen, "2026-02-01")
		generation.pause(f.paused)
		frappe.db.set_value(GENERATOR, f.completed, "status", "Completed")
		frappe.db.set_value(GENERATOR, f.archived, "status", "Archived")
		self.set_settings(kickoff_limit_per_hour=100000, kickoff_create_portal_user=0)
		return f

	def set_settings(self, **values):
		"""Accumulating Billing Settings for this test; the old values come back afterwards."""
		settings = frappe.get_single(SETTINGS)
		old = {key: settings.get(key) for key in values}
		settings.update(values)
		settings.save(ignore_permissions=True)
		frappe.db.commit()

		def restore():
			frappe.db.rollback()
			settings = frappe.get_single(SETTINGS)
			settings.update(old)
			settings.save(ignore_permissions=True)
			frappe.db.commit()

		self.addCleanup(restore)

	def kickoff_data(self, f, **values) -> dict:
		return {
			"company_name": f"_AB Fault Kickoff {frappe.generate_hash(length=8)}",
			"customer_type": "Company",
			"first_name": "Ada",
			"last_name": "Client",
			"email_id": f"ab-fault-kickoff-{frappe.generate_hash(length=8)}@example.com",
			"template": f.offered,
			**values,
		}

	def catalogue(self, f) -> list[tuple]:
		"""(where, what, call, expected phrases — any one, case-insensitive)."""
		gen_doc = {"customer": f.customer, "first_creation_date": "2026-02-01"}

		def new_generator(**values):
			return lambda: make_generator(**{**gen_doc, **values})

		def edit(doctype, name, **values):
			def call():
				doc = frappe.get_doc(doctype, name)
				doc.update(values)
				doc.save()

			return call

		def add_item(generator=None, item_code=None, **kw):
			return lambda: api.add_item(
				generator or f.gen, f.priced if item_code is None else item_code, **kw
			)

		def item_form(**values):
			return lambda: frappe.get_doc(
				{"doctype": ITEM, "generator": f.gen, "item_code": f.priced, "qty": 1, "rate": 5, **values}
			).insert()

		def kickoff(**values):
			return lambda: as_guest_submit_kickoff(self.kickoff_data(f, **values))

		def rate_limited():
			key = frappe.cache.make_key("accumulating-kickoff:unknown")
			frappe.cache.setex(key, 3600, 10**6)
			try:
				return as_guest_submit_kickoff(self.kickoff_data(f))
			finally:
				frappe.cache.delete_value(key)

		site = frappe.local.site
		# fmt: off
		return [
			("API add_item", "unknown generator", add_item("ACG-NO-SUCH"), ("does not exist",)),
			("API add_item", "unknown item", add_item(item_code="_AB no such item"), ("could not find", "does not exist")),
			("API add_item", "empty item code", add_item(item_code=""), ("item is required", "item code")),
			("API add_item", "disabled item", add_item(item_code=f.disabled_item), ("is disabled",)),
			("API add_item", "not a sales item", add_item(item_code=f.not_sales), ("not a sales item",)),
			("API add_item", "unknown UOM", add_item(rate=5, uom="_AB no such uom"), ("uom _ab no such uom does not exist",)),
			("API add_item", "qty 0", add_item(qty=0, rate=5), ("quantity must be greater than 0",)),
			("API add_item", "negative qty", add_item(qty=-2, rate=5), ("quantity must be greater than 0",)),
			("API add_item", "negative rate", add_item(rate=-5), ("rate cannot be negative",)),
			("API add_item", "discount over 100 %", add_item(rate=5, discount_percentage=150), ("between 0 and 100",)),
			("API add_item", "negative discount", add_item(rate=5, discount_percentage=-1), ("between 0 and 100",)),
			("API add_item", "no rate and no price", add_item(item_code=f.unpriced), ("no rate given",)),
			("API add_item", "impossible service date", add_item(rate=5, service_date="2026-02-30"), ("not a valid date",)),
			("API add_item", "service date after the end date", add_item(f.on_date, rate=5, service_date="2026-07-15"), ("after the generator's end date",)),
			("API add_item", "Completed generator", add_item(f.completed, rate=5), ("no items can be added",)),
			("API add_item", "Archived generator", add_item(f.archived, rate=5), ("no items can be added",)),
			("API add_item", "contributor without a granted customer", lambda: as_user(f.contributor, api.add_item, f.gen, f.priced, rate=5), ("not permitted",)),
			("item form", "edit a billed item", edit(ITEM, f.billed_item, qty=9), ("is billed on sales invoice",)),
			("item form", "delete a billed item", lambda: frappe.delete_doc(ITEM, f.billed_item), ("is billed on sales invoice",)),
			("item form", "no generator", item_form(generator=None), ("does not exist", "generator")),
			("item form", "qty 0", item_form(qty=0), ("quantity must be greater than 0",)),
			("generator form", "Repeat Every 0", new_generator(interval_count=0), ("at least 1",)),
			("generator form", "end date before the first date", new_generator(end_condition="On Date", end_date="2026-01-01"), ("before the first creation date",)),
			("generator form", "After 0 invoices", new_generator(end_condition="After N Invoices", end_after_invoices=0), ("number of invoices must be at least 1",)),
			("generator form", "negative minimum amount", new_generator(minimum_amount=-1), ("minimum amount cannot be negative",)),
			("generator form", "negative due days", new_generator(due_days=-3), ("due days cannot be negative",)),
			("generator form", "discount over 100 %", new_generator(additional_discount_percentage=120), ("between 0 and 100",)),
			("generator form", "negative discount amount", new_generator(discount_amount=-5), ("cannot be negative",)),
			("generator form", "disabled customer", new_generator(customer=f.disabled_customer), ("is disabled",)),
			("generator form", "unknown customer", new_generator(customer="_AB no such customer"), ("could not find", "does not exist")),
			("generator form", "unknown company", new_generator(company="_AB no such company"), ("could not find", "does not exist")),
			("generator form", "a currency the customer does not bill in", new_generator(customer=f.foreign_customer, currency=f.currency), ("differs from the billing currency",)),
			("generator form", "price list in another currency", new_generator(selling_price_list=f.foreign_list), ("cannot serve",)),
			("generator form", "unknown naming series", new_generator(naming_series_for_invoice="NOPE-.####"), ("not a naming series",)),
			("generator form", "no first creation date", new_generator(first_creation_date=None), ("first creation date",)),
			("generator form", "status Completed by editing", new_generator(status="Completed"), ("set by its action",)),
			("generator form", "re-activate a Completed generator", edit(GENERATOR, f.completed, status="Active"), ("completed generator is final",)),
			("generator form", "activate a Paused generator by editing", edit(GENERATOR, f.paused, status="Active"), ("resume action",)),
			("generator form", "delete a generator with invoices", lambda: frappe.delete_doc(GENERATOR, f.gen), ("cannot be deleted",)),
			("API generate_now", "Archived generator", lambda: api.generate_now(f.archived, posting_date="2026-03-01"), ("archived",)),
			("API generate_now", "unknown generator", lambda: api.generate_now("ACG-NO-SUCH"), ("not found", "does not exist")),
			("API pause", "Draft generator", lambda: api.pause(f.draft), ("only an active generator",)),
			("API pause", "resume date in the past", lambda: api.pause(f.on_date, resume_date="2000-01-01"), ("cannot be in the past",)),
			("API resume", "resume date in the past", lambda: api.resume(f.paused, "2000-01-01"), ("cannot be in the past",)),
			("API resume", "empty resume date", lambda: api.resume(f.paused, ""), ("cannot be in the past", "resume date")),
			("API resume", "Active generator", lambda: api.resume(f.on_date, "2099-01-01"), ("only a paused generator",)),
			("API archive", "already Archived", lambda: api.archive(f.archived), ("already archived",)),
			("API restore", "not Archived", lambda: api.restore(f.on_date), ("only an archived generator",)),
			("API assign_template", "unknown template", lambda: api.assign_template("_AB no such template", f.customer), ("does not exist",)),
			("API assign_template", "disabled template", lambda: api.assign_template(f.disabled_template, f.customer), ("is disabled",)),
			("API assign_template", "assigned twice", lambda: api.assign_template(f.template, f.assigned_customer), ("already has generator",)),
			("API assign_template", "disabled customer", lambda: api.assign_template(f.template, f.disabled_customer), ("is disabled",)),
			("API assign_template", "unknown customer", lambda: api.assign_template(f.template, "_AB no such customer"), ("does not exist",)),
			("API create_for_customers", "customers not a list", lambda: api.create_for_customers('"abc"', template=f.template), ("must be a list",)),
			("API create_for_customers", "no customers", lambda: api.create_for_customers("[]", template=f.template), ("at least one customer",)),
			("API create_for_customers", "template and generator", lambda: api.create_for_customers([f.customer], template=f.template, generator=f.gen), ("either a template or a generator",)),
			("CLI", "impossible date", lambda: cli.run("2026-02-30", False, print), ("not a valid date",)),
			("CLI", "not a date", lambda: cli.run("someday", False, print), ("not a valid date",)),
			("CLI", "bench command with a bad --date", lambda: cli_command(site, "--date", "2026-13-01"), ("not a valid date", "invalid value for '--date'")),
			("web form", "plan not offered", kickoff(template=f.hidden), ("offered plans",)),
			("web form", "unknown plan", kickoff(template="_AB no such plan"), ("offered plans", "could not find")),
			("web form", "invalid email", kickoff(email_id="not-an-email"), ("valid email",)),
			("web form", "blank company name", kickoff(company_name="   "), ("company or client name",)),
			("web form", "no first name", kickoff(first_name=""), ("first name",)),
			("web form", "existing client", kickoff(company_name=f.customer), ("already a client",)),
			("web form", "address without a city", kickoff(address_line1="Main St 1", city=""), ("city and a country",)),
			("web form", "unknown country", kickoff(address_line1="x", city="y", country="Atlantis"), ("country",)),
			("web form", "too many submissions from one address", rate_limited, ("too many submissions",)),
		]
		# fmt: on

	def test_bad_inputs_get_a_clear_message_and_write_nothing(self):
		f = self.fixtures()
		cases = self.catalogue(f)
		failures: dict[str, str] = {}
		for where, what, call, phrases in cases:
			case = f"{where} / {what}"
			frappe.clear_messages()
			before = row_counts()
			try:
				call()
			except (frappe.ValidationError, frappe.PermissionError) as e:
				message = strip_html(str(e)).strip()
				if "Traceback" in message or "pymysql" in message:
					failures[case] = f"a traceback, not a message: {message[:300]!r}"
				elif not any(p in message.lower() for p in phrases):
					failures[case] = f"unclear message {message!r} (expected {phrases})"
			except Exception as e:
				failures[case] = f"{type(e).__name__}: {e}"
			else:
				failures[case] = "accepted"
			finally:
				frappe.set_user("Administrator")
				frappe.flags.in_web_form = False
			frappe.db.rollback()
			after = row_counts()
			if after != before:
				changed = {d: (before[d], after[d]) for d in COUNTED if before[d] != after[d]}
				failures[case] = f"{failures.get(case, '')} wrote {changed}".strip()
		frappe.clear_messages()
		groups = {}
		for where, *_ in cases:
			groups[where] = groups.get(where, 0) + 1
		print(
			f"\nfault suite / bad inputs: {len(cases)} cases ({', '.join(f'{k} {v}' for k, v in groups.items())}),"
			f" {len(failures)} failed"
		)
		self.assertGreaterEqual(len(cases), 30)
		self.assertFalse(failures, "\n".join(f"{k}: {v}" for k, v in failures.items()))
