"""The tab items of source lines: their values on a generator, and their insert, update and removal (each
source line is on a tab at most once: a unique key on (source_doctype, source_detail))."""

from collections import defaultdict

import frappe
from frappe import _
from frappe.utils import flt, now_datetime

from accumulating_billing.billing import items as item_rules
from accumulating_billing.billing import line_check, watch
from accumulating_billing.billing.item_status import NOT_BILLED, ON_HOLD, UNBILLED, update_held_counts
from accumulating_billing.billing.sources.base import (
	DELIVERY_NOTE,
	GENERATOR,
	ITEM,
	SOURCE_DOCTYPES,
	SourceLine,
)


def item_values(generator, doctype: str, line: SourceLine) -> dict:
	"""The tab item of one line on one generator; throws a translated message when the generator cannot
	receive it (its currency, its end date). What ERPNext would refuse on the invoice is not checked here but by
	`hold_refused_at_entry`, for all the lines of a document at once: such a line goes on the tab On Hold."""
	item_code = line.item_code or generator.timesheet_item
	item = item_rules.item_of(item_code) or frappe._dict(name=item_code, item_name=item_code, stock_uom=None)
	rate = converted_rate(generator, line)
	item_rules.check_end_date(generator, line.service_date)
	qty = flt(line.qty)
	values = {
		"generator": generator.name,
		"customer": generator.customer,
		"company": generator.company,
		"currency": generator.currency,
		"service_date": line.service_date,
		"item_code": item.name,
		"item_name": item.item_name,
		"description": line.description,
		"qty": qty,
		"uom": line.uom or item.stock_uom,
		"rate": rate,
		"discount_percentage": 0,
		"amount": flt(item_rules.line_amount(qty, rate, 0, generator.currency, allow_return=True)),
		"source_doctype": doctype,
		"source_detail": line.detail,
		"status": "Unbilled",
		"hold_reason": None,
	}
	item_rules.keep_plain(values)  # a Timesheet's or Delivery Note's text, as any tab item's
	return values


def hold_refused_at_entry(
	values: list[dict], company: str, stopping: set | frozenset = frozenset()
) -> list[dict]:
	"""Mark On Hold, with ERPNext's reason, the tab items (values) that ERPNext would refuse on the invoice; the
	others Unbilled. One batched line check for all of them. Returns the held ones.

	`stopping`: the generators set to *Stop the Invoice* (all or nothing): their lines go on the tab Unbilled
	unchecked, so that the billing day refuses the whole invoice, as it did before held lines existed."""
	checked = [value for value in values if value["generator"] not in stopping]
	found = line_check.refusals(checked, company=company)
	reasons = {
		id(value): found.get(line_check.line_key(value, position)) for position, value in enumerate(checked)
	}
	held = []
	for value in values:
		reason = reasons.get(id(value))
		value["status"], value["hold_reason"] = (ON_HOLD, reason) if reason else (UNBILLED, None)
		if reason:
			held.append(value)
	return held


def converted_rate(generator, line: SourceLine) -> float:
	"""The line's rate in the generator's currency. A Delivery Note is billed in its own currency (ERPNext
	requires the invoice's to match); a time log converts through the company currency or today's rate."""
	rate = flt(item_rules.net_rate(line.rate, 0, generator.currency))
	if line.currency == generator.currency:
		return rate
	if line.item_code:  # a Delivery Note line
		frappe.throw(
			_("the Delivery Note is in {0} and {1} bills in {2}").format(
				line.currency, generator.name, generator.currency
			)
		)
	company_currency = frappe.get_cached_value("Company", generator.company, "default_currency")
	if generator.currency == company_currency and line.exchange_rate:
		exchange_rate = line.exchange_rate  # the Timesheet's own rate to the company currency
	else:
		from erpnext.setup.utils import get_exchange_rate

		exchange_rate = flt(get_exchange_rate(line.currency, generator.currency, line.service_date))
	if not exchange_rate:
		frappe.throw(
			_("no exchange rate from {0} to {1} on {2}").format(
				line.currency, generator.currency, line.service_date
			)
		)
	return flt(item_rules.net_rate(line.rate * exchange_rate, 0, generator.currency))


def existing_items(doctype: str, source_name: str) -> dict:
	"""The tab items of a source document, by source detail row."""
	rows = frappe.get_all(
		ITEM,
		filters={"source_doctype": doctype, "source_name": source_name},
		fields=[
			"name",
			"generator",
			"status",
			"hold_reason",
			"source_detail",
			"qty",
			"rate",
			"description",
			"service_date",
			"question_issue",
		],
	)
	return {row.source_detail: row for row in rows}


