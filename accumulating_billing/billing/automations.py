"""Automations when a generated invoice is Generated and each time it becomes Paid (issue 13).

What is owed is recorded inside the transaction that causes it: an *Accumulating Automation Run* (invoice,
event, transition), unique per (invoice, generator, event, transition): a combined invoice (one invoice for
several tabs of one payer, combined.py) owes one per tab. The occurrence's transaction records Generated; the
transaction of whatever settles the invoice (a Payment Entry, a Journal Entry, a credit note, advances, POS, a
Payment Request paid online) records Paid, from ERPNext's own Payment Ledger: every such change submits Payment
Ledger Entries against the invoice, and just before that transaction commits the app compares the invoice's
outstanding amount with the paid state it last saw. A job fires each run after the commit; the hourly sweep
fires what a dead worker or a lost enqueue left Pending, and reconciles paid states a failed check missed.

*Tab Reaches* (issue 27) is a run of the generator itself, not of an invoice: recorded once per tab period when
its unbilled total reaches the row's amount (billing/threshold.py, after the commit of the line that crossed), fired
here like the others, with the generator (its `unbilled_total` the total that crossed) as the document.

A run fires, in one transaction: the site-wide document method (`on_accumulating_invoice_generated` /
`on_accumulating_invoice_paid`, for Notifications with Event = Method), the generator's Notifications and its
template assignments; it is marked fired in that same transaction, so these fire exactly once. Webhooks are HTTP
requests no transaction can take back: they are sent after that commit, each one logged in Frappe's Webhook
Request Log and committed, and a retried run sends only the webhooks that have no log since the run began. A
failing automation never rolls back anything but itself: it goes to the Error Log, a comment on the generator
and the generator's history.
"""

import json

import frappe
from frappe import _
from frappe.utils import flt, now_datetime

from accumulating_billing.billing import notifications, payments
from accumulating_billing.billing.jobs import enqueue_once
from accumulating_billing.billing.payers import invoice_tabs
from accumulating_billing.doctypes import GENERATOR, LOG, RUN

INVOICE_EVENTS = ("Generated", "Paid")
TAB_REACHES = "Tab Reaches"
EVENTS = (*INVOICE_EVENTS, TAB_REACHES)
METHODS = {"Generated": "on_accumulating_invoice_generated", "Paid": "on_accumulating_invoice_paid"}
SENDING = "Sending Webhooks"
OWED = ("Pending", SENDING)


# ------------------------------------------------------------------------------------------ recording


def record_run(
	invoice: str | None,
	generator: str,
	event: str,
	transition: int = 1,
	rows=None,
	site_wide: bool = True,
	**fields,
) -> str | None:
	"""Owe the automations of `event` for `invoice`, in the caller's transaction; nothing when nothing listens
	(`rows`: the generator's automation rows, when the caller has the generator loaded). A combined invoice owes
	one run per tab (`generator`): each fires its tab's own automations, and only the lead's (`site_wide`) the
	site-wide document method, once per invoice. Returns the run. `fields`: more values of the run (a Tab Reaches
	run: its row, key and total; no invoice)."""
	if not listens(generator, event, rows, site_wide):
		return None
	run = frappe.get_doc(
		{
			"doctype": RUN,
			"sales_invoice": invoice,
			"generator": generator,
			"event": event,
			"transition": transition,
			"status": "Pending",
			**fields,
		}
	).insert(ignore_permissions=True)
	frappe.db.after_commit.add(lambda: enqueue_run(run.name))
	return run.name


def listens(generator: str, event: str, rows=None, site_wide: bool = True) -> bool:
	"""Whether a run of `event` would do anything: an automation row of the generator for it, or (`site_wide`)
	anything the site-wide document method reaches (another app's doc_events hook or Sales Invoice class override, a
	Notification with Event = Method). Most
	invoices have none; they owe no run, no job."""
	if rows is None:
		own = frappe.db.exists(
			"Accumulating Automation", {"parenttype": GENERATOR, "parent": generator, "event": event}
		)
	else:
		own = any(row.event == event for row in rows)
	return bool(own) or (site_wide and event in METHODS and site_listens(event))


