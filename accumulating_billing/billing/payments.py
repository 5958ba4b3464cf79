"""Getting paid: what the customer has paid in advance and not yet used (a prepaid retainer)."""

import frappe
from frappe.query_builder.functions import Sum
from frappe.utils import flt


def advance_balance(customer: str, company: str) -> dict:
	"""The customer's received payments not yet allocated to an invoice (ERPNext's advances), in the currency of
	the receivable account they were booked to: {"amount", "currency"} (amount 0 when there is none)."""
	PE = frappe.qb.DocType("Payment Entry")
	rows = (
		frappe.qb.from_(PE)
		.select(PE.paid_from_account_currency, Sum(PE.unallocated_amount))
		.where(
			(PE.docstatus == 1)
			& (PE.payment_type == "Receive")
			& (PE.party_type == "Customer")
			& (PE.party == customer)
			& (PE.company == company)
			& (PE.unallocated_amount > 0)
		)
		.groupby(PE.paid_from_account_currency)
		.run()
	)
	if not rows:
		return {"amount": 0.0, "currency": None}
	currency, amount = max(rows, key=lambda row: flt(row[1]))
	return {"amount": flt(amount), "currency": currency}
