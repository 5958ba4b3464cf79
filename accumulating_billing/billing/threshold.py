"""Billing early and alerting (issue 27): the job of a watched tab (billing/watch.py enqueues it after the commit
of the lines that made something due), and the hourly sweep that catches up what a lost job or a crash left.
docs/architecture.md §16.

The job, for one generator:
1. records each *Tab Reaches* alert the tab has reached and that has not fired in this tab period (an Accumulating
   Automation Run, unique per row, amount and period; fired after its commit by automations.py);
2. bills the tab when its unbilled total reaches *Bill When Unbilled Reaches*: through *Generate Now*
   (generation.generate_now), with the generator's own settings, holds, automations and pay links. Whether the
   tab is billed is decided again under the generator's lock, on the lines locked there: a second job, the hourly
   run or a person's Generate Now that billed the tab meanwhile leaves it below the threshold, and nothing is
   billed twice. Lines that arrive while the invoice is made go on the next one (billed at once when they reach
   the threshold again).

The threshold invoice is logged twice in its own transaction, as a kept-for-review one is: a *Billed* line (its
invoice, items and email, as every invoice) and a *Threshold Reached* line with the amounts. It leaves the schedule
as it is, or restarts it one interval after the invoice (*Restart the Schedule After a Threshold Invoice*).
"""

from collections.abc import Callable
from datetime import date

import frappe
from frappe import _
from frappe.query_builder.functions import Sum
from frappe.utils import cint, fmt_money, getdate, nowdate

from accumulating_billing import engine
from accumulating_billing.billing import automations, generation, watch
from accumulating_billing.billing.generation_log import failure_recorded, record_failure, write_log
from accumulating_billing.billing.state import state_of, to_decimal
from accumulating_billing.doctypes import GENERATOR

# a job bills the tab again while new lines keep it at the threshold, at most this often (then the next add, or
# the hourly sweep, goes on)
MAX_ROUNDS = 5


# ------------------------------------------------------------------------------------------ the job


def watch_tab(generator: str) -> list[str]:
	"""The background job of a watched tab: its alerts, then billing at the threshold. Returns the invoices."""
	watch.job_started(generator)  # first: an add committed from now on finds no job pending and asks again
	frappe.set_user("Administrator")  # billing runs as the scheduler's runs do, whoever added the line
	record_alerts(generator)
	return bill_at_threshold(generator)


def record_alerts(generator: str, day: date | None = None) -> list[str]:
	"""Record a run of each Tab Reaches alert of the generator that its unbilled total has reached and that has not
	fired in this tab period; committed (the runs fire after the commit). Returns the runs recorded."""
	day = getdate(day or nowdate())
	frappe.db.commit()  # one fresh snapshot: the total and the period agree (a billing commits both at once)
	tab = watch.watched_tabs([generator]).get(generator)
	if not tab or not tab.alerts:
		return []
	total = watch.unbilled_total(generator, day)
	period = watch.tab_period(generator)
	keys = {row: watch.alert_key(generator, row, amount, period) for row, amount in tab.alerts.items()}
	fired = watch.fired_alerts(generator, tab.alerts)
	runs = []
	for row in engine.alerts_crossed(total, tab.alerts.items(), fired):
		savepoint = "accumulating_tab_alert"
		frappe.db.savepoint(savepoint)
		try:
			run = automations.record_run(
				None,
				generator,
				automations.TAB_REACHES,
				rows=[frappe._dict(event=automations.TAB_REACHES)],  # this row listens: no other lookup
				automation=row,
				alert_key=keys[row],
				tab_total=float(total),
			)
		except frappe.UniqueValidationError:
			# another job recorded this very alert (the unique key): it fires once
			frappe.db.rollback(save_point=savepoint)
			frappe.clear_last_message()
			continue
		runs.append(run)
	frappe.db.commit()
	return runs


def bill_at_threshold(generator: str, day: date | None = None) -> list[str]:
	"""Bill the tab through Generate Now while its unbilled total reaches the threshold. A failure is recorded as
	a failed run is (once per distinct error and day: every later add would meet it again) and ends the job."""
	day = getdate(day or nowdate())
	invoices = []
	for _round in range(MAX_ROUNDS):
		if not reached(generator, day):
			break
		occasion = ThresholdReached(day)
		try:
			invoice, _line = generation.generate_now(generator, day, occasion=occasion)
		except Exception as e:
			frappe.db.rollback()
			if not failure_recorded(generator, day, e):
				record_failure(generator, day, e)
				frappe.db.commit()
			break
		if not invoice:
			break
		invoices.append(invoice)
	return invoices


