"""The running tab as its owner sees it: unbilled lines and the next invoice, built by the same invoice builder
that will make it (ERPNext's own totals, discount and taxes), never saved."""

from datetime import date

import frappe
from frappe import _
from frappe.utils import flt, getdate, nowdate

from accumulating_billing import engine
from accumulating_billing.billing.generation_log import LOG
from accumulating_billing.billing.held import holds, refused_lines
from accumulating_billing.billing.invoice import invoice_totals
from accumulating_billing.billing.state import state_of
from accumulating_billing.billing.tab import unbilled_items

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
		return preview
	try:
		si = invoice_totals(doc, rows, run_date)
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
			"below_minimum": bool(doc.minimum_amount) and flt(si.net_total) < flt(doc.minimum_amount),
		}
	)
	return preview


def history(generator: str) -> list[dict]:
	"""The latest skipped, failed, missed and released occurrences."""
	return frappe.get_all(
		LOG,
		filters={"generator": generator, "outcome": ("in", HISTORY_OUTCOMES)},
		fields=["occurrence_date", "outcome", "reason", "sales_invoice", "creation"],
		order_by="creation desc",
		limit_page_length=HISTORY_ROWS,
	)
