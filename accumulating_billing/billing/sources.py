"""Work that ERPNext already records flows into the running tab: billable Timesheet logs and Delivery Note
lines become tab items when their document is submitted, and the generated invoice carries ERPNext's own links
back (timesheet rows, `delivery_note` / `dn_detail`, see invoice.py), so ERPNext's billing status and reports
agree with the tab.

- Each source line is on a tab at most once: a unique key on (source_doctype, source_detail). Submitting,
  amending, updating after submit or syncing a document again never duplicates its lines.
- The receiving generator of a line: the customer's live generator of the line's project, else the customer's
  one live generator with the setting on. Several, or none, and nothing is added: the document gets a comment.
- The submit of a Timesheet or Delivery Note never fails because of this app (the lines it could not add are
  commented, and Sync adds them later); its cancel does, while one of its lines is billed on a live invoice.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import frappe
from frappe import _
from frappe.utils import cint, flt, getdate, now_datetime, strip_html

from accumulating_billing.billing import items as item_rules
from accumulating_billing.billing.generation import lock_generator

GENERATOR = "Accumulating Generator"
ITEM = "Accumulating Generator Item"
TIMESHEET = "Timesheet"
DELIVERY_NOTE = "Delivery Note"
SOURCE_DOCTYPES = (TIMESHEET, DELIVERY_NOTE)
SETTING = {TIMESHEET: "accumulate_timesheets", DELIVERY_NOTE: "accumulate_delivery_notes"}
LIVE_STATUSES = ("Draft", "Active", "Paused")
ROUTING_FIELDS = (
	"name",
	"status",
	"customer",
	"company",
	"currency",
	"project",
	"end_condition",
	"end_date",
	"timesheet_item",
	"accumulate_timesheets",
	"accumulate_delivery_notes",
)


@dataclass
class SourceLine:
	"""One billable line of a source document, in the source's own terms."""

	detail: str
	customer: str | None
	project: str | None
	service_date: date
	qty: float
	rate: float
	exchange_rate: float  # source currency -> company currency, as the source document states it (0: none)
	currency: str
	description: str
	item_code: str | None = None  # None for a time log: the generator's Timesheet Item
	uom: str | None = None


# ------------------------------------------------------------------------------------------ source lines


def lines_of(doc) -> list[SourceLine]:
	return timesheet_lines(doc) if doc.doctype == TIMESHEET else delivery_note_lines(doc)


def timesheet_lines(ts) -> list[SourceLine]:
	"""Billable, not yet invoiced time logs: qty = billing hours, rate = billing rate, on the log's start date."""
	lines = []
	for log in ts.time_logs:
		if not cint(log.is_billable) or flt(log.billing_hours) <= 0 or log.sales_invoice:
			continue
		project = log.project or ts.get("parent_project")
		customer = ts.customer or (project and frappe.get_cached_value("Project", project, "customer"))
		hours = flt(log.billing_hours)
		rate = flt(log.billing_rate)
		if flt(log.billing_amount) and abs(hours * rate - flt(log.billing_amount)) >= 0.005:
			# the amount was edited (Update Billing Amount): the rate follows it
			rate = flt(log.billing_amount) / hours
		description = ": ".join(
			part for part in (log.activity_type, strip_html(log.description or "").strip()) if part
		)
		lines.append(
			SourceLine(
				detail=log.name,
				customer=customer,
				project=project,
				service_date=getdate(log.from_time),
				qty=hours,
				rate=rate,
				exchange_rate=flt(ts.exchange_rate),
				currency=ts.currency or frappe.get_cached_value("Company", ts.company, "default_currency"),
				description=description or _("Time log {0}").format(log.idx),
			)
		)
	return lines


