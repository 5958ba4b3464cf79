"""Accumulating Generator Item rules: defaults, amount and who may add what (docs/architecture.md §2, §3).

One validation for every way a person's line enters a tab: the item form, REST and Data Import, `api.add_item`
and `api.add_items` (a batch, billing/intake.py). `check_lines` validates and completes lines in place, in one
order of checks, and refuses each bad line with the message the item form gives. What the checks read (each
distinct generator, Item, UOM and price) a `Lookups` reads once per call, so a batch of a thousand lines of five
items costs about the reads of five lines; ERPNext's per-line rules (line_check) run once for the whole batch.
`validate_item` (the item controller's validate) is `check_lines` on one line, throwing its refusal.

`after_items_added` is what follows new items on tabs, whichever path wrote them (README: Usage at scale): the
controller's after_insert calls it for one item, a batch once for all the generators it added to.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

import frappe
from frappe import _
from frappe.model.base_document import BaseDocument
from frappe.utils import flt, getdate, nowdate

from accumulating_billing import engine
from accumulating_billing.billing import line_check, onboarding, permissions, watch
from accumulating_billing.billing.item_status import BILLED, ON_HOLD, UNBILLED, VOIDED
from accumulating_billing.billing.money import amount_precision, rate_precision, rounding
from accumulating_billing.billing.plain_text import plain_text
from accumulating_billing.billing.state import to_decimal
from accumulating_billing.doctypes import GENERATOR

OPEN_STATUSES = ("Draft", "Active", "Paused")
# the columns' sizes (Data: varchar(140) characters; Small Text: text, 65,535 bytes)
CLIENT_REF_LENGTH = 140
DESCRIPTION_BYTES = 65535
GENERATOR_FIELDS = (
	"name",
	"status",
	"customer",
	"company",
	"currency",
	"selling_price_list",
	"end_condition",
	"end_date",
	"tab_watched",  # after the save: whether the tab is watched (billing/watch.py)
)


def generator_values(generator: str) -> frappe._dict | None:
	"""What an item takes from its generator (None when the generator does not exist)."""
	return frappe.db.get_value(GENERATOR, generator, list(GENERATOR_FIELDS), as_dict=True)


class Lookups:
	"""What checking lines reads, read once per distinct value for all the lines of one call: generators, UOMs,
	prices and amounts (Items come from Frappe's document cache). A line typed by a person is a call of one."""

	def __init__(self, generators: dict | None = None):
		self.generators: dict = dict(generators or {})
		self.uoms: dict = {}
		self.dates: dict = {}
		self.items: dict = {}
		self.prices: dict = {}
		self.amounts: dict = {}

	def generator(self, name) -> frappe._dict | None:
		key = name.lower() if isinstance(name, str) else name
		if key not in self.generators:
			self.generators[key] = generator_values(name) if name else None
		return self.generators[key]

	def date(self, value):
		"""Frappe's getdate of a service date (the day it is added when empty), once per distinct value."""
		if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
			return value
		key = value or ""
		if key not in self.dates:
			self.dates[key] = getdate(value or nowdate())
		return self.dates[key]

	def item(self, item_code) -> frappe._dict:
		"""find_item, once per distinct code (a refusal is not kept: each line asking for it is refused)."""
		if item_code not in self.items:
			self.items[item_code] = find_item(item_code)
		return self.items[item_code]

	def uom(self, name: str) -> str | None:
		if name not in self.uoms:
			self.uoms[name] = frappe.db.exists("UOM", name)
		return self.uoms[name]

	def price(self, line, generator) -> float:
		key = (generator.name, line.item_code, line.uom, str(line.service_date), flt(line.qty))
		if key not in self.prices:
			self.prices[key] = price_list_rate(line, generator)
		return self.prices[key]

	def amount(self, qty, rate, discount_percentage, currency) -> float:
		key = (flt(qty), flt(rate), flt(discount_percentage), currency)
		if key not in self.amounts:
			self.amounts[key] = flt(line_amount(qty, rate, discount_percentage, currency))
		return self.amounts[key]


def validate_item(doc) -> None:
	"""Validate and complete an item before it is saved. Throws a translated message; saves nothing.

	Every link of the item is checked here (the generator, the item, the UOM; customer, company and currency
	come from the generator), so `api.add_item` can skip Frappe's generic link check."""
	primed = doc.flags.generator_values
	lookups = Lookups({doc.generator.lower(): primed} if primed and doc.generator else None)
	check_lines([doc], lookups, from_generation=bool(doc.flags.from_generation), collect=False)
	doc.flags.generator_values = lookups.generator(doc.generator)  # after the save: is its tab watched
	if (
		doc.status == ON_HOLD
		and not doc.flags.from_generation
		and not doc.is_new()
		and not doc.get("question_issue")
	):
		# a line the customer questioned stays held: its Issue, or a Release, decides (billing/questions.py)
		release_on_edit(doc)


def check_lines(lines: list, lookups: Lookups, from_generation: bool = False, collect: bool = True) -> dict:
	"""Validate and complete `lines` (item documents, or frappe._dicts with the item's fields) in place, each
	check in the same order for every path. Returns {position: the refusal's message} of the lines refused (their
	messages are taken back from the message log); `collect=False` throws the first refusal instead (the item
	form). Reads each distinct generator, UOM and price once (`lookups`), and runs ERPNext's per-line rules once
	per company for all the lines that passed the rest."""
	refused: dict[int, str] = {}
	for position, line in enumerate(lines):
		refusing(refused, position, collect, check_line_values, line, lookups, from_generation)
	# what ERPNext would refuse on the invoice, refused now (before the price is looked up: a disabled item is
	# reported as disabled, not as unpriced); one check for all the lines of a company
	by_company = defaultdict(list)
	for position, line in enumerate(lines):
		if position not in refused:
			by_company[line.company].append(position)
	for company, positions in by_company.items():
		found = line_check.refusals([lines[p] for p in positions], company=company, cached=True)
		for k, position in enumerate(positions):
			reason = found.get(line_check.line_key(lines[position], k))
			if reason:
				refusing(refused, position, collect, refuse_line, reason)
	for position, line in enumerate(lines):
		if position not in refused:
			refusing(refused, position, collect, complete_amount, line, lookups)
	return refused


def refusing(refused: dict, position: int, collect: bool, check, *args) -> None:
	"""Run one check of one line: with `collect`, a refusal (frappe.ValidationError) is noted for the line and its
	message taken back from the message log, and the other lines go on; else it is raised."""
	if not collect:
		check(*args)
		return
	before = len(frappe.local.message_log)
	try:
		check(*args)
	except frappe.ValidationError as e:
		del frappe.local.message_log[before:]
		refused[position] = str(e) or type(e).__name__


def refuse_line(reason: str) -> None:
	frappe.throw(reason, title=_("ERPNext would refuse this line"))


def normalise_line(line) -> None:
	"""What a person typed, tidied before it is checked (every path: the form, add_item, add_items): plain text
	(billing/plain_text.py), the client reference as stored, within the columns' sizes."""
	keep_plain(line)
	line.client_ref = client_ref_of(line.client_ref)
	if line.client_ref and len(line.client_ref) > CLIENT_REF_LENGTH:
		frappe.throw(
			_("Client Reference is too long: at most {0} characters.").format(CLIENT_REF_LENGTH),
			title=_("Invalid client reference"),
		)
	# 4 bytes a character at most: only a text of more than a quarter of the column's bytes may not fit
	if (
		line.description
		and len(line.description) > DESCRIPTION_BYTES // 4
		and len(line.description.encode()) > DESCRIPTION_BYTES
	):
		frappe.throw(
			_("Description is too long: the database keeps at most {0} bytes of it.").format(
				DESCRIPTION_BYTES
			),
			title=_("Invalid description"),
		)


def check_line_values(line, lookups: Lookups, from_generation: bool) -> None:
	"""The line's own checks and defaults, before ERPNext's per-line rules: its generator (open, its customer,
	company and currency), service date, Item, UOM, quantity, rate and discount."""
	normalise_line(line)
	generator = lookups.generator(line.generator)
	if not generator:
		frappe.throw(_("Accumulating Generator {0} does not exist.").format(line.generator))
	if generator.status in engine.CLOSED_STATUSES and not from_generation:
		frappe.throw(
			_("Accumulating Generator {0} is {1}: no items can be added or changed.").format(
				frappe.bold(line.generator), _(generator.status)
			),
			title=_("Generator closed"),
		)
	line.generator = generator.name  # its own name, in its own case
	line.customer, line.company, line.currency = generator.customer, generator.company, generator.currency
	line.service_date = lookups.date(line.service_date)
	check_end_date(generator, line.service_date)
	item = lookups.item(line.item_code)
	line.item_code = item.name
	line.item_name = line.item_name or item.item_name
	line.uom = line.uom or item.stock_uom
	if line.uom != item.stock_uom:
		uom = lookups.uom(line.uom)
		if not uom:
			frappe.throw(_("UOM {0} does not exist.").format(frappe.bold(line.uom)), title=_("Unknown UOM"))
		line.uom = uom  # the UOM's own name, in its own case
	if flt(line.qty) <= 0:
		frappe.throw(_("Quantity must be greater than 0."), title=_("Invalid quantity"))
	if line.rate not in (None, "") and flt(line.rate) < 0:
		frappe.throw(_("Rate cannot be negative."), title=_("Invalid rate"))
	if not 0 <= flt(line.discount_percentage) <= 100:
		frappe.throw(_("Discount must be between 0 and 100 percent."))


def complete_amount(line, lookups: Lookups) -> None:
	"""The price list's rate when none was given (a new line), and the amount ERPNext will put on the invoice."""
	generator = lookups.generator(line.generator)
	is_new = line.is_new() if isinstance(line, BaseDocument) else True
	if line.rate in (None, "") and is_new:
		line.rate = lookups.price(line, generator)
	if flt(line.rate) < 0:
		frappe.throw(_("Rate cannot be negative."), title=_("Invalid rate"))
	line.amount = lookups.amount(line.qty, line.rate, line.discount_percentage, line.currency)
	reason = line_check.amount_refusal(line)
	if reason:
		frappe.throw(reason, title=_("ERPNext would refuse this line"))


def after_items_added(generators: dict) -> None:
	"""What follows new items on tabs, once per generator that received any, whichever path added them (the
	item form, add_item, a batch of add_items): the guided start's "Add an Item" step, and a look at each watched
	tab after the commit (billing/watch.py: threshold billing, Tab Reaches). `generators`: each generator's
	values as its lines were checked (GENERATOR_FIELDS), or None when they were not read: a tab known to be
	unwatched costs nothing more."""
	if generators:
		onboarding.complete(onboarding.ADD_ITEM)
		watch.items_added(
			[name for name, values in generators.items() if not values or values.get("tab_watched")]
		)


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
# a void's record: written only by billing/voiding.py
VOID_FIELDS = ("void_reason", "voided_by", "voided_on", "amended_from")
SOURCE_FIELDS = ("source_doctype", "source_name", "source_detail")


def protect_item(doc) -> None:
	"""Fields only the billing process sets, and the user's right to use the generator, checked on the server
	(a REST insert or update reaches here without the API's checks)."""
	before = None if doc.is_new() else doc.get_doc_before_save()
	if before:
		for fieldname in (*PROTECTED_FIELDS, *SOURCE_FIELDS, *VOID_FIELDS):
			doc.set(fieldname, before.get(fieldname))
		guard_source(before, "edited")
	else:
		for fieldname in SOURCE_FIELDS:  # only a submitted Timesheet or Delivery Note brings a source
			doc.set(fieldname, None)
		for fieldname in VOID_FIELDS:  # a new line is no void; a replacement is linked by voiding.amend
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
	"""An item that a Timesheet or Delivery Note brought follows its document: it is changed there. `doc`: the item
	document, or its values (a frappe._dict)."""
	if doc.get("source_doctype") and not (doc.get("flags") or {}).get("from_generation"):
		frappe.throw(
			_("Item {0} comes from {1} {2} and cannot be {3} by hand. Change or cancel the {1}.").format(
				doc.name, _(doc.source_doctype), doc.source_name, _(action)
			),
			title=_("Item from a source document"),
		)


def guard_billed(doc, action: str) -> None:
	"""Billed items are the audit trail of their invoice, voided items the record of their void: never edited or
	deleted."""
	if doc.flags.from_generation:
		return
	before = doc.get_doc_before_save() if action == "edit" else doc
	if before and before.status == BILLED:
		frappe.throw(
			_(
				"Item {0} is billed on Sales Invoice {1} and cannot be {2}. Cancel the invoice to release it."
			).format(doc.name, before.sales_invoice, _("edited") if action == "edit" else _("deleted")),
			title=_("Billed item"),
		)
	if before and before.status == VOIDED:
		frappe.throw(
			_("Item {0} is voided and cannot be {1}: it stays on the tab's history.").format(
				doc.name, _("edited") if action == "edit" else _("deleted")
			),
			title=_("Voided item"),
		)
