"""Getting paid: what the customer has paid in advance (a prepaid retainer), and pay links on generated
invoices: ERPNext Payment Requests through Frappe's payments app, or a third-party link.

A generated invoice's Payment Request is owed in the invoice's own transaction (owed.py records the gateway in
`accumulating_pay_request`) and made after its commit, in a job (`make_owed_request`): a gateway's request may call
the gateway over the network (PayPal's sets up its checkout, M-Pesa's asks the phone), which must never happen while
the generator and its items are locked. Exactly one per invoice: the job takes the invoice row's lock, makes the
request only while it is still owed (and the invoice has none), and clears the debt in the request's own
transaction; a job that dies leaves it owed, and the hourly sweep (`enqueue_owed_requests`) enqueues it again.
Whatever may show the link (the invoice email, the Generated automations) makes the owed request first.
"""

import frappe
from frappe.query_builder.functions import Sum
from frappe.utils import cint, flt

from accumulating_billing.billing.jobs import enqueue_once
from accumulating_billing.doctypes import GENERATOR

INVOICE = "Sales Invoice"
# Sales Invoice field: the Payment Gateway Account of the request the invoice still owes (empty once settled)
OWED_FIELD = "accumulating_pay_request"


def advance_balance(customer: str, company: str) -> dict:
	"""The customer's received payments not yet allocated to an invoice (ERPNext's advances), in the currency of
	the receivable account they were booked to: {"amount", "currency"} (amount 0 when there is none)."""
	return advance_balances({(customer, company)})[(customer, company)]


def advance_balances(parties: set[tuple[str, str]]) -> dict[tuple[str, str], dict]:
	"""advance_balance of each (customer, company), in one query."""
	found = {pair: {"amount": 0.0, "currency": None} for pair in parties}
	if not parties:
		return found
	PE = frappe.qb.DocType("Payment Entry")
	rows = (
		frappe.qb.from_(PE)
		.select(PE.party, PE.company, PE.paid_from_account_currency, Sum(PE.unallocated_amount))
		.where(
			(PE.docstatus == 1)
			& (PE.payment_type == "Receive")
			& (PE.party_type == "Customer")
			& PE.party.isin(sorted({customer for customer, _company in parties}))
			& PE.company.isin(sorted({company for _customer, company in parties}))
			& (PE.unallocated_amount > 0)
		)
		.groupby(PE.party, PE.company, PE.paid_from_account_currency)
		.run()
	)
	for party, company, currency, amount in rows:
		best = found.get((party, company))
		if best is not None and flt(amount) > best["amount"]:
			found[(party, company)] = {"amount": flt(amount), "currency": currency}
	return found


# ------------------------------------------------------------------------------------------ pay links

LINK_FIELDS = ("name", "outstanding_amount", "grand_total", "currency", "customer")
PAYMENT_REQUEST = "Payment Request"


def payments_installed() -> bool:
	"""Frappe's payments app (Payment Gateway, Stripe, Razorpay, PayPal, Braintree, GoCardless)."""
	return "payments" in frappe.get_installed_apps()


def gateway_owed(generator, invoice) -> str | None:
	"""The Payment Gateway Account whose request a generated invoice owes once it is final: the generator's, for
	a submitted invoice, where the payments app is installed; else None (nothing owed)."""
	account = generator.get("payment_gateway_account")
	if not account or invoice.docstatus != 1 or not payments_installed():
		return None
	return account


def owe_request(invoice, account: str) -> None:
	"""In the invoice's transaction: the invoice owes a Payment Request through `account`, made after the commit
	(`make_owed_request`, in a job; the hourly sweep enqueues it again if that job is lost)."""
	invoice.db_set(OWED_FIELD, account, update_modified=False)
	name = invoice.name
	frappe.db.after_commit.add(lambda: enqueue_owed_request(name))