def delivery_note_lines(dn) -> list[SourceLine]:
	"""Lines not billed yet, at the DN's rate and UOM, on its posting date.

	A line returned before it is billed is billed for what was kept (its qty less ERPNext's `returned_qty`,
	exactly what ERPNext's own *Get Items From* takes). A return of a line that was already billed is a negative
	line, credited on the next invoice's credit note."""
	if dn.is_return:
		return returned_lines(dn)
	from erpnext.stock.doctype.delivery_note.delivery_note import get_invoiced_qty_map, get_returned_qty_map

	invoiced, returned = get_invoiced_qty_map(dn.name), get_returned_qty_map(dn.name)
	lines = []
	for row in dn.items:
		if row.get("against_sales_invoice") or row.get("si_detail"):
			continue  # delivered for an invoice that bills it
		qty = flt(row.qty) - flt(invoiced.get(row.name)) - flt(returned.get(row.name))
		if qty > 0:
			lines.append(delivery_line(dn, row, qty))
	return lines


def returned_lines(ret) -> list[SourceLine]:
	"""The return's lines whose delivered line was billed already (a tab item Billed, or billed in ERPNext).
	The tab item of the delivered line is read with a locking read, so a billing run that holds it is waited
	for: the return is then netted into that line if it stayed unbilled, or credited if the run billed it."""
	lines = []
	for row in ret.items:
		if not flt(row.qty) or flt(row.billed_amt) or row.get("against_sales_invoice"):
			continue
		if row.dn_detail and not delivered_line_was_billed(row.dn_detail):
			continue  # netted: ERPNext's returned_qty shrinks the delivered line's tab item
		lines.append(delivery_line(ret, row, flt(row.qty)))
	return lines


def delivered_line_was_billed(dn_detail: str) -> bool:
	Item = frappe.qb.DocType(ITEM)
	status = (
		frappe.qb.from_(Item)
		.select(Item.status)
		.where((Item.source_doctype == DELIVERY_NOTE) & (Item.source_detail == dn_detail))
		.for_update()
		.run(pluck=True)
	)
	if status:
		return status[0] == "Billed"
	return bool(flt(frappe.db.get_value("Delivery Note Item", dn_detail, "billed_amt")))


def delivery_line(dn, row, qty: float) -> SourceLine:
	return SourceLine(
		detail=row.name,
		customer=dn.customer,
		project=dn.project,
		service_date=getdate(dn.posting_date),
		qty=qty,
		rate=flt(row.rate),
		exchange_rate=flt(dn.conversion_rate),
		currency=dn.currency,
		description=row.description or row.item_name,
		item_code=row.item_code,
		uom=row.uom,
	)


# ------------------------------------------------------------------------------------------ routing


def live_generators(customer: str, company: str) -> list:
	return frappe.get_all(
		GENERATOR,
		filters={"customer": customer, "company": company, "status": ("in", LIVE_STATUSES)},
		fields=list(ROUTING_FIELDS),
		order_by="name asc",
	)


def route(generators: list, doctype: str, line: SourceLine) -> tuple:
	"""(receiving generator, None) or (None, why not)."""
	receiving = [g for g in generators if cint(g[SETTING[doctype]])]
	if line.project:
		same = [g for g in receiving if g.project == line.project]
		if same or doctype == DELIVERY_NOTE:
			# ERPNext bills a Delivery Note of a project only on an invoice of that project
			receiving = same
	if len(receiving) == 1:
		return receiving[0], None
	label = _(doctype) + "s"
	if not receiving:
		if line.project:
			return None, _("no live generator of project {0} accumulates {1}").format(line.project, label)
		return None, _("no live generator of the customer accumulates {0}").format(label)
	return None, _("{0} live generators could receive it ({1}); set the Project on one of them").format(
		len(receiving), ", ".join(g.name for g in receiving)
	)


# ------------------------------------------------------------------------------------------ tab items


