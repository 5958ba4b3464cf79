"""Factories of ERPNext's own source documents for the integration tests: Projects, Timesheets and Delivery
Notes (with the stock they deliver), made through the document API as a person's form would."""

from datetime import datetime, timedelta

import frappe
from frappe.utils import getdate

from accumulating_billing.tests.utils import company, make_item


def make_project(customer: str, name: str | None = None) -> str:
	return (
		frappe.get_doc(
			{
				"doctype": "Project",
				"project_name": name or f"_AB Project {frappe.generate_hash(length=6)}",
				"customer": customer,
				"company": company(),
			}
		)
		.insert(ignore_permissions=True)
		.name
	)


def make_activity_type(name: str = "_AB Website Work", billing_rate: float = 50) -> str:
	if not frappe.db.exists("Activity Type", name):
		frappe.get_doc(
			{"doctype": "Activity Type", "activity_type": name, "billing_rate": billing_rate}
		).insert(ignore_permissions=True)
	return name


def service_item(code: str = "_AB Consulting Hour") -> str:
	return make_item(code, stock_uom="Hour") if frappe.db.exists("UOM", "Hour") else make_item(code)


def make_timesheet(
	logs: list[dict], customer: str | None = None, project: str | None = None, submit: bool = True, **kw
):
	"""A Timesheet of `logs`: each {"start": "2026-01-05 09:00", "hours": 2, "rate": 50, "billable": 1,
	"activity": …, "description": …, "project": …}."""
	ts = frappe.get_doc(
		{
			"doctype": "Timesheet",
			"company": company(),
			"customer": customer,
			"parent_project": project,
			**kw,
		}
	)
	for log in logs:
		start = datetime.fromisoformat(log["start"])
		hours = log.get("hours", 1)
		billable = log.get("billable", 1)
		rate = log.get("rate", 50) if billable else 0
		ts.append(
			"time_logs",
			{
				"activity_type": log.get("activity") or make_activity_type(),
				"from_time": start,
				"to_time": start + timedelta(hours=hours),
				"hours": hours,
				"is_billable": billable,
				"billing_hours": hours if billable else 0,
				"billing_rate": rate,
				"billing_amount": rate * hours,
				"description": log.get("description"),
				"project": log.get("project", project),
			},
		)
	ts.insert(ignore_permissions=True)
	if submit:
		ts.submit()
	return ts


def warehouse() -> str:
	comp = company()
	return frappe.db.get_value(
		"Warehouse", {"company": comp, "is_group": 0, "warehouse_name": "Stores"}
	) or frappe.db.get_value("Warehouse", {"company": comp, "is_group": 0})


def stock_item(code: str = "_AB Router", qty: float = 1000) -> str:
	"""A stock item with `qty` received into the warehouse (once)."""
	from erpnext.stock.doctype.stock_entry.stock_entry_utils import make_stock_entry

	make_item(code, is_stock_item=1)
	if not frappe.db.get_value("Bin", {"item_code": code, "warehouse": warehouse()}, "actual_qty"):
		make_stock_entry(
			item_code=code,
			target=warehouse(),
			qty=qty,
			basic_rate=20,
			company=company(),
			posting_date="2025-01-02",
		)
	return code


def make_delivery_note(customer: str, lines: list[dict], posting_date: str, submit: bool = True, **kw):
	"""A Delivery Note of `lines`: each {"item_code", "qty", "rate"}."""
	dn = frappe.get_doc(
		{
			"doctype": "Delivery Note",
			"customer": customer,
			"company": company(),
			"posting_date": getdate(posting_date),
			"set_posting_time": 1,
			"selling_price_list": "Standard Selling",
			**kw,
		}
	)
	for line in lines:
		dn.append(
			"items",
			{
				"item_code": line["item_code"],
				"qty": line["qty"],
				"rate": line["rate"],
				"warehouse": warehouse(),
			},
		)
	dn.insert(ignore_permissions=True)
	if submit:
		dn.submit()
	return dn


def make_return(dn, posting_date: str, qty_by_item: dict[str, float]):
	"""A submitted return of part of `dn`: returned qty per item code (positive numbers)."""
	from erpnext.stock.doctype.delivery_note.delivery_note import make_sales_return

	ret = make_sales_return(dn.name)
	ret.posting_date = getdate(posting_date)
	ret.set_posting_time = 1
	ret.items = [row for row in ret.items if row.item_code in qty_by_item]
	for row in ret.items:
		row.qty = -abs(qty_by_item[row.item_code])
	ret.insert(ignore_permissions=True)
	# submitted from the saved document, as the form does: a document mapped as a return in memory lacks
	# ERPNext's return status updaters (they are chosen when the document is loaded)
	ret = frappe.get_doc("Delivery Note", ret.name)
	ret.submit()
	return ret


def make_sales_order(customer: str, lines: list[dict], transaction_date: str, submit: bool = True):
	"""A Sales Order of `lines` (each {"item_code", "qty", "rate"}), delivered a week later."""
	from frappe.utils import add_days

	delivery = add_days(getdate(transaction_date), 7)
	so = frappe.get_doc(
		{
			"doctype": "Sales Order",
			"customer": customer,
			"company": company(),
			"transaction_date": getdate(transaction_date),
			"delivery_date": delivery,
			"selling_price_list": "Standard Selling",
			"items": [
				{
					"item_code": line["item_code"],
					"qty": line["qty"],
					"rate": line["rate"],
					"warehouse": warehouse(),
					"delivery_date": delivery,
				}
				for line in lines
			],
		}
	)
	so.insert(ignore_permissions=True)
	if submit:
		so.submit()
	return so


def deliver_sales_order(so, posting_date: str):
	"""The Delivery Note of everything on the Sales Order (its *Create ▸ Delivery Note*), submitted."""
	from erpnext.selling.doctype.sales_order.sales_order import make_delivery_note as delivery_of

	dn = delivery_of(so.name)
	dn.posting_date = getdate(posting_date)
	dn.set_posting_time = 1
	dn.insert(ignore_permissions=True)
	dn.submit()
	return dn


def comments_on(doctype: str, name: str) -> list[str]:
	return frappe.get_all(
		"Comment",
		filters={"reference_doctype": doctype, "reference_name": name, "comment_type": "Comment"},
		pluck="content",
	)