def enqueue_owed_request(invoice: str) -> None:
	"""After the commit: a lost enqueue leaves the request owed for the hourly sweep; it never turns the committed
	invoice into an error."""
	enqueue_once(
		"accumulating_billing.billing.payments.make_owed_request",
		f"accumulating-pay-request-{invoice}",
		frappe._("Payment Request of {0} not enqueued; the hourly sweep will").format(invoice),
		invoice=invoice,
	)


def enqueue_owed_requests(limit: int = 500) -> list[str]:
	"""Hourly: enqueue again the Payment Request of every invoice that still owes one (a lost enqueue, a job that
	died). The job id keeps one job per invoice, and the job makes the request once."""
	SI = frappe.qb.DocType(INVOICE)
	owed = (
		frappe.qb.from_(SI)
		.select(SI.name)
		.where(SI[OWED_FIELD].isnotnull() & (SI[OWED_FIELD] != ""))
		.orderby(SI.creation)
		.limit(limit)
		.run(pluck=True)
	)
	for invoice in owed:
		enqueue_owed_request(invoice)
	return owed


def make_owed_request(invoice: str) -> str | None:
	"""The job (also called first by whatever shows the link: the invoice email, the Generated automations): make
	the Payment Request `invoice` owes, once, in a transaction of its own, and commit. Returns the request's name,
	or None when nothing was owed (made already, by another job or by a person; no longer asked for: cancelled,
	settled) or the gateway refused it (noted, as a refusal in the billing used to be).

	No generator or item lock is held here: only the invoice row, so that two jobs never both make one."""
	if not frappe.db.get_value(INVOICE, invoice, OWED_FIELD):
		return None  # the common case (no gateway, or made already): no lock, no commit
	frappe.db.commit()  # nothing of the caller is pending: the lock below is this transaction's alone
	owed = frappe.db.get_value(
		INVOICE,
		invoice,
		[OWED_FIELD, "docstatus", "accumulating_generator"],
		as_dict=True,
		for_update=True,
	)
	if not owed or not owed.get(OWED_FIELD):
		frappe.db.rollback()
		return None
	request = None
	if owed.docstatus == 1 and payments_installed():
		doc = frappe.get_doc(INVOICE, invoice)
		generator = frappe.get_doc(GENERATOR, owed.accumulating_generator)
		request = request_payment_or_note(generator, doc, owed.get(OWED_FIELD))
	frappe.db.set_value(INVOICE, invoice, OWED_FIELD, None, update_modified=False)
	frappe.db.commit()
	return request


def request_payment(generator, invoice, account: str) -> str | None:
	"""An ERPNext Payment Request for a generated, submitted invoice through `account`, with the gateway's pay
	link. None when the invoice asks for nothing (settled already) or has a submitted request (one per
	invoice)."""
	if flt(frappe.db.get_value(INVOICE, invoice.name, "outstanding_amount")) <= 0:
		return None  # settled already (advances, a zero invoice, paid meanwhile): nothing to ask for
	existing = frappe.db.get_value(
		PAYMENT_REQUEST,
		{"reference_doctype": INVOICE, "reference_name": invoice.name, "docstatus": 1},
	)
	if existing:
		return existing
	from erpnext.accounts.doctype.payment_request.payment_request import make_payment_request

	request = make_payment_request(
		dt=INVOICE,
		dn=invoice.name,
		party_type="Customer",
		party=invoice.customer,
		payment_gateway_account=account,
		recipient_id=billing_email_of(invoice.customer),
		mute_email=1,  # the invoice email carries the link (Open and Email); no second email
		return_doc=1,
	)
	if cint(generator.get("allow_partial_payments")):
		instalment = first_unpaid_instalment(invoice)
		if instalment:
			request.grand_total = instalment
	request.flags.ignore_permissions = True
	if request.is_new():
		request.insert()
	request.submit()
	# the gateway's link, on the request itself (ERPNext sets it only when it emails the request)
	request.db_set("payment_url", request.get_payment_url())
	# a charge is money moving outside the database: only after the request's commit, once, in a job
	name = request.name
	frappe.db.after_commit.add(lambda: enqueue_charge(name))
	return request.name