def reached(generator: str, day: date) -> bool:
	"""A plain read: is the Active tab at its threshold? (The decision is taken again under the lock.)"""
	frappe.db.commit()
	tab = watch.watched_tabs([generator]).get(generator)
	return (
		bool(tab)
		and tab.status == "Active"
		and engine.threshold_reached(watch.unbilled_total(generator, day), tab.threshold)
	)


class ThresholdReached:
	"""The occasion of a threshold invoice, for generation.generate_now (called under the generator's lock)."""

	def __init__(self, day: date):
		self.day = day
		self.total = self.threshold = None

	def due(self, generator, rows: list) -> bool:
		"""Bill the locked lines when the Active generator's threshold is reached by them (the lines Generate Now
		bills: Unbilled, dated up to the day, ERPNext accepts them)."""
		self.threshold = to_decimal(generator.get("bill_when_unbilled_reaches"))
		self.total = sum((to_decimal(row.amount) for row in rows), to_decimal(0))
		return generator.status == engine.ACTIVE and engine.threshold_reached(self.total, self.threshold)

	def billed(self, generator, invoice, rows: list) -> str:
		"""In the invoice's transaction: the Threshold Reached line, the schedule restarted if asked; returns the
		Billed line's reason."""
		money = lambda value: fmt_money(value, currency=generator.currency)  # noqa: E731
		reason = _("Threshold reached: the unbilled total {0} reached Bill When Unbilled Reaches {1}").format(
			money(self.total), money(self.threshold)
		)
		restarted = restart_schedule(generator, self.day)
		if restarted:
			reason += "; " + _("the schedule restarts: next invoice on {0}").format(restarted)
		write_log(generator.name, self.day, "Threshold Reached", reason, invoice.name, len(rows))
		return _("Threshold reached on {0}: billed {1} item(s) on {2}").format(
			self.day, len(rows), invoice.name
		)


def restart_schedule(generator, day: date) -> date | None:
	"""*Restart the Schedule After a Threshold Invoice*: the next invoice one interval after it (the schedule counts
	from that day on). Returns the new next creation date, or None when the schedule stays."""
	if not cint(generator.get("restart_schedule_after_threshold")):
		return None
	restarted = engine.restarted_schedule(state_of(generator), day)
	if not restarted:
		return None
	first, following = restarted
	frappe.db.set_value(
		GENERATOR, generator.name, {"first_creation_date": first, "next_creation_date": following}
	)
	return following


# ------------------------------------------------------------------------------------------ catching up


def reached_tabs(day: date | None = None, limit: int | None = None) -> list[str]:
	"""The Active generators whose unbilled total (lines dated up to `day`) is at or past their threshold."""
	day = getdate(day or nowdate())
	Gen = frappe.qb.DocType(GENERATOR)
	Item = frappe.qb.DocType(watch.ITEM)
	query = (
		frappe.qb.from_(Gen)
		.join(Item)
		.on((Item.generator == Gen.name) & (Item.status == "Unbilled") & (Item.service_date <= day))
		.select(Gen.name)
		.where((Gen.status == "Active") & (Gen.bill_when_unbilled_reaches > 0))
		.groupby(Gen.name, Gen.bill_when_unbilled_reaches)
		.having(Sum(Item.amount) >= Gen.bill_when_unbilled_reaches)
		.orderby(Gen.name)
	)
	if limit:
		query = query.limit(limit)
	return query.run(pluck=True)


def alerted_tabs(day: date | None = None) -> list[str]:
	"""The live generators with a Tab Reaches alert reached and not fired in this tab period."""
	Auto = frappe.qb.DocType(watch.AUTOMATION)
	candidates = (
		frappe.qb.from_(Auto)
		.select(Auto.parent)
		.distinct()
		.where((Auto.parenttype == GENERATOR) & (Auto.event == watch.TAB_REACHES))
	).run(pluck=True)
	return watch.tabs_with_something_due(sorted(candidates), day) if candidates else []


def enqueue_reached() -> list[str]:
	"""Hourly: a job for every tab at its threshold or past an alert not fired (a lost job, a crash, lines dated
	in the future that are due now, a tab resumed). Returns the generators asked for."""
	names = sorted(set(reached_tabs()) | set(alerted_tabs()))
	return [name for name in names if watch.request_job(name)]


def bill_reached(day: date | str | None = None, echo: Callable[[str], None] | None = None) -> list[str]:
	"""`bench … accumulating-billing run`: in this process, the alerts and the threshold invoices of every tab
	found at its threshold or past an alert. Returns the invoices."""
	day = getdate(day or nowdate())
	invoices = []
	for name in sorted(set(reached_tabs(day)) | set(alerted_tabs(day))):
		record_alerts(name, day)
		made = bill_at_threshold(name, day)
		invoices += made
		if echo:
			for invoice in made:
				echo(_("{0}: threshold reached: billed on {1}").format(name, invoice))
	return invoices
