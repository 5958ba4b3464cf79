"""Gaps closed after the first review: owed emails survive a lost enqueue, edited drafts give back removed
lines, state fields cannot be written by a save, back-dated Generate Now is for managers, the CLI date."""

from unittest.mock import patch

import frappe

from accumulating_billing import api
from accumulating_billing.billing import cli, email
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.doctypes import LOG
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.utils import (
	add,
	make_customer,
	make_emailing_generator,
	make_generator,
	make_item,
	make_user,
	preview_and_invoice,
	tax_account,
	unbilled,
)


class TestOwedEmails(GenerationTestCase):
	def test_a_lost_enqueue_is_swept_and_sent_once(self):
		gen = make_emailing_generator(self.listing)
		# the process dies right after the commit: the email job is never enqueued
		with patch("accumulating_billing.billing.email.enqueue_email_or_leave_owed"):
			invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		self.assertEqual(frappe.db.get_value(LOG, {"sales_invoice": invoice}, "email_status"), "Pending")

		with patch.object(frappe, "enqueue") as enqueue:
			self.assertIn(invoice, email.enqueue_owed_emails())
		self.assertIn(
			invoice, [c.kwargs["invoice"] for c in enqueue.call_args_list if c.kwargs.get("invoice")]
		)
		sent = email.send_invoice_email(invoice)
		self.assertTrue(sent)
		self.assertEqual(frappe.db.get_value(LOG, {"sales_invoice": invoice}, "email_status"), "Sent")
		self.assertIsNone(email.send_invoice_email(invoice))  # a retried job sends nothing more
		with patch.object(frappe, "enqueue") as enqueue:
			self.assertNotIn(invoice, email.enqueue_owed_emails())
		self.assertEqual(
			frappe.db.count(
				"Communication",
				{"reference_doctype": "Sales Invoice", "reference_name": invoice, "sent_or_received": "Sent"},
			),
			1,
		)

	def test_a_cancelled_invoice_is_no_longer_owed(self):
		customer = make_customer()
		gen = make_generator(customer, generate_as="Open and Email")
		add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.commit()
		with patch("accumulating_billing.billing.email.enqueue_email_or_leave_owed"):
			invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		frappe.get_doc("Sales Invoice", invoice).cancel()
		with patch.object(frappe, "enqueue") as enqueue:
			self.assertNotIn(invoice, email.enqueue_owed_emails())
		self.assertNotIn(invoice, [c.kwargs.get("invoice") for c in enqueue.call_args_list])
		self.assertEqual(
			frappe.db.get_value(LOG, {"sales_invoice": invoice, "outcome": "Billed"}, "email_status"),
			"Cancelled",
		)

	def test_no_recipient_settles_the_debt(self):
		gen = make_generator(make_customer(), generate_as="Open and Email")
		add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.commit()
		with patch.object(frappe, "enqueue"):
			invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		self.assertIsNone(email.send_invoice_email(invoice))
		self.assertEqual(frappe.db.get_value(LOG, {"sales_invoice": invoice}, "email_status"), "No Recipient")


class TestEditedDraft(GenerationTestCase):
	def test_a_removed_line_returns_to_the_tab_and_is_billed_next(self):
		gen = make_generator(generate_as="Draft")
		keep = add(gen.name, self.listing, rate=10, service_date="2026-01-05")
		drop = add(gen.name, self.listing, rate=20, service_date="2026-01-06")
		frappe.db.commit()
		draft = frappe.get_doc("Sales Invoice", run_generator(gen.name, "2026-02-01").invoices[0])
		draft.items = [row for row in draft.items if row.accumulating_generator_item != drop.name]
		draft.save()
		self.assertEqual(unbilled(gen.name), [drop.name])
		self.assertEqual(frappe.db.get_value(keep.doctype, keep.name, "sales_invoice"), draft.name)
		self.assertTrue(frappe.db.exists(LOG, {"sales_invoice": draft.name, "outcome": "Released"}))
		frappe.db.commit()
		nxt = frappe.get_doc("Sales Invoice", run_generator(gen.name, "2026-03-01").invoices[0])
		self.assertEqual([r.accumulating_generator_item for r in nxt.items], [drop.name])

	def test_a_copied_line_loses_its_link(self):
		gen = make_generator(generate_as="Draft")
		first = add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.commit()
		a = frappe.get_doc("Sales Invoice", run_generator(gen.name, "2026-02-01").invoices[0])
		second = add(gen.name, self.listing, service_date="2026-02-05")
		frappe.db.commit()
		b = frappe.get_doc("Sales Invoice", run_generator(gen.name, "2026-03-01").invoices[0])
		b.append("items", {**a.items[0].as_dict(), "name": None, "idx": None})
		b.save()
		links = [r.accumulating_generator_item for r in b.items]
		self.assertEqual(links, [second.name, None])
		self.assertEqual(frappe.db.get_value(first.doctype, first.name, "sales_invoice"), a.name)


