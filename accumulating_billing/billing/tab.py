"""The running tab in the database: which items a run bills, read and locked, and their billed mark.

Everything here is Frappe persistence of Accumulating Generator Item rows; the decisions are the engine's."""

import functools
import json
from datetime import date

import frappe
from frappe import _
from frappe.query_builder import Order
from frappe.utils import flt, getdate, now_datetime

from accumulating_billing import engine
from accumulating_billing.billing import items as item_rules
from accumulating_billing.billing.by_names import BY_NAMES, BY_PRIMARY_KEY, placeholders
from accumulating_billing.billing.item_status import LINE_VALUES
from accumulating_billing.billing.json_rows import decoder, row_object
from accumulating_billing.billing.state import to_decimal
from accumulating_billing.doctypes import GENERATOR, ITEM

# a tab's candidates ride in the generator's read up to this many (tab.candidates_along); a bigger tab reads them
# on their own, one statement among thousands of lines
CANDIDATES_ALONG = 1000


def lock_unbilled_items(
	generator: str, before: date | None, upto: date | None = None, candidates: list[str] | None = None
) -> list:
	"""Unbilled items of the generator, locked (`FOR UPDATE`): dated before `before` (a scheduled run),
	up to and including `upto` (Generate now), or all (a final run).

	The candidates come from a plain read, then only their rows are locked, by primary key: no range of the
	(generator, status) index is locked, so adders of new items never wait on a run, and the run bills only
	items its own snapshot sees (ERPNext validates the invoice lines' links against that snapshot). The
	locking read returns the latest committed values; an item another transaction billed meanwhile is dropped.
	`candidates`: that plain read's names, read already in this transaction's snapshot (`candidates_along`)."""
	if candidates is None:
		candidates = unbilled_names(generator, before, upto)
	if not candidates:
		return []
	# each row as one JSON value: pymysql parses one column a row instead of 18 (json_rows.py); by primary key,
	# whatever share of the table the tab is (by_names.py)
	decode = decoder(ITEM, LOCKED_FIELDS)
	locked = [
		decode(text)
		for (text,) in frappe.db.sql(
			f"{BY_NAMES}select {row_object(ITEM, LOCKED_FIELDS)} from `tab{ITEM}` {BY_PRIMARY_KEY} "
			f"where `name` in ({placeholders(candidates)}) for update",
			candidates,
		)
	]
	# the latest committed values must still qualify (an item billed, or re-dated, since the plain read); the
	# decoder gives the service date as a date, compared with the run's dates as given (getdate)
	before, upto = before and getdate(before), upto and getdate(upto)
	current = {
		row.name: row
		for row in locked
		if row.status == "Unbilled"
		and row.generator == generator
		and (not before or row.service_date < before)
		and (not upto or row.service_date <= upto)
	}
	rows = []
	for name in candidates:  # in the plain read's order: oldest first
		row = current.get(name)
		if row:
			row.pop("status")
			row.pop("generator")
			rows.append(row)
	return with_net_rates(rows)


ITEM_FIELDS = (
	"name",
	*LINE_VALUES,
	"service_date",
	"currency",
	"source_doctype",
	"source_name",
	"source_detail",
)


# what the locking read of the items takes: the builder's and engine's columns, and what the lock re-checks
LOCKED_FIELDS = (*ITEM_FIELDS, "status", "generator")


def item_fields(Item) -> tuple:
	"""The columns of an item row that the invoice builder and the engine take."""
	return tuple(Item[field] for field in ITEM_FIELDS)


def unbilled_items(generator: str, before: date | None, upto: date | None = None) -> list:
	"""Unbilled items of the generator, oldest first, as the invoice builder takes them (not locked)."""
	Item = frappe.qb.DocType(ITEM)
	return with_net_rates(
		unbilled_query(Item, generator, before, upto).select(*item_fields(Item)).run(as_dict=True)
	)


