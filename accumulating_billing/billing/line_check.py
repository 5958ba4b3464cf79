"""One check of a tab line against ERPNext's own per-line rules for a Sales Invoice Item (issue 19).

Every way a line enters a tab (add_item, Timesheets, Delivery Notes, late fees, copies, templates) and every
billing day asks the same question: would ERPNext refuse this line on a Sales Invoice, and why? The answer is
ERPNext's own message, raised by ERPNext's own validators wherever they exist:

- the Item: it exists, is enabled, is not past its end of life and is not a template with variants
  (`erpnext.stock.get_item_details.validate_item_details`), and it is a sales item
  (`erpnext.controllers.buying_controller.validate_item_type`);
- a qty in a UOM with *Must be Whole Number* is whole (`erpnext.utilities.transaction_base.validate_uom_is_integer`);
- the UOM exists and converts to the item's stock UOM (ERPNext silently bills a missing conversion at factor 1,
  so the app refuses it: the invoice would bill the wrong quantity of stock UOM).

The cheap part (which lines are candidates) is done in a few batched reads for the whole tab; ERPNext's
validator is then called once per distinct item, and once per line only for the lines that are candidates, so
a tab of thousands of lines costs a handful of queries.

`refusals(lines)` never throws: it returns {line key: reason}. `check_line(line)` throws ERPNext's message as a
`frappe.ValidationError` (for a person adding a line by hand).
"""

from collections.abc import Callable, Iterable
from types import SimpleNamespace

import frappe
from frappe import _
from frappe.utils import cint, flt, strip_html

ITEM_FIELDS = ("name", "item_name", "stock_uom", "disabled", "end_of_life", "is_sales_item", "has_variants")


def check_line(line, company: str | None = None) -> None:
	"""Throw ERPNext's reason (translated) when it would refuse `line` on a Sales Invoice; nothing otherwise."""
	reason = refusals([line], company=company).get(line_key(line, 0))
	if reason:
		frappe.throw(reason, title=_("ERPNext would refuse this line"))


def refusals(lines: Iterable, company: str | None = None) -> dict:
	"""{line key: ERPNext's reason} for each line ERPNext would refuse on a Sales Invoice.

	A line is a dict (or Document) with `item_code`, `uom`, `qty` and, where it has one, `name` (its key; else
	its position). Nothing is written and nothing is thrown."""
	lines = list(lines)
	if not lines:
		return {}
	items = item_rows({line.get("item_code") for line in lines if line.get("item_code")})
	item_reasons = {
		code: item_refusal(code, items.get(code), company) for code in {l.get("item_code") for l in lines}
	}
	whole_uoms = whole_number_uoms({line.get("uom") for line in lines if line.get("uom")})
	converts = conversions({(l.get("item_code"), l.get("uom")) for l in lines}, items)
	found = {}
	for position, line in enumerate(lines):
		key = line_key(line, position)
		reason = item_reasons.get(line.get("item_code"))
		if not reason:
			reason = uom_refusal(line, items.get(line.get("item_code")), whole_uoms, converts)
		if reason:
			found[key] = reason
	return found


def line_key(line, position: int):
	return line.get("name") or position


# ------------------------------------------------------------------------------------------ the item


def item_rows(codes: set) -> dict:
	"""The Items by code, in one read (an item typed in another case is found under the code as typed)."""
	if not codes:
		return {}
	rows = frappe.get_all("Item", filters={"name": ("in", sorted(codes))}, fields=list(ITEM_FIELDS))
	by_lower = {row.name.lower(): row for row in rows}
	return {code: by_lower.get(code.lower()) for code in codes if by_lower.get(code.lower())}


def item_refusal(item_code: str | None, item, company: str | None) -> str | None:
	if not item_code:
		return _("Item is required.")
	if not item:
		return _("Item {0} does not exist.").format(item_code)
	from erpnext.controllers.buying_controller import validate_item_type
	from erpnext.stock.get_item_details import validate_item_details

	args = frappe._dict(company=company or "-", doctype="Sales Invoice", transaction_type="selling")
	# end_of_life "0000-00-00" is ERPNext's own "none": it keeps the validator from reading the Item again
	row = frappe._dict(item, end_of_life=item.end_of_life or "0000-00-00", disabled=cint(item.disabled))
	reason = erpnext_reason(validate_item_details, args, row)
	if not reason and not cint(item.is_sales_item):
		# not a frappe._dict: the validator reads `doc.items`, which on a dict is its items() method
		doc = SimpleNamespace(items=[frappe._dict(item_code=item.name)])
		reason = erpnext_reason(validate_item_type, doc, "is_sales_item", "sales")
	return reason


# ------------------------------------------------------------------------------------------ the unit


