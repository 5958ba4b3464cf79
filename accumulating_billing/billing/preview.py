"""The running tab as its owner sees it: unbilled lines and the next invoice, built by the same invoice builder
that will make it (ERPNext's own totals, discount and taxes), never saved. For a tab that combines with its
payer's other tabs (combined.py), the next combined invoice: the tabs due on the same date whose settings agree,
from whichever of them it is asked (`tabs`: each one's title, customer, lines and amount).

A tab of more than EXACT_LINES lines (issue 30: tabs of 100,000 items) is summed by the database instead of
loaded: its lines grouped by what makes their amount (item, unit, quantity, rate, discount), ERPNext's line check
run once per group, and the invoice built on one line per group. Its subtotal is the sum of the lines' amounts, as
the invoice's; with a generator discount ERPNext rounds the discount of each invoice line, so such a preview may
differ from the invoice by a cent per invoice line (README: Usage at scale ▸ Tabs of 100,000 items). Such a
tab's preview is its own: the payer's other tabs it combines with are not summed into it.
"""

from datetime import date

import frappe
from frappe import _
from frappe.query_builder.functions import Count, Max, Sum
from frappe.utils import cint, flt, getdate, nowdate

from accumulating_billing import engine
from accumulating_billing.billing import payers
from accumulating_billing.billing.generation_log import LOG
from accumulating_billing.billing.held import holds, refused_lines
from accumulating_billing.billing.invoice import GROUPED, group_key, invoice_totals
from accumulating_billing.billing.items import net_rate
from accumulating_billing.billing.state import state_of, to_decimal
from accumulating_billing.billing.tab import item_fields, unbilled_items, unbilled_query, with_net_rates
from accumulating_billing.doctypes import GENERATOR, ITEM

DELIVERY_NOTE = "Delivery Note"
# above this many lines the preview is summed by the database (a preview of n lines costs ERPNext n lines)
EXACT_LINES = 500

HISTORY_OUTCOMES = (
	"Skipped",
	"Failed",
	"Missed",
	"Released",
	"Automation Failed",
	"Late Fee",
	"Kept for Review",
	"Threshold Reached",
	"Questioned",
)
HISTORY_ROWS = 20


def next_run(doc) -> tuple[date, date | None]:
	"""(invoice date, items dated before it) of the next invoice: the next scheduled run of a live generator,
	else what Generate Now would bill today (all unbilled items dated up to today)."""
	if doc.status in (engine.ACTIVE, engine.PAUSED) and doc.next_creation_date:
		run_date = getdate(doc.next_creation_date)
		if engine.is_final_run(state_of(doc), run_date):
			return run_date, None
		return run_date, run_date
	today = getdate(nowdate())
	return today, frappe.utils.add_days(today, 1)


def next_invoice(doc) -> dict:
	"""Totals of the next invoice, computed by ERPNext on an unsaved Sales Invoice."""
	run_date, before = next_run(doc)
	before = getdate(before) if before else None
	count = unbilled_count(doc.name, before)
	if count > EXACT_LINES:
		return summed_invoice(doc, run_date, before, count)
	rows = unbilled_items(doc.name, before)
	preview = empty_preview(run_date, len(rows))
	if rows and holds(doc):
		# what that billing day will hold (ERPNext refuses it now): the invoice shown is the rest
		refused = refused_lines(rows, doc.company)
		preview["to_hold"] = [
			{"name": row.name, "item_code": row.item_code, "reason": refused[row.name]}
			for row in rows
			if row.name in refused
		]
		rows = [row for row in rows if row.name not in refused]
		preview["lines"] = len(rows)
	if not rows:
		return preview  # this tab is on no invoice that day
	# the payer's other tabs that share it, with something to bill that day
	tabs = [(doc, rows), *((tab, tab_rows) for tab, tab_rows in partner_tabs(doc, run_date) if tab_rows)]
	if len(tabs) > 1:
		preview["tabs"] = [tab_summary(tab, tab_rows) for tab, tab_rows in tabs]
	si = built(doc, rows, run_date, preview, tabs)
	if si:
		preview["lines"] = len(si.items)  # Invoice Lines: Grouped sums items into fewer lines
	return preview