def request_payment_or_note(generator, invoice, account: str) -> str | None:
	"""The Payment Request of a generated invoice; a gateway that refuses it (a currency it does not take, an
	amount below its minimum) never stops anything: the invoice stays, the refusal goes to the Error Log and a
	comment on the generator, and the invoice can still be paid (Create ▸ Payment Request, or the portal)."""
	savepoint = "accumulating_payment_request"
	frappe.db.savepoint(savepoint)
	try:
		return request_payment(generator, invoice, account)
	except Exception as e:
		if isinstance(e, frappe.QueryDeadlockError | frappe.QueryTimeoutError):
			raise  # the database rolled the transaction back: the request stays owed, and is tried again
		frappe.db.rollback(save_point=savepoint)
		frappe.clear_last_message()
		frappe.log_error(title=frappe._("Payment Request for {0} not made").format(invoice.name))
		frappe.get_doc(GENERATOR, generator.name).add_comment(
			"Comment",
			frappe._("No Payment Request was made for {0}: {1}").format(
				invoice.name, frappe.utils.strip_html(str(e)) or type(e).__name__
			),
		)
		return None


def first_unpaid_instalment(invoice) -> float:
	"""The outstanding part of the first instalment of the invoice's payment schedule not paid yet."""
	for row in sorted(invoice.get("payment_schedule") or [], key=lambda r: (r.due_date, r.idx)):
		outstanding = (
			flt(row.get("outstanding")) if row.get("outstanding") is not None else flt(row.payment_amount)
		)
		if outstanding > 0:
			return outstanding
	return 0.0


def due_now(invoice: str) -> float:
	"""What a customer allowed to pay in part owes now, in the invoice currency: the first unpaid instalment
	(capped by the outstanding amount)."""
	return dues_now([frappe.get_doc("Sales Invoice", invoice)])[invoice]


def dues_now(invoices: list) -> dict[str, float]:
	"""due_now of each invoice (rows with name, outstanding_amount, currency, party_account_currency and
	conversion_rate; their payment schedules are read in one query)."""
	schedules: dict[str, list] = {invoice.name: [] for invoice in invoices}
	if invoices:
		for row in frappe.get_all(
			"Payment Schedule",
			filters={"parenttype": "Sales Invoice", "parent": ("in", list(schedules))},
			fields=["parent", "idx", "due_date", "payment_amount", "outstanding"],
		):
			schedules[row.parent].append(row)
	found = {}
	for invoice in invoices:
		outstanding = outstanding_in_invoice_currency(invoice)
		instalment = first_unpaid_instalment(frappe._dict(payment_schedule=schedules[invoice.name]))
		found[invoice.name] = min(instalment, outstanding) if instalment else outstanding
	return found


def outstanding_in_invoice_currency(si) -> float:
	"""ERPNext keeps the outstanding amount in the receivable account's currency."""
	if si.party_account_currency and si.party_account_currency != si.currency and flt(si.conversion_rate):
		return flt(si.outstanding_amount) / flt(si.conversion_rate)
	return flt(si.outstanding_amount)


def enqueue_charge(request: str) -> None:
	if not frappe.get_hooks("accumulating_charge_saved_method"):
		return
	enqueue_once(
		"accumulating_billing.billing.payments.charge_saved_method",
		f"accumulating-charge-{request}",
		frappe._("Charge of Payment Request {0} not enqueued").format(request),
		request=request,
	)


