"""Crash injection: an error the application sees (`Crash`) or a process death (`Kill`) at a chosen step, and the
email queue captured so a test plays the worker."""

from contextlib import ExitStack, contextmanager
from unittest.mock import patch

import frappe

from accumulating_billing.billing import email, generation
from accumulating_billing.tests.faults import EMAIL_JOB


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
