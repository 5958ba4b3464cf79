"""Each person in their own language (issue 21): the generated invoice takes the customer's Print Language,
its email is written in it, and the app's catalogues are compiled where Frappe reads them."""

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.translate import print_language
from frappe.utils import getdate

from accumulating_billing import engine
from accumulating_billing.billing import email
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.i18n import compile_catalogues, engine_message
from accumulating_billing.tests.utils import (
	add,
	ensure_fiscal_years,
	ensure_outgoing_email_account,
	make_billing_contact,
	make_customer,
	make_generator,
	make_item,
	retire_created_generators,
)


class TranslationTestCase(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		compile_catalogues()  # as after_install / after_migrate do (a no-op when the .mo files are current)
		ensure_fiscal_years(2025, 2026, 2027)
		cls.listing = make_item("_AB Listing Update")
		frappe.db.commit()

	def tearDown(self):
		frappe.set_user("Administrator")
		retire_created_generators()

	def emailing_generator(self, language: str | None):
		ensure_outgoing_email_account()
		customer = make_customer(language=language) if language else make_customer()
		make_billing_contact(customer)
		gen = make_generator(customer, generate_as="Open and Email")
		add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.commit()
		return gen


class TestInvoiceLanguage(TranslationTestCase):
	def test_a_german_customer_gets_a_german_invoice(self):
		gen = self.emailing_generator("de")
		invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "language"), "de")

	def test_generate_now_takes_the_language_too(self):
		customer = make_customer(language="es")
		gen = make_generator(customer, generate_as="Draft")
		add(gen.name, self.listing, service_date="2026-01-05")
		from accumulating_billing import api

		invoice = api.generate_now(gen.name)
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "language"), "es")

	def test_a_customer_without_a_chosen_language_keeps_erpnext_s_default(self):
		gen = self.emailing_generator(None)
		invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		self.assertEqual(
			frappe.db.get_value("Sales Invoice", invoice, "language"),
			frappe.db.get_value("Customer", gen.customer, "language"),
		)


class TestInvoiceEmailLanguage(TranslationTestCase):
	def sent(self, language: str | None) -> dict:
		gen = self.emailing_generator(language)
		invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		communication = email.send_invoice_email(invoice)
		return frappe.db.get_value("Communication", communication, ["subject", "content"], as_dict=True) | {
			"invoice": frappe.get_doc("Sales Invoice", invoice)
		}

	def test_the_subject_and_body_are_in_german(self):
		sent = self.sent("de")
		si = sent["invoice"]
		self.assertEqual(sent["subject"], f"Rechnung {si.name} von {si.company}")
		self.assertIn(f"Guten Tag {si.customer_name},", sent["content"])
		self.assertIn(f"anbei erhalten Sie die Rechnung {si.name}", sent["content"])
		self.assertNotIn("Please find attached", sent["content"])
		# amounts and dates in Frappe's formats (system settings, the currency), never a hard-coded one
		self.assertIn(frappe.utils.fmt_money(si.grand_total, currency=si.currency), sent["content"])
		self.assertIn(frappe.format(getdate(si.due_date), "Date"), sent["content"])

	def test_the_subject_follows_each_customer(self):
		self.assertTrue(self.sent("es")["subject"].startswith("Factura "))
		self.assertTrue(self.sent("fr")["subject"].startswith("Facture "))
		self.assertTrue(self.sent(None)["subject"].startswith("Invoice "))

	def test_the_sender_s_language_is_back_after_the_email(self):
		lang = frappe.local.lang
		self.sent("de")
		self.assertEqual(frappe.local.lang, lang)

	def test_the_print_of_the_pdf_is_asked_in_the_customer_s_language(self):
		gen = self.emailing_generator("de")
		invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		communication = email.send_invoice_email(invoice)
		queue = frappe.get_last_doc("Email Queue", filters={"communication": communication})
		self.assertIn('"lang": "de"', queue.attachments)


class TestCatalogues(TranslationTestCase):
	def test_the_desk_speaks_german(self):
		with print_language("de"):
			self.assertEqual(frappe._("Accumulating Generator"), "Sammelrechnungs-Generator")
			self.assertEqual(frappe._("Generate Now"), "Jetzt erstellen")
			# ERPNext's own word for the same thing
			self.assertEqual(frappe._("Sales Invoice"), "Ausgangsrechnung")

	def test_arabic_and_brazilian_portuguese_are_compiled(self):
		with print_language("ar"):
			self.assertEqual(frappe._("Running Tab"), "الحساب الجاري")
		with print_language("pt-BR"):
			self.assertEqual(frappe._("Running Tab"), "Conta em aberto")

	def test_an_engine_message_is_shown_in_the_reader_s_language(self):
		error = engine.ValidationError(engine.errors._("The interval must be at least 1, got {0}."), 0)
		self.assertEqual(str(error), "The interval must be at least 1, got 0.")
		with print_language("de"):
			self.assertEqual(engine_message(error), "Das Intervall muss mindestens 1 sein, angegeben: 0.")

	def test_a_bad_schedule_is_refused_in_the_user_s_language(self):
		gen = make_generator(do_not_save=True, interval_count=0)
		with print_language("de"), self.assertRaises(frappe.ValidationError) as caught:
			gen.insert(ignore_permissions=True)
		self.assertEqual(str(caught.exception), "„Wiederholen alle“ muss mindestens 1 sein.")
