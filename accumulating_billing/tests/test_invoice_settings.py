"""What a generated invoice takes from its generator (billing/invoice.py): generate as, due days and naming
series, discounts and taxes cleared unless kept, the email sent once after the commit."""

from unittest.mock import patch

import frappe
from frappe.custom.doctype.property_setter.property_setter import make_property_setter
from frappe.utils import getdate

from accumulating_billing.billing import email
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.billing.preview import next_invoice
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.two_step_utils import set_two_step
from accumulating_billing.tests.utils import (
	add,
	invoices_of,
	make_customer,
	make_emailing_generator,
	make_generator,
	tax_account,
	tax_template,
	unbilled,
)


class TestInvoiceSettings(GenerationTestCase):
	def test_generate_as_draft(self):
		gen = make_generator(generate_as="Draft")
		add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.commit()
		created = run_generator(gen.name, "2026-02-01").invoices
		self.assertEqual(frappe.db.get_value("Sales Invoice", created[0], "docstatus"), 0)
		self.assertEqual(unbilled(gen.name), [])

	def test_due_days_and_naming_series(self):
		series = frappe.get_meta("Sales Invoice").get_field("naming_series").options.split("\n")[0]
		gen = make_generator(due_days=14, naming_series_for_invoice=series)
		add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.commit()
		si = frappe.get_doc("Sales Invoice", run_generator(gen.name, "2026-02-01").invoices[0])
		self.assertEqual(getdate(si.due_date), getdate("2026-02-15"))
		self.assertEqual(si.naming_series, series)
		self.assertEqual(si.set_posting_time, 1)

	def test_the_sites_default_series_and_naming_rules_name_it_as_any_invoice(self):
		"""The invoice takes its number where Frappe has given it its defaults (tab.number_and_bill): the series
		Customize Form made the default (not the first option), and a Document Naming Rule on a field it only has
		from Frappe's defaults, name it as they name an invoice made by hand; in one step and in two."""
		series = "AB-DEFAULT-.YYYY.-"
		options = frappe.get_meta("Sales Invoice").get_field("naming_series").options
		setters = [
			make_property_setter("Sales Invoice", "naming_series", prop, value, "Text")
			for prop, value in (("options", f"{options}\n{series}"), ("default", series))
		]
		self.addCleanup(forget_naming, setters, [])
		frappe.clear_cache(doctype="Sales Invoice")
		frappe.db.commit()
		for two_steps in (False, True):
			set_two_step(two_steps)
			self.addCleanup(set_two_step, False)
			name = self.bill_one()
			self.assertTrue(name.startswith("AB-DEFAULT-"), (two_steps, name))
			self.assertEqual(frappe.db.get_value("Sales Invoice", name, "naming_series"), series)
		# a prefix of its own: a rule's counter starts again with the rule, and earlier runs' numbers are taken
		prefix = f"AB-RULE-{frappe.generate_hash(length=6).upper()}-"
		rule = frappe.get_doc(
			{
				"doctype": "Document Naming Rule",
				"document_type": "Sales Invoice",
				"prefix": prefix,
				"prefix_digits": 5,
				"priority": 10,
				# is_return is 0 on an invoice only once Frappe's defaults are given
				"conditions": [{"field": "is_return", "condition": "=", "value": "0"}],
			}
		).insert(ignore_permissions=True)
		self.addCleanup(forget_naming, [], [rule.name])
		frappe.db.commit()
		for two_steps in (False, True):
			set_two_step(two_steps)
			name = self.bill_one()
			self.assertTrue(name.startswith(prefix), (two_steps, name))
			self.assertEqual(frappe.db.get_value("Sales Invoice", name, "docstatus"), 1)

	def test_a_tax_template_without_rows_on_the_generator_taxes_the_invoice(self):
		"""The generator names a Sales Taxes and Charges Template and keeps no rows of its own (the form does not
		copy them): ERPNext fills the template's rows into the new invoice, in one step and in two, and the preview
		says the same total."""
		template = tax_template(10)
		for two_steps in (False, True):
			set_two_step(two_steps)
			self.addCleanup(set_two_step, False)
			gen = make_generator(taxes_and_charges=template, keep_taxes=1)
			self.assertEqual(gen.get("taxes"), [])
			add(gen.name, self.listing, service_date="2026-01-05", rate=100)
			frappe.db.commit()
			preview = next_invoice(gen)
			self.assertEqual((preview["taxes"], preview["grand_total"]), (10, 110), two_steps)
			[name] = run_generator(gen.name, "2026-02-01").invoices
			si = frappe.get_doc("Sales Invoice", name)
			self.assertEqual(
				(si.docstatus, si.taxes_and_charges, [(t.rate, t.tax_amount) for t in si.taxes]),
				(1, template, [(10, 10)]),
				two_steps,
			)
			self.assertEqual((si.net_total, si.grand_total), (100, 110), two_steps)

	def bill_one(self, **values) -> str:
		gen = make_generator(**values)
		add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.commit()
		[name] = run_generator(gen.name, "2026-02-01").invoices
		self.assertEqual([row.name for row in invoices_of(gen.name)], [name])
		self.assertEqual(unbilled(gen.name), [])
		return name

	def test_discount_and_taxes_cleared_unless_kept(self):
		account = tax_account()
		taxes = [
			{"charge_type": "On Net Total", "account_head": account, "description": "Sales tax", "rate": 10}
		]
		cleared = make_generator(
			additional_discount_percentage=10, apply_discount_on="Net Total", taxes=taxes
		)
		kept = make_generator(
			additional_discount_percentage=10,
			apply_discount_on="Net Total",
			taxes=taxes,
			keep_discount=1,
			keep_taxes=1,
		)
		for gen in (cleared, kept):
			add(gen.name, self.listing, qty=10, rate=10, service_date="2026-01-05")
			add(gen.name, self.listing, qty=10, rate=10, service_date="2026-02-05")
		frappe.db.commit()
		for gen in (cleared, kept):
			run_generator(gen.name, "2026-03-01")
		c, k = invoices_of(cleared.name), invoices_of(kept.name)
		self.assertEqual([(i.net_total, i.grand_total) for i in k], [(90, 99), (90, 99)])
		self.assertEqual([(i.net_total, i.grand_total) for i in c], [(90, 99), (100, 100)])
		cleared.reload()
		self.assertEqual((cleared.additional_discount_percentage, len(cleared.taxes)), (0, 0))
		kept.reload()
		self.assertEqual((kept.additional_discount_percentage, len(kept.taxes)), (10, 1))

	def test_open_and_email_sends_once_after_commit(self):
		gen = make_emailing_generator(self.listing)
		with patch.object(frappe, "enqueue") as enqueue:
			invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		emails = [
			c
			for c in enqueue.call_args_list
			if c.args[0] == "accumulating_billing.billing.email.send_invoice_email"
		]
		self.assertEqual(len(emails), 1)  # beside it, the Generated automations' run (test_automations)
		kwargs = emails[0].kwargs
		self.assertEqual((kwargs["invoice"], kwargs["job_id"]), (invoice, f"accumulating-email-{invoice}"))
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "docstatus"), 1)
		# the job, even when retried, sends one email
		first = email.send_invoice_email(invoice)
		second = email.send_invoice_email(invoice)
		self.assertTrue(first)
		self.assertIsNone(second)
		queue = frappe.get_all(
			"Email Queue", filters={"communication": first}, fields=["name", "attachments"]
		)
		self.assertEqual(len(queue), 1)
		self.assertIn('"print_format_attachment": 1', queue[0].attachments)
		self.assertIn(invoice, queue[0].attachments)
		self.assertEqual(
			frappe.db.count(
				"Communication",
				{"reference_doctype": "Sales Invoice", "reference_name": invoice, "sent_or_received": "Sent"},
			),
			1,
		)

	def test_due_days_win_over_customer_payment_terms(self):
		terms = "_AB Net 30"
		if not frappe.db.exists("Payment Terms Template", terms):
			if not frappe.db.exists("Payment Term", terms):
				frappe.get_doc(
					{
						"doctype": "Payment Term",
						"payment_term_name": terms,
						"due_date_based_on": "Day(s) after invoice date",
						"credit_days": 30,
						"invoice_portion": 100,
					}
				).insert(ignore_permissions=True)
			frappe.get_doc(
				{
					"doctype": "Payment Terms Template",
					"template_name": terms,
					"terms": [
						{
							"payment_term": terms,
							"invoice_portion": 100,
							"credit_days": 30,
							"due_date_based_on": "Day(s) after invoice date",
						}
					],
				}
			).insert(ignore_permissions=True)
		customer = make_customer(payment_terms=terms)
		gen = make_generator(customer, due_days=7)
		add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.commit()
		si = frappe.get_doc("Sales Invoice", run_generator(gen.name, "2026-02-01").invoices[0])
		self.assertEqual(str(si.due_date), "2026-02-08")
		self.assertFalse(si.payment_terms_template)


def forget_naming(setters: list, rules: list[str]) -> None:
	for setter in setters:
		frappe.delete_doc("Property Setter", setter.name, ignore_permissions=True, force=True)
	for rule in rules:
		frappe.delete_doc("Document Naming Rule", rule, ignore_permissions=True, force=True)
	frappe.clear_cache(doctype="Sales Invoice")
	frappe.db.commit()
