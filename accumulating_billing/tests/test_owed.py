"""What a generated invoice owes (billing/owed.py, issue 26): its Generated automations, its Payment Request and
its email, owed in the invoice's own transaction by every path that makes an invoice final (one step, Generate
Now, the submit of a reserved invoice), fired after the commit, swept if lost.

The Payment Request is made after the commit, by a job, never while the generator and its items are locked (a
gateway may call out over the network), and still exactly once per invoice: a lost enqueue, a job that dies
before its commit, a retried job, two jobs at once. Skipped (and counted as skipped) without the payments app."""

from contextlib import ExitStack
from unittest.mock import patch

import frappe

from erpnext.accounts.doctype.payment_request.payment_request import PaymentRequest, make_payment_request

from accumulating_billing.billing import automations, email, generation, locks, owed, payments, two_step
from accumulating_billing.billing.generation import generate_now, run_generator
from accumulating_billing.doctypes import LOG, RUN
from accumulating_billing.tests.base import GatewayTestCase
from accumulating_billing.tests.faults.connections import Connection
from accumulating_billing.tests.faults.crashes import Injector, Kill, at_commit
from accumulating_billing.tests.ledger import make_notification
from accumulating_billing.tests.two_step_utils import set_two_step, stopped_after_reserve
from accumulating_billing.tests.utils import (
	add,
	make_billing_contact,
	make_customer,
	make_generator,
)

INVOICE = "Sales Invoice"


def requests_of(invoice: str) -> list[str]:
	return frappe.get_all(
		"Payment Request",
		filters={"reference_doctype": INVOICE, "reference_name": invoice, "docstatus": 1},
		pluck="name",
	)


def owes_request(invoice: str) -> str | None:
	return frappe.db.get_value(INVOICE, invoice, payments.OWED_FIELD) or None


class OwedTestCase(GatewayTestCase):
	def tab(self, **settings) -> str:
		"""A generator with the gateway and one item dated January 2026, due on 1 Feb 2026; committed."""
		customer = make_customer()
		make_billing_contact(customer)
		gen = make_generator(
			customer, first_creation_date="2026-02-01", payment_gateway_account=self.gateway, **settings
		)
		add(gen.name, self.listing, qty=2, rate=50, service_date="2026-01-10")
		frappe.db.commit()
		return gen.name

	def billed(self, gen: str, jobs: list | None = None) -> str:
		"""Bill the generator's 1 Feb 2026 occurrence; the jobs enqueued after its commit are recorded in `jobs`
		(none is run: the test plays the worker)."""
		jobs = [] if jobs is None else jobs
		with patch.object(frappe, "enqueue", lambda method, **kw: jobs.append((method, kw))):
			[invoice] = run_generator(gen, "2026-02-01").invoices
		return invoice


