"""Factories for the integration tests of what happens once an invoice exists: payments through ERPNext's own
documents (Payment Entry, Journal Entry, credit note), Notifications and Webhooks, and a local HTTP receiver
for the webhooks (127.0.0.1 only)."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import frappe
from frappe.utils import flt, getdate

from accumulating_billing.tests.utils import company, make_customer


def pay_with_payment_entry(invoice: str, posting_date: str, amount: float | None = None):
	"""A submitted Payment Entry received against the invoice (in full, or `amount`), as the invoice's *Create ▸
	Payment* makes it."""
	from erpnext.accounts.doctype.payment_entry.payment_entry import get_payment_entry

	pe = get_payment_entry("Sales Invoice", invoice)
	pe.posting_date = getdate(posting_date)
	pe.reference_no = f"AB-{frappe.generate_hash(length=6)}"
	pe.reference_date = getdate(posting_date)
	if amount is not None:
		pe.paid_amount = pe.received_amount = amount
		pe.references[0].allocated_amount = amount
	pe.insert(ignore_permissions=True)
	pe.submit()
	return pe


def pay_with_journal_entry(invoice: str, posting_date: str, amount: float | None = None):
	"""A submitted Journal Entry crediting the customer's receivable against the invoice, debiting cash."""
	si = frappe.get_doc("Sales Invoice", invoice)
	amount = amount if amount is not None else si.outstanding_amount
	cash = frappe.get_cached_value("Company", si.company, "default_cash_account")
	je = frappe.get_doc(
		{
			"doctype": "Journal Entry",
			"voucher_type": "Journal Entry",
			"company": si.company,
			"posting_date": getdate(posting_date),
			"accounts": [
				{
					"account": si.debit_to,
					"party_type": "Customer",
					"party": si.customer,
					"credit_in_account_currency": amount,
					"reference_type": "Sales Invoice",
					"reference_name": si.name,
				},
				{"account": cash, "debit_in_account_currency": amount},
			],
		}
	)
	je.insert(ignore_permissions=True)
	je.submit()
	return je


def credit_in_full(invoice: str, posting_date: str):
	"""A submitted credit note of the whole invoice (Create ▸ Return / Credit Note) that settles it: *Update
	Outstanding for Self* off, so ERPNext books it against the invoice (on, the default in v15, the credit note
	stands on its own until Payment Reconciliation allocates it, which settles the invoice then)."""
	from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return

	note = make_sales_return(invoice)
	note.update_outstanding_for_self = 0
	note.posting_date = getdate(posting_date)
	note.set_posting_time = 1
	note.insert(ignore_permissions=True)
	note.submit()
	return note


def make_notification(
	tag: str,
	event: str = "Custom",
	method: str | None = None,
	doctype: str = "Sales Invoice",
	message: str | None = None,
) -> str:
	"""An email Notification on `doctype` (Sales Invoice) whose subject carries `tag` and the document (to count its
	emails); its message `message`, else the tag and the document."""
	name = f"_AB Notify {tag}"
	if not frappe.db.exists("Notification", name):
		frappe.get_doc(
			{
				"doctype": "Notification",
				"name": name,
				"subject": f"AB {tag} {{{{ doc.name }}}}",
				"document_type": doctype,
				"event": event,
				"method": method,
				"channel": "Email",
				"message": message or f"AB {tag}: {{{{ doc.name }}}}",
				"recipients": [{"cc": "ab-notify@example.com"}],
				"enabled": 1,
			}
		).insert(ignore_permissions=True)
	return name


def emails_with(tag: str, invoice: str) -> int:
	"""Emails queued by the Notification tagged `tag` for `invoice`."""
	return frappe.db.count("Email Queue", {"message": ("like", f"%AB {tag} {invoice}%")})


def make_webhook(
	url: str,
	doctype: str = "Sales Invoice",
	data: tuple[tuple[str, str], ...] = (("name", "invoice"), ("grand_total", "total")),
) -> str:
	"""A Webhook on `doctype` (Sales Invoice) posting `data` ((fieldname, key) pairs: the invoice's name and grand
	total) to `url`."""
	return (
		frappe.get_doc(
			{
				"doctype": "Webhook",
				"name": f"_AB Hook {frappe.generate_hash(length=8)}",
				"webhook_doctype": doctype,
				"webhook_docevent": "on_trash",
				"request_url": url,
				"request_method": "POST",
				"request_structure": "Form URL-Encoded",
				"timeout": 3,
				"enabled": 1,
				"webhook_data": [{"fieldname": fieldname, "key": key} for fieldname, key in data],
			}
		)
		.insert(ignore_permissions=True)
		.name
	)