def item_values(generator, doctype: str, line: SourceLine) -> dict:
	"""The tab item of one line on one generator; throws a translated message when it cannot be billed there."""
	item_code = line.item_code or generator.timesheet_item
	item = item_rules.validate_sales_item(item_code)
	rate = converted_rate(generator, line)
	item_rules.check_end_date(generator, line.service_date)
	qty = flt(line.qty)
	return {
		"generator": generator.name,
		"customer": generator.customer,
		"company": generator.company,
		"currency": generator.currency,
		"service_date": line.service_date,
		"item_code": item.name,
		"item_name": item.item_name,
		"description": line.description,
		"qty": qty,
		"uom": line.uom or item.stock_uom,
		"rate": rate,
		"discount_percentage": 0,
		"amount": flt(item_rules.line_amount(qty, rate, 0, generator.currency, allow_return=True)),
		"source_doctype": doctype,
		"source_detail": line.detail,
	}


def converted_rate(generator, line: SourceLine) -> float:
	"""The line's rate in the generator's currency. A Delivery Note is billed in its own currency (ERPNext
	requires the invoice's to match); a time log converts through the company currency or today's rate."""
	rate = flt(item_rules.net_rate(line.rate, 0, generator.currency))
	if line.currency == generator.currency:
		return rate
	if line.item_code:  # a Delivery Note line
		frappe.throw(
			_("the Delivery Note is in {0} and {1} bills in {2}").format(
				line.currency, generator.name, generator.currency
			)
		)
	company_currency = frappe.get_cached_value("Company", generator.company, "default_currency")
	if generator.currency == company_currency and line.exchange_rate:
		exchange_rate = line.exchange_rate  # the Timesheet's own rate to the company currency
	else:
		from erpnext.setup.utils import get_exchange_rate

		exchange_rate = flt(get_exchange_rate(line.currency, generator.currency, line.service_date))
	if not exchange_rate:
		frappe.throw(
			_("no exchange rate from {0} to {1} on {2}").format(
				line.currency, generator.currency, line.service_date
			)
		)
	return flt(item_rules.net_rate(line.rate * exchange_rate, 0, generator.currency))


def existing_items(doctype: str, source_name: str) -> dict:
	"""The tab items of a source document, by source detail row."""
	rows = frappe.get_all(
		ITEM,
		filters={"source_doctype": doctype, "source_name": source_name},
		fields=["name", "generator", "status", "source_detail", "qty", "rate", "description", "service_date"],
	)
	return {row.source_detail: row for row in rows}


def insert_items(values: list[dict], source_name: str) -> list[str]:
	"""Insert tab items in one statement; a line already on a tab (the unique key) is left as it is."""
	if not values:
		return []
	now, user = now_datetime(), frappe.session.user
	fields = ["name", "creation", "modified", "owner", "modified_by", "status", "added_by", "source_name"]
	fields += [f for f in values[0] if f not in fields]
	rows, names = [], []
	for value in values:
		name = frappe.generate_hash(length=10)
		names.append(name)
		row = {
			"name": name,
			"creation": now,
			"modified": now,
			"owner": user,
			"modified_by": user,
			"status": "Unbilled",
			"added_by": user,
			"source_name": source_name,
			**value,
		}
		rows.append(tuple(row[f] for f in fields))
	frappe.db.bulk_insert(ITEM, fields, rows, ignore_duplicates=True)
	if frappe.db.sql("select row_count()")[0][0] == len(names):
		return names
	# a concurrent transaction put some of these lines on a tab first: report only what this one added
	return frappe.get_all(ITEM, filters={"name": ("in", names)}, pluck="name")


def update_item(existing, values: dict) -> bool:
	"""Follow an edited source line (Update Billing Amount on a submitted Timesheet): qty, rate, amount."""
	fields = ("qty", "rate", "amount", "description", "service_date")
	changes = {f: values[f] for f in fields if str(values[f]) != str(existing.get(f) or "")}
	if not changes or existing.status != "Unbilled":
		return False
	values = {f: values[f] for f in fields}
	Item = frappe.qb.DocType(ITEM)
	query = frappe.qb.update(Item).set(Item.modified, now_datetime())
	for field, value in values.items():
		query = query.set(Item[field], value)
	query.where((Item.name == existing.name) & (Item.status == "Unbilled")).run()
	return True


