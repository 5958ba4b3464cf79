"""One check of a tab line against ERPNext's own per-line rules for a Sales Invoice Item (issue 19).

Every way a line enters a tab (add_item, Timesheets, Delivery Notes, late fees, copies, templates) and every
billing day asks the same question: would ERPNext refuse this line on a Sales Invoice, and why? The answer is
ERPNext's own message, raised by ERPNext's own validators wherever they exist:

- the Item: it exists, is enabled, is not past its end of life and is not a template with variants
  (`erpnext.stock.get_item_details.validate_item_details`), and it is a sales item
  (`erpnext.controllers.buying_controller.validate_item_type`);
- a qty in a UOM with *Must be Whole Number* is whole (`erpnext.utilities.transaction_base.validate_uom_is_integer`);
- the UOM exists and converts to the item's stock UOM (ERPNext silently bills a missing conversion at factor 1,
  so the app refuses it: the invoice would bill the wrong quantity of stock UOM);
- the qty is not zero (`AccountsController.validate_qty_is_not_zero`) and the discount is within the Item's
  maximum (`SellingController.validate_max_discount`);
- the rate is not negative and the rate, qty and amount fit ERPNext's Currency and Float columns (a bigger
  number is refused by the database with a traceback, not a message);
- a Delivery Note line whose Sales Order is Closed or On Hold
  (`SellingController.check_sales_order_on_hold_or_close`, as the Sales Invoice runs it on `sales_order`).

The cheap part (which lines are candidates) is done in a few batched reads for the whole tab; ERPNext's
validator is then called once per distinct item, and once per line only for the lines that are candidates, so
a tab of thousands of lines costs a handful of queries. `check_line` (one line typed by a person: the hot path
of `add_item`) reads the Item and the UOM from Frappe's document cache instead, so it costs no query at all
once they are cached.

`refusals(lines)` never throws: it returns {line key: reason}. `check_line(line)` throws ERPNext's message as a
`frappe.ValidationError` (for a person adding a line by hand).
"""

from collections.abc import Callable, Iterable

import frappe
from frappe import _
from frappe.utils import cint, flt, strip_html

ITEM_FIELDS = (
	"name",
	"item_name",
	"stock_uom",
	"disabled",
	"end_of_life",
	"is_sales_item",
	"has_variants",
	"variant_of",
	"max_discount",
)
# what a line's own checks read (the Sales Order of a Delivery Note line is checked per line)
CHECKED_FIELDS = ("item_code", "uom", "qty", "rate", "discount_percentage", "amount")
# Currency and Float columns are decimal(21, 9): 12 digits before the point
LARGEST = 10**12
DELIVERY_NOTE = "Delivery Note"


def check_line(line, company: str | None = None) -> None:
	"""Throw ERPNext's reason (translated) when it would refuse `line` on a Sales Invoice; nothing otherwise."""
	reason = refusals([line], company=company, cached=True).get(line_key(line, 0))
	if reason:
		frappe.throw(reason, title=_("ERPNext would refuse this line"))


