"""Refusals a person decides (issue 19 §3): ERPNext's real credit limit (a Customer Credit Limit row for the
company, its bypass off, no Credit Controller role) refusing the submit of an Open invoice keeps the invoice as a
Draft for review: its items are billed on it, the schedule moves on, the managers are told, nothing is owed
until a person submits it, and no failure is counted or retried. Any other refusal still fails and retries."""

from unittest.mock import patch

import frappe

from accumulating_billing.billing import two_step
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.doctypes import ITEM, LOG, RUN
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.two_step_utils import failing_submit, listened, refused_submit, set_two_step
from accumulating_billing.tests.utils import (
	add,
	company,
	invoices_of,
	make_customer,
	make_generator,
	make_user,
	unbilled,
)

SI = "Sales Invoice"


def limit_credit(customer: str, amount: float) -> None:
	"""ERPNext's credit limit of the customer in the default company, checked on every invoice (bypass off)."""
	doc = frappe.get_doc("Customer", customer)
	rows = [row for row in doc.credit_limits if row.company == company()]
	if rows:
		rows[0].credit_limit = amount
	else:
		doc.append(
			"credit_limits", {"company": company(), "credit_limit": amount, "bypass_credit_limit_check": 0}
		)
	doc.save(ignore_permissions=True)
	frappe.db.commit()


def refused_on_submit(message: str):
	"""ERPNext's on_submit of a generated invoice refuses it (a stand-in for a closed period, a frozen account)."""
	return refused_submit(message, "on_submit")


def kept_state(invoice: str) -> tuple:
	return tuple(
		frappe.db.get_value(SI, invoice, ["docstatus", "accumulating_finalize", "accumulating_review"])
	)