def unbilled_names(generator: str, before: date | None, upto: date | None = None) -> list[str]:
	"""The names `unbilled_query` selects, oldest first: a plain read along the (generator, status) index. Written
	out, the same statement without frappe.qb building it on every occurrence (0.48 -> 0.31 ms of an invoice's
	billing run, measured)."""
	dated = ""
	if before:
		dated += " and `service_date` < %(before)s"
	if upto:
		dated += " and `service_date` <= %(upto)s"
	return frappe.db.sql(
		f"select `name` from `tab{ITEM}` where `generator` = %(generator)s and `status` = 'Unbilled'{dated} "
		"order by `service_date` asc, `name` asc",
		{"generator": generator, "before": before, "upto": upto},
		pluck=True,
	)


def along() -> dict[str, str]:
	"""What a billing run's read of a generator reads along, in the same statement (locks.read_generator): the
	candidates of the occurrence the generator schedules next (`candidates_along`). One statement fewer per
	occurrence (docs/architecture.md §4)."""
	return {"candidates": candidates_query()}


@functools.cache
def candidates_query() -> str:
	"""`unbilled_names(generator, its next_creation_date)` as one value of the generator's read: a JSON object of
	that date, how many names there are and their length in all, and the names, oldest first, at most
	CANDIDATES_ALONG + 1 of them. It names the generator's row of the statement it rides in
	(`tabAccumulating Generator`), and reads, as the probes do, without a lock and in the transaction's snapshot,
	which starts after the generator's row lock. The aggregate reads every candidate of the tab (a tab of more
	than CANDIDATES_ALONG of them then reads them twice: one index range more, among thousands of lines)."""
	return (
		f"select json_object('before', `tab{GENERATOR}`.`next_creation_date`, 'count', count(*), "
		"'length', sum(char_length(`name`)), "
		f"'names', json_arrayagg(`name` order by `service_date` asc, `name` asc limit {CANDIDATES_ALONG + 1})) "
		f"from `tab{ITEM}` where `generator` = %(name)s and `status` = 'Unbilled' "
		f"and `service_date` < `tab{GENERATOR}`.`next_creation_date`"
	)


def candidates_along(generator, before: date | None) -> list[str] | None:
	"""The names `unbilled_names(generator.name, before)` reads, when the generator's document was read with
	`along()` for an occurrence before that date (the one it scheduled next, as read). None when it was not, for
	a final run (no date), a tab of more than CANDIDATES_ALONG of them, or an answer the server cut short: the
	caller reads them then. MariaDB cuts an aggregate longer than its group_concat_max_len and closes it as valid
	JSON, its last name cut: the count and the total length of the names tell."""
	found = (generator.flags.along or {}).get("candidates")
	if not found or not before:
		return None
	try:
		found = json.loads(found)
	except ValueError:
		return None
	names = found.get("names") or []
	if (
		not found.get("before")
		or getdate(found["before"]) != getdate(before)
		or found.get("count") != len(names)
		or len(names) > CANDIDATES_ALONG
		or (found.get("length") or 0) != sum(len(name) for name in names)
	):
		return None
	return names


def unbilled_query(Item, generator: str, before: date | None, upto: date | None, ordered: bool = True):
	"""The generator's Unbilled items dated before `before` / up to `upto`, oldest first unless not `ordered` (for
	an aggregate); no columns yet."""
	query = frappe.qb.from_(Item).where((Item.generator == generator) & (Item.status == "Unbilled"))
	if ordered:
		query = query.orderby(Item.service_date, order=Order.asc).orderby(Item.name, order=Order.asc)
	if before:
		query = query.where(Item.service_date < before)
	if upto:
		query = query.where(Item.service_date <= upto)
	return query


def with_net_rates(rows: list) -> list:
	"""Each row's discounted rate (once per distinct rate, discount and currency: a tab repeats them)."""
	rates: dict[tuple, float] = {}
	for row in rows:
		key = (row.rate, row.discount_percentage, row.currency)
		if key not in rates:
			rates[key] = flt(item_rules.net_rate(row.rate, row.discount_percentage, row.currency))
		row.net_rate = rates[key]
	return rows


