"""Pay links on generated invoices (issue 14): an ERPNext Payment Request with the gateway's link through Frappe's
payments app, once per invoice, made after the invoice's commit by a job (played here as the worker would:
`payments.make_owed_request`); the link in the invoice email; partial payments by payment terms; a third-party
link; cancel cancels the request. Skipped (and counted as skipped) where the payments app is not installed. The
guarantees of the request owed after the commit (lost enqueue, crash, retry, two jobs) are in test_owed."""

from unittest.mock import patch

import frappe

from accumulating_billing.billing import email, generation, payments
from accumulating_billing.billing.generation import generate_now, run_generator
from accumulating_billing.tests.base import GatewayTestCase, GenerationTestCase
from accumulating_billing.tests.utils import add, make_emailing_generator, make_generator

REQUEST = "Payment Request"


def requests_of(invoice: str) -> list:
	return frappe.get_all(
		REQUEST,
		filters={"reference_doctype": "Sales Invoice", "reference_name": invoice},
		fields=["name", "docstatus", "grand_total", "payment_url", "status"],
	)


def halves_terms() -> str:
	name = "_AB Half Now Half Later"
	if not frappe.db.exists("Payment Terms Template", name):
		frappe.get_doc(
			{
				"doctype": "Payment Terms Template",
				"template_name": name,
				"terms": [
					{
						"invoice_portion": 50,
						"credit_days": 0,
						"due_date_based_on": "Day(s) after invoice date",
					},
					{
						"invoice_portion": 50,
						"credit_days": 30,
						"due_date_based_on": "Day(s) after invoice date",
					},
				],
			}
		).insert(ignore_permissions=True)
	return name


class PayLinkTestCase(GatewayTestCase):
	def invoice_of(self, customer=None, **settings) -> tuple[str, str]:
		"""A generator with the gateway, billed on 1 Feb 2026; its invoice's owed request made (the job)."""
		gen = make_generator(customer, payment_gateway_account=self.gateway, due_days=10, **settings)
		add(gen.name, self.listing, qty=2, rate=50, service_date="2026-01-10")
		frappe.db.commit()
		invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		payments.make_owed_request(invoice)
		return gen.name, invoice


