"""What a portal user (a customer's contact) may see: their own generators' running tabs, never internal notes,
drafts or another customer's data (docs/architecture.md §13). ERPNext decides which customers a user speaks for through the
Customer's Portal Users."""

import frappe
from frappe import _
from frappe.query_builder import Case
from frappe.query_builder.functions import Count, Sum
from frappe.utils import cint, flt, getdate, nowdate

from accumulating_billing.billing import watch
from accumulating_billing.billing.item_status import ON_HOLD, UNBILLED
from accumulating_billing.billing.payments import advance_balances
from accumulating_billing.doctypes import GENERATOR, ITEM

VISIBLE_STATUSES = ("Active", "Paused", "Completed")
PAGE_LENGTH = 50  # items of one tab per page of /running-tab


def customers_of(user: str | None = None) -> list[str]:
	user = user or frappe.session.user
	if user == "Guest":
		return []
	PortalUser = frappe.qb.DocType("Portal User")
	return (
		frappe.qb.from_(PortalUser)
		.select(PortalUser.parent)
		.where((PortalUser.user == user) & (PortalUser.parenttype == "Customer"))
	).run(pluck=True)


def running_tabs(user: str | None = None, pages: dict | None = None) -> list[dict]:
	"""Per generator of the user's customers, and per tab billed to them (*Invoice To*, read only): its title,
	currency, next invoice date, a page of its unbilled items (date, description, qty, amount; PAGE_LENGTH of them,
	oldest first, from `pages`[generator] or the first), their count and total (by the database), the advance paid
	and the invoices to pay (the payer's: shown to the payer's users). Only fields meant for the customer are read;
	one query per kind of data, whatever the number of tabs, items and invoices."""
	customers = customers_of(user)
	if not customers:
		return []
	generators = frappe.get_all(
		GENERATOR,
		filters={"status": ("in", VISIBLE_STATUSES)},
		or_filters={"customer": ("in", customers), "invoice_customer": ("in", customers)},
		fields=[
			"name",
			"title",
			"customer",
			"company",
			"customer_name",
			"invoice_customer",
			"invoice_customer_name",
			"currency",
			"status",
			"next_creation_date",
			"allow_partial_payments",
			"third_party_payment_url",
			"bill_when_unbilled_reaches",
		],
		order_by="customer_name asc, title asc",
	)
	if not generators:
		return []
	names = [gen.name for gen in generators]
	starts = {name: max(cint((pages or {}).get(name)), 0) for name in names}
	totals = item_totals(names)
	pages_of = item_pages(starts)
	to_pay = invoices_to_pay(generators, customers)
	# what was paid in advance is the payer's (Invoice To, else the customer), shown to those who pay
	payer_of = {gen.name: gen.invoice_customer or gen.customer for gen in generators}
	advances = advance_balances(
		{(payer_of[gen.name], gen.company) for gen in generators if payer_of[gen.name] in customers}
	)
	# Bill When Unbilled Reaches: how much of it each watched tab has used (one read for all of them)
	watched = [gen.name for gen in generators if flt(gen.bill_when_unbilled_reaches) > 0]
	used = watch.unbilled_totals(watched, getdate(nowdate())) if watched else {}
	tabs = []
	for gen in generators:
		count, total = totals.get(gen.name, (0, 0.0))
		if gen.status == "Completed" and not count and not to_pay[gen.name]:
			continue
		tabs.append(
			{
				"generator": gen.name,
				"title": gen.title or gen.customer_name,
				"customer_name": gen.customer_name,
				# a tab billed to another customer: its customer sees whom; the payer sees whose tab it is
				"invoice_to": gen.invoice_customer_name or gen.invoice_customer
				if gen.customer in customers and payer_of[gen.name] != gen.customer
				else None,
				"for_customer": gen.customer_name if gen.customer not in customers else None,
				"currency": gen.currency,
				"next_invoice_date": getdate(gen.next_creation_date) if gen.status == "Active" else None,
				"paused": gen.status == "Paused",
				"items": pages_of.get(gen.name, []),
				"item_count": count,
				"start": starts[gen.name],
				"page_length": PAGE_LENGTH,
				"total": total,
				"threshold": watch.progress(
					gen.bill_when_unbilled_reaches, used.get(gen.name, 0), gen.currency
				),
				"advance": advances.get((payer_of[gen.name], gen.company), {"amount": 0.0, "currency": None}),
				"to_pay": to_pay[gen.name],
			}
		)
	return tabs


