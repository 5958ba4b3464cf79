"""Late fees on overdue generated invoices (issue 13).

A daily job finds the generated invoices of generators with a *Late Fee* that are submitted, still outstanding
and past their due date plus the grace days, and charges each one once: a late-fee item on the generator's
running tab (so the customer's next invoice carries it), or an ERPNext Dunning for companies that dun instead.

Once per invoice, whatever runs: the job claims the invoice with a conditional update of its
`accumulating_late_fee` (only one transaction can turn it from empty to claimed), and the item carries the
invoice as its source under the unique key (`source_doctype`, `source_detail`) of tab items. A cancelled
invoice, or one fully credited by a credit note, takes its unbilled fee off the tab (a draft Dunning is deleted).
"""

from datetime import date

import frappe
from frappe import _
from frappe.utils import add_days, flt, getdate, nowdate

from accumulating_billing.billing import items as item_rules
from accumulating_billing.billing.item_status import NOT_BILLED, update_held_count, update_held_counts
from accumulating_billing.billing.locks import lock_generator
from accumulating_billing.billing.money import amount_precision
from accumulating_billing.billing.payments import outstanding_in_invoice_currency
from accumulating_billing.doctypes import GENERATOR, ITEM, LOG

SALES_INVOICE = "Sales Invoice"
CLAIMED = "claimed"


def overdue_invoices(as_of: date) -> list:
	"""Generated invoices past due with no fee yet, of generators that charge one (grace days checked after)."""
	SI, Gen = frappe.qb.DocType(SALES_INVOICE), frappe.qb.DocType(GENERATOR)
	rows = (
		frappe.qb.from_(SI)
		.join(Gen)
		.on(SI.accumulating_generator == Gen.name)
		.select(SI.name, SI.due_date, SI.accumulating_generator.as_("generator"), Gen.late_fee_grace_days)
		.where(
			(SI.docstatus == 1)
			& (SI.is_return == 0)
			& (SI.outstanding_amount > 0)
			& (SI.due_date < as_of)
			& (SI.accumulating_late_fee.isnull() | (SI.accumulating_late_fee == ""))
			& Gen.late_fee_type.isin(("Fixed Amount", "Percentage"))
			& (Gen.status != "Archived")  # an archived tab is never billed
		)
		.orderby(SI.due_date)
		.run(as_dict=True)
	)
	return [row for row in rows if late_on(row) <= as_of]


def late_on(row) -> date:
	"""The day an invoice becomes late: the day after its due date plus the grace days."""
	return add_days(getdate(row.due_date), (row.late_fee_grace_days or 0) + 1)


def apply_late_fees(as_of: date | str | None = None) -> list[str]:
	"""Charge every overdue invoice its fee, each in its own transaction. Returns the names of the items (or
	Dunnings) created. Safe to run twice, in two jobs at once, or again after a crash."""
	as_of = getdate(as_of or nowdate())
	created = []
	for row in overdue_invoices(as_of):
		frappe.db.commit()
		try:
			name = charge(row.name, late_on(row))
			frappe.db.commit()
		except Exception:
			frappe.db.rollback()
			frappe.log_error(
				title=_("Accumulating Billing: late fee for {0} failed").format(row.name),
				reference_doctype=SALES_INVOICE,
				reference_name=row.name,
			)
			continue
		if name:
			created.append(name)
	return created


def charge(invoice: str, day: date) -> str | None:
	"""Claim the invoice and charge its fee, inside the caller's transaction; None when already charged or no
	longer overdue (paid or cancelled since the selection)."""
	SI = frappe.qb.DocType(SALES_INVOICE)
	(
		frappe.qb.update(SI)
		.set(SI.accumulating_late_fee, CLAIMED)
		.where(
			(SI.name == invoice)
			& (SI.docstatus == 1)
			& (SI.outstanding_amount > 0)
			& (SI.accumulating_late_fee.isnull() | (SI.accumulating_late_fee == ""))
		)
	).run()
	if not frappe.db.sql("select row_count()")[0][0]:
		return None  # another job charged it, or it was paid or cancelled meanwhile
	si = frappe.get_doc(SALES_INVOICE, invoice)
	generator = frappe.get_doc(GENERATOR, si.accumulating_generator)
	name = (
		make_dunning(si, generator, day)
		if generator.late_fee_as_dunning
		else add_fee_item(si, generator, day)
	)
	frappe.db.set_value(SALES_INVOICE, invoice, "accumulating_late_fee", name, update_modified=False)
	frappe.get_doc(
		{
			"doctype": LOG,
			"generator": generator.name,
			"occurrence_date": day,
			"outcome": "Late Fee",
			"reason": _("Sales Invoice {0} was unpaid on {1}: {2}").format(invoice, day, name),
			"sales_invoice": invoice,
		}
	).insert(ignore_permissions=True)
	return name


def fee_amount(si, generator) -> float:
	if generator.late_fee_type == "Percentage":
		return flt(
			outstanding_in_invoice_currency(si) * flt(generator.late_fee_percentage) / 100,
			amount_precision(generator.currency),
		)
	return flt(generator.late_fee_amount)


