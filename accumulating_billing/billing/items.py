"""Accumulating Generator Item rules: defaults, amount and who may add what (docs/architecture.md §2, §3)."""

from decimal import Decimal

import frappe
from frappe import _
from frappe.utils import flt, getdate, nowdate

from accumulating_billing import engine
from accumulating_billing.billing import line_check, permissions
from accumulating_billing.billing.item_status import ON_HOLD
from accumulating_billing.billing.money import amount_precision, rate_precision, rounding
from accumulating_billing.billing.plain_text import plain_text
from accumulating_billing.billing.state import to_decimal

CLOSED_STATUSES = ("Completed", "Archived")
OPEN_STATUSES = ("Draft", "Active", "Paused")
GENERATOR = "Accumulating Generator"


def generator_values(generator: str) -> frappe._dict | None:
	"""What an item takes from its generator (None when the generator does not exist)."""
	return frappe.db.get_value(
		"Accumulating Generator",
		generator,
		[
			"name",
			"status",
			"customer",
			"company",
			"currency",
			"selling_price_list",
			"end_condition",
			"end_date",
			"tab_watched",
		],
		as_dict=True,
	)


def validate_item(doc) -> None:
	"""Validate and complete an item before it is saved. Throws a translated message; saves nothing.

	Every link of the item is checked here (the generator, the item, the UOM; customer, company and currency
	come from the generator), so `api.add_item` can skip Frappe's generic link check."""
	generator = doc.flags.generator_values or generator_values(doc.generator)
	if not generator:
		frappe.throw(_("Accumulating Generator {0} does not exist.").format(doc.generator))
	doc.flags.generator_values = generator  # after the save: whether its tab is watched (billing/watch.py)
	if generator.status in CLOSED_STATUSES and not doc.flags.from_generation:
		frappe.throw(
			_("Accumulating Generator {0} is {1}: no items can be added or changed.").format(
				frappe.bold(doc.generator), _(generator.status)
			),
			title=_("Generator closed"),
		)
	doc.generator = generator.name  # its own name, in its own case
	keep_plain(doc)
	doc.customer, doc.company, doc.currency = generator.customer, generator.company, generator.currency
	doc.service_date = getdate(doc.service_date or nowdate())
	check_end_date(generator, doc.service_date)
	item = find_item(doc.item_code)
	doc.item_code = item.name
	doc.item_name = doc.item_name or item.item_name
	doc.uom = doc.uom or item.stock_uom
	if doc.uom != item.stock_uom:
		uom = frappe.db.exists("UOM", doc.uom)
		if not uom:
			frappe.throw(_("UOM {0} does not exist.").format(frappe.bold(doc.uom)), title=_("Unknown UOM"))
		doc.uom = uom  # the UOM's own name, in its own case
	if flt(doc.qty) <= 0:
		frappe.throw(_("Quantity must be greater than 0."), title=_("Invalid quantity"))
	if doc.rate not in (None, "") and flt(doc.rate) < 0:
		frappe.throw(_("Rate cannot be negative."), title=_("Invalid rate"))
	if not 0 <= flt(doc.discount_percentage) <= 100:
		frappe.throw(_("Discount must be between 0 and 100 percent."))
	# what ERPNext would refuse on the invoice, refused now (before the price is looked up: a disabled item
	# is reported as disabled, not as unpriced)
	line_check.check_line(doc, generator.company)
	if doc.rate in (None, "") and doc.is_new():
		doc.rate = price_list_rate(doc, generator)
	if flt(doc.rate) < 0:
		frappe.throw(_("Rate cannot be negative."), title=_("Invalid rate"))
	doc.amount = flt(line_amount(doc.qty, doc.rate, doc.discount_percentage, doc.currency))
	reason = line_check.amount_refusal(doc)
	if reason:
		frappe.throw(reason, title=_("ERPNext would refuse this line"))
	if (
		doc.status == ON_HOLD
		and not doc.flags.from_generation
		and not doc.is_new()
		and not doc.get("question_issue")
	):
		# a line the customer questioned stays held: its Issue, or a Release, decides (billing/questions.py)
		release_on_edit(doc)


