"""Unbilled Revenue: per running tab, the work delivered and not invoiced as of a date, in the tab's currency and
the company's, aged by service date (README, *Unbilled revenue and its accrual*). *Group By Customer* sums a
customer's tabs per currency; *Tab Line* lists the lines themselves (the drill-down of a row). The as-of rule and
the conversion are `billing/unbilled.py`'s, shared with the number card and the month-end accrual."""

from decimal import Decimal

import frappe
import frappe.permissions
from frappe import _
from frappe.utils import flt, getdate, nowdate

from accumulating_billing import engine
from accumulating_billing.billing import unbilled
from accumulating_billing.doctypes import GENERATOR
from accumulating_billing.i18n import engine_message

BY_GENERATOR, BY_CUSTOMER, BY_LINE = "Generator", "Customer", "Tab Line"


def execute(filters=None):
	filters = frappe._dict(filters or {})
	company = company_of(filters)
	as_of = getdate(filters.as_of_date or nowdate())
	try:
		ranges = engine.parse_age_ranges(filters.range)
	except engine.ValidationError as e:
		frappe.throw(engine_message(e), title=_("Invalid Ageing Range"))
	group_by = filters.group_by or BY_GENERATOR
	if group_by not in (BY_GENERATOR, BY_CUSTOMER, BY_LINE):
		frappe.throw(_("Group By must be Generator, Customer or Tab Line."))
	data = unbilled.unbilled_as_of(
		company,
		as_of,
		customer=filters.customer,
		generator=filters.generator,
		generators=permitted_generators(company, filters),
	)
	aging = Aging(as_of, ranges)
	rows = {BY_GENERATOR: generator_rows, BY_CUSTOMER: customer_rows, BY_LINE: line_rows}[group_by](
		data, aging
	)
	return get_columns(group_by, aging.buckets), rows, None, get_chart(data, aging)


class Aging:
	"""The age buckets of the report (its Ageing Range) and the bucket of a line as of the date."""

	def __init__(self, as_of, ranges):
		self.as_of, self.ranges = as_of, ranges
		self.buckets = engine.age_buckets(ranges)

	def key_of(self, line) -> str:
		return self.buckets[
			engine.bucket_index(engine.age_in_days(self.as_of, line.service_date), self.ranges)
		].key

	def zeros(self, zero=0.0) -> dict:
		# every row carries every bucket (Frappe's total row reads a dict row only as far as its number of keys)
		return dict.fromkeys((bucket.key for bucket in self.buckets), zero)


def company_of(filters) -> str:
	company = (
		filters.company
		or frappe.defaults.get_user_default("Company")
		or frappe.db.get_single_value("Global Defaults", "default_company")
	)
	if not company:
		frappe.throw(_("Company is required."))
	frappe.has_permission("Company", "read", company, throw=True)
	return company


def permitted_generators(company: str, filters) -> list[str] | None:
	"""The generators of the company the user may read, when a User Permission narrows them; None (all) else."""
	if not frappe.permissions.get_user_permissions(frappe.session.user):
		return None
	conditions = {"company": company}
	for field in ("customer", "generator"):
		if filters.get(field):
			conditions["name" if field == "generator" else field] = filters.get(field)
	return frappe.get_list(GENERATOR, filters=conditions, pluck="name", limit_page_length=0)


def tab_values(data, tab, aging) -> dict:
	return {
		**aging.zeros(),
		"generator": tab.generator,
		"customer": tab.customer,
		"currency": tab.currency,
		"company_currency": data.company_currency,
		"exchange_rate": flt(tab.exchange_rate, unbilled.RATE_PRECISION),
	}


def generator_rows(data, aging) -> list[dict]:
	titles = dict(
		frappe.get_all(
			GENERATOR,
			filters={"name": ("in", [tab.generator for tab in data.tabs])},
			fields=["name", "title"],
		)
		if data.tabs
		else []
	)
	rows = []
	for tab in data.tabs:
		aged = data.split(tab, aging.key_of)
		rows.append(
			{
				**tab_values(data, tab, aging),
				"title": titles.get(tab.generator),
				"lines": len(tab.lines),
				"amount": flt(tab.amount),
				"amount_in_company_currency": flt(tab.amount_in_company_currency),
				**{key: flt(amount) for key, amount in aged.items()},
			}
		)
	return rows


def customer_rows(data, aging) -> list[dict]:
	"""A customer's tabs summed per tab currency (amounts in different currencies are never added up)."""
	rows: dict[tuple, dict] = {}
	for tab in data.tabs:
		row = rows.setdefault(
			(tab.customer, tab.currency),
			{
				**tab_values(data, tab, aging),
				**aging.zeros(Decimal(0)),
				"generator": None,
				"lines": 0,
				"amount": 0,
				"amount_in_company_currency": 0,
			},
		)
		row["lines"] += len(tab.lines)
		row["amount"] += tab.amount
		row["amount_in_company_currency"] += tab.amount_in_company_currency
		for key, amount in data.split(tab, aging.key_of).items():
			row[key] += amount
	for row in rows.values():
		for key, value in row.items():
			if key not in ("lines", "exchange_rate") and not isinstance(value, str | None):
				row[key] = flt(value)
	return sorted(rows.values(), key=lambda row: (row["customer"], row["currency"]))


