"""Public, permission-checked API (docs/architecture.md §14). Every method checks permission on the server."""

import frappe
from frappe import _
from frappe.rate_limiter import rate_limit
from frappe.utils import getdate, nowdate

from accumulating_billing.billing import (
	assignment,
	bulk_create,
	generation,
	held,
	intake,
	items,
	lifecycle,
	onboarding,
	payers,
	payments,
	preview,
	questions,
	sources,
	tab_view,
	voiding,
	watch,
)
from accumulating_billing.billing.item_status import ON_HOLD, UNBILLED
from accumulating_billing.billing.permissions import permitted_generator, permitted_item
from accumulating_billing.doctypes import GENERATOR, ITEM, TEMPLATE

MANAGERS = frozenset(("Accounts Manager", "System Manager"))
# questions from one address per hour (Frappe's rate_limit, as the kickoff form's submissions)
QUESTIONS_PER_HOUR = 20


@frappe.whitelist(methods=["POST"])
def add_item(
	generator: str,
	item_code: str,
	qty: float = 1,
	rate: float | None = None,
	description: str | None = None,
	service_date: str | None = None,
	client_ref: str | None = None,
	discount_percentage: float | None = None,
	uom: str | None = None,
) -> str:
	"""Add a billable item to a generator's running tab; returns the item's name.
	The same `client_ref` on the same generator returns the existing item instead of adding it twice."""
	check_can_add(generator)
	values = items.generator_values(generator)
	client_ref = items.client_ref_of(client_ref)  # as it is stored: the same text finds the same item
	if client_ref:
		existing = frappe.db.get_value(ITEM, {"generator": generator, "client_ref": client_ref})
		if existing:
			return existing
	doc = frappe.get_doc(
		{
			"doctype": ITEM,
			"generator": generator,
			"item_code": item_code,
			"qty": qty,
			"rate": rate,
			"description": description,
			"service_date": service_date,
			"client_ref": client_ref,
			"discount_percentage": discount_percentage or 0,
			"uom": uom,
		}
	)
	# validate_item checks every link of the item itself, with the generator's values read above
	doc.flags.generator_values = values
	doc.flags.ignore_links = True
	try:
		doc.insert()
	except frappe.UniqueValidationError:
		# a concurrent call with the same client_ref won the race: return its item
		frappe.db.rollback()
		existing = frappe.db.get_value(ITEM, {"generator": generator, "client_ref": client_ref})
		if existing:
			frappe.clear_messages()
			return existing
		raise
	return doc.name


@frappe.whitelist()
@frappe.validate_and_sanitize_search_inputs
def generator_search(
	doctype: str, txt: str, searchfield: str, start: int, page_len: int, filters: str | dict | None = None
) -> list:
	"""The link query of an item's generator (the item form, the dialogs): the open generators the user may add
	items to, by name, title or customer. Contributors see only their tabs (billing/permissions.py); the
	caller's `filters` are not applied (a filter on a field the caller cannot read would tell them something)."""
	frappe.has_permission(ITEM, "create", throw=True)
	return items.open_generators(txt, start, page_len)


@frappe.whitelist(methods=["POST"])
def add_items(items: list | str) -> list[dict]:
	"""Add a batch of items (at most 1,000; each a dict of `add_item`'s arguments) to their tabs. Answers a list
	in the same order: {"client_ref", "name"} for each item on its tab, {"client_ref", "error"} with the message
	`add_item` would give for each refused one. An item whose client_ref is already on its tab answers that item.
	Every check of `add_item` is made (permission per generator: unknown and forbidden alike)."""
	frappe.has_permission(ITEM, "create", throw=True)
	entries = frappe.parse_json(items) if isinstance(items, str) else items
	if not isinstance(entries, list):
		frappe.throw(_("Items must be a JSON list of items."))
	return intake.add_items(entries)


@frappe.whitelist(methods=["POST"])
def void_item(item: str, reason: str | None = None) -> None:
	"""Void an unbilled (or held) item: it stays, Voided, with the reason, who and when, and is never billed.
	Contributors: only items they added, within the window of Accumulating Billing Settings."""
	voiding.void(permitted_item(item, "read"), reason)


@frappe.whitelist(methods=["POST"])
def amend_item(
	item: str,
	qty: float | None = None,
	rate: float | None = None,
	description: str | None = None,
	service_date: str | None = None,
) -> str:
	"""Void an unbilled (or held) item and add its replacement with the values given (the others kept); returns
	the replacement's name. The replacement's `amended_from` is the item. Same rules as void_item."""
	changes = {"qty": qty, "rate": rate, "description": description, "service_date": service_date}
	return voiding.amend(permitted_item(item, "read"), changes)