def refusals(lines: Iterable, company: str | None = None, cached: bool = False) -> dict:
	"""{line key: ERPNext's reason} for each line ERPNext would refuse on a Sales Invoice.

	A line is a dict (or Document) with `item_code`, `uom`, `qty` and, where it has them, `rate`,
	`discount_percentage`, `amount`, `source_doctype` / `source_detail` and `name` (its key; else its position).
	A rate of None is one not known yet: its checks are skipped. `cached`: read the Items and UOMs from the
	document cache (for a few lines). Nothing is written and nothing is thrown."""
	lines = list(lines)
	if not lines:
		return {}
	# a tab repeats the same line many times (metered usage): each distinct line is checked once
	values_of = [tuple(map(line.get, CHECKED_FIELDS)) for line in lines]
	distinct = list(dict(zip(values_of, lines, strict=True)).values())
	codes = {line.get("item_code") for line in distinct if line.get("item_code")}
	items = cached_item_rows(codes) if cached else item_rows(codes)
	item_reasons = {
		code: item_refusal(code, items.get(code), company) for code in {l.get("item_code") for l in distinct}
	}
	uoms = {line.get("uom") for line in distinct if line.get("uom")}
	whole_uoms = cached_whole_number_uoms(uoms) if cached else whole_number_uoms(uoms)
	converts = conversions({(l.get("item_code"), l.get("uom")) for l in distinct}, items)
	reasons = {}
	for line in distinct:
		item = items.get(line.get("item_code"))
		reasons[tuple(map(line.get, CHECKED_FIELDS))] = (
			item_reasons.get(line.get("item_code"))
			or uom_refusal(line, item, whole_uoms, converts)
			or qty_refusal(line)
			or discount_refusal(line, item)
			or amount_refusal(line)
		)
	orders = sales_order_refusals(lines)
	found = {}
	for position, (line, values) in enumerate(zip(lines, values_of, strict=True)):
		reason = reasons[values] or orders.get(position)
		if reason:
			found[line_key(line, position)] = reason
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


def cached_item_rows(codes: set) -> dict:
	"""The Items by code from the document cache (cleared when an Item is saved), with the UOMs each converts
	from (`uoms`, lower case), so a warm check reads nothing from the database."""
	rows = {}
	for code in codes:
		doc = cached_item(code)
		if doc:
			row = frappe._dict({f: doc.get(f) for f in ITEM_FIELDS})
			row.uoms = {r.uom.lower() for r in doc.get("uoms") or [] if r.uom}
			rows[code] = row
	return rows


def cached_item(code: str):
	try:
		doc = frappe.get_cached_doc("Item", code)
	except frappe.DoesNotExistError:
		frappe.clear_last_message()
		return None
	if doc.name != code:
		# typed in another case: that cache entry is not the one saving the Item clears
		frappe.clear_document_cache("Item", code)
		doc = frappe.get_cached_doc("Item", doc.name)
	return doc


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
		reason = erpnext_reason(
			validate_item_type, invoice_of(frappe._dict(item_code=item.name)), "is_sales_item", "sales"
		)
	return reason


# ------------------------------------------------------------------------------------------ the unit


def whole_number_uoms(uoms: set) -> set:
	if not uoms:
		return set()
	return set(
		frappe.get_all("UOM", filters={"name": ("in", sorted(uoms)), "must_be_whole_number": 1}, pluck="name")
	)


def cached_whole_number_uoms(uoms: set) -> set:
	return {uom for uom in uoms if cint(frappe.get_cached_value("UOM", uom, "must_be_whole_number"))}


def conversions(pairs: set, items: dict) -> set:
	"""The (item code, UOM) pairs whose UOM converts to the item's stock UOM: the same UOM, a conversion on the
	Item (or the template it is a variant of), or a global UOM Conversion Factor either way."""
	ok, ask = set(), set()
	for code, uom in pairs:
		item = items.get(code)
		if not item or not uom or uom.lower() == (item.stock_uom or "").lower():
			ok.add((code, uom))
		elif "uoms" in item and uom.lower() in item.uoms:
			ok.add((code, uom))  # on the cached Item
		else:
			ask.add((code, uom))
	if not ask:
		return ok
	from erpnext.stock.doctype.item.item import get_uom_conv_factor

	on_items = {
		(row.parent.lower(), row.uom.lower())
		for row in frappe.get_all(
			"UOM Conversion Detail",
			filters={
				"parenttype": "Item",
				"parent": ("in", sorted({n for c, _u in ask for n in item_and_template(items[c])})),
				"uom": ("in", sorted({u for _c, u in ask})),
			},
			fields=["parent", "uom"],
		)
	}
	for code, uom in ask:
		if any((name.lower(), uom.lower()) in on_items for name in item_and_template(items[code])):
			ok.add((code, uom))
		elif flt(get_uom_conv_factor(uom, items[code].stock_uom)):
			ok.add((code, uom))
	return ok