def empty_preview(run_date, lines: int) -> dict:
	return {
		"posting_date": run_date,
		"lines": lines,
		"subtotal": 0.0,
		"discount": 0.0,
		"net_total": 0.0,
		"taxes": 0.0,
		"grand_total": 0.0,
		"below_minimum": False,
		"error": None,
		"to_hold": [],
		"tabs": [],
	}


def built(doc, rows: list, run_date, preview: dict, tabs: list | None = None):
	"""The unsaved invoice of `rows` (with the payer's other `tabs` that share it) with ERPNext's totals, its
	figures put in `preview`; None (and the reason in `preview`) when ERPNext cannot build it yet."""
	tabs = tabs or [(doc, rows)]
	try:
		si = invoice_totals(doc, rows, run_date, tabs=tabs if len(tabs) > 1 else None)
	except Exception as e:
		frappe.clear_messages()
		preview["error"] = _("The next invoice cannot be built yet: {0}").format(
			frappe.utils.strip_html(str(e))
		)
		return None
	preview.update(
		{
			"subtotal": flt(si.total),
			"discount": flt(si.discount_amount),
			"net_total": flt(si.net_total),
			"taxes": flt(si.total_taxes_and_charges),
			"grand_total": flt(si.rounded_total or si.grand_total),
			"below_minimum": bool(doc.minimum_amount)
			and own_net_total(doc, rows, run_date, si, tabs) < flt(doc.minimum_amount),
		}
	)
	return si


def partner_tabs(doc, run_date: date) -> list[tuple]:
	"""The payer's other tabs that will share this tab's next invoice: they combine, agree on the settings, are
	live and bill on the same date. [(generator, its rows as that day would bill them)]. None for a tab whose next
	invoice is a Generate Now (a Draft or Completed one: billed alone)."""
	if doc.status not in (engine.ACTIVE, engine.PAUSED):
		return []
	tabs = []
	for partner in payers.partners(doc):
		if not partner["together"] or partner["status"] not in (engine.ACTIVE, engine.PAUSED):
			continue
		other = frappe.get_doc(GENERATOR, partner["name"])
		other_date, before = next_run(other)
		if other_date != run_date:
			continue
		rows = unbilled_items(other.name, getdate(before) if before else None)
		if rows and holds(other):
			refused = refused_lines(rows, other.company)
			rows = [row for row in rows if row.name not in refused]
		tabs.append((other, rows))
	return tabs


def tab_summary(tab, rows: list) -> dict:
	return {
		"name": tab.name,
		"title": tab.title or tab.customer_name,
		"customer_name": tab.customer_name,
		"lines": len(rows),
		"amount": flt(sum(to_decimal(row.amount) for row in rows)),
	}


def own_net_total(doc, rows: list, run_date: date, si, tabs: list) -> float:
	"""This tab's own net total (the minimum amount is each tab's): the invoice's, or on a combined one its own
	lines' as ERPNext would total them alone."""
	if len(tabs) == 1:
		return flt(si.net_total)
	return flt(invoice_totals(doc, rows, run_date).net_total) if rows else 0.0


# ------------------------------------------------------------------------------------------ large tabs


def unbilled_count(generator: str, before) -> int:
	Item = frappe.qb.DocType(ITEM)
	query = unbilled_query(Item, generator, before, None, ordered=False).select(Count(Item.name))
	return cint(query.run()[0][0])


