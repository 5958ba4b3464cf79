"""What the desk shows of a running tab at any size (issue 30: tabs of 100,000 items): one page of its lines at a
time, and its counts and totals computed by the database, never every row loaded into Python."""

import frappe
from frappe.query_builder.functions import Coalesce, Count, Sum
from frappe.utils import cint

from accumulating_billing.billing.item_status import ON_HOLD, SHOWN_FIELDS, UNBILLED
from accumulating_billing.doctypes import ITEM

PAGE_LENGTH = 100
MAX_PAGE_LENGTH = 500
PAGED_STATUSES = (UNBILLED, ON_HOLD)


def totals(generator: str, status: str) -> dict:
	"""{"count", "amount"} of the generator's lines in `status` (one aggregate on the tab's index)."""
	Item = frappe.qb.DocType(ITEM)
	count, amount = (
		frappe.qb.from_(Item)
		.select(Count(Item.name), Coalesce(Sum(Item.amount), 0))
		.where((Item.generator == generator) & (Item.status == status))
	).run()[0]
	return {"count": cint(count), "amount": float(amount or 0)}


def page(
	generator: str, status: str = UNBILLED, start: int = 0, page_length: int = PAGE_LENGTH
) -> list[dict]:
	"""One page of the generator's lines in `status`, oldest first (permission-checked: frappe.get_list)."""
	fields = [*SHOWN_FIELDS, "added_by", "uom"]
	if status == ON_HOLD:
		fields += ["hold_reason", "question_issue"]  # why it is held; the customer's question, if that is why
	return frappe.get_list(
		ITEM,
		filters={"generator": generator, "status": status},
		fields=fields,
		order_by="service_date asc, name asc",
		limit_start=max(cint(start), 0),
		limit_page_length=min(max(cint(page_length), 1), MAX_PAGE_LENGTH),
	)


def paged(generator: str, status: str, start: int = 0, page_length: int = PAGE_LENGTH) -> dict:
	"""A page of lines with what the pager needs: {"rows", "start", "page_length", "count", "amount"}."""
	page_length = min(max(cint(page_length), 1), MAX_PAGE_LENGTH)
	return {
		"rows": page(generator, status, start, page_length),
		"start": max(cint(start), 0),
		"page_length": page_length,
		**totals(generator, status),
	}