def check_can_add(generator: str) -> None:
	"""Create on items, and the generator visible to the user (user permissions on Customer/Generator); an
	unknown generator is refused like a forbidden one (permitted_generator)."""
	frappe.has_permission(ITEM, "create", throw=True)
	permitted_generator(generator, "select", "read")


@frappe.whitelist(methods=["POST"])
def generate_now(generator: str, posting_date: str | None = None) -> str | None:
	"""Bill the unbilled items dated up to today (or `posting_date`) now; returns the Sales Invoice name, or None
	with the reason shown as a message."""
	permitted_generator(generator, "write")
	frappe.has_permission("Sales Invoice", "create", throw=True)
	if (
		posting_date
		and getdate(posting_date) != getdate(nowdate())
		and not MANAGERS & set(frappe.get_roles())
	):
		frappe.throw(
			_("Only an Accounts Manager may generate an invoice dated another day."), frappe.PermissionError
		)
	invoice, message = generation.generate_now(generator, posting_date)
	if not invoice:
		frappe.msgprint(message, title=_("Nothing to bill"), indicator="orange")
	else:
		onboarding.complete(onboarding.GENERATE_NOW)
	return invoice


@frappe.whitelist(methods=["POST"])
def pause(generator: str, resume_date: str | None = None) -> None:
	permitted_generator(generator, "write")
	lifecycle.pause(generator, resume_date)


@frappe.whitelist(methods=["POST"])
def resume(generator: str, resume_date: str) -> str | None:
	permitted_generator(generator, "write")
	if not resume_date or getdate(resume_date) < getdate(nowdate()):
		frappe.throw(_("The resume date cannot be in the past: paused occurrences are not caught up."))
	next_date = lifecycle.resume(generator, resume_date)
	return str(next_date) if next_date else None


@frappe.whitelist(methods=["GET", "POST"])
def get_tab(generator: str) -> dict:
	"""The running tab: the first page of its unbilled items with their count and total (by the database), the
	next invoice as ERPNext would build it, the held lines (first page), the voided ones and the history of
	skipped, failed and missed occurrences. Read by GET or POST; a GET writes nothing."""
	doc = frappe.get_doc(GENERATOR, permitted_generator(generator, "read"))
	unbilled = tab_view.paged(doc.name, UNBILLED)
	on_hold = tab_view.paged(doc.name, ON_HOLD)
	next_invoice = preview.next_invoice(doc)
	if next_invoice["lines"]:
		# the person sees an invoice-to-be with lines (the form posts; a GET writes nothing: onboarding.complete)
		onboarding.complete(onboarding.PREVIEW)
	return {
		"items": unbilled.pop("rows"),
		"page": unbilled,  # start, page_length, count, amount
		**next_invoice,
		"currency": doc.currency,
		"next_creation_date": doc.next_creation_date,
		"history": preview.history(doc.name),
		# the tab's voided lines with reason, who and when, and their replacements (newest first)
		"voided": voiding.voided_lines(doc.name),
		# the lines a billing day held, with ERPNext's reason (staff only: the portal never shows them)
		"held": on_hold.pop("rows"),
		"held_page": on_hold,
		# the payer's payments (Invoice To, else the customer) only for those who may read payments (not, e.g.,
		# contributors)
		"advance": payments.advance_balance(payers.payer_of(doc), doc.company)
		if frappe.has_permission("Payment Entry", "read")
		else None,
		# Bill When Unbilled Reaches and how much of it the tab has used (the form's progress bar)
		"threshold": watch.threshold_progress(doc.name, doc.bill_when_unbilled_reaches, doc.currency),
		# one invoice per payer (combined.py): whom it bills, and the payer's other tabs it shares invoices with
		"payer": payers.payer_of(doc),
		"partners": payers.partners(doc),
	}


@frappe.whitelist()
def get_tab_items(generator: str, status: str = UNBILLED, start: int = 0, page_length: int = 100) -> dict:
	"""One page of the tab's unbilled (or held: `status` On Hold) items, oldest first: {"rows", "start",
	"page_length", "count", "amount"} (count and amount of all of them, by the database)."""
	name = permitted_generator(generator, "read")
	if status not in tab_view.PAGED_STATUSES:
		frappe.throw(_("Status must be one of {0}.").format(", ".join(tab_view.PAGED_STATUSES)))
	return tab_view.paged(name, status, start, page_length)