class TestProtectedState(GenerationTestCase):
	def test_a_save_cannot_write_the_schedule_state(self):
		gen = make_generator(first_creation_date="2026-02-01")
		gen.reload()
		gen.update(
			{
				"next_creation_date": "2030-01-01",
				"invoices_generated": 7,
				"last_creation_date": "2025-01-01",
				"consecutive_failures": 3,
			}
		)
		gen.save()
		gen.reload()
		self.assertEqual(str(gen.next_creation_date), "2026-02-01")
		self.assertEqual((gen.invoices_generated, gen.consecutive_failures), (0, 0))
		self.assertIsNone(gen.last_creation_date)

	def test_a_new_generator_starts_clean(self):
		gen = make_generator(invoices_generated=4, next_creation_date="2031-01-01", last_error="x")
		self.assertEqual(
			(gen.invoices_generated, str(gen.next_creation_date), gen.last_error), (0, "2026-02-01", None)
		)

	def test_back_dated_generate_now_is_for_managers(self):
		gen = make_generator()
		add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.commit()
		frappe.set_user(make_user(["Accounts User"]))
		try:
			with self.assertRaises(frappe.PermissionError):
				api.generate_now(gen.name, posting_date="2026-01-31")
		finally:
			frappe.set_user("Administrator")
		self.assertEqual(len(unbilled(gen.name)), 1)


class TestCliDate(GenerationTestCase):
	def test_a_bad_date_is_a_clear_error(self):
		for value in ("2026-13-01", "tomorrow", "01/02/2026"):
			with self.subTest(value=value), self.assertRaisesRegex(frappe.ValidationError, "YYYY-MM-DD"):
				cli.run(value, True, lambda line: None)


class TestMinimumWithGrandTotalDiscount(GenerationTestCase):
	def test_a_grand_total_discount_counts_toward_the_minimum(self):
		"""100 of work, 30 off the Grand Total (no taxes): ERPNext's net total is 70, below the minimum 80."""
		gen = make_generator(
			minimum_amount=80, discount_amount=30, apply_discount_on="Grand Total", keep_discount=1
		)
		item = add(gen.name, self.listing, rate=100, service_date="2026-01-05")
		frappe.db.commit()
		self.assertEqual(run_generator(gen.name, "2026-02-01").invoices, [])
		self.assertEqual(unbilled(gen.name), [item.name])
		add(gen.name, self.listing, rate=20, service_date="2026-02-05")
		frappe.db.commit()
		invoice = frappe.get_doc("Sales Invoice", run_generator(gen.name, "2026-03-01").invoices[0])
		self.assertEqual((invoice.net_total, invoice.grand_total), (90, 90))

	def test_both_discounts_are_refused(self):
		with self.assertRaisesRegex(frappe.ValidationError, "not both"):
			make_generator(additional_discount_percentage=10, discount_amount=5)


class TestPreviewIsTheInvoice(GenerationTestCase):
	def test_the_tab_preview_equals_the_invoice_with_taxes_and_a_grand_total_discount(self):
		taxes = [
			{"charge_type": "On Net Total", "account_head": tax_account(), "description": "VAT", "rate": 19}
		]
		gen = make_generator(discount_amount=7.5, apply_discount_on="Grand Total", taxes=taxes)
		add(gen.name, self.listing, qty=3, rate=33.33, service_date="2026-01-05")
		add(gen.name, self.listing, qty=1, rate=12.1, service_date="2026-01-20")
		add(gen.name, self.listing, qty=1, rate=99, service_date="2026-02-01")  # waits for the next invoice
		tab = api.get_tab(gen.name)
		frappe.db.commit()
		si = frappe.get_doc("Sales Invoice", run_generator(gen.name, "2026-02-01").invoices[0])
		self.assertEqual(len(tab["items"]), 3)
		self.assertEqual(*preview_and_invoice(tab, si))
		self.assertEqual(str(tab["posting_date"]), "2026-02-01")


class TestFailingNotification(GenerationTestCase):
	def test_accounts_managers_are_notified_at_the_fifth_failure_in_a_row(self):
		manager = make_user(["Accounts Manager"])
		code = make_item(f"_AB Always Disabled {frappe.generate_hash(length=5)}")
		# Stop the Invoice: ERPNext's refusal of the disabled item fails the run (held otherwise, issue 19)
		gen = make_generator(first_creation_date="2026-02-01", on_refused_line="Stop the Invoice")
		add(gen.name, code, service_date="2026-01-05")
		frappe.db.set_value("Item", code, "disabled", 1)
		frappe.db.commit()

		def notified() -> int:
			return frappe.db.count(
				"Notification Log",
				{"for_user": manager, "document_type": "Accumulating Generator", "document_name": gen.name},
			)

		for attempt in range(1, 7):
			self.assertTrue(run_generator(gen.name, "2026-02-01").error)
			self.assertEqual(notified(), 1 if attempt >= 5 else 0, f"after failure {attempt}")
		self.assertEqual(frappe.db.get_value("Accumulating Generator", gen.name, "consecutive_failures"), 6)
		subject = frappe.db.get_value(
			"Notification Log", {"for_user": manager, "document_name": gen.name}, "subject"
		)
		self.assertIn("failing", subject)
