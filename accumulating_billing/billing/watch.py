"""A watched running tab (issue 27): after items join a tab, is it at its threshold, or past a *Tab Reaches*
alert not fired yet? Then one background job does the rest (billing/threshold.py). docs/architecture.md §Tabs
watched.

`items_added(generators)` is the ONE entry point, called by every path that puts lines on a tab, after they were
written in the current transaction: the item's own save (api.add_item, the desk, REST, Data Import), the bulk
insert of Timesheets, Delivery Notes, Sync and late fees (sources/tab_items.insert_items), a Timesheet edited
after submit, a held line released. A batch path calls it once with all its generators.

It costs the adder almost nothing: it remembers the generators and, once the transaction has committed (never
before: the job must see the new lines), makes ONE indexed read for all of them. A generator with no threshold and
no Tab Reaches automation ends there. For a watched one, the unbilled total is summed and, only when something is
due, the job is enqueued (once: a flag in Redis while a job for the generator is queued). The adder's request
never waits for an invoice, and nothing here can fail it: an error is logged and the hourly sweep catches up.
"""

from collections.abc import Iterable
from datetime import date

import frappe
from frappe import _
from frappe.query_builder.functions import Coalesce, Sum
from frappe.utils import getdate, nowdate

from accumulating_billing import engine
from accumulating_billing.billing.item_status import UNBILLED
from accumulating_billing.billing.state import to_decimal
from accumulating_billing.doctypes import AUTOMATION, GENERATOR, ITEM, RUN

TAB_REACHES = "Tab Reaches"
# the tabs whose alerts fire are the live ones (engine.LIVE_STATUSES); billing early needs Active
JOB = "accumulating_billing.billing.threshold.watch_tab"
JOB_QUEUE = "default"
JOB_TIMEOUT_SECONDS = 25 * 60
# while a job for a generator is queued, more adds enqueue nothing; a lost enqueue blocks no longer than this
PENDING_SECONDS = 10 * 60


# ------------------------------------------------------------------------------------------ the entry point


def items_added(generators: Iterable[str]) -> None:
	"""Lines were put on these generators' tabs in the current transaction: look at them after its commit."""
	names = {name for name in generators if name}
	if not names:
		return
	pending = getattr(frappe.local, "accumulating_tab_watch", None)
	if pending is None:
		pending = frappe.local.accumulating_tab_watch = set()
		frappe.db.after_commit.add(look_after_commit)
		frappe.db.before_rollback.add(forget)
	pending.update(names)


def is_watched(generator) -> int:
	"""The generator's `tab_watched` (set when it is saved): a threshold, or a Tab Reaches automation. A line added to
	a tab nobody watches is not looked at (the add reads this with the generator's other values)."""
	return int(
		to_decimal(generator.get("bill_when_unbilled_reaches")) > 0
		or any(row.event == TAB_REACHES for row in generator.get("automations") or [])
	)


def forget() -> None:
	frappe.local.accumulating_tab_watch = None


def look_after_commit() -> None:
	"""After the commit of the transaction that added lines: one read; a job for the tabs with something due."""
	names = sorted(getattr(frappe.local, "accumulating_tab_watch", None) or ())
	frappe.local.accumulating_tab_watch = None
	if not names:
		return
	try:
		for generator in tabs_with_something_due(names):
			request_job(generator)
	except Exception:
		# the lines are committed: a failed look never fails the adder (the hourly sweep catches up)
		frappe.log_error(title=_("Accumulating Billing: tabs not watched after an add"), defer_insert=True)


# ------------------------------------------------------------------------------------------ what is due


def tabs_with_something_due(names: list[str], day: date | None = None) -> list[str]:
	"""The generators among `names` at their threshold (Active) or past a Tab Reaches alert not fired in this
	tab period. One read when none of them is watched (the common case)."""
	watched = watched_tabs(names)
	if not watched:
		return []
	day = getdate(day or nowdate())
	totals = unbilled_totals(list(watched), day)
	due = []
	for name, tab in watched.items():
		total = totals.get(name, to_decimal(0))
		if tab.status == "Active" and engine.threshold_reached(total, tab.threshold):
			due.append(name)
		elif tab.alerts and engine.alerts_crossed(total, tab.alerts.items(), fired_alerts(name, tab.alerts)):
			due.append(name)
	return due