class TestPaymentRequests(PayLinkTestCase):
	def test_one_request_per_invoice_with_the_gateway_link(self):
		gen, invoice = self.invoice_of()
		requests = requests_of(invoice)
		self.assertEqual(len(requests), 1)
		self.assertEqual((requests[0].docstatus, requests[0].grand_total), (1, 100))
		self.assertIn("stripe_checkout", requests[0].payment_url)
		self.assertIn(requests[0].name, requests[0].payment_url)
		# a re-run of the occurrence, then Generate Now with nothing new: no second request
		self.assertEqual(run_generator(gen, "2026-02-01").invoices, [])
		self.assertEqual(generate_now(gen, "2026-02-02")[0], None)
		self.assertEqual(len(requests_of(invoice)), 1)
		# Generate Now with a new item: its own invoice, its own request
		add(gen, self.listing, qty=1, rate=30, service_date="2026-02-02")
		frappe.db.commit()
		other = generate_now(gen, "2026-02-02")[0]
		self.assertEqual(requests_of(other), [])  # owed: made after the commit, by its job
		payments.make_owed_request(other)
		self.assertEqual([r.grand_total for r in requests_of(other)], [30])

	def test_a_retried_occurrence_makes_one_request(self):
		gen = make_generator(payment_gateway_account=self.gateway)
		add(gen.name, self.listing, qty=1, rate=70, service_date="2026-01-10")
		frappe.db.commit()
		# the occurrence fails after its request was owed: the rollback takes the debt with the invoice
		with patch.object(generation, "clear_one_time_settings", side_effect=RuntimeError("worker died")):
			failed = run_generator(gen.name, "2026-02-01")
		self.assertTrue(failed.error)
		self.assertEqual(frappe.db.count("Sales Invoice", {"accumulating_generator": gen.name}), 0)
		retried = run_generator(gen.name, "2026-02-01").invoices
		self.assertEqual(len(retried), 1)
		payments.make_owed_request(retried[0])
		self.assertEqual(len(requests_of(retried[0])), 1)
		self.assertEqual(
			frappe.db.count(
				REQUEST,
				{
					"reference_doctype": "Sales Invoice",
					"party": frappe.db.get_value("Sales Invoice", retried[0], "customer"),
				},
			),
			1,
		)

	def test_partial_payments_ask_for_the_first_instalment(self):
		_gen, whole = self.invoice_of(payment_terms_template=halves_terms())
		self.assertEqual([r.grand_total for r in requests_of(whole)], [100])
		_gen, partial = self.invoice_of(payment_terms_template=halves_terms(), allow_partial_payments=1)
		self.assertEqual([r.grand_total for r in requests_of(partial)], [50])

	def test_the_portal_shows_what_is_due_now_with_its_pay_link(self):
		from accumulating_billing.billing.portal import running_tabs
		from accumulating_billing.tests.utils import portal_user_for

		_gen, invoice = self.invoice_of(
			payment_terms_template=halves_terms(), allow_partial_payments=1, title="Half now"
		)
		customer = frappe.db.get_value("Sales Invoice", invoice, "customer")
		tab = next(t for t in running_tabs(portal_user_for(customer)) if t["title"] == "Half now")
		self.assertEqual(
			[(row.name, row.due_now, row.pay_link) for row in tab["to_pay"]],
			[(invoice, 50, requests_of(invoice)[0].payment_url)],
		)

	def test_an_invoice_settled_by_advances_asks_for_nothing(self):
		from accumulating_billing.tests.ledger import receive_advance
		from accumulating_billing.tests.utils import make_customer

		customer = make_customer()
		receive_advance(customer, 500, "2026-01-02")
		_gen, invoice = self.invoice_of(customer=customer, apply_advances_automatically=1)
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "outstanding_amount"), 0)
		self.assertEqual(requests_of(invoice), [])

	def test_a_gateway_that_refuses_never_stops_the_billing(self):
		with patch.object(
			payments, "request_payment", side_effect=frappe.ValidationError("currency not taken")
		):
			gen, invoice = self.invoice_of()
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "docstatus"), 1)
		self.assertEqual(requests_of(invoice), [])
		self.assertTrue(
			frappe.db.exists("Comment", {"reference_name": gen, "content": ("like", "%currency not taken%")})
		)

	def test_cancelling_the_invoice_cancels_its_request(self):
		_gen, invoice = self.invoice_of()
		frappe.get_doc("Sales Invoice", invoice).cancel()
		frappe.db.commit()
		self.assertEqual([r.docstatus for r in requests_of(invoice)], [2])

	def test_the_email_carries_the_pay_link(self):
		gen = make_emailing_generator(self.listing)
		frappe.db.set_value("Accumulating Generator", gen.name, "payment_gateway_account", self.gateway)
		frappe.db.commit()
		invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		# the email job runs before the request's own job: it makes the owed request first, and carries its link
		communication = email.send_invoice_email(invoice)
		url = requests_of(invoice)[0].payment_url
		self.assertIn(
			frappe.utils.escape_html(url), frappe.db.get_value("Communication", communication, "content")
		)
		self.assertTrue(frappe.db.exists("Email Queue", {"communication": communication}))

	def test_the_saved_method_seam_charges_once_after_the_commit(self):
		calls, queued = [], []
		real_get_hooks = frappe.get_hooks

		def get_hooks(hook=None, *args, **kwargs):
			if hook == "accumulating_charge_saved_method":
				return ["accumulating_billing.tests.test_pay_links.record_charge"]
			return real_get_hooks(hook, *args, **kwargs)

		with (
			patch.object(frappe, "get_hooks", get_hooks),
			patch.object(frappe.local, "ab_charges", calls, create=True),
			patch.object(payments, "enqueue_charge", side_effect=queued.append),
		):
			_gen, invoice = self.invoice_of()
			self.assertEqual(calls, [])  # nothing is charged inside the invoice's transaction
			self.assertEqual(queued, [r.name for r in requests_of(invoice)])  # queued after its commit
			for request in queued:  # the job
				payments.charge_saved_method(request)
			self.assertEqual(calls, queued)
			frappe.get_doc("Sales Invoice", invoice).cancel()
			payments.charge_saved_method(queued[0])  # a retried job: the request is no longer open
			self.assertEqual(calls, queued)


def record_charge(request) -> None:
	frappe.local.ab_charges.append(request.name)


class TestThirdPartyLink(GenerationTestCase):
	def test_the_email_carries_the_filled_in_link(self):
		gen = make_emailing_generator(self.listing)
		frappe.db.set_value(
			"Accumulating Generator",
			gen.name,
			"third_party_payment_url",
			"https://pay.example.com/?invoice={name}&amount={outstanding_amount}",
		)
		frappe.db.commit()
		invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		communication = email.send_invoice_email(invoice)
		outstanding = frappe.db.get_value("Sales Invoice", invoice, "outstanding_amount")
		self.assertIn(
			f"https://pay.example.com/?invoice={invoice}&amp;amount={outstanding}",
			frappe.db.get_value("Communication", communication, "content"),
		)
		self.assertEqual(requests_of(invoice), [])
