"""The running tab as its owner sees it: unbilled lines and the next invoice, built by the same invoice builder
that will make it (ERPNext's own totals, discount and taxes), never saved."""

from datetime import date

import frappe
from frappe import _
from frappe.utils import flt, getdate, nowdate

from accumulating_billing import engine
from accumulating_billing.billing import payers
from accumulating_billing.billing.generation_log import LOG
from accumulating_billing.billing.held import holds, refused_lines
from accumulating_billing.billing.invoice import invoice_totals
from accumulating_billing.billing.state import state_of, to_decimal
from accumulating_billing.billing.tab import unbilled_items

HISTORY_OUTCOMES = (
	"Skipped",
	"Failed",
	"Missed",
	"Released",
	"Automation Failed",
	"Late Fee",
	"Kept for Review",
)
HISTORY_ROWS = 20
GENERATOR = "Accumulating Generator"


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
	"""Totals of the next invoice, computed by ERPNext on an unsaved Sales Invoice. For a tab that combines with
	its payer's other tabs (combined.py), the next combined invoice: the tabs due on the same date whose settings
	agree, from whichever of them it is asked (`tabs`: each one's title, customer, lines and amount)."""
	run_date, before = next_run(doc)
	rows = unbilled_items(doc.name, getdate(before) if before else None)
	preview = {
		"posting_date": run_date,
		"lines": len(rows),
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
	try:
		si = invoice_totals(doc, rows, run_date, tabs=tabs if len(tabs) > 1 else None)
	except Exception as e:
		frappe.clear_messages()
		preview["error"] = _("The next invoice cannot be built yet: {0}").format(
			frappe.utils.strip_html(str(e))
		)
		return preview
	preview.update(
		{
			"lines": len(si.items),  # Invoice Lines: Grouped sums items into fewer lines
			"subtotal": flt(si.total),
			"discount": flt(si.discount_amount),
			"net_total": flt(si.net_total),
			"taxes": flt(si.total_taxes_and_charges),
			"grand_total": flt(si.rounded_total or si.grand_total),
			"below_minimum": bool(doc.minimum_amount)
			and own_net_total(doc, rows, run_date, si, tabs) < flt(doc.minimum_amount),
		}
	)
	return preview


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


def history(generator: str) -> list[dict]:
	"""The latest skipped, failed, missed and released occurrences."""
	return frappe.get_all(
		LOG,
		filters={"generator": generator, "outcome": ("in", HISTORY_OUTCOMES)},
		fields=["occurrence_date", "outcome", "reason", "sales_invoice", "creation"],
		order_by="creation desc",
		limit_page_length=HISTORY_ROWS,
	)
