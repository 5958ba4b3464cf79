"""The operations the interleavings choose at random, each committing its own work."""

from datetime import timedelta

import frappe

from accumulating_billing import api
from accumulating_billing.billing import tasks
from accumulating_billing.tests.faults import GENERATOR, ITEM
from accumulating_billing.tests.faults.invariants import billing_any


def op_add(generator, item_code, qty, rate, service_date, client_ref):
	name = api.add_item(
		generator, item_code, qty=qty, rate=rate, service_date=str(service_date), client_ref=client_ref
	)
	frappe.db.commit()
	return name


def op_generate(generator, as_of):
	"""A billing job over the generator: for a tab that combines, its payer's tabs due with it (combined.py); one
	result with every invoice made and the first error."""
	results = tasks.process_chunk([generator], str(as_of))
	merged = results[0]
	for result in results[1:]:
		merged.invoices += [name for name in result.invoices if name not in merged.invoices]
		merged.error = merged.error or result.error
	return merged


def op_generate_now(generator, posting_date):
	return api.generate_now(generator, posting_date=str(posting_date))


def op_cancel(generator, pick: float):
	"""Cancel a submitted generated invoice that bills the generator's tab (its own, or a combined one that lists
	it), or delete a generated draft (both release its items)."""
	SI = frappe.qb.DocType("Sales Invoice")
	live = (
		frappe.qb.from_(SI)
		.select(SI.name)
		.where(billing_any(SI, [generator]) & (SI.docstatus < 2))
		.orderby(SI.name)
		.run(pluck=True)
	)
	if not live:
		return None
	name = live[int(pick * len(live))]
	invoice = frappe.get_doc("Sales Invoice", name)
	if invoice.docstatus == 1:
		invoice.cancel()
	else:
		frappe.delete_doc("Sales Invoice", name)
	frappe.db.commit()
	return name


def op_timesheet(generator, start, hours: tuple[float, ...]):
	"""Submit a Timesheet of the generator's customer (one log per entry of `hours`, a day apart): its logs
	join the tab. Returns the names of the tab items it brought."""
	from accumulating_billing.tests.source_docs import make_timesheet

	customer = frappe.db.get_value(GENERATOR, generator, "customer")
	logs = [
		{"start": f"{start + timedelta(days=k)} 09:00", "hours": h, "rate": 40} for k, h in enumerate(hours)
	]
	ts = make_timesheet(logs, customer=customer)
	frappe.db.commit()
	return frappe.get_all(ITEM, filters={"source_name": ts.name}, pluck="name")


def op_add_batch(entries: list[dict]) -> list[dict]:
	"""One api.add_items call, committed (a caller of the batch API)."""
	answers = api.add_items(entries)
	frappe.db.commit()
	return answers


def unbilled_line(generator, pick: float) -> str | None:
	# a line a person entered (a Timesheet's lines follow their document: refused)
	lines = frappe.get_all(
		ITEM,
		filters={"generator": generator, "status": "Unbilled", "source_doctype": ("is", "not set")},
		pluck="name",
		order_by="name asc",
	)
	return lines[int(pick * len(lines))] if lines else None


def op_void(generator, pick: float):
	"""Void an unbilled line of the generator (a run may bill it first: then refused)."""
	line = unbilled_line(generator, pick)
	if line:
		api.void_item(line, "fault suite")
		frappe.db.commit()
	return line


def op_amend(generator, pick: float, qty: float):
	"""Amend an unbilled line's qty; returns the replacement (a new item of the tab)."""
	line = unbilled_line(generator, pick)
	if not line:
		return None
	replacement = api.amend_item(line, qty=qty)
	frappe.db.commit()
	return replacement


OPERATIONS = {
	"add": op_add,
	"add_batch": op_add_batch,
	"void": op_void,
	"amend": op_amend,
	"generate": op_generate,
	"generate_now": op_generate_now,
	"cancel": op_cancel,
	"timesheet": op_timesheet,
}