def summed_invoice(doc, run_date, before, count: int) -> dict:
	"""The next invoice of a large tab from its lines summed by the database: one row per group of lines with the
	same item, unit, quantity, rate and discount (their amounts are equal: the same qty x rate, rounded alike);
	Delivery Note lines one by one (ERPNext checks each one's Sales Order). ERPNext's line check runs once per
	group, on the values of its lines; the invoice is built on one line per group carrying the group's amount."""
	groups = summed_lines(doc.name, before)
	preview = empty_preview(run_date, count)
	if holds(doc):
		refused = refused_lines(groups, doc.company)
		preview["to_hold"] = [
			{
				"name": row.item or _("{0} line(s)").format(row.lines),
				"item_code": row.item_code,
				"reason": refused[row.name],
			}
			for row in groups
			if row.name in refused
		]
		groups = [row for row in groups if row.name not in refused]
	preview["lines"] = sum(row.lines for row in groups)
	if not groups:
		return preview
	rows = [invoice_row(row) for row in groups]
	if built(doc, rows, run_date, preview):
		preview["lines"] = invoice_line_count(doc, rows)
	return preview


def summed_lines(generator: str, before) -> list:
	"""The tab's unbilled lines summed by group (`lines`, `total`), each group with the values of one of its lines
	(qty, rate, discount, amount), then its Delivery Note lines one by one (`item`: their name)."""
	Item = frappe.qb.DocType(ITEM)
	groups = (
		unbilled_query(Item, generator, before, None, ordered=False)
		.select(
			Item.item_code,
			Item.uom,
			Item.qty,
			Item.rate,
			Item.discount_percentage,
			Item.currency,
			Count(Item.name).as_("lines"),
			Sum(Item.amount).as_("total"),
			Max(Item.amount).as_("amount"),
			Max(Item.item_name).as_("item_name"),
		)
		.where(Item.source_doctype.isnull() | (Item.source_doctype != DELIVERY_NOTE))
		.groupby(Item.item_code, Item.uom, Item.qty, Item.rate, Item.discount_percentage, Item.currency)
	).run(as_dict=True)
	for k, row in enumerate(groups):
		row.update(name=f"group-{k}", item=None, lines=cint(row.lines))  # name: the line check's key
	delivered = with_net_rates(
		unbilled_query(Item, generator, before, None)
		.select(*item_fields(Item))
		.where(Item.source_doctype == DELIVERY_NOTE)
		.run(as_dict=True)
	)
	for row in delivered:
		row.update(item=row.name, lines=1, total=row.amount)
	return groups + delivered


def invoice_row(group) -> frappe._dict:
	"""One row for the invoice builder of a group of lines: its summed qty when the group's amount is exactly
	qty x net rate (as the invoice's own line or lines will be), else one unit of exactly the group's amount."""
	row = frappe._dict(group, description=None, name=group.item)  # a group links no item of its own
	row.net_rate = flt(net_rate(row.rate, row.discount_percentage, row.currency))
	if to_decimal(row.net_rate) * to_decimal(row.qty) * row.lines == to_decimal(row.total):
		row.qty = flt(row.qty) * row.lines
		row.exact = True
	else:  # amounts rounded line by line: Grouped keeps each on a line of its own
		row.update(qty=1, rate=flt(row.total), discount_percentage=0, net_rate=flt(row.total), exact=False)
	row.amount = flt(row.total)
	return row


def invoice_line_count(doc, rows: list) -> int:
	"""How many lines the invoice will have: one per tab line (One per Item), or (Grouped) one per group of exact
	lines with the same item, price, net rate, unit and discount, and one per any other line."""
	if doc.get("invoice_lines") != GROUPED:
		return sum(row.lines for row in rows)
	keys, alone = set(), 0
	for row in rows:
		key = group_key(row) if row.exact and not row.item else None
		if key is None:
			alone += row.lines
		else:
			keys.add(key)
	return len(keys) + alone


def history(generator: str) -> list[dict]:
	"""The latest skipped, failed, missed and released occurrences."""
	return frappe.get_all(
		LOG,
		filters={"generator": generator, "outcome": ("in", HISTORY_OUTCOMES)},
		fields=["occurrence_date", "outcome", "reason", "sales_invoice", "creation"],
		order_by="creation desc",
		limit_page_length=HISTORY_ROWS,
	)