def watched_tabs(names: list[str]) -> dict[str, frappe._dict]:
	"""{generator: {status, threshold, alerts {row name: amount}}} of the generators among `names` that have a
	threshold or a Tab Reaches automation (one read, by primary key)."""
	Gen = frappe.qb.DocType(GENERATOR)
	Auto = frappe.qb.DocType(AUTOMATION)
	rows = (
		frappe.qb.from_(Gen)
		.left_join(Auto)
		.on((Auto.parent == Gen.name) & (Auto.parenttype == GENERATOR) & (Auto.event == TAB_REACHES))
		.select(Gen.name, Gen.status, Gen.bill_when_unbilled_reaches, Auto.name.as_("row"), Auto.tab_amount)
		.where(
			Gen.name.isin(names)
			& Gen.status.isin(engine.LIVE_STATUSES)
			& ((Gen.bill_when_unbilled_reaches > 0) | Auto.name.isnotnull())
		)
	).run(as_dict=True)
	tabs: dict[str, frappe._dict] = {}
	for row in rows:
		tab = tabs.setdefault(
			row.name,
			frappe._dict(status=row.status, threshold=to_decimal(row.bill_when_unbilled_reaches), alerts={}),
		)
		if row.row:
			tab.alerts[row.row] = to_decimal(row.tab_amount)
	return tabs


def unbilled_totals(generators: list[str], day: date) -> dict[str, object]:
	"""{generator: the sum of its Unbilled lines dated up to `day`} (Decimal): what Generate Now of that day
	bills. One read over the (generator, status, service_date) index."""
	if not generators:
		return {}
	Item = frappe.qb.DocType(ITEM)
	rows = (
		frappe.qb.from_(Item)
		.select(Item.generator, Coalesce(Sum(Item.amount), 0).as_("total"))
		.where(Item.generator.isin(generators) & (Item.status == UNBILLED) & (Item.service_date <= day))
		.groupby(Item.generator)
	).run()
	return {generator: to_decimal(total) for generator, total in rows}


def unbilled_total(generator: str, day: date | None = None):
	return unbilled_totals([generator], getdate(day or nowdate())).get(generator, to_decimal(0))


# ------------------------------------------------------------------------------------------ tab periods


def tab_period(generator: str) -> str:
	"""The tab period of a generator: the name of its latest invoice (any, cancelled ones too), "" before its
	first. Billing the tab starts a new period; a Tab Reaches alert fires once per period."""
	return (
		frappe.db.get_value(
			"Sales Invoice", {"accumulating_generator": generator}, "name", order_by="creation desc"
		)
		or ""
	)


def alert_key(generator: str, row: str, amount, period: str) -> str:
	"""The key of one firing of one alert: its row and amount (a changed amount is a new alert) in one period."""
	return f"{generator}|{row}|{to_decimal(amount)}|{period or '-'}"


def fired_alerts(generator: str, alerts: dict) -> set[str]:
	"""The rows of `alerts` ({row: amount}) that fired in the tab's current period."""
	period = tab_period(generator)
	keys = {alert_key(generator, row, amount, period): row for row, amount in alerts.items()}
	fired = frappe.get_all(RUN, filters={"alert_key": ("in", list(keys))}, pluck="alert_key")
	return {keys[key] for key in fired}


# ------------------------------------------------------------------------------------------ the job


def request_job(generator: str) -> bool:
	"""Enqueue the job of a watched tab unless one is queued already (a Redis flag the job clears when it
	starts, before it reads anything: an add whose look finds the flag set committed before that, so the queued
	job sees its line). At the front of the queue: billing early is due within a minute."""
	if not frappe.cache.set(pending_key(generator), 1, ex=PENDING_SECONDS, nx=True):
		return False
	try:
		frappe.enqueue(
			JOB,
			queue=JOB_QUEUE,
			timeout=JOB_TIMEOUT_SECONDS,
			at_front=True,
			generator=generator,
		)
	except Exception:
		frappe.cache.delete(pending_key(generator))
		raise
	return True


def job_started(generator: str) -> None:
	"""The job runs: the next add that finds something due enqueues another."""
	frappe.cache.delete(pending_key(generator))


def job_pending(generator: str) -> bool:
	"""Whether a job for the generator is queued (its flag is set) and has not started yet."""
	return frappe.cache.get(pending_key(generator)) is not None


def pending_key(generator: str) -> str:
	return frappe.cache.make_key(f"accumulating_billing:tab_watch:{generator}")


# ------------------------------------------------------------------------------------------ what people see


def threshold_progress(
	generator: str, threshold, currency: str | None, day: date | None = None
) -> dict | None:
	"""The form's progress bar: {amount, used, percent, currency}, None without a threshold."""
	if to_decimal(threshold) <= 0:
		return None
	return progress(threshold, unbilled_total(generator, day), currency)


def progress(threshold, used, currency: str | None) -> dict | None:
	"""A progress bar of `used` against `threshold` (the form's, the portal's): None without a threshold."""
	threshold = to_decimal(threshold)
	if threshold <= 0:
		return None
	used = to_decimal(used)
	return {
		"amount": float(threshold),
		"used": float(used),
		"percent": engine.used_percent(used, threshold),
		"currency": currency,
	}