def release_on_edit(doc) -> None:
	"""A held line corrected by hand passes the check again. Whoever may change the generator (billing staff)
	puts it back on the tab by saving it, as Release does, with a line in the generation log (written by the
	controller's on_update: held.log_release_on_edit); a contributor's save keeps it On Hold: releasing is the
	generator's business (Release, or a save by staff)."""
	if permissions.may_use(doc.generator, "write"):
		doc.status, doc.hold_reason = "Unbilled", None
		doc.flags.released_on_edit = True
	else:
		frappe.msgprint(
			_("Line {0} stays on hold until someone who may change the generator releases it.").format(
				doc.name
			),
			indicator="orange",
		)


def open_generators(txt: str | None, start: int, page_len: int) -> list:
	"""[name, title, customer name] of the open generators the session user may add items to, matching `txt`
	by name, title or customer name; a contributor's tabs only (permissions.tab_condition)."""
	user = frappe.session.user
	like = f"%{txt or ''}%"
	if not permissions.is_contributor_only(user):
		return frappe.get_list(
			GENERATOR,
			filters={"status": ("in", OPEN_STATUSES)},
			or_filters={"name": ("like", like), "title": ("like", like), "customer_name": ("like", like)},
			fields=["name", "title", "customer_name"],
			order_by="title asc, name asc",
			limit_start=start,
			limit_page_length=page_len,
			as_list=True,
		)
	return frappe.db.sql(
		f"""select `name`, `title`, `customer_name` from `tab{GENERATOR}`
		where `status` in %(statuses)s
			and (`name` like %(like)s or `title` like %(like)s or `customer_name` like %(like)s)
			and {permissions.tab_condition(user)}
		order by `title` asc, `name` asc limit %(start)s, %(page_len)s""",
		{"statuses": OPEN_STATUSES, "like": like, "start": start, "page_len": page_len},
	)


# what a person writes on a tab item: plain text, whoever writes it and however it arrives (plain_text.py)
TEXT_FIELDS = ("description", "item_name", "client_ref")


def keep_plain(values) -> None:
	"""Store the item's text fields as plain text (a document or a dict of values)."""
	for fieldname in TEXT_FIELDS:
		value = values.get(fieldname)
		if not value:
			continue
		if isinstance(values, dict):
			values[fieldname] = plain_text(value)
		else:
			values.set(fieldname, plain_text(value))


def client_ref_of(value) -> str | None:
	"""A client reference as stored (plain text, trimmed; None when empty): the key of add_item's idempotency."""
	return plain_text(value) or None if value else None


def check_end_date(generator, service_date) -> None:
	"""An item dated after the end date of an On Date generator would never be billed: refused."""
	if (
		generator.end_condition == "On Date"
		and generator.end_date
		and getdate(service_date) > getdate(generator.end_date)
	):
		frappe.throw(
			_("Service date {0} is after the generator's end date {1}.").format(
				frappe.format(service_date, "Date"), frappe.format(generator.end_date, "Date")
			),
			title=_("Invalid service date"),
		)


def net_rate(rate, discount_percentage, currency: str | None) -> Decimal:
	"""The discounted unit rate, rounded to the rate precision exactly as ERPNext rounds an invoice line."""
	return engine.round_money(
		to_decimal(rate) * (100 - to_decimal(discount_percentage)) / 100, rate_precision(currency), rounding()
	)


def line_amount(qty, rate, discount_percentage, currency: str | None, allow_return: bool = False) -> Decimal:
	"""qty x discounted rate, in the currency's precision: the amount ERPNext will put on the invoice line.
	`allow_return`: a negative qty (a returned delivery) is admitted."""
	return engine.line_amount(
		to_decimal(qty),
		net_rate(rate, discount_percentage, currency),
		Decimal(0),
		amount_precision(currency),
		rounding(),
		allow_return=allow_return,
	)


PROTECTED_FIELDS = (
	"status",
	"hold_reason",
	"hold_notice",
	"sales_invoice",
	"added_by",
	"customer",
	"question_issue",
)
SOURCE_FIELDS = ("source_doctype", "source_name", "source_detail")


