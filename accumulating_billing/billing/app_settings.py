"""Accumulating Billing Settings, the app's own settings: their defaults and the readers of those that billing
needs, below every module that reads them and below the Settings controller that validates them (imports point
down: docs/architecture.md §1)."""

import frappe
from frappe.utils import cint

from accumulating_billing.doctypes import SETTINGS

# *Parallel Billing Jobs per Tick*: one billing job per long-queue worker by default
DEFAULT_JOBS_PER_TICK = 4
MAX_JOBS_PER_TICK = 64


def jobs_per_tick() -> int:
	"""How many billing jobs the hourly tick enqueues (a value written around the form's checks stops nothing)."""
	jobs = cint(frappe.db.get_single_value(SETTINGS, "billing_jobs_per_tick")) or DEFAULT_JOBS_PER_TICK
	return min(max(jobs, 1), MAX_JOBS_PER_TICK)


def two_step_billing() -> bool:
	"""*Submit Invoices in a Second Transaction* (two_step.py)."""
	return bool(frappe.get_cached_value(SETTINGS, SETTINGS, "two_step_billing"))