def line_rows(data, aging) -> list[dict]:
	"""Each unbilled line as of the date, with its part of the tab's company-currency amount."""
	rows = []
	for tab in data.tabs:
		converted = data.split(tab, lambda line: line.name)
		for line in tab.lines:
			rows.append(
				{
					**tab_values(data, tab, aging),
					"line": line.name,
					"service_date": line.service_date,
					"age": engine.age_in_days(data.as_of, line.service_date),
					"item_code": line.item_code,
					"description": line.description or line.item_name,
					"qty": line.qty,
					"amount": flt(line.amount),
					"amount_in_company_currency": flt(converted[line.name]),
					aging.key_of(line): flt(converted[line.name]),
					"sales_invoice": line.sales_invoice,
				}
			)
	return rows


def get_columns(group_by: str, buckets) -> list[dict]:
	def money(label, fieldname, options="company_currency", **extra):
		return {
			"label": label,
			"fieldname": fieldname,
			"fieldtype": "Currency",
			"options": options,
			"width": 130,
			**extra,
		}

	columns = [
		{
			"label": _("Customer"),
			"fieldname": "customer",
			"fieldtype": "Link",
			"options": "Customer",
			"width": 170,
		}
	]
	if group_by != BY_CUSTOMER:
		columns += [
			{
				"label": _("Generator"),
				"fieldname": "generator",
				"fieldtype": "Link",
				"options": GENERATOR,
				"width": 120,
			}
		]
	if group_by == BY_GENERATOR:
		columns.append({"label": _("Title"), "fieldname": "title", "fieldtype": "Data", "width": 160})
	if group_by == BY_LINE:
		columns += [
			{
				"label": _("Tab Line"),
				"fieldname": "line",
				"fieldtype": "Link",
				"options": "Accumulating Generator Item",
				"width": 110,
			},
			{"label": _("Service Date"), "fieldname": "service_date", "fieldtype": "Date", "width": 100},
			{
				"label": _("Age (Days)"),
				"fieldname": "age",
				"fieldtype": "Int",
				"width": 80,
				"disable_total": True,
			},
			{
				"label": _("Item"),
				"fieldname": "item_code",
				"fieldtype": "Link",
				"options": "Item",
				"width": 120,
			},
			{"label": _("Description"), "fieldname": "description", "fieldtype": "Data", "width": 180},
			{
				"label": _("Quantity"),
				"fieldname": "qty",
				"fieldtype": "Float",
				"width": 80,
				"disable_total": True,
			},
		]
	else:
		columns.append({"label": _("Tab Lines"), "fieldname": "lines", "fieldtype": "Int", "width": 80})
	columns += [
		{
			"label": _("Currency"),
			"fieldname": "currency",
			"fieldtype": "Link",
			"options": "Currency",
			"width": 80,
		},
		# amounts in different tab currencies are never added up: no total
		money(_("Unbilled Amount"), "amount", "currency", disable_total=True),
		{
			"label": _("Exchange Rate"),
			"fieldname": "exchange_rate",
			"fieldtype": "Float",
			"precision": unbilled.RATE_PRECISION,
			"width": 110,
			"disable_total": True,
		},
		money(_("Amount in Company Currency"), "amount_in_company_currency", width=160),
	]
	columns += [money(bucket_label(bucket), bucket.key) for bucket in buckets]
	if group_by == BY_LINE:
		columns.append(
			{
				"label": _("Sales Invoice Now"),
				"fieldname": "sales_invoice",
				"fieldtype": "Link",
				"options": "Sales Invoice",
				"width": 150,
			}
		)
	return columns


def bucket_label(bucket) -> str:
	if bucket.high is None:
		return _("Over {0} Days").format(bucket.low - 1)
	return _("{0}-{1} Days").format(bucket.low, bucket.high)


def get_chart(data, aging) -> dict | None:
	"""The company-currency amount by age bucket."""
	if not data.tabs:
		return None
	buckets = aging.buckets
	totals = aging.zeros()
	for tab in data.tabs:
		for key, amount in data.split(tab, aging.key_of).items():
			totals[key] += flt(amount)
	return {
		"data": {
			"labels": [bucket_label(bucket) for bucket in buckets],
			"datasets": [
				{
					"name": _("Unbilled ({0})").format(data.company_currency),
					"values": [flt(totals[bucket.key], data.precision) for bucket in buckets],
				}
			],
		},
		"type": "bar",
		"fieldtype": "Currency",
		"options": data.company_currency,
	}
