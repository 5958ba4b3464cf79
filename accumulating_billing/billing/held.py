"""Held lines (issue 19 §2): on billing day, a line ERPNext would refuse is held, and the rest is billed.

Something changed since the line was entered: its item was disabled, the Sales Order behind its Delivery Note
was closed, its unit became *Must be Whole Number*. The line check of entry (`line_check`) runs again on the
occurrence's lines as they are now, in the occurrence's transaction, before the invoice is built:

- each line it refuses is **held**: status *On Hold*, ERPNext's message in `hold_reason`, not billed;
- the invoice is made from the other lines of the same occurrence;
- the occurrence's log line names each held line and its reason, and each held line owes a notice
  (`hold_notice` Pending), written in that same transaction (a crash or a rollback takes the hold and what it
  owes back together); the notices go out after the billing run, one message per recipient listing every line
  the run held (held_notices.py: never lost, never twice).

A generator set to *Stop the Invoice* runs no check: ERPNext refuses the invoice and the occurrence fails and
retries, as it did before held lines existed. Where ERPNext refuses the invoice for a reason no line check
explains (a disabled customer, a frozen period), the occurrence fails and retries in both modes.

*Release* checks held lines again and puts back to Unbilled the ones that pass; the next occurrence bills them.
"""

from collections import defaultdict

import frappe
from frappe import _
from frappe.utils import getdate, now_datetime, nowdate

from accumulating_billing.billing import line_check, watch
from accumulating_billing.billing.generation_log import write_log
from accumulating_billing.billing.item_status import NOTICE_PENDING, ON_HOLD, UNBILLED, update_held_count
from accumulating_billing.billing.tab import item_fields, with_net_rates
from accumulating_billing.doctypes import GENERATOR, ITEM

HOLD = "Hold the Line and Bill the Rest"
STOP = "Stop the Invoice"


def holds(generator) -> bool:
	"""Whether a billing day of `generator` holds refused lines (the default) or stops the invoice."""
	return (generator.get("on_refused_line") or HOLD) != STOP


# up to this many distinct item codes, the billing day's check reads the Items and UOMs from the document cache
CACHED_CODES = 20


def refused_lines(rows: list, company: str | None) -> dict:
	"""{item name: ERPNext's reason} for the rows ERPNext would refuse on a Sales Invoice now: the line check
	of entry (the Sales Order behind a Delivery Note line included) on the lines as they are. A few reads per
	tab, none per line. A tab of a few distinct items reads them (and their UOMs) from Frappe's document cache,
	as ERPNext's own validation of the invoice does (`get_item_details`), which every save of an Item or a UOM
	clears: the same values, without two reads per occurrence (docs/architecture.md §8)."""
	if not rows:
		return {}
	cached = len({row.get("item_code") for row in rows}) <= CACHED_CODES
	return line_check.refusals(rows, company=company, cached=cached)


# ------------------------------------------------------------------------------------------ billing day


def hold_refused(generator, rows: list, refused: dict | None = None) -> tuple[list, list]:
	"""In the caller's transaction (the generator and `rows` locked): hold the rows ERPNext would refuse; each owes
	its notice (sent after the billing run: held_notices.py). Returns (the rows to bill, the held rows, each with
	its `hold_reason`). `refused`: the caller ran the check already, over these rows among others."""
	if not rows or not holds(generator):
		return rows, []
	if refused is None:
		refused = refused_lines(rows, generator.company)
	refused = {name: reason for name, reason in refused.items() if name in {row.name for row in rows}}
	if not refused:
		return rows, []
	held = [row for row in rows if row.name in refused]
	for row in held:
		row.hold_reason = refused[row.name]
	set_on_hold(held)
	update_held_count(generator.name)
	return [row for row in rows if row.name not in refused], held


def set_on_hold(rows: list) -> None:
	"""Move exactly `rows` from Unbilled to On Hold with their reasons (one update per distinct reason), each
	owing its notice. The rows are locked by the caller: one that is no longer Unbilled refuses the whole
	occurrence (rolled back)."""
	by_reason = defaultdict(list)
	for row in rows:
		by_reason[row.hold_reason].append(row.name)
	moved = sum(
		move(names, UNBILLED, ON_HOLD, reason, notice=NOTICE_PENDING) for reason, names in by_reason.items()
	)
	if moved != len(rows):
		raise frappe.ValidationError(
			_("Expected to hold {0} line(s) but {1} were still unbilled.").format(len(rows), moved)
		)