def insert_items(values: list[dict], source_name: str) -> list[str]:
	"""Insert tab items in one statement; a line already on a tab (the unique key) is left as it is. Each of
	`values` is given the name of its item (`name`)."""
	if not values:
		return []
	now, user = now_datetime(), frappe.session.user
	fields = ["name", "creation", "modified", "owner", "modified_by", "status", "added_by", "source_name"]
	fields += [f for f in values[0] if f not in fields]
	rows, names = [], []
	for value in values:
		name = value["name"] = frappe.generate_hash(length=10)
		names.append(name)
		row = {
			"name": name,
			"creation": now,
			"modified": now,
			"owner": user,
			"modified_by": user,
			"status": "Unbilled",
			"added_by": user,
			"source_name": source_name,
			**value,
		}
		rows.append(tuple(row[f] for f in fields))
	frappe.db.bulk_insert(ITEM, fields, rows, ignore_duplicates=True)
	# Timesheets, Delivery Notes, Sync and late fees: their tabs may reach a threshold or an alert
	watch.items_added({value["generator"] for value in values})
	if frappe.db.sql("select row_count()")[0][0] == len(names):
		return names
	# a concurrent transaction put some of these lines on a tab first: report only what this one added
	return frappe.get_all(ITEM, filters={"name": ("in", names)}, pluck="name")


def update_item(existing, values: dict) -> bool:
	"""Follow an edited source line (Update Billing Amount on a submitted Timesheet): qty, rate, amount, and
	whether ERPNext would refuse it now (held, or back to Unbilled once the edit made it pass)."""
	fields = ("qty", "rate", "amount", "description", "service_date")
	changes = {f: values[f] for f in fields if str(values[f]) != str(existing.get(f) or "")}
	if not changes or existing.status not in NOT_BILLED:
		return False
	# a line the customer questioned stays held whatever the edit (its Issue decides: billing/questions.py)
	questioned = existing.status == ON_HOLD and existing.get("question_issue")
	values = {f: values[f] for f in (*fields, *(() if questioned else ("status", "hold_reason")))}
	Item = frappe.qb.DocType(ITEM)
	query = frappe.qb.update(Item).set(Item.modified, now_datetime())
	for field, value in values.items():
		query = query.set(Item[field], value)
	query.where((Item.name == existing.name) & Item.status.isin(NOT_BILLED)).run()
	watch.items_added([existing.generator])
	return True


def delete_unbilled(names: list[str]) -> int:
	"""Delete the items among `names` that no invoice bills (Unbilled or On Hold)."""
	if not names:
		return 0
	Item = frappe.qb.DocType(ITEM)
	frappe.qb.from_(Item).delete().where(Item.name.isin(names) & Item.status.isin(NOT_BILLED)).run()
	return len(names)


def take_off_tabs(rows: list, note) -> None:
	"""Delete the items among `rows` ({name, generator}) no invoice bills, with `note(count)` on each
	generator."""
	by_generator = defaultdict(list)
	for row in rows:
		by_generator[row.generator].append(row.name)
	for generator, names in by_generator.items():
		delete_unbilled(names)
		frappe.get_doc(GENERATOR, generator).add_comment("Info", note(len(names)))
	update_held_counts(by_generator)  # a held line may have left the tab


def check_settings_change(generator) -> None:
	"""A generator's Project or currency cannot change while Delivery Note or Timesheet lines wait on its tab:
	ERPNext bills a Delivery Note only on an invoice of its project and currency, and the rates were converted
	into this currency. Bill them (Generate Now) first."""
	before = None if generator.is_new() else generator.get_doc_before_save()
	if not before:
		return
	if (before.get("invoice_customer") or None) != (generator.get("invoice_customer") or None):
		check_no_delivery_notes_waiting(generator)
	if before.project == generator.project and before.currency == generator.currency:
		return
	if frappe.db.exists(
		ITEM,
		{
			"generator": generator.name,
			"status": ("in", NOT_BILLED),
			"source_doctype": ("in", SOURCE_DOCTYPES),
		},
	):
		frappe.throw(
			_(
				"Project and currency cannot change while Timesheet or Delivery Note lines wait on the tab: "
				"bill them first (Generate Now)."
			),
			title=_("Lines from ERPNext on the tab"),
		)


def check_no_delivery_notes_waiting(generator) -> None:
	"""Invoice To cannot change while Delivery Note lines wait on the tab: ERPNext bills a Delivery Note only on an
	invoice to the customer it was delivered to."""
	if frappe.db.exists(
		ITEM,
		{"generator": generator.name, "status": ("in", NOT_BILLED), "source_doctype": DELIVERY_NOTE},
	):
		frappe.throw(
			_(
				"Invoice To cannot change while Delivery Note lines wait on the tab: bill them first (Generate Now)."
			),
			title=_("Lines from ERPNext on the tab"),
		)