def delete_unbilled(names: list[str]) -> int:
	if not names:
		return 0
	Item = frappe.qb.DocType(ITEM)
	frappe.qb.from_(Item).delete().where(Item.name.isin(names) & (Item.status == "Unbilled")).run()
	return len(names)


def check_settings_change(generator) -> None:
	"""A generator's Project or currency cannot change while Delivery Note or Timesheet lines wait on its tab:
	ERPNext bills a Delivery Note only on an invoice of its project and currency, and the rates were converted
	into this currency. Bill them (Generate Now) first."""
	before = None if generator.is_new() else generator.get_doc_before_save()
	if not before or (before.project == generator.project and before.currency == generator.currency):
		return
	if frappe.db.exists(
		ITEM,
		{"generator": generator.name, "status": "Unbilled", "source_doctype": ("in", SOURCE_DOCTYPES)},
	):
		frappe.throw(
			_(
				"Project and currency cannot change while Timesheet or Delivery Note lines wait on the tab: "
				"bill them first (Generate Now)."
			),
			title=_("Lines from ERPNext on the tab"),
		)


# ------------------------------------------------------------------------------------------ syncing a document


def sync_document(doc, only_generator: str | None = None) -> list[str]:
	"""Bring the tab in line with a submitted source document: add its missing lines (routed), follow edited
	ones, remove unbilled lines that are no longer billable. Returns the names of the items added.

	`only_generator`: add only what this generator receives (the generator's Sync)."""
	doctype = doc.doctype
	lines = lines_of(doc)
	existing = existing_items(doctype, doc.name)
	wanted = {line.detail for line in lines}
	removed = delete_unbilled(
		[row.name for detail, row in existing.items() if detail not in wanted and row.status == "Unbilled"]
	)
	by_customer = defaultdict(list)
	for line in lines:
		if line.customer:
			by_customer[line.customer].append(line)
	added, refused, changed = [], defaultdict(list), 0
	for customer, customer_lines in by_customer.items():
		generators = live_generators(customer, doc.company)
		uses_feature = any(cint(g[SETTING[doctype]]) for g in generators)
		new = defaultdict(list)
		for line in customer_lines:
			generator, why = route(generators, doctype, line)
			current = existing.get(line.detail)
			if current and current.status != "Unbilled":
				continue  # billed: it stays on its invoice
			if not generator:
				if not current and uses_feature:
					refused[why].append(line)
				continue  # an item already on a tab stays there while nothing receives it
			# the receiving generator changed (a project was set): the line moves with it, whichever Sync runs
			moving = bool(current) and current.generator != generator.name
			if only_generator and generator.name != only_generator and not moving:
				continue
			try:
				values = item_values(generator, doctype, line)
			except frappe.ValidationError as e:
				frappe.clear_last_message()
				refused[strip_html(str(e))].append(line)
				continue
			if moving:
				delete_unbilled([current.name])
				current = None
			if current:
				changed += update_item(current, values)
			else:
				new[generator.name].append(values)
		for values in new.values():
			added += insert_items(values, doc.name)
	comment_refused(doc, refused)
	if added or removed or changed:
		frappe.clear_document_cache(doctype, doc.name)
	return added


def comment_refused(doc, refused: dict) -> None:
	if not refused:
		return
	parts = [
		_("{0} line(s) ({1}): {2}").format(len(lines), ", ".join(str(line_label(doc, l)) for l in lines), why)
		for why, lines in refused.items()
	]
	doc.add_comment(
		"Comment",
		_("Not added to a running tab: {0}. Fix it, then use Sync on the generator.").format(
			"; ".join(parts)
		),
	)


def line_label(doc, line: SourceLine) -> str:
	rows = doc.time_logs if doc.doctype == TIMESHEET else doc.items
	return next((f"#{row.idx}" for row in rows if row.name == line.detail), line.detail)