def site_listens(event: str) -> bool:
	method = METHODS[event]
	hooks = frappe.get_doc_hooks()  # as Document.run_method dispatches them (tuple keys expanded)
	if any(method in (hooks.get(doctype) or {}) for doctype in ("Sales Invoice", "*")):
		return True
	from frappe.model.base_document import get_controller

	if hasattr(get_controller("Sales Invoice"), method):  # an app's override of the Sales Invoice class
		return True
	# the enabled Notifications of Sales Invoice, from the cache Frappe keeps of them for every document event
	notifications = frappe.cache.hget("notifications", "Sales Invoice", site_notifications) or []
	return any(n.get("event") == "Method" and n.get("method") == method for n in notifications)


def site_notifications() -> list:
	# the same list (and cache key) as Frappe's Document.run_notifications, which Notification saves clear
	return frappe.get_all(
		"Notification",
		fields=["name", "event", "method"],
		filters={"enabled": 1, "document_type": "Sales Invoice"},
	)


def enqueue_run(run: str) -> None:
	"""After the commit: a lost enqueue (the queue unreachable, the process dying) leaves the run Pending for the
	hourly sweep; it never turns a committed invoice or payment into an error."""
	enqueue_once(
		"accumulating_billing.billing.automations.fire",
		f"accumulating-automation-{run}",
		_("Accumulating automation run {0} not enqueued; the hourly sweep will").format(run),
		run=run,
	)


def watch_ledger_entry(doc, method=None) -> None:
	"""Payment Ledger Entry on_submit: the invoice it is against may have become paid (or unpaid again)."""
	if doc.against_voucher_type == "Sales Invoice" and doc.against_voucher_no:
		watch(doc.against_voucher_no)


def watch(invoice: str) -> None:
	watched = getattr(frappe.local, "accumulating_paid_watch", None)
	if watched is None:
		watched = frappe.local.accumulating_paid_watch = set()
		frappe.db.before_commit.add(settle_watched)
		frappe.db.before_rollback.add(forget_watched)
	watched.add(invoice)


def forget_watched() -> None:
	frappe.local.accumulating_paid_watch = None


def settle_watched() -> None:
	"""Just before the commit of a transaction that touched invoices' ledger: record the Paid transitions.
	Never fails the payment: an error is logged, and the hourly sweep settles the state from the ledger."""
	watched = getattr(frappe.local, "accumulating_paid_watch", None) or set()
	frappe.local.accumulating_paid_watch = None
	if not watched:
		return
	savepoint = "accumulating_paid_state"
	frappe.db.savepoint(savepoint)
	try:
		settle_paid_states(sorted(watched))
	except Exception as e:
		if isinstance(e, frappe.QueryDeadlockError | frappe.QueryTimeoutError):
			raise  # the database rolled the payment back already: committing now would hide that
		frappe.db.rollback(save_point=savepoint)
		frappe.log_error(
			title=_("Accumulating Billing: paid state of {0} not settled").format(sorted(watched))
		)


def settle_paid_states(invoices: list[str]) -> list[str]:
	"""Record a Paid run for each generated invoice that became fully paid since its state was last seen, and
	clear the state of one that is unpaid again (a cancelled payment), so the next payment fires again."""
	SI = frappe.qb.DocType("Sales Invoice")
	rows = (
		frappe.qb.from_(SI)
		.select(
			SI.name,
			SI.accumulating_generator,
			SI.docstatus,
			SI.is_return,
			SI.outstanding_amount,
			SI.grand_total,
			SI.rounded_total,
			SI.accumulating_paid,
			SI.accumulating_paid_count,
		)
		.where(SI.name.isin(invoices) & SI.accumulating_generator.isnotnull())
		.for_update()
		.run(as_dict=True)
	)
	runs = []
	for row in rows:
		paid = is_paid(row)
		if paid and not row.accumulating_paid:
			transition = (row.accumulating_paid_count or 0) + 1
			# once per tab of the invoice (a combined invoice bills several); the site-wide method once, the lead's
			for tab in invoice_tabs(row.name):
				run = record_run(
					row.name, tab, "Paid", transition, site_wide=tab == row.accumulating_generator
				)
				if run:
					runs.append(run)
			frappe.db.set_value(
				"Sales Invoice",
				row.name,
				{"accumulating_paid": 1, "accumulating_paid_count": transition},
				update_modified=False,
			)
		elif not paid and row.accumulating_paid:
			frappe.db.set_value("Sales Invoice", row.name, "accumulating_paid", 0, update_modified=False)
	return runs