def item_and_template(item) -> list[str]:
	return [item.name, item.variant_of] if item.variant_of else [item.name]


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


# ------------------------------------------------------------------------------------------ qty, discount, money


def qty_refusal(line) -> str | None:
	if flt(line.get("qty")):
		return None
	from erpnext.controllers.accounts_controller import AccountsController

	doc = invoice_of(frappe._dict(item_code=line.get("item_code"), qty=flt(line.get("qty")), idx=1))
	return erpnext_reason(AccountsController.validate_qty_is_not_zero, doc)


def discount_refusal(line, item) -> str | None:
	if (
		not item
		or not flt(item.max_discount)
		or flt(line.get("discount_percentage")) <= flt(item.max_discount)
	):
		return None
	from erpnext.controllers.selling_controller import SellingController

	row = frappe._dict(item_code=item.name, discount_percentage=flt(line.get("discount_percentage")))
	return erpnext_reason(SellingController.validate_max_discount, invoice_of(row))


def amount_refusal(line) -> str | None:
	"""A negative rate (the app never bills one: a return is a negative qty at its positive rate), or a rate,
	qty or amount too large for ERPNext's columns. A rate not known yet (None) is not checked."""
	rate = line.get("rate")
	if rate is None or rate == "":
		return None
	rate, qty = flt(rate), flt(line.get("qty"))
	if rate < 0:
		return _("Rate cannot be negative.")
	amount = line.get("amount")
	amount = qty * rate if amount is None or amount == "" else flt(amount)
	if max(abs(rate), abs(qty), abs(amount), abs(qty * rate)) >= LARGEST:
		return _(
			"Rate {0} x quantity {1} is too large: ERPNext keeps rates, quantities and amounts below {2}."
		).format(rate, qty, frappe.format(LARGEST, "Int"))
	return None


# ------------------------------------------------------------------------------------------ the Sales Order


def sales_order_refusals(lines: list) -> dict:
	"""{position: ERPNext's reason} for the Delivery Note lines whose Sales Order is Closed or On Hold: ERPNext
	refuses to invoice them (`check_sales_order_on_hold_or_close`), unless the line is a return. Two reads for
	all the lines; ERPNext's own check only for those it refuses."""
	details = {
		position: line.get("source_detail")
		for position, line in enumerate(lines)
		if line.get("source_doctype") == DELIVERY_NOTE and line.get("source_detail")
	}
	if not details:
		return {}
	orders = dict(
		frappe.get_all(
			"Delivery Note Item",
			filters={"name": ("in", sorted(set(details.values()))), "against_sales_order": ("is", "set")},
			fields=["name", "against_sales_order"],
			as_list=True,
		)
	)
	if not orders:
		return {}
	stopped = set(
		frappe.get_all(
			"Sales Order",
			filters={"name": ("in", sorted(set(orders.values()))), "status": ("in", ("Closed", "On Hold"))},
			pluck="name",
		)
	)
	if not stopped:
		return {}
	from erpnext.controllers.selling_controller import SellingController

	found = {}
	for position, detail in details.items():
		order = orders.get(detail)
		if order in stopped:
			doc = invoice_of(frappe._dict(sales_order=order), is_return=flt(lines[position].get("qty")) < 0)
			reason = erpnext_reason(SellingController.check_sales_order_on_hold_or_close, doc, "sales_order")
			if reason:
				found[position] = reason
	return found


# ------------------------------------------------------------------------------------------ ERPNext's message


class InvoiceOf:
	"""The least of a Sales Invoice that ERPNext's controller methods read (`items`, `is_return`, `flags`,
	`get`), holding one row. (A frappe._dict would not do: its `items` is dict.items.)"""

	doctype = "Sales Invoice"

	def __init__(self, row, is_return: bool = False):
		self.items = [row]
		self.is_return = cint(is_return)
		self.flags = frappe._dict()

	def get(self, key: str, default=None):
		return getattr(self, key, default)


def invoice_of(row, is_return: bool = False) -> InvoiceOf:
	return InvoiceOf(row, is_return)


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
