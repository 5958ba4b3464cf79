"""Getting paid: what the customer has paid in advance (a prepaid retainer), and pay links on generated
invoices: ERPNext Payment Requests through Frappe's payments app, or a third-party link."""

import frappe
from frappe.query_builder.functions import Sum
from frappe.utils import cint, flt

GENERATOR = "Accumulating Generator"


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


def request_payment(generator, invoice) -> str | None:
	"""An ERPNext Payment Request for a generated, submitted invoice, with the gateway's pay link; made in the
	invoice's own transaction, so an invoice has one whatever is re-run or retried. None without a gateway."""
	account = generator.get("payment_gateway_account")
	if not account or invoice.docstatus != 1 or not payments_installed():
		return None
	if flt(frappe.db.get_value("Sales Invoice", invoice.name, "outstanding_amount")) <= 0:
		return None  # settled already (advances, a zero invoice): nothing to ask for
	existing = frappe.db.get_value(
		PAYMENT_REQUEST,
		{"reference_doctype": "Sales Invoice", "reference_name": invoice.name, "docstatus": 1},
	)
	if existing:
		return existing
	from erpnext.accounts.doctype.payment_request.payment_request import make_payment_request

	request = make_payment_request(
		dt="Sales Invoice",
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
	# a charge is money moving outside the database: only after the invoice's commit, once, in a job
	name = request.name
	frappe.db.after_commit.add(lambda: enqueue_charge(name))
	return request.name


def request_payment_or_note(generator, invoice) -> str | None:
	"""The Payment Request of a generated invoice; a gateway that refuses it (a currency it does not take, an
	amount below its minimum) never stops the billing: the invoice stays, the refusal goes to the Error Log and a
	comment on the generator, and the invoice can still be paid (Create ▸ Payment Request, or the portal)."""
	savepoint = "accumulating_payment_request"
	frappe.db.savepoint(savepoint)
	try:
		return request_payment(generator, invoice)
	except Exception as e:
		if isinstance(e, frappe.QueryDeadlockError | frappe.QueryTimeoutError):
			raise  # the whole occurrence was rolled back: it is retried
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
	try:
		frappe.enqueue(
			"accumulating_billing.billing.payments.charge_saved_method",
			queue="short",
			job_id=f"accumulating-charge-{request}",
			deduplicate=True,
			request=request,
		)
	except Exception:
		frappe.log_error(title=frappe._("Charge of Payment Request {0} not enqueued").format(request))


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