def is_paid(row) -> bool:
	"""Fully paid: submitted, not a credit note, something to pay, nothing outstanding."""
	total = flt(row.rounded_total) or flt(row.grand_total)
	return row.docstatus == 1 and not row.is_return and total > 0 and flt(row.outstanding_amount) <= 0


# ------------------------------------------------------------------------------------------ firing


def fire(run: str) -> str | None:
	"""Fire one run once (a job; also the sweep's). Returns its final status, or None when another worker
	holds it or it was fired already. A Generated run first makes the Payment Request its invoice owes (made
	after the invoice's commit, payments.py), so what it fires can show the pay link."""
	invoice_owed = frappe.db.get_value(
		RUN, {"name": run, "event": "Generated", "status": "Pending"}, "sales_invoice"
	)
	if invoice_owed:
		payments.make_owed_request(invoice_owed)
	frappe.db.commit()
	Run = frappe.qb.DocType(RUN)
	locked = (
		frappe.qb.from_(Run)
		.select(Run.name, Run.status)
		.where(Run.name == run)
		.for_update(skip_locked=True)
		.run(as_dict=True)
	)
	if not locked or locked[0].status not in OWED:
		frappe.db.rollback()
		return None
	doc = frappe.get_doc(RUN, run)
	invoice = document_of(doc)  # the invoice; for Tab Reaches, the generator
	if invoice is None:  # deleted while the job waited
		doc.db_set({"status": "Done", "error": gone_message(doc)})
		frappe.db.commit()
		return doc.status
	rows = automations_of(doc.generator, doc.event, doc.automation)
	failures = json.loads(doc.error) if doc.error and doc.error.startswith("[") else []
	# the site-wide method fires once per invoice: with the run of its lead tab (a combined invoice has one per tab)
	site_wide = not doc.generator or doc.generator == invoice.get("accumulating_generator")
	# Slack and SMS leave the site when sent: after the commit, each once (notifications.py)
	after_commit = sent_after_commit(doc.event, rows, site_wide)
	if doc.status == "Pending":
		failures += fire_in_transaction(doc, invoice, rows, after_commit, site_wide)
		doc.db_set({"status": SENDING, "fired_on": now_datetime(), "error": json.dumps(failures)})
		frappe.db.commit()
	for notification in after_commit:
		notifications.send_once(doc, invoice, notification, failures)
	for row in rows:
		if row.webhook:
			failure = send_webhook_once(doc, invoice, row.webhook)
			if failure:
				failures.append(failure)
			frappe.db.commit()
	doc.db_set(
		{"status": "Failed" if failures else "Done", "error": json.dumps(failures) if failures else None}
	)
	if failures:
		report_failures(doc, failures)
	frappe.db.commit()
	return doc.status


def document_of(run):
	"""What the run fires for: its invoice, or (Tab Reaches) its generator, whose `unbilled_total` is the total
	that reached the amount. None when it no longer exists."""
	if run.event == TAB_REACHES:
		if not run.generator or not frappe.db.exists(GENERATOR, run.generator):
			return None
		generator = frappe.get_doc(GENERATOR, run.generator)
		generator._unbilled_total = flt(run.tab_total)  # its virtual field: the total that reached the amount
		return generator
	if not frappe.db.exists("Sales Invoice", run.sales_invoice):
		return None
	return frappe.get_doc("Sales Invoice", run.sales_invoice)