class CreditLimitTestCase(GenerationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		# ERPNext lets a Credit Controller past the limit; the site's default is nobody (the scheduler's user
		# has every role, so a controller role would let every run through)
		cls.controller = frappe.db.get_single_value("Accounts Settings", "credit_controller")
		frappe.db.set_single_value("Accounts Settings", "credit_controller", None)
		cls.manager = make_user(["Accounts Manager"])
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.set_single_value("Accounts Settings", "credit_controller", cls.controller)
		frappe.db.commit()
		super().tearDownClass()

	def over_the_limit(self, limit: float = 100):
		"""A listened Open generator whose February invoice (2 x 80) crosses its customer's credit limit."""
		customer = make_customer()
		limit_credit(customer, limit)
		gen = listened(make_generator(customer, first_creation_date="2026-02-01"))
		items = [add(gen.name, self.listing, qty=2, rate=80, service_date="2026-01-10").name]
		frappe.db.commit()
		return gen, items

	def assert_kept_for_review(self, gen, items: list[str], invoice: str) -> None:
		self.assertEqual(kept_state(invoice), (0, 1, 1))
		self.assertEqual(frappe.db.get_value(SI, invoice, "grand_total"), 160)  # computed by ERPNext
		self.assertEqual(
			frappe.get_all(ITEM, filters={"generator": gen.name}, fields=["name", "status", "sales_invoice"]),
			[{"name": items[0], "status": "Billed", "sales_invoice": invoice}],
		)
		gen.reload()
		self.assertEqual(
			(str(gen.next_creation_date), gen.invoices_generated, gen.consecutive_failures, gen.last_error),
			("2026-03-01", 1, 0, None),
		)
		[line] = frappe.get_all(
			LOG,
			filters={"generator": gen.name, "outcome": "Kept for Review"},
			fields=["sales_invoice", "reason", "items_count"],
		)
		self.assertEqual((line.sales_invoice, line.items_count), (invoice, 1))
		self.assertIn(gen.customer, line.reason)  # ERPNext's own message names the customer and the limit
		self.assertFalse(frappe.db.exists(LOG, {"generator": gen.name, "outcome": "Failed"}))
		self.assertTrue(
			frappe.db.exists(
				"Comment",
				{
					"reference_doctype": SI,
					"reference_name": invoice,
					"content": ("like", "%Kept as a Draft%"),
				},
			)
		)
		self.assertTrue(
			frappe.db.exists(
				"Notification Log", {"for_user": self.manager, "document_type": SI, "document_name": invoice}
			)
		)
		# nothing a submitted invoice owes is owed by the draft
		self.assertEqual(frappe.db.count(RUN, {"sales_invoice": invoice}), 0)

	def assert_decided_by_a_person(self, gen, invoice: str) -> None:
		"""The sweep leaves the kept draft alone; a person raises the limit and submits it: owed from then on."""
		with patch.object(two_step, "SWEEP_AFTER_MINUTES", -1):
			two_step.sweep_reserved()
		self.assertEqual(kept_state(invoice), (0, 1, 1))
		self.assertEqual(two_step.reserved_invoices(gen.name), [])
		limit_credit(gen.customer, 100000)
		doc = frappe.get_doc(SI, invoice)
		doc.submit()
		frappe.db.commit()
		self.assertEqual(kept_state(invoice), (1, 0, 0))
		self.assertEqual(frappe.db.count(RUN, {"sales_invoice": invoice, "event": "Generated"}), 1)


class TestCreditLimitInOneTransaction(CreditLimitTestCase):
	def test_an_invoice_over_the_credit_limit_is_kept_as_a_draft_and_the_schedule_moves_on(self):
		gen, items = self.over_the_limit()
		result = run_generator(gen.name, "2026-02-01")
		self.assertIsNone(result.error)
		[invoice] = result.invoices
		self.assert_kept_for_review(gen, items, invoice)
		# the next occurrence is billed as usual (the kept draft posts nothing: the customer owes 0 of 100)
		march = add(gen.name, self.listing, qty=1, rate=50, service_date="2026-02-10").name
		frappe.db.commit()
		result = run_generator(gen.name, "2026-03-01")
		self.assertIsNone(result.error)
		[submitted] = result.invoices
		self.assertEqual(frappe.db.get_value(SI, submitted, "docstatus"), 1)
		self.assertEqual(frappe.db.get_value(ITEM, march, "sales_invoice"), submitted)
		self.assert_decided_by_a_person(gen, invoice)

	def test_deleting_a_kept_draft_puts_its_items_back_on_the_tab(self):
		gen, items = self.over_the_limit()
		[invoice] = run_generator(gen.name, "2026-02-01").invoices
		frappe.delete_doc(SI, invoice, ignore_permissions=True)
		frappe.db.commit()
		self.assertEqual(unbilled(gen.name), items)

	def test_another_refusal_of_a_customer_with_a_credit_limit_still_fails_and_retries(self):
		gen, items = self.over_the_limit(limit=100000)
		with refused_on_submit("the posting period is closed"):
			result = run_generator(gen.name, "2026-02-01")
		self.assertIn("the posting period is closed", result.error)
		self.assertEqual(invoices_of(gen.name), [])
		self.assertEqual(unbilled(gen.name), items)
		gen.reload()
		self.assertEqual((str(gen.next_creation_date), gen.consecutive_failures), ("2026-02-01", 1))
		self.assertFalse(frappe.db.exists(LOG, {"generator": gen.name, "outcome": "Kept for Review"}))
		# the refusal is lifted: the next run bills it
		self.assertEqual(len(run_generator(gen.name, "2026-02-01").invoices), 1)

	def test_within_the_limit_the_invoice_is_submitted(self):
		gen, _items = self.over_the_limit(limit=1000)
		[invoice] = run_generator(gen.name, "2026-02-01").invoices
		self.assertEqual(kept_state(invoice), (1, 0, 0))


class TestCreditLimitInTwoSteps(CreditLimitTestCase):
	def setUp(self):
		super().setUp()
		set_two_step(True)

	def tearDown(self):
		set_two_step(False)
		super().tearDown()

	def test_a_reserved_invoice_over_the_credit_limit_is_kept_and_blocks_nothing(self):
		gen, items = self.over_the_limit()
		result = run_generator(gen.name, "2026-02-01")
		self.assertIsNone(result.error)
		[invoice] = result.invoices
		self.assert_kept_for_review(gen, items, invoice)
		# a reserved invoice that cannot be submitted stops its generator; a kept one does not
		add(gen.name, self.listing, qty=1, rate=50, service_date="2026-02-10")
		frappe.db.commit()
		result = run_generator(gen.name, "2026-03-01")
		self.assertIsNone(result.error)
		self.assertEqual(
			[(row.docstatus, str(row.accumulating_occurrence)) for row in invoices_of(gen.name)],
			[(0, "2026-02-01"), (1, "2026-03-01")],
		)
		self.assert_decided_by_a_person(gen, invoice)

	def test_another_refusal_of_a_reserved_invoice_still_fails(self):
		gen, _items = self.over_the_limit(limit=100000)
		with failing_submit(times=10):
			result = run_generator(gen.name, "2026-02-01")
		self.assertIn("credit limit crossed", result.error)  # the stand-in refusal, not ERPNext's limit
		[reserved] = invoices_of(gen.name)
		self.assertEqual(kept_state(reserved.name), (0, 1, 0))
		self.assertEqual(two_step.reserved_invoices(gen.name), [reserved.name])
		gen.reload()
		self.assertEqual(gen.consecutive_failures, 1)


class TestCreditLimitWithReturns(CreditLimitTestCase):
	def test_the_credit_note_of_a_kept_occurrence_is_submitted(self):
		"""Returns billed before go on a credit note in the same occurrence: it credits the customer, so it is
		submitted while the invoice waits for review."""
		from erpnext.selling.doctype.customer.customer import get_customer_outstanding

		from accumulating_billing.tests.source_docs import make_delivery_note, make_return, stock_item

		router = stock_item()
		customer = make_customer()
		gen = make_generator(customer, first_creation_date="2026-02-01", accumulate_delivery_notes=1)
		dn = make_delivery_note(customer, [{"item_code": router, "qty": 4, "rate": 25}], "2026-01-05")
		frappe.db.commit()
		self.assertEqual(len(run_generator(gen.name, "2026-02-01").invoices), 1)
		make_return(dn, "2026-02-10", {router: 1})
		add(gen.name, self.listing, qty=2, rate=80, service_date="2026-02-12")
		frappe.db.commit()
		limit_credit(customer, get_customer_outstanding(customer, company()) + 10)
		result = run_generator(gen.name, "2026-03-01")
		self.assertIsNone(result.error)
		march = frappe.get_all(
			SI,
			filters={"accumulating_generator": gen.name, "posting_date": "2026-03-01"},
			fields=["name", "is_return", "docstatus", "accumulating_review", "grand_total"],
			order_by="is_return asc",
		)
		self.assertEqual(
			[(r.is_return, r.docstatus, r.accumulating_review, r.grand_total) for r in march],
			[(0, 0, 1, 160), (1, 1, 0, -25)],
		)
		self.assertEqual(result.invoices, [march[0].name])
