"""Who pays a tab, and which tabs a generated invoice bills (issue 28, docs/architecture.md §17).

- The **payer** of a tab is the customer its invoices are made out to: *Invoice To* (`invoice_customer`), else its
  own customer. The tab stays its customer's (portal, Timesheets, Delivery Notes, its lines).
- Tabs with *Combine With the Payer's Other Tabs* (`consolidate_invoices`) share one invoice on a billing day when
  they have the same payer and agree on every setting an invoice has only one of (`AGREE`); the decision is the
  engine's (engine/combining.py), the run is combined.py's.
- Every generated invoice lists the tabs it bills in its `accumulating_tabs` (*Accumulating Invoice Tab*), one row
  per generator with the occurrence it bills, unique per (generator, occurrence) in the database (schema.py).
  `Sales Invoice.accumulating_generator` names one of them, the **lead** (the payer's own tab when it is one, else
  the first by name): every reader that asks "is this a generated invoice" or "whose settings" keeps working, and
  the readers that act per tab (cancel, two-step, automations, review) ask `invoice_tabs`.

Below everything that bills, cancels or shows a tab, so that each asks here (imports only the engine).
"""

from datetime import date

import frappe
from frappe import _
from frappe.utils import cint, flt, getdate

from accumulating_billing import engine
from accumulating_billing.doctypes import GENERATOR, INVOICE_TAB

INVOICE = "Sales Invoice"
TABS_FIELD = "accumulating_tabs"
# the print format the app ships for combined invoices: each tab's lines under its title (and its customer)
COMBINED_PRINT_FORMAT = "Accumulating Combined Invoice"

# The settings an invoice has only one of: tabs that disagree on any of them are billed on separate invoices (the
# README's *One invoice per payer* lists them). Company and currency are also how shares and groups are found.
AGREE = (
	"company",
	"currency",
	"generate_as",
	"selling_price_list",
	"taxes_and_charges",
	"taxes",
	"payment_terms_template",
	"due_days",
	"naming_series_for_invoice",
	"apply_discount_on",
	"additional_discount_percentage",
	"discount_amount",
	"project",
	"cost_center",
	"apply_advances_automatically",
	"payment_gateway_account",
	"allow_partial_payments",
	"third_party_payment_url",
	"email_template",
	"print_format",
	"late_fee_type",
	"late_fee_amount",
	"late_fee_percentage",
	"late_fee_item",
	"late_fee_grace_days",
	"late_fee_as_dunning",
	"dunning_type",
)
# the columns of a tax row the generator passes on to its invoice (invoice.set_taxes), compared by settings_of
TAX_FIELDS = (
	"charge_type",
	"row_id",
	"account_head",
	"description",
	"included_in_print_rate",
	"included_in_paid_amount",
	"cost_center",
	"rate",
	"tax_amount",
	"account_currency",
	"dont_recompute_tax",
)


# ------------------------------------------------------------------------------------------ one tab


def payer_of(doc) -> str:
	"""The customer a tab's invoices are made out to."""
	return doc.get("invoice_customer") or doc.get("customer")


def combines(doc) -> bool:
	return bool(cint(doc.get("consolidate_invoices")))


def settings_of(doc) -> tuple[tuple[str, object], ...]:
	"""The tab's invoice settings that must agree, as comparable plain values (a setting that does not apply,
	such as Due Days beside a Payment Terms Template, counts as empty)."""
	values = {field: doc.get(field) or "" for field in AGREE}
	values["taxes"] = tuple(
		tuple(flt(row.get(f)) if f in ("rate", "tax_amount") else (row.get(f) or "") for f in TAX_FIELDS)
		for row in doc.get("taxes") or []
	)
	values["due_days"] = "" if doc.get("payment_terms_template") else cint(doc.get("due_days"))
	for field in (
		"additional_discount_percentage",
		"discount_amount",
		"late_fee_amount",
		"late_fee_percentage",
	):
		values[field] = flt(doc.get(field))
	for field in ("apply_advances_automatically", "allow_partial_payments", "late_fee_as_dunning"):
		values[field] = cint(doc.get(field))
	if not (values["additional_discount_percentage"] or values["discount_amount"]):
		values["apply_discount_on"] = ""
	if doc.get("generate_as") != "Open and Email":
		values["email_template"] = values["print_format"] = ""
	if not doc.get("late_fee_type"):
		for field in AGREE:
			if field.startswith("late_fee") or field == "dunning_type":
				values[field] = 0 if isinstance(values[field], int | float) else ""
	values["late_fee_grace_days"] = cint(values["late_fee_grace_days"])
	return tuple((field, values[field]) for field in AGREE)


def tab_of(doc, due: date | None = None) -> engine.Tab:
	"""The engine's view of a tab: its name, customer, payer, invoice settings and next due date."""
	return engine.Tab(
		name=doc.name, customer=doc.customer, payer=payer_of(doc), settings=settings_of(doc), due=due
	)