class TestOwedInTheInvoicesTransaction(OwedTestCase):
	def test_one_step_owes_all_three_and_fires_them_after_the_commit(self):
		gen = self.tab(
			generate_as="Open and Email",
			automations=[{"event": "Generated", "notification": make_notification("owed")}],
		)
		jobs = []
		invoice = self.billed(gen, jobs)
		# owed in the invoice's transaction: the run, the request (through the generator's gateway), the email
		self.assertEqual(frappe.get_all(RUN, {"sales_invoice": invoice}, pluck="status"), ["Pending"])
		self.assertEqual(owes_request(invoice), self.gateway)
		self.assertEqual(
			frappe.db.get_value(LOG, {"sales_invoice": invoice, "outcome": "Billed"}, "email_status"),
			"Pending",
		)
		self.assertEqual(requests_of(invoice), [])  # nothing was asked of the gateway in that transaction
		# fired after the commit: one job each
		self.assertEqual(
			sorted(
				method.rsplit(".", 1)[1] for method, _kw in jobs if method.startswith("accumulating_billing.")
			),
			["fire", "make_owed_request", "send_invoice_email"],
		)
		# the worker: the email job runs first and makes the owed request, so the email carries its link
		communication = email.send_invoice_email(invoice)
		[request] = requests_of(invoice)
		self.assertIsNone(owes_request(invoice))
		url = frappe.db.get_value("Payment Request", request, "payment_url")
		self.assertIn(
			frappe.utils.escape_html(url), frappe.db.get_value("Communication", communication, "content")
		)
		# the request's own job and the automation's find it made: still one
		self.assertIsNone(payments.make_owed_request(invoice))
		[run] = frappe.get_all(RUN, {"sales_invoice": invoice}, pluck="name")
		self.assertEqual(automations.fire(run), "Done")
		self.assertEqual(requests_of(invoice), [request])

	def test_a_rollback_takes_the_invoice_and_its_debts_back_together(self):
		gen = self.tab(automations=[{"event": "Generated", "notification": make_notification("owed")}])
		jobs = []
		with (
			patch.object(generation, "clear_one_time_settings", side_effect=RuntimeError("worker died")),
			patch.object(frappe, "enqueue", lambda method, **kw: jobs.append(method)),
		):
			self.assertTrue(run_generator(gen, "2026-02-01").error)
		self.assertEqual(frappe.get_all(INVOICE, {"accumulating_generator": gen}), [])
		self.assertEqual(frappe.get_all(RUN, {"generator": gen}), [])
		# nothing was fired for what the rollback took back
		self.assertEqual([method for method in jobs if method.startswith("accumulating_billing.")], [])

	def test_generate_now_and_a_reserved_invoice_owe_the_same_once(self):
		gen = self.tab(generate_as="Open and Email")
		invoice, _message = generate_now(gen, "2026-01-20")
		self.assertEqual(owes_request(invoice), self.gateway)
		self.assertEqual(frappe.db.get_value(LOG, {"sales_invoice": invoice}, "email_status"), "Pending")
		payments.make_owed_request(invoice)
		self.assertEqual(len(requests_of(invoice)), 1)
		# two-step billing: a reserved draft owes nothing; its submit owes what a one-step invoice owes
		add(gen, self.listing, qty=1, rate=30, service_date="2026-01-25")
		frappe.db.commit()
		set_two_step(True)
		try:
			with stopped_after_reserve():  # the process died after the reserve
				[reserved] = run_generator(gen, "2026-02-01").invoices
			self.assertEqual(frappe.db.get_value(INVOICE, reserved, "docstatus"), 0)
			self.assertIsNone(owes_request(reserved))
			self.assertIsNone(frappe.db.get_value(LOG, {"sales_invoice": reserved}, "email_status"))
			self.assertIsNone(two_step.finalize(gen, reserved))
		finally:
			set_two_step(False)
		self.assertEqual(owes_request(reserved), self.gateway)
		self.assertEqual(frappe.db.get_value(LOG, {"sales_invoice": reserved}, "email_status"), "Pending")
		payments.make_owed_request(reserved)
		self.assertEqual(len(requests_of(reserved)), 1)

	def test_a_draft_owes_its_generated_automations_only(self):
		gen = self.tab(
			generate_as="Draft",
			automations=[{"event": "Generated", "notification": make_notification("owed")}],
		)
		invoice = self.billed(gen)
		self.assertEqual(frappe.get_all(RUN, {"sales_invoice": invoice}, pluck="event"), ["Generated"])
		self.assertIsNone(owes_request(invoice))
		self.assertIsNone(frappe.db.get_value(LOG, {"sales_invoice": invoice}, "email_status"))

	def test_owe_takes_what_it_needs_from_its_arguments(self):
		"""The API threshold and combined invoices (issues 27, 28) build on: the caller passes the invoice and the
		generator(s) it bills; the debts follow the generators given, whatever the invoice was made from."""
		first, second = self.tab(), self.tab(generate_as="Open and Email")
		invoice = self.billed(first)
		frappe.db.set_value(INVOICE, invoice, payments.OWED_FIELD, None)
		other = frappe.get_doc("Accumulating Generator", second)
		other.append("automations", {"event": "Generated", "notification": make_notification("owed")})
		owed.owe(frappe.get_doc(INVOICE, invoice), [other])  # rolled back below: nothing is fired
		self.assertEqual(frappe.get_all(RUN, {"sales_invoice": invoice}, pluck="generator"), [second])
		self.assertEqual(owes_request(invoice), self.gateway)
		self.assertEqual(
			frappe.db.get_value(LOG, {"sales_invoice": invoice, "outcome": "Billed"}, "email_status"),
			"Pending",
		)
		frappe.db.rollback()