def shown(Item):
	"""The lines the portal shows: those waiting on the tab, and those the customer questioned (on hold until
	their Issue is answered); never a line ERPNext refused, nor a voided one."""
	return (Item.status == UNBILLED) | ((Item.status == ON_HOLD) & Item.question_issue.isnotnull())


def item_totals(generators: list[str]) -> dict[str, tuple[int, float]]:
	"""{generator: (the count of the lines shown, the total of the unbilled ones)}, summed by the database (a
	questioned line is shown, not counted in the total)."""
	Item = frappe.qb.DocType(ITEM)
	unbilled_amount = Case().when(Item.status == UNBILLED, Item.amount).else_(0)
	rows = (
		frappe.qb.from_(Item)
		.select(Item.generator, Count(Item.name), Sum(unbilled_amount))
		.where(Item.generator.isin(generators) & shown(Item))
		.groupby(Item.generator)
	).run()
	return {generator: (cint(count), flt(total)) for generator, count, total in rows}


def item_pages(starts: dict[str, int]) -> dict[str, list]:
	"""{generator: its page of the lines shown}: PAGE_LENGTH items from its start, oldest first, for every
	generator in one query (a UNION ALL of one indexed, limited read per tab: never a whole tab read or sorted)."""
	Item = frappe.qb.DocType(ITEM)
	query = None
	for k, (generator, start) in enumerate(starts.items()):
		page = (
			frappe.qb.from_(Item)
			.select(
				Item.generator,
				Item.name,
				Item.status,
				Item.question_issue,
				Item.service_date,
				Item.item_name,
				Item.description,
				Item.qty,
				Item.uom,
				Item.amount,
				Item.source_doctype,
			)
			.where((Item.generator == generator) & shown(Item))
			.orderby(Item.service_date)
			.orderby(Item.creation)
			.orderby(Item.name)
			.limit(PAGE_LENGTH)
			.offset(start)
		)
		page = frappe.qb.from_(page.as_(f"page{k}")).select(
			"*"
		)  # a derived table: its own ORDER BY and LIMIT
		query = page if query is None else query.union_all(page)
	pages: dict[str, list] = {}
	for row in query.run(as_dict=True) if query else []:
		generator = row.pop("generator")
		# where the line came from, in the customer's words (never the internal document names)
		row.source = source_label(row.pop("source_doctype"))
		# questioned: on hold until its Issue (in ERPNext's /issues) is answered; not in the total
		row.questioned = row.pop("status") != UNBILLED
		pages.setdefault(generator, []).append(row)
	return pages


def invoices_to_pay(generators: list, customers: list[str]) -> dict[str, list]:
	"""Per generator, its submitted invoices still outstanding that are made out to one of `customers` (the user's:
	a tab billed to a payer shows them to the payer's users only; a combined invoice under the tab it is filed
	under): what is due now (the first unpaid instalment when partial payments are allowed, else the whole
	outstanding amount) and the pay link; three queries for all."""
	from accumulating_billing.billing.payments import dues_now, outstanding_in_invoice_currency, pay_links

	by_name = {gen.name: gen for gen in generators}
	found: dict[str, list] = {name: [] for name in by_name}
	rows = frappe.get_all(
		"Sales Invoice",
		filters={
			"accumulating_generator": ("in", list(by_name)),
			"docstatus": 1,
			"is_return": 0,
			"outstanding_amount": (">", 0),
		},
		fields=[
			"name",
			"customer",
			"posting_date",
			"due_date",
			"outstanding_amount",
			"currency",
			"party_account_currency",
			"conversion_rate",
			"accumulating_generator",
		],
		order_by="posting_date asc, name asc",
	)
	# never another customer's (a payer changed, a generator moved)
	rows = [row for row in rows if row.customer in customers]
	if not rows:
		return found
	partial = [row for row in rows if by_name[row.accumulating_generator].allow_partial_payments]
	dues = dues_now(partial)
	links = pay_links(rows, {name: gen.third_party_payment_url for name, gen in by_name.items()})
	for row in rows:
		row.due_now = dues[row.name] if row.name in dues else outstanding_in_invoice_currency(row)
		row.pay_link = links[row.name]
		row.pop("customer")
		found[row.accumulating_generator].append(row)
	return found


def source_label(doctype: str | None) -> str | None:
	labels = {"Timesheet": _("Time logged"), "Delivery Note": _("Delivered"), "Sales Invoice": _("Late fee")}
	return labels.get(doctype) if doctype else None
