"""Upcoming Accumulating Invoices: per live generator, its next invoice date and what is unbilled on it."""

import frappe
from frappe import _
from frappe.query_builder import Case
from frappe.query_builder.functions import Coalesce, Count, Sum
from frappe.utils import add_days, getdate, nowdate

from accumulating_billing import engine
from accumulating_billing.billing import onboarding
from accumulating_billing.billing.state import to_decimal
from accumulating_billing.doctypes import GENERATOR, ITEM


def execute(filters=None):
	filters = frappe._dict(filters or {})
	data = get_data(filters)
	if any(row.unbilled_items for row in data):
		onboarding.complete(onboarding.PREVIEW)  # the person sees a next invoice with something on it
	return get_columns(), data, None, get_chart(data)


def get_columns() -> list[dict]:
	return [
		{
			"label": _("Customer"),
			"fieldname": "customer",
			"fieldtype": "Link",
			"options": "Customer",
			"width": 180,
		},
		{
			"label": _("Generator"),
			"fieldname": "generator",
			"fieldtype": "Link",
			"options": GENERATOR,
			"width": 130,
		},
		{"label": _("Title"), "fieldname": "title", "fieldtype": "Data", "width": 200},
		{
			"label": _("Invoice To"),
			"fieldname": "invoice_to",
			"fieldtype": "Link",
			"options": "Customer",
			"width": 160,
		},
		{"label": _("Combined"), "fieldname": "consolidate_invoices", "fieldtype": "Check", "width": 90},
		{"label": _("Status"), "fieldname": "status", "fieldtype": "Data", "width": 90},
		{
			"label": _("Next Creation Date"),
			"fieldname": "next_creation_date",
			"fieldtype": "Date",
			"width": 130,
		},
		{"label": _("Unbilled Items"), "fieldname": "unbilled_items", "fieldtype": "Int", "width": 110},
		{
			"label": _("Unbilled Amount"),
			"fieldname": "unbilled_amount",
			"fieldtype": "Currency",
			"options": "currency",
			"width": 140,
		},
		{
			"label": _("Bill When Unbilled Reaches"),
			"fieldname": "threshold",
			"fieldtype": "Currency",
			"options": "currency",
			"width": 140,
		},
		{
			"label": _("Threshold Used (%)"),
			"fieldname": "threshold_used",
			"fieldtype": "Percent",
			"width": 120,
		},
		{
			"label": _("Currency"),
			"fieldname": "currency",
			"fieldtype": "Link",
			"options": "Currency",
			"width": 80,
		},
	]


def get_data(filters) -> list[dict]:
	"""Active and Paused generators the user may read whose next invoice falls in the period (default: the
	next 30 days), with the count and sum of their unbilled items. `invoice_to`: only the tabs billed to that
	customer (its own, unless billed elsewhere, and the tabs of others whose Invoice To it is); with it and no
	period given (the Customer's Connections), whatever their next date."""
	conditions = {"status": ("in", ["Active", "Paused"])}
	if not (filters.get("invoice_to") and not filters.from_date and not filters.to_date):
		from_date = getdate(filters.from_date or nowdate())
		to_date = getdate(filters.to_date or add_days(from_date, 30))
		conditions["next_creation_date"] = ("between", [from_date, to_date])
	for field in ("company", "customer"):
		if filters.get(field):
			conditions[field] = filters.get(field)
	or_conditions = None
	if filters.get("invoice_to"):
		or_conditions = [
			["invoice_customer", "=", filters.invoice_to],
			["customer", "=", filters.invoice_to],
		]
	rows = frappe.get_list(
		GENERATOR,
		filters=conditions,
		or_filters=or_conditions,
		fields=[
			"customer",
			"name as generator",
			"title",
			"status",
			"next_creation_date",
			"currency",
			"bill_when_unbilled_reaches as threshold",
			"invoice_customer",
			"consolidate_invoices",
		],
		order_by="next_creation_date asc, name asc",
		limit_page_length=0,
	)
	for row in rows:
		row.invoice_to = row.pop("invoice_customer") or row.customer
	if filters.get("invoice_to"):
		rows = [
			row for row in rows if row.invoice_to == filters.invoice_to
		]  # not its own tabs billed elsewhere
	if not rows:
		return []
	Item = frappe.qb.DocType(ITEM)
	# the threshold counts the lines dated up to today (what billing early bills: billing/watch.py)
	due_now = Sum(Case().when(Item.service_date <= getdate(nowdate()), Item.amount).else_(0))
	totals = {
		t.generator: t
		for t in (
			frappe.qb.from_(Item)
			.select(
				Item.generator,
				Count(Item.name).as_("items"),
				Coalesce(Sum(Item.amount), 0).as_("amount"),
				Coalesce(due_now, 0).as_("due_now"),
			)
			.where((Item.status == "Unbilled") & Item.generator.isin([r.generator for r in rows]))
			.groupby(Item.generator)
		).run(as_dict=True)
	}
	for row in rows:
		total = totals.get(row.generator)
		row.unbilled_items = total["items"] if total else 0
		row.unbilled_amount = total["amount"] if total else 0
		row.threshold_used = (
			engine.used_percent(to_decimal(total["due_now"] if total else 0), to_decimal(row.threshold))
			if row.threshold
			else None
		)
	return rows


def get_chart(data: list[dict]) -> dict | None:
	"""Unbilled amount by next invoice date (one currency per chart: the first row's)."""
	if not data:
		return None
	currency = data[0].currency
	totals: dict[str, float] = {}
	for row in data:
		if row.currency == currency:
			key = str(row.next_creation_date)
			totals[key] = totals.get(key, 0) + row.unbilled_amount
	return {
		"data": {
			"labels": list(totals),
			"datasets": [
				{"name": _("Unbilled Amount ({0})").format(currency), "values": list(totals.values())}
			],
		},
		"type": "bar",
		"fieldtype": "Currency",
		"options": currency,
	}
