"""Build a native Sales Invoice from a generator and the items one run sweeps (docs/architecture.md §4).

The document API does the work (set_missing_values, set_taxes, ERPNext's own totals); nothing here writes SQL.
"""

from collections import Counter, defaultdict
from decimal import Decimal

import frappe
from frappe.utils import add_days, cint, getdate

from accumulating_billing.billing import items as item_rules
from accumulating_billing.billing.payers import TABS_FIELD, TAX_FIELDS, payer_of
from accumulating_billing.billing.plain_text import as_html
from accumulating_billing.billing.state import to_decimal

DELIVERY_NOTE = "Delivery Note"
TIMESHEET = "Timesheet"
GROUPED = "Grouped"


def build_sales_invoice(
	generator, items: list, posting_date, occurrence=None, fill_missing: bool = True, tabs: list | None = None
):
	"""An unsaved Sales Invoice for `items` (Accumulating Generator Item rows, as dicts or docs), made out to the
	generator's payer (*Invoice To*, else its customer: payers.py).

	`occurrence` is the schedule date it bills (None for an off-cycle Generate now invoice).
	`fill_missing=False` fills only the party's defaults and leaves the item defaults to the insert: ERPNext's
	validate runs set_missing_values itself, and running it twice was a quarter of the cost of a generated
	invoice; Frappe's defaults of the invoice's fields are left to the insert as well. An invoice that is only
	computed, never saved (preview, minimum check), needs them all here.
	`tabs`: a combined invoice (combined.py), [(generator, its items)] for every tab it bills, `generator` (the
	lead, whose settings apply: the tabs agree on them) among them; `items` is then not used. Each tab's lines
	come together, each line naming its tab (`accumulating_tab`), and every invoice lists its tabs with the
	occurrence each bills (`accumulating_tabs`, unique per tab and occurrence: schema.py)."""
	posting_date = getdate(posting_date)
	tabs = tabs or [(generator, items)]
	items = [item for _tab, rows in tabs for item in rows]
	# an invoice that is saved takes Frappe's defaults in its insert (or, reserved, before it is stored:
	# generation.save_generated): giving them here too was a fifth of our bookkeeping on an invoice. New, as
	# new_doc makes it: ERPNext's set_taxes fills a template's rows only into a new invoice
	si = (
		frappe.new_doc("Sales Invoice")
		if fill_missing
		else frappe.get_doc({"doctype": "Sales Invoice", "__islocal": 1})
	)
	si.update(
		{
			"customer": payer_of(generator),
			"company": generator.company,
			"currency": generator.currency,
			"selling_price_list": generator.selling_price_list,
			"ignore_pricing_rule": 1,
			"posting_date": posting_date,
			"set_posting_time": 1,
			"project": generator.project,
			"cost_center": generator.cost_center,
			"accumulating_generator": generator.name,
			"accumulating_occurrence": occurrence,
		}
	)
	if generator.naming_series_for_invoice:
		si.naming_series = generator.naming_series_for_invoice
	sources = source_rows(items)
	groups = {}
	for tab, rows in tabs:
		lines, tab_groups = invoice_lines(tab, rows, sources)
		groups.update(tab_groups)
		for line in lines:
			if len(tabs) > 1:
				line["accumulating_tab"] = tab.name
			si.append("items", line)
		si.append(TABS_FIELD, tab_row(tab, rows, occurrence))
	# the items each grouped line sums, by its key: marked with it when billed (generation.save_generated)
	si.flags.accumulating_line_groups = groups
	add_timesheet_rows(si, items, sources)

	if fill_missing:
		si.set_missing_values()
	else:
		set_sales_partner(si)

	# the generator's settings win over the party defaults (ERPNext only fills what is still empty)
	si.currency = generator.currency
	if generator.selling_price_list:
		si.selling_price_list = generator.selling_price_list
	# a prepaid retainer: ERPNext's validate allocates the customer's unallocated advances, oldest first
	si.allocate_advances_automatically = cint(generator.get("apply_advances_automatically"))
	set_taxes(si, generator)
	set_discount(si, generator)
	set_due_date(si, generator, posting_date)
	# the customer's Print Language, as ERPNext gives an invoice made by hand: its print and PDF speak it
	si.language = si.get("language") or frappe.get_cached_value("Customer", si.customer, "language")
	si.flags.ignore_permissions = True
	return si


def tab_row(generator, rows: list, occurrence) -> dict:
	"""The invoice's row for one tab it bills: the tab, its customer, the occurrence and what it bills."""
	return {
		"generator": generator.name,
		"tab_title": generator.title or generator.customer_name,
		"customer": generator.customer,
		"customer_name": generator.customer_name,
		"occurrence": occurrence,
		"items_count": len(rows),
		"amount": float(sum((to_decimal(row.get("amount")) for row in rows), Decimal(0))),
	}