def whole_number_uoms(uoms: set) -> set:
	if not uoms:
		return set()
	return set(
		frappe.get_all("UOM", filters={"name": ("in", sorted(uoms)), "must_be_whole_number": 1}, pluck="name")
	)


def conversions(pairs: set, items: dict) -> set:
	"""The (item code, UOM) pairs whose UOM converts to the item's stock UOM: the same UOM, a conversion on the
	Item (or the template it is a variant of), or a global UOM Conversion Factor either way."""
	ok, ask = set(), set()
	for code, uom in pairs:
		item = items.get(code)
		if not item or not uom or uom == item.stock_uom:
			ok.add((code, uom))
		else:
			ask.add((code, uom))
	if not ask:
		return ok
	from erpnext.stock.doctype.item.item import get_uom_conv_factor

	on_item = {
		(row.parent.lower(), row.uom.lower())
		for row in frappe.get_all(
			"UOM Conversion Detail",
			filters={
				"parent": ("in", sorted({items[c].name for c, _u in ask})),
				"uom": ("in", sorted({u for _c, u in ask})),
			},
			fields=["parent", "uom"],
		)
	}
	for code, uom in ask:
		item = items[code]
		variant_of = frappe.get_cached_value("Item", item.name, "variant_of")
		if (item.name.lower(), uom.lower()) in on_item or (
			variant_of and frappe.db.exists("UOM Conversion Detail", {"parent": variant_of, "uom": uom})
		):
			ok.add((code, uom))
		elif flt(get_uom_conv_factor(uom, item.stock_uom)):
			ok.add((code, uom))
	return ok


def uom_refusal(line, item, whole_uoms: set, converts: set) -> str | None:
	uom, code = line.get("uom"), line.get("item_code")
	if not uom or not item:
		return None
	if (code, uom) not in converts:
		if not frappe.db.exists("UOM", uom):
			return _("UOM {0} does not exist.").format(uom)
		return _("UOM {0} has no conversion to the stock UOM {1} of item {2}: add it on the Item.").format(
			uom, item.stock_uom, item.name
		)
	if uom in whole_uoms and flt(line.get("qty")) != cint(flt(line.get("qty"))):
		from erpnext.utilities.transaction_base import validate_uom_is_integer

		row = frappe.new_doc("Sales Invoice Item")
		row.update({"item_code": item.name, "uom": uom, "qty": flt(line.get("qty")), "idx": 1})
		doc = frappe._dict(get_all_children=lambda parenttype=None: [row])
		return erpnext_reason(validate_uom_is_integer, doc, "uom", "qty")
	return None


# ------------------------------------------------------------------------------------------ the Sales Order


def sales_order_refusals(lines: Iterable) -> dict:
	"""{line key: ERPNext's reason} for the Delivery Note lines (`source_doctype`, `source_detail`) whose Sales
	Order is now Closed or On Hold: ERPNext refuses to invoice them
	(`SellingController.check_sales_order_on_hold_or_close`). One read for all the lines; ERPNext's check runs
	only for the lines that read finds. A returned line (negative qty, billed on a credit note) is not checked,
	as ERPNext does not check a return."""
	keys = {
		line.get("source_detail"): line_key(line, position)
		for position, line in enumerate(lines)
		if line.get("source_doctype") == "Delivery Note"
		and line.get("source_detail")
		and flt(line.get("qty")) > 0
	}
	if not keys:
		return {}
	DNItem, SalesOrder = frappe.qb.DocType("Delivery Note Item"), frappe.qb.DocType("Sales Order")
	rows = (
		frappe.qb.from_(DNItem)
		.join(SalesOrder)
		.on(SalesOrder.name == DNItem.against_sales_order)
		.select(DNItem.name, DNItem.against_sales_order)
		.where(DNItem.name.isin(sorted(keys)) & SalesOrder.status.isin(("Closed", "On Hold")))
		.run(as_dict=True)
	)
	if not rows:
		return {}
	from erpnext.controllers.selling_controller import SellingController

	found = {}
	for row in rows:
		invoice = frappe._dict(items=[frappe._dict(sales_order=row.against_sales_order)], is_return=0)
		reason = erpnext_reason(SellingController.check_sales_order_on_hold_or_close, invoice, "sales_order")
		if reason:
			found[keys[row.name]] = reason
	return found


# ------------------------------------------------------------------------------------------ ERPNext's message


def erpnext_reason(validator: Callable, *args) -> str | None:
	"""Run one of ERPNext's validators; its message (plain text) when it refuses, else None. The message it
	queued for the browser is taken back: a refusal found here is reported by the caller, not by a popup."""
	before = len(frappe.local.message_log)
	try:
		validator(*args)
	except frappe.ValidationError as e:
		del frappe.local.message_log[before:]
		return strip_html(str(e)).strip() or e.__class__.__name__
	return None