# ------------------------------------------------------------------------------------------ document events


def on_submit(doc, method=None) -> None:
	"""Timesheet / Delivery Note submitted (or updated after submit): its billable lines join the tab. This
	never fails the user's submit: an error rolls back only this app's part and is commented and logged."""
	savepoint = "accumulating_sources"
	frappe.db.savepoint(savepoint)
	try:
		sync_document(doc)
		sync_delivered_note(doc)
	except Exception:
		frappe.db.rollback(save_point=savepoint)
		frappe.clear_last_message()
		frappe.log_error(
			title=_("Accumulating Billing: {0} {1} not added to a running tab").format(
				_(doc.doctype), doc.name
			),
			reference_doctype=doc.doctype,
			reference_name=doc.name,
		)
		doc.add_comment(
			"Comment",
			_(
				"Not added to a running tab because of an error (see the Error Log); use Sync on the generator."
			),
		)


def sync_delivered_note(doc) -> None:
	"""A return changes what is left to bill of the Delivery Note it returns (ERPNext's `returned_qty`)."""
	if doc.doctype == DELIVERY_NOTE and doc.is_return and doc.return_against:
		sync_document(frappe.get_doc(DELIVERY_NOTE, doc.return_against))


def on_cancel(doc, method=None) -> None:
	"""A cancelled Timesheet / Delivery Note leaves the tab; a cancelled return gives its delivered line back."""
	remove_items_of(doc)
	sync_delivered_note(doc)


def remove_items_of(doc) -> None:
	"""Remove the tab items of a cancelled document. Its generators are locked first, as a billing run does,
	and its items are read with a locking read (the latest committed values): a line billed on a live invoice
	meanwhile refuses the cancel, exactly as ERPNext refuses to cancel a billed document."""
	Item = frappe.qb.DocType(ITEM)
	generators = (
		frappe.qb.from_(Item)
		.select(Item.generator)
		.distinct()
		.where((Item.source_doctype == doc.doctype) & (Item.source_name == doc.name))
		.run(pluck=True)
	)
	if not generators:
		return
	for generator in sorted(generators):
		lock_generator(generator)
	rows = (
		frappe.qb.from_(Item)
		.select(Item.name, Item.status, Item.sales_invoice, Item.generator)
		.where((Item.source_doctype == doc.doctype) & (Item.source_name == doc.name))
		.for_update()
		.run(as_dict=True)
	)
	billed = {row.sales_invoice for row in rows if row.status == "Billed"}
	if billed:
		frappe.throw(
			_("{0} {1} is billed on Sales Invoice {2}. Cancel the invoice first.").format(
				_(doc.doctype), doc.name, ", ".join(sorted(billed))
			),
			title=_("Billed"),
		)
	take_off_tabs(
		rows,
		lambda count: _("{0} {1} was cancelled: its {2} unbilled item(s) left the tab.").format(
			_(doc.doctype), doc.name, count
		),
	)


def hand_billed_details(doc, submitted: bool = False) -> list[str]:
	"""The source lines a Sales Invoice made by hand bills: its timesheet logs and Delivery Note lines. A
	timesheet row without its log (an invoice without a Project) bills every log of the Timesheet that is not
	billed: before the submit those are the candidates, after it the logs ERPNext marked with this invoice."""
	details = [row.dn_detail for row in doc.items if row.get("dn_detail")]
	whole = set()
	for row in doc.get("timesheets") or []:
		if row.timesheet_detail:
			details.append(row.timesheet_detail)
		elif row.time_sheet:
			whole.add(row.time_sheet)
	if whole or submitted:
		Log = frappe.qb.DocType("Timesheet Detail")
		query = frappe.qb.from_(Log).select(Log.name)
		if submitted:
			query = query.where(Log.sales_invoice == doc.name)
		else:
			query = query.where(
				Log.parent.isin(sorted(whole)) & (Log.sales_invoice.isnull() | (Log.sales_invoice == ""))
			)
		details += query.run(pluck=True)
	return sorted(set(details))