def invoice_lines(generator, items: list, sources: dict | None = None) -> tuple[list[dict], dict]:
	"""The invoice lines of `items` and the groups among them ({line group key: [item names]}).

	*Invoice Lines: One per Item* (the default): one line per item, linked to it (`accumulating_generator_item`).
	*Grouped*: the items with the same item code, price list rate, net rate, UOM and discount make one line, qty
	summed, named after its first item (its description only when all of them share it), linked to them by a
	fresh key in `accumulating_line_group` that the items take when billed. A group of one item is exactly its
	One per Item line. Kept on a line of their own, as One per Item:

	- Delivery Note items: ERPNext links an invoice line to one Delivery Note line (`dn_detail`);
	- items whose amount is not exactly qty x net rate (an amount that needed rounding): summed into one line,
	  ERPNext would round the group's amount once instead of each item's, and the invoice could differ from the
	  tab by a cent. Every grouped line is exact, so the invoice's total equals the tab's to the cent.

	Lines come in the order of their first item (the items' order: oldest first)."""
	if generator.get("invoice_lines") != GROUPED:
		return [invoice_line(generator, item, sources) for item in items], {}
	buckets: dict = {}
	keys: dict[tuple, tuple | None] = {}  # group_key once per distinct line (a tab repeats them)
	for item in items:
		values = tuple(map(item.get, GROUP_KEY_FIELDS))
		if values not in keys:
			keys[values] = group_key(item)
		key = keys[values]
		buckets.setdefault(key if key is not None else ("alone", item.get("name")), []).append(item)
	lines, groups = [], {}
	for members in buckets.values():
		line = invoice_line(generator, members[0], sources)
		if len(members) > 1:
			key = frappe.generate_hash(length=12)
			groups[key] = [member.get("name") for member in members]
			line["qty"] = float(exact_sum(member["qty"] for member in members))
			line["accumulating_generator_item"] = None
			line["accumulating_line_group"] = key
			descriptions = {member.get("description") or "" for member in members}
			if len(descriptions) > 1:
				line.pop("description", None)  # ERPNext takes the Item's own
		lines.append(line)
	return lines, groups


# what group_key reads of an item
GROUP_KEY_FIELDS = (
	"source_doctype",
	"item_code",
	"rate",
	"discount_percentage",
	"uom",
	"qty",
	"amount",
	"net_rate",
	"currency",
)


def exact_sum(values) -> Decimal:
	"""The exact (Decimal) sum of Frappe numbers, each distinct value converted once."""
	return sum((to_decimal(value) * count for value, count in Counter(values).items()), Decimal(0))


def group_key(item) -> tuple | None:
	"""What makes items one grouped line, or None for an item that keeps a line of its own."""
	if item.get("source_doctype") == DELIVERY_NOTE:
		return None
	net_rate = item.get("net_rate")
	if net_rate is None:
		net_rate = item_rules.net_rate(
			item.get("rate"), item.get("discount_percentage"), item.get("currency")
		)
	net_rate = to_decimal(net_rate)
	if to_decimal(item.get("qty")) * net_rate != to_decimal(item.get("amount")):
		return None
	return (
		item.get("item_code"),
		to_decimal(item.get("rate")),
		net_rate,
		item.get("uom"),
		to_decimal(item.get("discount_percentage")),
	)


def set_sales_partner(si) -> None:
	"""The customer's sales partner, before insert: the insert's link check (which runs before validate) then
	fetches the partner's commission rate, which ERPNext's validate would not. Every other party default is
	ERPNext's validate's to fill; filling them all here as well cost a tenth of a generated invoice."""
	partner, rate = frappe.get_cached_value(
		"Customer", si.customer, ["default_sales_partner", "default_commission_rate"]
	)
	if partner:
		si.sales_partner = partner
	if rate:
		si.commission_rate = rate


def invoice_line(generator, item, sources: dict | None = None) -> dict:
	item = frappe._dict(item)
	line = {
		"item_code": item.item_code,
		"item_name": item.item_name,
		"qty": item.qty,
		"uom": item.uom,
		"price_list_rate": item.rate,
		"discount_percentage": item.discount_percentage or 0,
		"rate": item.net_rate,
		"accumulating_generator_item": item.name,
		"project": generator.project,
	}
	if item.description:
		# a tab item's description is plain text (plain_text.py); the invoice line's is HTML that print formats
		# and the PDF render: escaped, so whatever a contributor typed shows as typed and never runs
		line["description"] = as_html(item.description)
	if generator.cost_center:
		line["cost_center"] = generator.cost_center
	source = (sources or {}).get(item.source_detail) if item.get("source_doctype") == DELIVERY_NOTE else None
	if source:
		# ERPNext's own link: per_billed, the DN status and "Delivered Items To Be Billed" follow it
		line.update(
			{
				"delivery_note": item.source_name,
				"dn_detail": item.source_detail,
				"conversion_factor": source.conversion_factor,
				"sales_order": source.against_sales_order,
				"so_detail": source.so_detail,
			}
		)
	return line