@frappe.whitelist(methods=["POST"])
def release_held(generator: str, items: list[str] | str | None = None) -> list[str]:
	"""Check held lines of the generator again (`items`: their names; none = all of them) and put back to
	Unbilled the ones ERPNext now accepts: the next invoice bills them. Returns the names released; the lines
	still refused stay On Hold, with ERPNext's reason as it is now (shown as a message)."""
	permitted_generator(generator, "write")
	names = parse_names(items)
	released, refused = held.release(generator, names)
	if refused:
		frappe.msgprint(
			"<br>".join(frappe.utils.escape_html(f"{name}: {reason}") for name, reason in refused.items()),
			title=_("{0} line(s) still refused by ERPNext").format(len(refused)),
			indicator="orange",
		)
	return released


def parse_names(items: list[str] | str | None) -> list[str] | None:
	"""The item names of `items`: a list, a JSON list or one name; None (or empty) means all of them."""
	if items in (None, "", []):
		return None
	if isinstance(items, str):
		try:
			items = frappe.parse_json(items) if items.strip().startswith("[") else [items]
		except ValueError:
			items = None
	if not isinstance(items, list) or not all(isinstance(name, str) and name for name in items):
		frappe.throw(_("Items must be a list of line names."))
	return list(dict.fromkeys(items))


@frappe.whitelist(methods=["POST"])
@rate_limit(limit=QUESTIONS_PER_HOUR, seconds=60 * 60)
def question_line(item: str, message: str) -> str:
	"""The portal's *Question this line*: a portal user of the line's customer asks about an unbilled line of the
	running tab. Makes an ERPNext Issue (raised by them, for the customer) and holds the line until the Issue is
	resolved or closed; returns the Issue's name. Anyone else, and an unknown line, get the same refusal."""
	questions.questionable_line(item, frappe.session.user)
	return questions.ask(item, message)


@frappe.whitelist(methods=["POST"])
def sync_sources(generator: str) -> list[str]:
	"""Add the submitted, unbilled Timesheet logs and Delivery Note lines this generator receives and no tab
	holds yet (documents from before the setting was turned on); returns the names of the items added."""
	doc = frappe.get_doc(GENERATOR, permitted_generator(generator, "write"))
	# it reads the customer's Timesheets and Delivery Notes and copies their descriptions onto the tab
	if doc.accumulate_timesheets:
		frappe.has_permission("Timesheet", "read", throw=True)
	if doc.accumulate_delivery_notes:
		frappe.has_permission("Delivery Note", "read", throw=True)
	title = _("Syncing Timesheets and Delivery Notes")

	def progress(done, total, source_name):
		frappe.publish_progress(done * 100 / total, title=title, description=source_name)

	return sources.sync_generator(generator, progress=progress)


@frappe.whitelist(methods=["POST"])
def archive(generator: str) -> None:
	"""Archive a generator: it stops billing and leaves the default list; its invoices and items stay."""
	permitted_generator(generator, "write")
	lifecycle.set_archived(generator, True)


@frappe.whitelist(methods=["POST"])
def restore(generator: str) -> str:
	"""Restore an Archived generator to the status it had; returns that status."""
	permitted_generator(generator, "write")
	return lifecycle.set_archived(generator, False)


@frappe.whitelist(methods=["POST"])
def assign_template(template: str, customer: str) -> str:
	"""Create an Active generator for `customer` from `template`; returns its name. A second assignment of the
	same template to the same customer (while the first is Draft, Active or Paused) is refused."""
	assignment.check_can_create([customer], template=template)
	return assignment.assign(template, customer)


@frappe.whitelist(methods=["POST"])
def create_for_customers(
	customers: list[str] | str, template: str | None = None, generator: str | None = None
) -> dict:
	"""One generator per customer, from a template or as a copy of a generator, in a background job (hundreds
	of customers never time out). Returns {"job", "total"}; the job shows its progress to the caller in real time
	and ends with {"created": [names], "refused": [{"customer", "reason"}]}, also readable through
	create_for_customers_status(job)."""
	names = bulk_create.customer_names(customers)
	assignment.check_can_create(names, template, generator)
	return bulk_create.start(names, template=template, generator=generator)


@frappe.whitelist()
def create_for_customers_status(job: str) -> dict:
	"""The state of the caller's own *Create for several customers* job: status (Queued, Running, Finished,
	Failed), total, done, created, refused, error."""
	return bulk_create.status(job)