def charge_saved_method(request: str) -> None:
	"""The seam for card AutoPay: apps that can charge a customer's saved payment method register
	`accumulating_charge_saved_method = "their_app.module.charge"` in their hooks; after the invoice's commit,
	each is called (in a job) with the submitted Payment Request and charges it through its gateway; the payment
	then settles the invoice the way every online payment does, through the request's Payment Entry. A request
	that is no longer open is never charged; a failing charge goes to the Error Log. No gateway of that kind
	ships here."""
	doc = frappe.get_doc(PAYMENT_REQUEST, request)
	if doc.docstatus != 1 or doc.status not in ("Requested", "Initiated"):
		return
	for method in frappe.get_hooks("accumulating_charge_saved_method"):
		try:
			frappe.get_attr(method)(doc)
		except Exception:
			frappe.log_error(title=frappe._("Charge of Payment Request {0} failed").format(request))


def billing_email_of(customer: str) -> str | None:
	from accumulating_billing.billing.contacts import billing_email

	return billing_email(customer)


def pay_link(invoice) -> str | None:
	"""The link the invoice email offers: the gateway's (the invoice's Payment Request), else the generator's
	third-party link filled with the invoice's values."""
	generator = invoice.get("accumulating_generator")
	template = frappe.db.get_value(GENERATOR, generator, "third_party_payment_url") if generator else None
	return pay_links([invoice], {generator: template})[invoice.name]


def pay_links(invoices: list, templates: dict) -> dict[str, str | None]:
	"""pay_link of each invoice, the Payment Requests of all of them read in one query; `templates`: each
	generator's third-party link template."""
	urls: dict[str, str] = {}
	if invoices:
		for row in frappe.get_all(
			PAYMENT_REQUEST,
			filters={
				"reference_doctype": "Sales Invoice",
				"reference_name": ("in", [invoice.name for invoice in invoices]),
				"docstatus": 1,
				# only a request that still asks for money: a paid or cancelled one must never be offered again
				"status": ("in", ("Requested", "Initiated", "Partially Paid")),
				"outstanding_amount": (">", 0),
				"payment_url": ("is", "set"),
			},
			fields=["reference_name", "payment_url"],
			order_by="modified desc",
		):
			urls.setdefault(row.reference_name, row.payment_url)
	found = {}
	for invoice in invoices:
		template = templates.get(invoice.get("accumulating_generator"))
		found[invoice.name] = urls.get(invoice.name) or (
			third_party_link(template, invoice) if template else None
		)
	return found


def third_party_link(template: str, invoice) -> str:
	from urllib.parse import quote

	values = {field: quote(str(invoice.get(field) or ""), safe="") for field in LINK_FIELDS}
	return template.format_map(values)


def validate_link_template(template: str | None) -> None:
	"""A third-party link: http(s), and only the placeholders the app fills in."""
	if not template:
		return
	from string import Formatter

	if not template.startswith(("https://", "http://")):
		frappe.throw(frappe._("The Third-Party Payment Link must start with https:// or http://."))
	try:
		parts = [
			(name, spec, conv) for _text, name, spec, conv in Formatter().parse(template) if name is not None
		]
	except ValueError:
		parts = [("?", "", None)]
	if any(spec or conv for _name, spec, conv in parts):
		frappe.throw(
			frappe._("The Third-Party Payment Link takes plain placeholders such as {name}, without formats.")
		)
	unknown = {name for name, _spec, _conv in parts} - set(LINK_FIELDS)
	if unknown:
		frappe.throw(
			frappe._("The Third-Party Payment Link can use {0}; not {1}.").format(
				", ".join("{" + f + "}" for f in LINK_FIELDS), ", ".join(sorted(unknown))
			)
		)


def cancel_payment_requests(doc, method=None) -> None:
	"""Sales Invoice on_cancel: the open Payment Requests of a cancelled generated invoice are cancelled too."""
	if not doc.get("accumulating_generator"):
		return
	for name in frappe.get_all(
		PAYMENT_REQUEST,
		filters={"reference_doctype": "Sales Invoice", "reference_name": doc.name, "docstatus": 1},
		pluck="name",
	):
		request = frappe.get_doc(PAYMENT_REQUEST, name)
		request.flags.ignore_permissions = True
		request.cancel()