def add_fee_item(si, generator, day: date) -> str:
	"""One late-fee item on the generator's tab (whatever its status: a Completed generator keeps it visible
	and Generate Now bills it), dated the day the invoice became late. A fee that ERPNext would refuse on the
	invoice (its item disabled since the settings were saved, say) goes on the tab On Hold with ERPNext's reason
	and a comment on the generator: the fee is charged once and not lost, and the job does not fail every day."""
	from accumulating_billing.billing.held import holds
	from accumulating_billing.billing.sources.tab_items import hold_refused_at_entry, insert_items

	item = item_rules.item_of(generator.late_fee_item) or frappe._dict(
		name=generator.late_fee_item, item_name=generator.late_fee_item, stock_uom=None
	)
	amount = fee_amount(si, generator)
	values = {
		"generator": generator.name,
		"customer": generator.customer,
		"company": generator.company,
		"currency": generator.currency,
		"service_date": day,
		"item_code": item.name,
		"item_name": item.item_name,
		"description": _("Late fee: invoice {0} was due on {1} and is unpaid ({2} outstanding)").format(
			si.name,
			frappe.format(si.due_date, "Date"),
			frappe.utils.fmt_money(outstanding_in_invoice_currency(si), currency=si.currency),
		),
		"qty": 1,
		"uom": item.stock_uom,
		"rate": amount,
		"discount_percentage": 0,
		"amount": amount,
		"source_doctype": SALES_INVOICE,
		"source_detail": si.name,
	}
	held = hold_refused_at_entry([values], generator.company, set() if holds(generator) else {generator.name})
	added = insert_items([values], si.name)
	if not added:
		frappe.throw(_("Sales Invoice {0} already has a late fee on a tab.").format(si.name))
	if held:
		update_held_count(generator.name)
		generator.add_comment(
			"Comment",
			_(
				"The late fee of Sales Invoice {0} went on the tab On Hold: ERPNext would refuse it on the invoice"
				" ({1}). Correct the cause (the Late Fee Item), then Release it."
			).format(si.name, values["hold_reason"]),
		)
	return added[0]


def make_dunning(si, generator, day: date) -> str:
	"""An ERPNext Dunning (draft) of the overdue invoice, of the generator's Dunning Type."""
	from erpnext.accounts.doctype.sales_invoice.sales_invoice import create_dunning

	dunning = create_dunning(si.name, ignore_permissions=True)
	dunning.posting_date = day
	dunning.dunning_type = generator.dunning_type
	dunning_type = frappe.get_cached_doc("Dunning Type", generator.dunning_type)
	dunning.rate_of_interest = dunning_type.rate_of_interest
	dunning.dunning_fee = fee_amount(si, generator)  # the generator's fee, as the Dunning's fee
	dunning.income_account = dunning_type.income_account or dunning.income_account
	dunning.cost_center = dunning_type.cost_center or dunning.cost_center
	dunning.flags.ignore_permissions = True
	dunning.insert()
	return dunning.name


# ------------------------------------------------------------------------------------------ withdrawing


def withdraw_fee(invoice: str, why: str) -> None:
	"""Take the late fee of `invoice` off its tab, unbilled or held (a billed one stays on its invoice); delete its draft
	Dunning."""
	Item = frappe.qb.DocType(ITEM)
	fees = (
		frappe.qb.from_(Item)
		.select(Item.name, Item.generator)
		.where(
			(Item.source_doctype == SALES_INVOICE)
			& (Item.source_detail == invoice)
			& Item.status.isin(NOT_BILLED)
		)
		.run(as_dict=True)
	)
	for generator in sorted({fee.generator for fee in fees}):
		lock_generator(generator)  # the generator before its items, as a billing run takes them
	for fee in fees:
		frappe.qb.from_(Item).delete().where((Item.name == fee.name) & Item.status.isin(NOT_BILLED)).run()
		frappe.get_doc(GENERATOR, fee.generator).add_comment(
			"Info",
			_("The late fee of Sales Invoice {0} left the tab: the invoice was {1}.").format(invoice, why),
		)
	update_held_counts(fee.generator for fee in fees)  # a held fee may have left the tab
	Row, Dunning = frappe.qb.DocType("Overdue Payment"), frappe.qb.DocType("Dunning")
	drafts = (
		frappe.qb.from_(Row)
		.join(Dunning)
		.on(Row.parent == Dunning.name)
		.select(Dunning.name)
		.distinct()
		.where((Row.sales_invoice == invoice) & (Row.parenttype == "Dunning") & (Dunning.docstatus == 0))
		.run(pluck=True)
	)
	for dunning in drafts:
		frappe.delete_doc("Dunning", dunning, ignore_permissions=True)


def withdraw_on_cancel(doc, method=None) -> None:
	"""Sales Invoice on_cancel: a cancelled invoice owes no late fee."""
	if doc.get("accumulating_generator") and doc.get("accumulating_late_fee"):
		withdraw_fee(doc.name, _("cancelled"))


def withdraw_on_credit(doc, method=None) -> None:
	"""Sales Invoice on_submit of a credit note: a generated invoice it credits in full owes no late fee."""
	if not (doc.is_return and doc.return_against):
		return
	original = frappe.db.get_value(
		SALES_INVOICE,
		doc.return_against,
		["accumulating_generator", "accumulating_late_fee", "outstanding_amount"],
		as_dict=True,
	)
	if original and original.accumulating_generator and original.accumulating_late_fee:
		if flt(original.outstanding_amount) <= 0:
			withdraw_fee(doc.return_against, _("credited in full by {0}").format(doc.name))