def gone_message(run) -> str:
	if run.event == TAB_REACHES:
		return _("Accumulating Generator {0} no longer exists").format(run.generator)
	return _("Sales Invoice {0} no longer exists").format(run.sales_invoice)


def automations_of(generator: str | None, event: str, row: str | None = None) -> list:
	"""The generator's automation rows of `event` (a Tab Reaches run: only its own row)."""
	if not generator or not frappe.db.exists(GENERATOR, generator):
		return []
	return [
		automation
		for automation in frappe.get_doc(GENERATOR, generator).get("automations") or []
		if automation.event == event and (not row or automation.name == row)
	]


def sent_after_commit(event: str, rows: list, site_wide: bool = True) -> list[str]:
	"""The Notifications of the run that cannot be taken back (Slack, SMS): the generator's, then (`site_wide`) the
	site-wide ones on the event's method."""
	own = [
		row.notification for row in rows if row.notification and notifications.irreversible(row.notification)
	]
	site = (
		notifications.site_wide_irreversible(METHODS[event])
		if site_wide and event in METHODS and site_listens(event)
		else []
	)
	return list(dict.fromkeys(own + site))


def fire_in_transaction(
	run, invoice, rows: list, after_commit: list[str] = (), site_wide: bool = True
) -> list[str]:
	"""The site-wide method of an invoice event (`site_wide`: the lead tab's run), the Notifications and the
	assignments, each in its own savepoint (the Notifications in `after_commit` are left to after the commit)."""
	steps = []
	if site_wide and run.event in METHODS:
		steps.append(
			(_("method {0}").format(METHODS[run.event]), run_method(invoice, run.event, after_commit))
		)
	for row in rows:
		if row.notification and row.notification not in after_commit:
			steps.append((_("Notification {0}").format(row.notification), notify(invoice, row.notification)))
		if row.assign_template and run.event in METHODS:
			steps.append(
				(
					_("assign template {0}").format(row.assign_template),
					assign(invoice, row.assign_template, run.generator),
				)
			)
	failures = []
	for label, step in steps:
		savepoint = "accumulating_automation"
		frappe.db.savepoint(savepoint)
		try:
			step()
		except Exception as e:
			frappe.db.rollback(save_point=savepoint)
			frappe.clear_last_message()
			failures.append(f"{label}: {frappe.utils.strip_html(str(e)) or type(e).__name__}")
			frappe.log_error(title=_("Accumulating automation failed: {0}").format(label))
	return failures


def run_method(invoice, event: str, after_commit):
	"""The site-wide document method. Frappe fires the Notifications with Event = Method on it and logs (never
	raises) what fails in them: an error logged meanwhile is this step's failure. The Slack and SMS ones are left
	to after the commit (Frappe skips the Notifications a document lists as executed)."""

	def method():
		invoice.flags.notifications_executed = list(after_commit)
		with notifications.errors_logged() as logged:
			invoice.run_method(METHODS[event])
		if logged:
			raise notifications.NotificationFailed("; ".join(dict.fromkeys(logged)))

	return method


def notify(invoice, notification: str):
	def send():
		notifications.send(invoice, notification)

	return send


def assign(invoice, template: str, generator: str | None = None):
	"""Assign the template to the customer of the tab the run is for (its own customer, also when its invoices
	are made out to a payer: *Invoice To*); the invoice's customer for a run without a tab."""

	def assign_template():
		from accumulating_billing.billing.assignment import assign_quietly

		customer = frappe.db.get_value(GENERATOR, generator, "customer") if generator else None
		assign_quietly(template, customer or invoice.customer, invoice)

	return assign_template