def tab_items(rows: list) -> list[engine.TabItem]:
	"""The engine's items of `rows` (each distinct amount and date converted once: a tab repeats them)."""
	amounts: dict = {}
	dates: dict = {}
	found = []
	for row in rows:
		amount = amounts.get(row.amount)
		if amount is None:
			amount = amounts[row.amount] = to_decimal(row.amount)
		day = dates.get(row.service_date)
		if day is None:
			day = dates[row.service_date] = getdate(row.service_date)
		found.append(engine.TabItem(name=row.name, service_date=day, amount=amount))
	return found


def set_item_billing(names: list[str], status: str, invoice: str | None, from_status: str) -> int:
	"""Move the named items that are in `from_status` to `status`, linked to `invoice` (or unlinked). Returns
	how many moved. A released item keeps its invoice line group: an amendment of its cancelled invoice claims
	it back by that key."""
	return billing_update(names, status, invoice, from_status)


def billing_update(
	names: list[str], status: str, invoice: str | None, from_status: str, line_group=False
) -> int:
	"""The one update of the billed mark; `line_group` (a key, or None to clear it) only when given."""
	if not names:
		return 0
	group = ", `invoice_line_group` = %(group)s" if line_group is not False else ""
	frappe.db.sql(
		f"update `tab{ITEM}` {BY_PRIMARY_KEY} set `status` = %(status)s, `sales_invoice` = %(invoice)s, "
		"`modified` = %(now)s"
		f"{group} where `status` = %(from_status)s and `name` in %(names)s",
		{
			"status": status,
			"invoice": invoice,
			"now": now_datetime(),
			"group": line_group or None,
			"from_status": from_status,
			"names": tuple(names),
		},
	)
	# every matched row changes (its status does), so the affected rows are the moved items
	return frappe.db._cursor.rowcount


def vouch_for_links(doctype: str, names) -> None:
	"""Tell Frappe's link check that the rows `names` of `doctype` exist: this transaction read them and holds them
	locked (the tab's items by `lock_unbilled_items`, the generators by their row lock), so the invoice about to be
	inserted links them and nothing can delete them before its commit.

	Frappe checks each link of a document it inserts or submits with `frappe.db.get_value(doctype, name, "name",
	cache=True)`, one query per invoice line for `Sales Invoice Item.accumulating_generator_item` (5,000 for a
	5,000-line invoice); answering from its per-connection value cache, as it answers a name it has checked once
	already, spares them (docs/architecture.md §4). Every other link of the invoice (customer, items, accounts) is
	checked as before."""
	cache = getattr(frappe.db, "value_cache", None)
	if cache is None:
		return
	for name in names:
		cache[(doctype, name, "name")] = ((name,),)


def number_and_bill(invoice) -> None:
	"""A billing run's invoice takes its number (ERPNext's naming series, on the invoice as Frappe's defaults left
	it), then the items it bills (`invoice.flags.accumulating_billed`, their names, set by
	generation.save_generated) are marked Billed on it, before its validation runs (Frappe's link check, which
	runs before, is answered by `vouch_for_links`): its validation sees its lines' items billed on it. From the
	invoice's before_insert (events.number_generated_invoice), where Frappe has given it its defaults and named
	nothing yet; a reserved invoice, stored without an insert, before it is stored. Once: the flag is cleared."""
	names = invoice.flags.accumulating_billed
	if names is None:
		return
	invoice.flags.accumulating_billed = None
	invoice.set_new_name()
	mark_billed(names, invoice.name, invoice.flags.accumulating_line_groups)


def mark_billed(names: list[str], invoice: str, line_groups: dict[str, list[str]] | None = None) -> None:
	"""Mark exactly `names` Billed on `invoice`; the items of a grouped invoice line also take its key
	(`line_groups`: key -> item names). Refuses (and so rolls the run back) when any of them was no longer
	Unbilled: the count of the update itself, no second read."""
	grouped = {name for members in (line_groups or {}).values() for name in members}
	billed = 0
	for key, members in (line_groups or {}).items():
		billed += billing_update(members, "Billed", invoice, "Unbilled", key)
	single = [name for name in names if name not in grouped]
	if single:
		billed += billing_update(single, "Billed", invoice, "Unbilled", None)
	if billed != len(names):
		raise frappe.ValidationError(
			_("Expected to bill {0} item(s) on {1} but {2} were still unbilled.").format(
				len(names), invoice, billed
			)
		)