class Receiver:
	"""An HTTP server on 127.0.0.1 that records each request body and answers `status`."""

	def __init__(self, status: int = 200):
		self.status = status
		self.bodies: list[str] = []
		receiver = self

		class Handler(BaseHTTPRequestHandler):
			def do_POST(self):
				length = int(self.headers.get("Content-Length") or 0)
				receiver.bodies.append(self.rfile.read(length).decode())
				self.send_response(receiver.status)
				self.end_headers()
				self.wfile.write(b"{}")

			def log_message(self, *args):
				pass

		self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
		self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
		self.thread.start()

	@property
	def url(self) -> str:
		return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

	def hits_for(self, invoice: str) -> int:
		return sum(1 for body in self.bodies if invoice in body)

	def close(self) -> None:
		self.server.shutdown()
		self.server.server_close()


def stripe_gateway_account() -> str:
	"""A Stripe gateway of the payments app set up offline (its keys are not checked against Stripe: no network
	here) and a Payment Gateway Account paying into the company's cash account."""
	if not frappe.db.exists("Stripe Settings", "_AB Stripe"):
		settings = frappe.get_doc(
			{
				"doctype": "Stripe Settings",
				"gateway_name": "_AB Stripe",
				"publishable_key": "pk_test_accumulating",
				"secret_key": "sk_test_accumulating",
			}
		)
		settings.flags.ignore_mandatory = True  # skips the credential check, a call to api.stripe.com
		settings.insert(ignore_permissions=True)
	account = frappe.get_cached_value("Company", company(), "default_cash_account")
	currency = frappe.get_cached_value("Account", account, "account_currency")
	name = f"Stripe-_AB Stripe - {currency}"
	if not frappe.db.exists("Payment Gateway Account", name):
		frappe.get_doc(
			{
				"doctype": "Payment Gateway Account",
				"payment_gateway": "Stripe-_AB Stripe",
				"payment_account": account,
			}
		).insert(ignore_permissions=True)
	return name


def receive_advance(
	customer: str, amount: float, posting_date: str, account: str | None = None, rate: float = 1
):
	"""A Payment Entry received from the customer with no invoice to pay yet (a retainer). `account`: the
	receivable account in the customer's currency; `rate`: its exchange rate to the company currency."""
	comp = company()
	cash = frappe.get_cached_value("Company", comp, "default_cash_account")
	receivable = account or frappe.get_cached_value("Company", comp, "default_receivable_account")
	pe = frappe.get_doc(
		{
			"doctype": "Payment Entry",
			"payment_type": "Receive",
			"company": comp,
			"posting_date": getdate(posting_date),
			"party_type": "Customer",
			"party": customer,
			"paid_from": receivable,
			"paid_to": cash,
			"paid_amount": amount,
			"received_amount": flt(amount * rate, 2),
			"source_exchange_rate": rate,
			"target_exchange_rate": 1,
			"reference_no": f"AB-RET-{frappe.generate_hash(length=6)}",
			"reference_date": getdate(posting_date),
		}
	)
	pe.insert(ignore_permissions=True)
	pe.submit()
	return pe


def euro_customer() -> tuple[str, str]:
	"""A customer billed in EUR, with a EUR receivable account and EUR prices; returns (customer, account)."""
	comp = company()
	account = frappe.db.get_value("Account", {"account_name": "_AB Debtors EUR", "company": comp})
	if not account:
		parent = frappe.db.get_value(
			"Account",
			frappe.get_cached_value("Company", comp, "default_receivable_account"),
			"parent_account",
		)
		account = (
			frappe.get_doc(
				{
					"doctype": "Account",
					"account_name": "_AB Debtors EUR",
					"company": comp,
					"parent_account": parent,
					"account_type": "Receivable",
					"account_currency": "EUR",
				}
			)
			.insert(ignore_permissions=True)
			.name
		)
	if not frappe.db.exists("Currency Exchange", {"from_currency": "EUR", "to_currency": "USD"}):
		frappe.get_doc(
			{
				"doctype": "Currency Exchange",
				"date": "2025-01-01",
				"from_currency": "EUR",
				"to_currency": "USD",
				"exchange_rate": 1.1,
				"for_selling": 1,
				"for_buying": 1,
			}
		).insert(ignore_permissions=True)
	if not frappe.db.exists("Price List", "_AB EUR Selling"):
		frappe.get_doc(
			{"doctype": "Price List", "price_list_name": "_AB EUR Selling", "currency": "EUR", "selling": 1}
		).insert(ignore_permissions=True)
	customer = make_customer(default_currency="EUR", accounts=[{"company": comp, "account": account}])
	return customer, account