def send_webhook_once(run, invoice, webhook: str) -> str | None:
	"""Send a Webhook's request for the invoice unless this run sent it already (recorded on the run in the
	commit of its request log). Returns a failure, or None."""
	from frappe.integrations.doctype.webhook.webhook import get_webhook_data, get_webhook_headers, log_request

	sent = json.loads(run.sent_webhooks or "[]")
	if webhook in sent:
		return None
	import requests

	url = headers = data = response = None
	try:
		hook = frappe.get_doc("Webhook", webhook)
		if not hook.enabled:
			frappe.throw(_("Webhook {0} is disabled.").format(webhook))
		url = hook.request_url
		if hook.is_dynamic_url:
			from frappe.email.doctype.notification.notification import get_context

			url = frappe.render_template(hook.request_url, get_context(invoice))
		headers = get_webhook_headers(invoice, hook)
		data = get_webhook_data(invoice, hook)
		response = requests.request(
			method=hook.request_method,
			url=url,
			data=json.dumps(data, default=str),
			headers=headers,
			timeout=hook.timeout or 5,
		)
		response.raise_for_status()
	except Exception as e:
		log_request(webhook, invoice.name, url, headers, data, response)
		frappe.log_error(title=_("Accumulating automation failed: Webhook {0}").format(webhook))
		return _("Webhook {0}: {1}").format(webhook, frappe.utils.strip_html(str(e)) or type(e).__name__)
	log_request(webhook, invoice.name, url, headers, data, response)
	# committed with its log by the caller: a retried run never sends this webhook again
	run.db_set("sent_webhooks", json.dumps([*sent, webhook]))
	return None


def report_failures(run, failures: list[str]) -> None:
	if run.event == TAB_REACHES:
		message = _("Automations of Tab Reaches for Accumulating Generator {0} failed: {1}").format(
			run.generator, "; ".join(failures)
		)
	else:
		message = _("Automations of {0} for Sales Invoice {1} failed: {2}").format(
			_(run.event), run.sales_invoice, "; ".join(failures)
		)
	if run.generator and frappe.db.exists(GENERATOR, run.generator):
		frappe.get_doc(GENERATOR, run.generator).add_comment("Comment", message)
		frappe.get_doc(
			{
				"doctype": LOG,
				"generator": run.generator,
				"occurrence_date": frappe.utils.getdate(run.fired_on or now_datetime()),
				"outcome": "Automation Failed",
				"reason": message[:1000],
				"sales_invoice": run.sales_invoice,
			}
		).insert(ignore_permissions=True)


def forget_runs_of_deleted(doc, method=None) -> None:
	"""Sales Invoice on_trash: a deleted generated draft owes nothing (the runs that fired stay as history)."""
	if doc.get("accumulating_generator"):
		frappe.db.delete(RUN, {"sales_invoice": doc.name, "status": ("in", OWED)})


# ------------------------------------------------------------------------------------------ the sweep


def enqueue_owed_runs() -> list[str]:
	"""Hourly: settle paid states the ledger shows but no check recorded, then enqueue every run still owed
	(Pending, or with webhooks still to send). The job id keeps one job per run; a run never fires twice."""
	reconcile_paid_states()
	frappe.db.commit()
	owed = frappe.get_all(RUN, filters={"status": ("in", OWED)}, pluck="name", order_by="creation asc")
	for run in owed:
		enqueue_run(run)
	return owed


def reconcile_paid_states(limit: int = 1000) -> list[str]:
	SI = frappe.qb.DocType("Sales Invoice")
	paid_unseen = (SI.outstanding_amount <= 0) & (SI.accumulating_paid == 0) & (SI.grand_total > 0)
	unpaid_seen = (SI.outstanding_amount > 0) & (SI.accumulating_paid == 1)
	names = (
		frappe.qb.from_(SI)
		.select(SI.name)
		.where(
			SI.accumulating_generator.isnotnull()
			& (SI.docstatus == 1)
			& (SI.is_return == 0)
			& (paid_unseen | unpaid_seen)
		)
		.limit(limit)
		.run(pluck=True)
	)
	return settle_paid_states(names) if names else []