class TestPaymentRequestAfterTheCommit(OwedTestCase):
	def test_no_gateway_call_while_the_generator_and_its_items_are_locked(self):
		gen = self.tab()
		item = frappe.get_all("Accumulating Generator Item", {"generator": gen}, pluck="name")[0]
		prober = Connection(frappe.local.site, "ab-owed-probe")
		seen = []
		real = PaymentRequest.get_payment_url

		def probe(generator: str, item: str) -> tuple[bool, bool]:
			free = locks.lock_generator_or_skip(generator)
			Item = frappe.qb.DocType("Accumulating Generator Item")
			item_free = bool(
				frappe.qb.from_(Item)
				.select(Item.name)
				.where(Item.name == item)
				.for_update(skip_locked=True)
				.run()
			)
			return free, item_free

		def get_payment_url(self, *args, **kwargs):  # the gateway's network call
			seen.append(prober.run(probe, gen, item))
			return real(self, *args, **kwargs)

		try:
			with patch.object(PaymentRequest, "get_payment_url", get_payment_url):
				invoice = self.billed(gen)
				self.assertEqual(seen, [])  # the billing transaction called no gateway
				payments.make_owed_request(invoice)  # the job
		finally:
			prober.close()
		self.assertEqual(seen, [(True, True)])  # the job called it once, the generator and the item free
		self.assertEqual(len(requests_of(invoice)), 1)

	def test_a_lost_enqueue_is_swept_and_made_once(self):
		gen = self.tab()
		# the process dies right after the commit: the request's job is never enqueued
		with patch.object(payments, "enqueue_owed_request"):
			[invoice] = run_generator(gen, "2026-02-01").invoices
		self.assertEqual((owes_request(invoice), requests_of(invoice)), (self.gateway, []))
		jobs = []
		with patch.object(frappe, "enqueue", lambda method, **kw: jobs.append(kw)):
			self.assertIn(invoice, payments.enqueue_owed_requests())
		[job] = [kw for kw in jobs if kw["invoice"] == invoice]
		self.assertEqual(job["job_id"], f"accumulating-pay-request-{invoice}")
		self.assertTrue(job["deduplicate"])
		payments.make_owed_request(invoice)
		self.assertEqual(len(requests_of(invoice)), 1)
		with patch.object(frappe, "enqueue"):
			self.assertNotIn(invoice, payments.enqueue_owed_requests())
		self.assertIsNone(payments.make_owed_request(invoice))  # a retried job: nothing more
		self.assertEqual(len(requests_of(invoice)), 1)

	def test_a_job_that_dies_before_its_commit_is_retried_into_one(self):
		"""The request is made, then the job dies before its commit (an error, then a process death): the
		database takes the request back, the invoice still owes it, and the retry makes exactly one."""
		worker = Connection(frappe.local.site, "ab-owed-job")
		try:
			for kind in ("error", "kill"):
				invoice = self.billed(self.tab())
				injector = Injector(kind)
				with ExitStack() as stack:
					stack.enter_context(
						at_commit(injector, payments, "request_payment_or_note", "request made")
					)
					with self.assertRaises(Kill if kind == "kill" else Exception):
						worker.run(payments.make_owed_request, invoice)
				self.assertEqual(injector.fired, 1)
				frappe.db.rollback()
				self.assertEqual((owes_request(invoice), requests_of(invoice)), (self.gateway, []), kind)
				worker.run(payments.make_owed_request, invoice)  # the queue's retry, or the hourly sweep's
				worker.run(payments.make_owed_request, invoice)  # and once more: nothing
				frappe.db.rollback()
				self.assertEqual(len(requests_of(invoice)), 1, kind)
				self.assertIsNone(owes_request(invoice))
		finally:
			worker.close()

	def test_two_jobs_at_once_make_one(self):
		invoice = self.billed(self.tab())
		first, second = Connection(frappe.local.site, "ab-owed-1"), Connection(frappe.local.site, "ab-owed-2")
		try:
			jobs = [
				first.submit(payments.make_owed_request, invoice),
				second.submit(payments.make_owed_request, invoice),
			]
			made = [job.result(120) for job in jobs]
		finally:
			first.close()
			second.close()
		frappe.db.rollback()
		self.assertEqual(len([name for name in made if name]), 1, made)
		self.assertEqual(len(requests_of(invoice)), 1)

	def test_an_invoice_cancelled_or_asked_by_hand_before_the_job_gets_no_second_request(self):
		cancelled = self.billed(self.tab())
		frappe.get_doc(INVOICE, cancelled).cancel()
		frappe.db.commit()
		self.assertIsNone(payments.make_owed_request(cancelled))
		self.assertEqual((owes_request(cancelled), requests_of(cancelled)), (None, []))
		# a person made one meanwhile (Create > Payment Request): it is the invoice's one
		by_hand = self.billed(self.tab())
		person = make_payment_request(
			dt=INVOICE,
			dn=by_hand,
			party_type="Customer",
			party=frappe.db.get_value(INVOICE, by_hand, "customer"),
			payment_gateway_account=self.gateway,
			mute_email=1,
			submit_doc=1,
			return_doc=1,
		)
		frappe.db.commit()
		self.assertEqual(payments.make_owed_request(by_hand), person.name)
		self.assertEqual((owes_request(by_hand), requests_of(by_hand)), (None, [person.name]))

	def test_the_generated_automations_fire_with_the_request_made(self):
		gen = self.tab(automations=[{"event": "Generated", "notification": make_notification("owed")}])
		invoice = self.billed(gen)
		seen = []
		real = automations.fire_in_transaction

		def fire_in_transaction(run, doc, *args, **kwargs):
			seen.append(requests_of(doc.name))
			return real(run, doc, *args, **kwargs)

		[run] = frappe.get_all(RUN, {"sales_invoice": invoice}, pluck="name")
		with patch.object(automations, "fire_in_transaction", fire_in_transaction):
			self.assertEqual(automations.fire(run), "Done")
		self.assertEqual(seen, [requests_of(invoice)])
		self.assertEqual(len(seen[0]), 1)