def move(
	names: list[str], from_status: str, to_status: str, reason: str | None, notice: str | None = None
) -> int:
	"""Move the named items that are in `from_status` to `to_status` with `reason` (and, given, `notice`);
	returns how many moved. A line back on the tab is no longer questioned (billing/questions.py)."""
	Item = frappe.qb.DocType(ITEM)
	query = (
		frappe.qb.update(Item)
		.set(Item.status, to_status)
		.set(Item.hold_reason, reason)
		.set(Item.modified, now_datetime())
		.where(Item.name.isin(names) & (Item.status == from_status))
	)
	if notice:
		query = query.set(Item.hold_notice, notice)
	if to_status == UNBILLED:
		query = query.set(Item.question_issue, None)
	query.run()
	return frappe.db._cursor.rowcount


def held_note(held: list) -> str:
	"""What the occurrence's log line adds: each held line by name and item, grouped by ERPNext's reason."""
	if not held:
		return ""
	by_reason = defaultdict(list)
	for row in held:
		by_reason[row.hold_reason].append(f"{row.name} ({row.item_code})")
	reasons = "; ".join(f"{', '.join(lines)}: {reason}" for reason, lines in by_reason.items())
	return "; " + _("held {0} line(s) ERPNext refuses, not billed: {1}").format(len(held), reasons)


# ------------------------------------------------------------------------------------------ release


def release(generator: str, names: list[str] | None = None) -> tuple[list[str], dict]:
	"""Check the generator's held lines (all, or `names`) again; put back to Unbilled the ones ERPNext now
	accepts. Returns (the names released, {name: reason} of the lines still refused, their reason refreshed).

	Under the generator's lock, as a run: a release waits for a run of the generator to commit (or the run
	finds the generator busy), so a line is never both released and billed by a run that read it held."""
	values = frappe.db.get_value(GENERATOR, generator, ["name", "company"], as_dict=True, for_update=True)
	Item = frappe.qb.DocType(ITEM)
	query = (
		frappe.qb.from_(Item)
		.select(*item_fields(Item))
		.where((Item.generator == values.name) & (Item.status == ON_HOLD))
		.orderby(Item.service_date)
		.orderby(Item.name)
		.for_update()
	)
	if names is not None:
		check_lines_of(values.name, names)
		if not names:
			return [], {}
		query = query.where(Item.name.isin(names))
	rows = with_net_rates(query.run(as_dict=True))
	if not rows:
		return [], {}
	refused = refused_lines(rows, values.company)
	released = [row.name for row in rows if row.name not in refused]
	if released:
		move(released, ON_HOLD, UNBILLED, None)
		watch.items_added([values.name])  # back on the tab: it may reach its threshold or an alert
	by_reason = defaultdict(list)
	for name, reason in refused.items():
		by_reason[reason].append(name)
	for reason, still in by_reason.items():
		move(still, ON_HOLD, ON_HOLD, reason)  # the reason as it is now
	update_held_count(values.name)
	line = _("{0} held line(s) released by {1}: {2}").format(
		len(released), frappe.session.user, ", ".join(released) or "-"
	)
	if refused:
		line += " " + _("{0} still refused: {1}").format(
			len(refused), "; ".join(f"{name}: {reason}" for name, reason in refused.items())
		)
	write_log(values.name, getdate(nowdate()), "Released", line, items_count=len(released))
	return released, refused


def log_release_on_edit(doc) -> None:
	"""The generation log's line for a held line a person corrected and saved back onto the tab
	(items.release_on_edit), in the save's transaction."""
	line = _("{0} held line(s) released by {1}: {2}").format(1, frappe.session.user, doc.name)
	write_log(
		doc.generator, getdate(nowdate()), "Released", line + " " + _("(corrected and saved)"), items_count=1
	)


def check_lines_of(generator: str, names: list[str]) -> None:
	"""Every name is a line of this generator (held or not): anything else is refused, and nothing changes."""
	found = set(
		frappe.get_all(ITEM, filters={"generator": generator, "name": ("in", names or [""])}, pluck="name")
	)
	missing = [name for name in names if name not in found]
	if missing:
		frappe.throw(
			_("{0} is not a line of Accumulating Generator {1}.").format(", ".join(missing), generator),
			title=_("Unknown line"),
		)
