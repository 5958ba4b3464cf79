"""Bringing the tab in line with a submitted source document (on submit, after an edit, or by a generator's
Sync): its missing lines are added where they are routed, edited ones followed, lines no longer billable removed."""

from collections import defaultdict

import frappe
from frappe import _
from frappe.utils import cint, strip_html

from accumulating_billing.billing.held import holds
from accumulating_billing.billing.item_status import NOT_BILLED, ON_HOLD, update_held_counts
from accumulating_billing.billing.sources.base import DELIVERY_NOTE, GENERATOR, TIMESHEET, SourceLine
from accumulating_billing.billing.sources.delivery_notes import delivery_note_lines, unsynced_delivery_notes
from accumulating_billing.billing.sources.routing import (
	ROUTING_FIELDS,
	SETTING,
	live_generators,
	route,
)
from accumulating_billing.billing.sources.tab_items import (
	delete_unbilled,
	existing_items,
	hold_refused_at_entry,
	insert_items,
	item_values,
	update_item,
)
from accumulating_billing.billing.sources.timesheets import timesheet_lines, unsynced_timesheets
from accumulating_billing.engine import LIVE_STATUSES


def lines_of(doc) -> list[SourceLine]:
	return timesheet_lines(doc) if doc.doctype == TIMESHEET else delivery_note_lines(doc)


def sync_document(doc, only_generator: str | None = None) -> list[str]:
	"""Bring the tab in line with a submitted source document: add its missing lines (routed), follow edited
	ones, remove unbilled lines that are no longer billable. Returns the names of the items added.

	`only_generator`: add only what this generator receives (the generator's Sync)."""
	doctype = doc.doctype
	lines = lines_of(doc)
	existing = existing_items(doctype, doc.name)
	wanted = {line.detail for line in lines}
	removed = delete_unbilled(
		[row.name for detail, row in existing.items() if detail not in wanted and row.status in NOT_BILLED]
	)
	by_customer = defaultdict(list)
	for line in lines:
		if line.customer:
			by_customer[line.customer].append(line)
	added, refused, changed = [], defaultdict(list), 0
	updates, new, stopping = [], defaultdict(list), set()
	for customer, customer_lines in by_customer.items():
		generators = live_generators(customer, doc.company)
		stopping |= {g.name for g in generators if not holds(g)}  # Stop the Invoice: all or nothing
		uses_feature = any(cint(g[SETTING[doctype]]) for g in generators)
		for line in customer_lines:
			generator, why = route(generators, doctype, line)
			current = existing.get(line.detail)
			if current and current.status not in NOT_BILLED:
				continue  # billed: it stays on its invoice
			if not generator:
				if not current and uses_feature:
					refused[why].append(line)
				continue  # an item already on a tab stays there while nothing receives it
			# the receiving generator changed (a project was set): the line moves with it, whichever Sync runs
			moving = bool(current) and current.generator != generator.name
			if only_generator and generator.name != only_generator and not moving:
				continue
			try:
				values = item_values(generator, doctype, line)
			except frappe.ValidationError as e:
				frappe.clear_last_message()
				refused[strip_html(str(e))].append(line)
				continue
			if moving:
				delete_unbilled([current.name])
				current = None
			if current:
				updates.append((current, values))
			else:
				new[generator.name].append(values)
	# what ERPNext would refuse on the invoice goes on the tab On Hold, with its reason (one check for all)
	held = hold_refused_at_entry(
		[values for _c, values in updates] + [v for vs in new.values() for v in vs], doc.company, stopping
	)
	newly_held = []
	for current, values in updates:
		if update_item(current, values):
			changed += 1
			if values["status"] == ON_HOLD and values["hold_reason"] != current.hold_reason:
				newly_held.append(values)
	for values in new.values():
		added += insert_items(values, doc.name)
	newly_held += [values for values in held if values.get("name") in set(added)]
	comment_refused(doc, refused)
	comment_held(doc, newly_held)
	if held or any(row.status == ON_HOLD for row in existing.values()):
		# a line held, released by an edit, moved or removed: the generators' "n on hold" follow
		update_held_counts([row.generator for row in existing.values()] + list(new))
	if added or removed or changed:
		frappe.clear_document_cache(doctype, doc.name)
	return added


def comment_refused(doc, refused: dict) -> None:
	if not refused:
		return
	parts = [
		_("{0} line(s) ({1}): {2}").format(len(lines), ", ".join(str(line_label(doc, l)) for l in lines), why)
		for why, lines in refused.items()
	]
	doc.add_comment(
		"Comment",
		_("Not added to a running tab: {0}. Fix it, then use Sync on the generator.").format(
			"; ".join(parts)
		),
	)


def comment_held(doc, held: list[dict]) -> None:
	"""The lines that went on a tab On Hold: which, where, and ERPNext's reason."""
	if not held:
		return
	parts = [
		_("{0} on {1}: {2}").format(
			row_label(doc, values["source_detail"]), values["generator"], values["hold_reason"]
		)
		for values in held
	]
	doc.add_comment(
		"Comment",
		_(
			"{0} line(s) went on the running tab On Hold: ERPNext would refuse them on the invoice. {1}. "
			"Correct the cause, then Release them on the generator."
		).format(len(held), "; ".join(parts)),
	)


def line_label(doc, line: SourceLine) -> str:
	return row_label(doc, line.detail)


def row_label(doc, detail: str) -> str:
	rows = doc.time_logs if doc.doctype == TIMESHEET else doc.items
	return next((f"#{row.idx}" for row in rows if row.name == detail), detail)


def sync_generator(name: str, progress=None) -> list[str]:
	"""Add the submitted, unbilled source lines that this generator receives and no tab holds yet (documents
	submitted before the setting was turned on, or while it had no receiver). Returns the items added."""
	generator = frappe.db.get_value(GENERATOR, name, list(ROUTING_FIELDS), as_dict=True)
	if not generator:
		frappe.throw(_("Accumulating Generator {0} does not exist.").format(name))
	if generator.status not in LIVE_STATUSES:
		frappe.throw(
			_("Generator {0} is {1}: only a Draft, Active or Paused generator receives work.").format(
				name, _(generator.status)
			)
		)
	documents = []
	if cint(generator.accumulate_timesheets):
		documents += [(TIMESHEET, ts) for ts in unsynced_timesheets(generator)]
	if cint(generator.accumulate_delivery_notes):
		documents += [(DELIVERY_NOTE, dn) for dn in unsynced_delivery_notes(generator)]
	added = []
	for done, (doctype, source_name) in enumerate(documents, 1):
		added += sync_document(frappe.get_doc(doctype, source_name), only_generator=name)
		if progress:
			progress(done, len(documents), source_name)
	return added


def sync_all(echo=None) -> dict[str, list[str]]:
	"""Sync every live generator that accumulates Timesheets or Delivery Notes (the CLI's `sync`)."""
	Gen = frappe.qb.DocType(GENERATOR)
	names = (
		frappe.qb.from_(Gen)
		.select(Gen.name)
		.where(
			Gen.status.isin(LIVE_STATUSES)
			& ((Gen.accumulate_timesheets == 1) | (Gen.accumulate_delivery_notes == 1))
		)
		.orderby(Gen.name)
		.run(pluck=True)
	)
	result = {}
	for name in names:
		result[name] = sync_generator(name)
		frappe.db.commit()
		if echo:
			echo(_("{0}: added {1} item(s)").format(name, len(result[name])))
	return result
