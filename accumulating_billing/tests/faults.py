"""Shared plumbing of the fault suite (issue 7): nothing is lost or billed twice under interleavings, crashes,
downtime and bad input.

The suite is split by fault family, each module bounded and reproducible (a seeded random.Random chooses every
operation and its arguments; the database decides only how concurrent transactions interleave, and the
invariants must hold whatever it decides). Each part prints its figures. All run in `bench run-tests` and
therefore in `.ci/run`.

- test_fault_interleavings: randomized interleavings of add / generate / generate-now / cancel on two worker
  connections at once, with the invariants checked after every round.
- test_fault_crashes: crash injection at every step of the generation transaction and of the after-commit
  email step, as a raised error and as a process death.
- test_fault_downtime: scheduler downtime of 1, 3 and 14 occurrences equals the run without downtime.
- test_fault_bad_inputs: a catalogue of bad inputs (API, forms, web form, CLI), each refused clearly.

This module holds what they share: the constants, the extra database connections (`Connection`), the
operations (`op_*`) and the bookkeeping invariants (`check_invariants`: every item billed exactly once,
unbilled, or on hold), crash injection (`Crash`, `Kill`,
`Injector`, `after`, `before`, `at_commit`) with the email-queue capture (`capture_enqueue`,
`run_email_jobs`), a generator's outcome without names (`outcome_of`), row counts (`row_counts`), and calling
as another user or through the bench command (`as_user`, `cli_command`). It has no tests of its own.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from unittest.mock import patch

import click.testing

import frappe

from accumulating_billing import api
from accumulating_billing.billing import email, generation, tasks

GENERATOR = "Accumulating Generator"
ITEM = "Accumulating Generator Item"
LOG = "Accumulating Generation Log"
EMAIL_JOB = "accumulating_billing.billing.email.send_invoice_email"
SEED = 20260701


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


# ------------------------------------------------------------------------------------------ operations


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


def op_timesheet(generator, start, hours: tuple[float, ...]):
	"""Submit a Timesheet of the generator's customer (one log per entry of `hours`, a day apart): its logs
	join the tab. Returns the names of the tab items it brought."""
	from accumulating_billing.tests.source_docs import make_timesheet

	customer = frappe.db.get_value(GENERATOR, generator, "customer")
	logs = [
		{"start": f"{start + timedelta(days=k)} 09:00", "hours": h, "rate": 40} for k, h in enumerate(hours)
	]
	ts = make_timesheet(logs, customer=customer)
	frappe.db.commit()
	return frappe.get_all(ITEM, filters={"source_name": ts.name}, pluck="name")


OPERATIONS = {
	"add": op_add,
	"generate": op_generate,
	"generate_now": op_generate_now,
	"cancel": op_cancel,
	"timesheet": op_timesheet,
}


def check_invariants(generators: list[str], added: set[str]) -> int:
	"""Assert the bookkeeping invariants over the generators; returns the number of checks made."""
	items = frappe.get_all(
		ITEM,
		filters={"generator": ("in", generators)},
		fields=[
			"name",
			"status",
			"sales_invoice",
			"qty",
			"amount",
			"source_doctype",
			"source_detail",
			"hold_reason",
		],
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
			SI.docstatus,
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
		check(item.status in ("Billed", "Unbilled", "On Hold"), f"{item.name} has status {item.status}")
		# a held line (ERPNext refused it on a billing day) is on no invoice and says why
		check(
			(item.status == "On Hold") == bool(item.hold_reason),
			f"{item.name} is {item.status} with hold reason {item.hold_reason!r}",
		)
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
	# ERPNext's own record agrees: a time log is billed by the submitted invoice that bills its tab item
	submitted = {line.parent for line in lines if line.docstatus == 1}
	logs = dict(
		frappe.get_all(
			"Timesheet Detail",
			filters={
				"name": ("in", [i.source_detail for i in items if i.source_doctype == "Timesheet"] or [""])
			},
			fields=["name", "sales_invoice"],
			as_list=True,
		)
	)
	for item in items:
		if item.source_doctype == "Timesheet":
			expected = item.sales_invoice if item.sales_invoice in submitted else None
			check(
				(logs.get(item.source_detail) or None) == expected,
				f"time log of {item.name} is billed by {logs.get(item.source_detail)}, the tab says {expected}",
			)
	billed = sum(1 for i in items if i.status == "Billed")
	unbilled = sum(1 for i in items if i.status == "Unbilled")
	held = sum(1 for i in items if i.status == "On Hold")
	check(
		billed + unbilled + held == len(added),
		f"invoiced {billed} + unbilled {unbilled} + on hold {held} != {len(added)} added",
	)
	# each generator's "n on hold" counts its held lines
	counts = dict(
		frappe.get_all(
			GENERATOR, filters={"name": ("in", generators)}, fields=["name", "lines_on_hold"], as_list=True
		)
	)
	for generator in generators:
		held_here = frappe.db.count(ITEM, {"generator": generator, "status": "On Hold"})
		check(
			counts.get(generator) == held_here,
			f"{generator} says {counts.get(generator)} on hold, its tab holds {held_here}",
		)
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


# ------------------------------------------------------------------------------------------ crash injection


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


def at_commit(injector: Injector, target=None, attribute: str = "run_occurrence", where: str = "commit"):
	"""Crash at the COMMIT that follows target.attribute (default generation.run_occurrence: nothing of the
	occurrence reaches the database)."""
	target = target or generation
	db_class = type(frappe.local.db)
	real_commit = db_class.commit
	real_run = getattr(target, attribute)

	def run_occurrence(*args, **kwargs):
		result = real_run(*args, **kwargs)
		injector.commit_armed = True
		return result

	def commit(self, *args, **kwargs):
		if injector.commit_armed:
			injector.commit_armed = False
			injector(where)
		return real_commit(self, *args, **kwargs)

	stack = ExitStack()
	stack.enter_context(patch.object(target, attribute, run_occurrence))
	stack.enter_context(patch.object(db_class, "commit", commit))
	return stack


# the two steps of STEPS (test_fault_crashes) that the helpers below inject themselves
ENQUEUE_STEP = "after commit: email enqueue fails"
EMAIL_COMMITTED_STEP = "email job: after its commit (worker dies, job retried)"


@contextmanager
def capture_enqueue(jobs: list, injector: Injector | None = None):
	"""frappe.enqueue records email jobs instead of sending them to Redis (the test plays the worker)."""

	def enqueue(method, **kwargs):
		if method != EMAIL_JOB:
			return  # automation runs: owed in the database, fired by their own suite
		if injector is not None:
			injector(ENQUEUE_STEP)
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


# ------------------------------------------------------------------------------------------ outcomes


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


# ------------------------------------------------------------------------------------------ bad inputs

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


def row_counts() -> dict:
	return {doctype: frappe.db.count(doctype) for doctype in COUNTED}


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