def protect_item(doc) -> None:
	"""Fields only the billing process sets, and the user's right to use the generator, checked on the server
	(a REST insert or update reaches here without the API's checks)."""
	before = None if doc.is_new() else doc.get_doc_before_save()
	if before:
		for fieldname in (*PROTECTED_FIELDS, *SOURCE_FIELDS):
			doc.set(fieldname, before.get(fieldname))
		guard_source(before, "edited")
	else:
		for fieldname in SOURCE_FIELDS:  # only a submitted Timesheet or Delivery Note brings a source
			doc.set(fieldname, None)
		doc.hold_reason = doc.hold_notice = None  # only a check that holds the line gives a reason
		doc.question_issue = None  # only the customer's question names an Issue
	doc.client_ref = client_ref_of(doc.client_ref)
	# add_item (the hot path) read the generator already; a REST save reads whether it exists
	exists = doc.flags.generator_values or (doc.generator and frappe.db.exists(GENERATOR, doc.generator))
	if not exists:
		return  # validate_item names the missing generator
	if not permissions.may_use(doc.generator, "select", "read"):
		frappe.throw(
			_("You are not permitted to add items to {0}.").format(doc.generator), frappe.PermissionError
		)


def find_item(item_code: str | None) -> frappe._dict:
	"""The Item (its own name, item name and stock UOM) from the document cache; throws when there is none.
	Whether it can be billed is line_check's question."""
	if not item_code:
		frappe.throw(_("Item is required."))
	item = item_of(item_code)
	if not item:
		frappe.throw(_("Item {0} does not exist.").format(frappe.bold(item_code)), title=_("Unknown item"))
	return item


def item_of(item_code: str | None) -> frappe._dict | None:
	"""The Item's name, item name and stock UOM from the document cache (adding items is the hot path of the
	app), or None when there is no such Item. Never throws."""
	doc = line_check.cached_item(item_code) if item_code else None
	if not doc:
		return None
	return frappe._dict(name=doc.name, item_name=doc.item_name, stock_uom=doc.stock_uom)


def price_list_rate(doc, generator) -> float:
	"""The customer's price (or the list's general price) for the item on its service date."""
	from erpnext.stock.get_item_details import get_price_list_rate_for

	price_list = generator.selling_price_list
	if not price_list:
		frappe.throw(_("Enter a rate: generator {0} has no price list.").format(doc.generator))
	stock_uom = frappe.get_cached_value("Item", doc.item_code, "stock_uom")
	rate = get_price_list_rate_for(
		frappe._dict(
			price_list=price_list,
			customer=generator.customer,
			uom=doc.uom,
			stock_uom=stock_uom,
			transaction_date=doc.service_date,
			qty=doc.qty,
		),
		doc.item_code,
	)
	if rate is None:
		frappe.throw(
			_("No rate given and no price for item {0} in price list {1}.").format(
				frappe.bold(doc.item_code), frappe.bold(price_list)
			),
			title=_("Missing rate"),
		)
	return flt(rate)


def guard_source(doc, action: str) -> None:
	"""An item that a Timesheet or Delivery Note brought follows its document: it is changed there."""
	if doc.get("source_doctype") and not doc.flags.from_generation:
		frappe.throw(
			_("Item {0} comes from {1} {2} and cannot be {3} by hand. Change or cancel the {1}.").format(
				doc.name, _(doc.source_doctype), doc.source_name, _(action)
			),
			title=_("Item from a source document"),
		)


def guard_billed(doc, action: str) -> None:
	"""Billed items are the audit trail of their invoice: never edited or deleted."""
	if doc.flags.from_generation:
		return
	before = doc.get_doc_before_save() if action == "edit" else doc
	if before and before.status == "Billed":
		frappe.throw(
			_(
				"Item {0} is billed on Sales Invoice {1} and cannot be {2}. Cancel the invoice to release it."
			).format(doc.name, before.sales_invoice, _("edited") if action == "edit" else _("deleted")),
			title=_("Billed item"),
		)