def source_rows(items: list) -> dict:
	"""The Delivery Note and Timesheet rows the items came from, by row name (two reads at most)."""
	details = defaultdict(list)
	for item in items:
		if item.get("source_doctype"):
			details[item["source_doctype"]].append(item["source_detail"])
	rows = {}
	if details[DELIVERY_NOTE]:
		for row in frappe.get_all(
			"Delivery Note Item",
			filters={"name": ("in", details[DELIVERY_NOTE])},
			fields=["name", "conversion_factor", "against_sales_order", "so_detail"],
		):
			rows[row.name] = row
	if details[TIMESHEET]:
		for row in frappe.get_all(
			"Timesheet Detail",
			filters={"name": ("in", details[TIMESHEET])},
			fields=["name", "parent", "activity_type", "description", "from_time", "to_time", "project_name"],
		):
			rows[row.name] = row
	return rows


def add_timesheet_rows(si, items: list, sources: dict) -> None:
	"""ERPNext's Timesheets table of the invoice, one row per billed time log: on submit ERPNext marks the
	logs billed by this invoice (`per_billed`, status Billed) exactly as if a person had fetched them."""
	si.flags.accumulating_timesheet_details = {
		item.get("source_detail") for item in items if item.get("source_doctype") == TIMESHEET
	}
	for item in items:
		log = sources.get(item.get("source_detail")) if item.get("source_doctype") == TIMESHEET else None
		if not log:
			continue
		si.append(
			"timesheets",
			{
				"time_sheet": log.parent,
				"timesheet_detail": log.name,
				"activity_type": log.activity_type,
				"description": log.description,
				"from_time": log.from_time,
				"to_time": log.to_time,
				"project_name": log.project_name,
				"billing_hours": item["qty"],
				"billing_amount": item["amount"],
			},
		)


def set_taxes(si, generator) -> None:
	# "" (not None): ERPNext refills an empty-None template from tax rules on validate
	si.taxes_and_charges = generator.taxes_and_charges or ""
	si.set("taxes", [])
	if generator.get("taxes"):
		for row in generator.taxes:
			si.append("taxes", {f: row.get(f) for f in TAX_FIELDS})
	elif generator.taxes_and_charges:
		si.set_taxes()


def set_discount(si, generator) -> None:
	si.apply_discount_on = generator.apply_discount_on or "Grand Total"
	si.additional_discount_percentage = generator.additional_discount_percentage or 0
	si.discount_amount = generator.discount_amount or 0


def set_due_date(si, generator, posting_date) -> None:
	si.set("payment_schedule", [])
	if generator.payment_terms_template:
		si.payment_terms_template = generator.payment_terms_template
		si.due_date = None
	else:
		# "" and the flag keep ERPNext from refilling the customer's default terms on validate
		si.payment_terms_template = ""
		si.ignore_default_payment_terms_template = 1
		si.due_date = add_days(posting_date, cint(generator.due_days))


def invoice_totals(generator, items: list, posting_date, tabs: list | None = None):
	"""An unsaved Sales Invoice for `items` (or combined, of `tabs`) with ERPNext's totals, discount and taxes
	computed; never saved."""
	si = build_sales_invoice(generator, items, posting_date, tabs=tabs)
	si.calculate_taxes_and_totals()
	return si


def forget_stale_item_defaults(invoice) -> None:
	"""ERPNext's validate writes the invoice's income account onto an Item Default row that has none, but
	decides so from the cached Item, which that write does not refresh: until the Item is saved again, every
	invoice of the item rewrites the row and holds its lock until commit, so parallel billing jobs queue on
	it. Dropping the cached Item (now and after the commit) makes the write happen once."""
	for code in {row.item_code for row in invoice.items}:
		# only what is cached: loading the Item here would cache this transaction's uncommitted row
		item = frappe.cache.get_value(frappe.get_document_cache_key("Item", code))
		if item and any(d.company == invoice.company and not d.income_account for d in item.item_defaults):
			frappe.clear_document_cache("Item", code)


def run_before_save_of_one_pass(doc, method=None) -> None:
	"""before_submit of an invoice a run inserts submitted, in one pass, or of a reserved one (stored unvalidated,
	two_step.py): Frappe's insert of a submitted document runs validate and before_submit, not before_save, which
	insert-then-submit ran. Its before_save (ERPNext's own, other apps' hooks, Server Scripts "Before Save") runs
	here, after validate as on any save."""
	if (doc.is_new() and doc.flags.accumulating_generated) or doc.get("accumulating_finalize"):
		doc.run_method("before_save")
