"""Email a generated invoice to the customer's billing contact, after commit, once per invoice.

Owed in the invoice's transaction (owed.py: its generation log line's email status Pending), sent by a job after
the commit, swept hourly while Pending (`enqueue_owed_emails`); the job never sends twice (it looks for its
Communication first)."""

import frappe
from frappe import _
from frappe.core.doctype.communication.email import make as make_communication
from frappe.translate import print_language

from accumulating_billing.billing.contacts import billing_email
from accumulating_billing.billing.payers import default_print_format
from accumulating_billing.billing.payments import make_owed_request, pay_link
from accumulating_billing.doctypes import GENERATOR, LOG


def send_invoice_email(invoice: str) -> str | None:
	"""Send the invoice PDF once. Returns the Communication name, or None when there is nobody to send to
	or it was already sent (a retried job never sends twice). The invoice's owed Payment Request is made first,
	so the email carries its link."""
	make_owed_request(invoice)
	if already_sent(invoice):
		set_email_status(invoice, "Sent")
		frappe.db.commit()
		return None
	si = frappe.get_doc("Sales Invoice", invoice)
	if si.docstatus != 1:  # cancelled while the job waited
		set_email_status(invoice, "Cancelled")
		frappe.db.commit()
		return None
	recipient = billing_email(si.customer)
	if not recipient:
		frappe.get_doc(GENERATOR, si.accumulating_generator).add_comment(
			"Comment",
			_("Invoice {0} was not emailed: customer {1} has no billing contact email.").format(
				invoice, si.customer
			),
		)
		set_email_status(invoice, "No Recipient")
		frappe.db.commit()
		return None
	generator = frappe.get_doc(GENERATOR, si.accumulating_generator)
	subject, message = compose(si, generator)
	# a combined invoice prints each tab's lines under its title (payers.COMBINED_PRINT_FORMAT)
	print_format = generator.print_format or default_print_format(si)
	comm = make_communication(
		doctype="Sales Invoice",
		name=invoice,
		recipients=recipient,
		subject=subject,
		content=message,
		send_email=True,
		print_format=print_format,
		print_language=si.get("language") or None,
		send_me_a_copy=False,
	)  # print_format makes the email queue attach the invoice PDF when it sends
	set_email_status(invoice, "Sent")
	frappe.db.commit()  # the job's own transaction: the Communication marks the invoice as sent
	return comm.get("name")


def already_sent(invoice: str) -> bool:
	return bool(
		frappe.db.exists(
			"Communication",
			{
				"reference_doctype": "Sales Invoice",
				"reference_name": invoice,
				"communication_type": "Communication",
				"sent_or_received": "Sent",
			},
		)
	)


def compose(si, generator) -> tuple[str, str]:
	"""Subject and message: the generator's Email Template (with `pay_link` in its context), else ours; the pay
	link (the gateway's Payment Request, or the third-party link) is offered beside the attached PDF.
	Written in the customer's language (the invoice's Print Language, as the attached PDF is)."""
	with print_language(si.get("language")):
		return compose_in_current_language(si, generator)


def compose_in_current_language(si, generator) -> tuple[str, str]:
	link = pay_link(si)
	if generator.email_template:
		template = frappe.get_doc("Email Template", generator.email_template)
		context = {**si.as_dict(), "pay_link": link}
		return (
			frappe.render_template(template.subject, context),
			frappe.render_template(template.response_html or template.response or "", context),
		)
	subject = _("Invoice {0} from {1}").format(si.name, si.company)
	# one message per sentence: Frappe looks a message up without its HTML tags, so none may hold a tag
	message = "<br><br>".join(
		[
			_("Dear {0},").format(
				frappe.utils.escape_html(si.customer_name)
			),  # a name a guest may have typed
			_("Please find attached invoice {0} for {1}, due on {2}.").format(
				si.name,
				frappe.utils.fmt_money(si.grand_total, currency=si.currency),
				frappe.format(si.due_date, "Date"),
			),
		]
	)
	if link:
		message += "<br><br>" + _("Pay it online: {0}").format(
			f'<a href="{frappe.utils.escape_html(link)}">{frappe.utils.escape_html(link)}</a>'
		)
	return subject, message


def set_email_status(invoice: str, status: str, from_status: str | None = "Pending") -> None:
	"""Settle what the generation log owes for this invoice (`from_status` None: a line that owed nothing yet,
	as a reserved invoice's line until its submit)."""
	Log = frappe.qb.DocType(LOG)
	current = (
		(Log.email_status.isnull() | (Log.email_status == ""))
		if from_status is None
		else Log.email_status == from_status
	)
	(
		frappe.qb.update(Log)
		.set(Log.email_status, status)
		.where((Log.sales_invoice == invoice) & (Log.outcome == "Billed") & current)
	).run()


def owed_invoices(limit: int = 500) -> list[str]:
	"""Invoices whose email is still owed (Pending in the generation log), oldest first; a combined invoice once
	(its tabs' log lines owe the one email together)."""
	names = frappe.get_all(
		LOG,
		filters={"email_status": "Pending", "outcome": "Billed"},
		pluck="sales_invoice",
		order_by="creation asc",
		limit_page_length=limit,
	)
	return list(dict.fromkeys(names))


def enqueue_owed_emails() -> list[str]:
	"""Hourly: enqueue every owed email again (a lost enqueue or a dead worker is retried; the job id keeps
	one job per invoice and the job never sends twice). A cancelled invoice is no longer owed."""
	invoices = []
	for invoice in owed_invoices():
		if frappe.db.get_value("Sales Invoice", invoice, "docstatus") != 1:
			set_email_status(invoice, "Cancelled")
			continue
		enqueue_invoice_email(invoice)
		invoices.append(invoice)
	frappe.db.commit()
	return invoices


def owe_email(invoice: str) -> None:
	"""In the invoice's transaction (its generation log line written): the email is owed (Pending), and enqueued
	after the commit."""
	set_email_status(invoice, "Pending", from_status=None)
	frappe.db.after_commit.add(lambda: enqueue_email_or_leave_owed(invoice))


def enqueue_email_or_leave_owed(invoice: str) -> None:
	"""After the commit: a lost enqueue leaves the email owed (Pending) for the hourly sweep; it never turns the
	committed invoice into a failure."""
	try:
		enqueue_invoice_email(invoice)
	except Exception:
		frappe.log_error(
			title=_("Accumulating Billing: email of {0} not enqueued; the hourly sweep will").format(invoice)
		)


def enqueue_invoice_email(invoice: str) -> None:
	"""One job per invoice (deduplicated while queued or running); the job itself never sends twice."""
	frappe.enqueue(
		"accumulating_billing.billing.email.send_invoice_email",
		queue="short",
		job_id=f"accumulating-email-{invoice}",
		deduplicate=True,
		invoice=invoice,
	)