def refuse_lines_billed_on_a_tab(doc, method=None) -> None:
	"""before_submit of a Sales Invoice made by hand: a source line that a generated invoice bills (submitted,
	or a draft, or one a billing run is making right now: the items are read with a locking read) cannot be
	billed again by hand."""
	if doc.get("accumulating_generator") or doc.is_return:
		return
	details = hand_billed_details(doc)
	if not details:
		return
	Item, SI = frappe.qb.DocType(ITEM), frappe.qb.DocType("Sales Invoice")
	billed = (
		frappe.qb.from_(Item)
		.select(Item.source_doctype, Item.source_name, Item.sales_invoice)
		.where(Item.source_detail.isin(details) & Item.source_doctype.isin(SOURCE_DOCTYPES))
		.orderby(Item.name)
		.for_update()
		.run(as_dict=True)
	)
	invoices = {row.sales_invoice for row in billed if row.sales_invoice}
	live = set(
		# a locking read: an invoice a billing run committed a moment ago is not in this transaction's snapshot
		frappe.qb.from_(SI)
		.select(SI.name)
		.where(SI.name.isin(invoices) & (SI.docstatus < 2))
		.for_update()
		.run(pluck=True)
		if invoices
		else []
	)
	clash = [row for row in billed if row.sales_invoice in live]
	if clash:
		frappe.throw(
			_("{0} {1} is billed on the generated Sales Invoice {2}: it cannot be billed again here.").format(
				_(clash[0].source_doctype), clash[0].source_name, clash[0].sales_invoice
			),
			title=_("Billed on a running tab"),
		)


def drop_lines_billed_elsewhere(doc, method=None) -> None:
	"""on_submit of a Sales Invoice made by hand (Get Timesheets, Get Items From Delivery Note) that bills source
	lines still on a tab: they leave the tab, so no line is billed twice."""
	if doc.get("accumulating_generator"):
		return
	details = hand_billed_details(doc, submitted=True)
	if not details:
		return
	rows = frappe.get_all(
		ITEM,
		filters={"source_detail": ("in", details), "status": "Unbilled"},
		fields=["name", "generator"],
	)
	take_off_tabs(
		rows,
		lambda count: _(
			"Sales Invoice {0} billed {1} of its source line(s) directly: they left the tab."
		).format(doc.name, count),
	)


def restore_lines_of_cancelled(doc, method=None) -> None:
	"""on_cancel of a Sales Invoice made by hand: the source lines it billed are unbilled in ERPNext again, so
	they come back to their tab (nothing is lost until somebody syncs)."""
	if doc.get("accumulating_generator"):
		return
	sources = {(TIMESHEET, row.time_sheet) for row in doc.get("timesheets") or [] if row.time_sheet}
	sources |= {(DELIVERY_NOTE, row.delivery_note) for row in doc.items if row.get("delivery_note")}
	for doctype, name in sorted(sources):
		if frappe.db.get_value(doctype, name, "docstatus") == 1:
			sync_document(frappe.get_doc(doctype, name))


def take_off_tabs(rows: list, note) -> None:
	"""Delete the unbilled items among `rows` ({name, generator}), with `note(count)` on each generator."""
	by_generator = defaultdict(list)
	for row in rows:
		by_generator[row.generator].append(row.name)
	for generator, names in by_generator.items():
		delete_unbilled(names)
		frappe.get_doc(GENERATOR, generator).add_comment("Info", note(len(names)))


# ------------------------------------------------------------------------------------------ sync