def labels(fields: list[str]) -> list[str]:
	"""The settings' labels as the form shows them, in the reader's language."""
	meta = frappe.get_meta(GENERATOR)
	return [_("Invoice To") if field == "payer" else _(meta.get_label(field)) for field in fields]


# ------------------------------------------------------------------------------------------ the payer's tabs


def partners(doc) -> list[dict]:
	"""The payer's other live tabs that combine, for the form: each with whether it will share this tab's invoice
	(`together`) or the settings that keep them apart (`differs`, their labels). Empty for a tab that does not
	combine."""
	if not combines(doc) or doc.is_new():
		return []
	payer = payer_of(doc)
	Gen = frappe.qb.DocType(GENERATOR)
	names = (
		frappe.qb.from_(Gen)
		.select(Gen.name)
		.where(
			(Gen.consolidate_invoices == 1)
			& Gen.status.isin(engine.LIVE_STATUSES)
			& (Gen.name != doc.name)
			& (
				(Gen.invoice_customer == payer)
				| ((Gen.customer == payer) & (Gen.invoice_customer.isnull() | (Gen.invoice_customer == "")))
			)
		)
		.orderby(Gen.name)
		.run(pluck=True)
	)
	own = tab_of(doc)
	rows = []
	for name in names:
		other = frappe.get_doc(GENERATOR, name)
		differs = engine.differing(own, tab_of(other))
		rows.append(
			{
				"name": other.name,
				"title": other.title,
				"customer": other.customer,
				"customer_name": other.customer_name,
				"status": other.status,
				"next_creation_date": other.next_creation_date,
				"together": not differs,
				"differs": labels(differs),
			}
		)
	return rows


# ------------------------------------------------------------------------------------------ invoices and tabs


def invoice_tabs(invoice) -> list[str]:
	"""The generators whose tabs a generated invoice bills, in name order (the lock order): its tab rows, or, for
	an invoice made before they existed, its generator. `invoice`: the document or its name."""
	if isinstance(invoice, str):
		rows = frappe.get_all(
			INVOICE_TAB, filters={"parent": invoice, "parenttype": INVOICE}, pluck="generator"
		)
		lead = frappe.db.get_value(INVOICE, invoice, "accumulating_generator")
	else:
		rows = [row.generator for row in invoice.get(TABS_FIELD) or [] if row.generator]
		lead = invoice.get("accumulating_generator")
	return sorted(set(rows) | ({lead} if lead else set()))


def lead_first(invoice, generators: list) -> list:
	"""`generators` (docs) with the invoice's lead first, the others in name order: whose settings apply first
	(owed.owe)."""
	lead = invoice.get("accumulating_generator")
	return sorted(generators, key=lambda g: (g.name != lead, g.name))


def billing_tab(SI, generator: str):
	"""The condition on Sales Invoice (`SI`, a query builder table) of the invoices that bill a tab of
	`generator`: the ones it leads, and the combined invoices that list it."""
	Tab = frappe.qb.DocType(INVOICE_TAB)
	listed = (
		frappe.qb.from_(Tab)
		.select(Tab.parent)
		.where((Tab.generator == generator) & (Tab.parenttype == INVOICE))
	)
	return (SI.accumulating_generator == generator) | SI.name.isin(listed)


def invoice_of_occurrence(generator: str, day) -> str | None:
	"""The invoice that bills the occurrence `day` of `generator` (its tab row, else its occurrence key)."""
	Tab = frappe.qb.DocType(INVOICE_TAB)
	listed = (
		frappe.qb.from_(Tab)
		.select(Tab.parent)
		.where((Tab.generator == generator) & (Tab.occurrence == getdate(day)) & (Tab.parenttype == INVOICE))
		.limit(1)
		.run(pluck=True)
	)
	if listed:
		return listed[0]
	return frappe.db.get_value(
		INVOICE, {"accumulating_generator": generator, "accumulating_occurrence": getdate(day)}, "name"
	)


def has_invoices(generator: str) -> bool:
	"""Whether any Sales Invoice bills a tab of the generator (as its lead, or listed on a combined invoice)."""
	return bool(
		frappe.db.exists(INVOICE, {"accumulating_generator": generator})
		or frappe.db.exists(INVOICE_TAB, {"generator": generator, "parenttype": INVOICE})
	)


def is_combined(invoice) -> bool:
	"""Whether a generated invoice (a document) bills the tabs of several generators."""
	return len({row.generator for row in invoice.get(TABS_FIELD) or []}) > 1


def default_print_format(invoice) -> str:
	"""The print format an invoice is printed with when nobody chose one: the app's combined format for a combined
	invoice (when it is enabled), else the Sales Invoice's default (ERPNext's Standard unless the site set one)."""
	if is_combined(invoice) and frappe.db.get_value("Print Format", COMBINED_PRINT_FORMAT, "disabled") == 0:
		return COMBINED_PRINT_FORMAT
	return frappe.get_meta(INVOICE).default_print_format or "Standard"
