"""Refusals a person decides (issue 19 §3): ERPNext's credit limit refusing the submit of an Open invoice.

A credit limit is not a fault that a retry mends: the invoice is right, and someone decides whether the customer
may owe more (a Credit Controller submits it, or someone waits for a payment, edits or deletes it). So a billing
run whose invoice ERPNext refuses for the credit limit keeps the invoice as a **Draft kept for review**, as the
two-step reserve keeps a draft (two_step.py): its items are billed on it, its occurrence is logged and the schedule
moves on, and nothing that a submitted invoice owes (the Generated automations, the pay link, the email) is owed
until a person submits it (two_step.finish_reserved). The invoice gets a comment, the generation log a *Kept for
Review* line, and the generator's owner and the Accounts Managers a notification. No failure is counted; no run or
sweep tries to submit it again.

Which refusal it is, is decided by ERPNext's own check (`check_credit_limit`, with the invoice's amount as its
submit would post it), never by the text of ERPNext's message. Every other refusal fails and retries as before.
"""

import frappe
from frappe import _
from frappe.utils import flt, strip_html

from accumulating_billing.billing import locks
from accumulating_billing.billing.generation_log import alert, people_to_alert
from accumulating_billing.billing.payers import invoice_tabs
from accumulating_billing.doctypes import GENERATOR, ITEM

INVOICE = "Sales Invoice"
OPEN = ("Open", "Open and Email")
KEPT = "Kept for Review"


# ------------------------------------------------------------------------------------------ the decision


def credit_limited(customer: str, company: str) -> bool:
	"""Whether ERPNext checks a credit limit for the customer in the company at all (the customer's own, its
	group's or the company's): only then can a refusal be the credit limit. One or two cached reads."""
	from erpnext.selling.doctype.customer.customer import get_credit_limit

	return flt(get_credit_limit(customer, company)) > 0


def refused_by_credit_limit(invoice) -> str | None:
	"""ERPNext's message when its credit limit check refuses the submit of `invoice` (a computed draft), else
	None. ERPNext's own `check_credit_limit`, under the conditions of SalesInvoice.check_credit_limit, with the
	invoice's amount added to the customer's outstanding as its submit would post it."""
	from erpnext.selling.doctype.customer.customer import check_credit_limit

	if (
		invoice.docstatus != 0
		or invoice.get("is_return")
		or not credit_limited(invoice.customer, invoice.company)
	):
		return None
	bypass = frappe.db.get_value(
		"Customer Credit Limit",
		{"parent": invoice.customer, "parenttype": "Customer", "company": invoice.company},
		"bypass_credit_limit_check",
	)
	if not bypass and all(row.sales_order or row.delivery_note for row in invoice.items):
		return None  # ERPNext checks an invoice of ordered or delivered lines only when it bypasses the order
	try:
		check_credit_limit(invoice.customer, invoice.company, bypass, extra_amount=posted_amount(invoice))
	except frappe.ValidationError as e:
		frappe.clear_last_message()
		return strip_html(str(e)).strip() or _("Credit limit crossed")
	return None


def posted_amount(invoice) -> float:
	"""What the invoice's submit adds to the customer's ledger (ERPNext debits the rounded total when rounded)."""
	if flt(invoice.base_rounding_adjustment) and flt(invoice.base_rounded_total):
		return flt(invoice.base_rounded_total)
	return flt(invoice.base_grand_total)


# ------------------------------------------------------------------------------------------ one transaction


def compute(invoice) -> None:
	"""Save a draft stored as built once, validated: ERPNext's totals, accounts and taxes (the desk shows them)."""
	invoice.flags.ignore_permissions = True
	invoice.flags.ignore_validate = invoice.flags.ignore_mandatory = False
	invoice.flags.accumulating_generated = True  # its lines are still exactly the items billed on it
	invoice.save()


# ------------------------------------------------------------------------------------------ two steps


def keep_reserved(generator: str, invoice: str) -> bool:
	"""After the submit of a reserved invoice failed (and was rolled back): when ERPNext's credit limit is what
	refuses it, keep it as a Draft for review (True); else change nothing (False: the failure is recorded)."""
	customer, company = frappe.db.get_value(INVOICE, invoice, ["customer", "company"]) or (None, None)
	if not customer or not credit_limited(customer, company):
		return False
	try:
		locks.lock_generators(invoice_tabs(invoice) or [generator])  # every tab it bills, in name order
		doc = frappe.get_doc(INVOICE, invoice, for_update=True)
		if doc.docstatus != 0 or not doc.accumulating_finalize or doc.get("accumulating_review"):
			frappe.db.rollback()
			return False
		compute(doc)
		reason = refused_by_credit_limit(doc)
		if not reason:
			frappe.db.rollback()
			return False
		tabs = invoice_tabs(doc)
		keep(generator, doc, doc.accumulating_occurrence or doc.posting_date, reason, tabs)
		# the reserved invoice was what held its tabs back: they are healthy again
		for tab in tabs or [generator]:
			frappe.db.set_value(
				GENERATOR, tab, {"consecutive_failures": 0, "last_error": None}, update_modified=False
			)
		frappe.db.commit()
	except Exception:
		frappe.db.rollback()
		frappe.clear_last_message()
		frappe.log_error(
			title=_("Accumulating Generator {0}: {1} not kept for review").format(generator, invoice)
		)
		return False
	return True


# ------------------------------------------------------------------------------------------ keeping


def keep(generator: str, invoice, occurrence, reason: str, tabs: list[str] | None = None) -> str:
	"""Mark the invoice kept for review, and say so: a comment on the invoice, a line in the generation log of each
	of its tabs (`tabs`, a combined invoice's; else `generator`), a notification to the generator's owner and the
	Accounts Managers. In the caller's transaction. Returns the log line."""
	from accumulating_billing.billing.generation_log import write_log

	frappe.db.set_value(INVOICE, invoice.name, "accumulating_review", 1, update_modified=False)
	invoice.accumulating_review = 1
	line = _("{0}: kept {1} as a Draft for review, ERPNext refused its submit: {2}").format(
		occurrence, invoice.name, reason[:400]
	)
	for tab in tabs or [generator]:
		count = frappe.db.count(
			ITEM,
			{"sales_invoice": invoice.name, "status": "Billed", "generator": tab},
		)
		write_log(tab, occurrence, KEPT, line, invoice.name, count)
	invoice.add_comment(
		"Comment",
		_(
			"Kept as a Draft by Accumulating Billing: ERPNext refused its submit: {0}. Its items are billed on it "
			"and the schedule moved on. Review it: submit it (someone allowed past the credit limit can), or edit "
			"or delete it (its items go back to the tab)."
		).format(reason[:400]),
	)
	notify_reviewers(generator, invoice.name, reason)
	return line


def notify_reviewers(generator: str, invoice: str, reason: str) -> None:
	alert(
		people_to_alert(frappe.db.get_value(GENERATOR, generator, "owner")),
		INVOICE,
		invoice,
		_("Review Sales Invoice {0} of {1}: kept as a Draft, ERPNext refused its submit: {2}").format(
			invoice, generator, reason[:200]
		),
	)