def sync_generator(name: str, progress=None) -> list[str]:
	"""Add the submitted, unbilled source lines that this generator receives and no tab holds yet (documents
	submitted before the setting was turned on, or while it had no receiver). Returns the items added."""
	generator = frappe.db.get_value(GENERATOR, name, list(ROUTING_FIELDS), as_dict=True)
	if not generator:
		frappe.throw(_("Accumulating Generator {0} does not exist.").format(name))
	if generator.status not in LIVE_STATUSES:
		frappe.throw(
			_("Generator {0} is {1}: only a Draft, Active or Paused generator receives work.").format(
				name, _(generator.status)
			)
		)
	documents = []
	if cint(generator.accumulate_timesheets):
		documents += [(TIMESHEET, ts) for ts in unsynced_timesheets(generator)]
	if cint(generator.accumulate_delivery_notes):
		documents += [(DELIVERY_NOTE, dn) for dn in unsynced_delivery_notes(generator)]
	added = []
	for done, (doctype, source_name) in enumerate(documents, 1):
		added += sync_document(frappe.get_doc(doctype, source_name), only_generator=name)
		if progress:
			progress(done, len(documents), source_name)
	return added


def unsynced_timesheets(generator) -> list[str]:
	"""Submitted Timesheets of the customer (directly or through a project of theirs) with billable,
	uninvoiced logs that no tab holds."""
	Project = frappe.qb.DocType("Project")
	projects = frappe.qb.from_(Project).select(Project.name).where(Project.customer == generator.customer)
	return unsynced(
		TIMESHEET,
		"Timesheet Detail",
		generator,
		lambda Ts, Log: (
			((Ts.customer == generator.customer) | Log.project.isin(projects))
			& (Log.is_billable == 1)
			& (Log.billing_hours > 0)
			& (Log.sales_invoice.isnull() | (Log.sales_invoice == ""))
		),
	)


def unsynced_delivery_notes(generator) -> list[str]:
	"""Submitted, open Delivery Notes of the customer with unbilled lines that no tab holds."""
	return unsynced(
		DELIVERY_NOTE,
		"Delivery Note Item",
		generator,
		# a return is taken when it is submitted (netted into its delivered line, or credited): never by Sync,
		# which could not tell whether it was netted already
		lambda Dn, Row: (
			(Dn.customer == generator.customer)
			& (Dn.is_return == 0)
			& Dn.status.notin(("Closed", "Completed"))
			& (Row.billed_amt == 0)
			& (Row.qty != 0)
		),
	)


def unsynced(doctype: str, row_doctype: str, generator, condition) -> list[str]:
	"""Submitted documents of the generator's company with rows matching `condition(Doc, Row)` that no tab
	holds (by the items' source detail)."""
	Doc, Row, Item = frappe.qb.DocType(doctype), frappe.qb.DocType(row_doctype), frappe.qb.DocType(ITEM)
	on_tab = frappe.qb.from_(Item).select(Item.source_detail).where(Item.source_doctype == doctype)
	return (
		frappe.qb.from_(Doc)
		.join(Row)
		.on(Row.parent == Doc.name)
		.select(Doc.name)
		.distinct()
		.where(
			(Doc.docstatus == 1)
			& (Doc.company == generator.company)
			& condition(Doc, Row)
			& Row.name.notin(on_tab)
		)
		.orderby(Doc.name)
		.run(pluck=True)
	)


def sync_all(echo=None) -> dict[str, list[str]]:
	"""Sync every live generator that accumulates Timesheets or Delivery Notes (the CLI's `sync`)."""
	Gen = frappe.qb.DocType(GENERATOR)
	names = (
		frappe.qb.from_(Gen)
		.select(Gen.name)
		.where(
			Gen.status.isin(LIVE_STATUSES)
			& ((Gen.accumulate_timesheets == 1) | (Gen.accumulate_delivery_notes == 1))
		)
		.orderby(Gen.name)
		.run(pluck=True)
	)
	result = {}
	for name in names:
		result[name] = sync_generator(name)
		frappe.db.commit()
		if echo:
			echo(f"{name}: added {len(result[name])} item(s)")
	return result
