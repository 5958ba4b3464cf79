"""One invoice per payer (issue 28), on the paths after the invoice: its Generated and Paid automations fire once
per tab (the site-wide method once per invoice), its email goes out once with the combined print, its late fee
lands once on the tab it is filed under, two-step billing reserves and submits it with every tab locked, and
ERPNext's credit limit of the payer keeps it for review."""

import frappe

from accumulating_billing.billing import tasks, two_step
from accumulating_billing.doctypes import GENERATOR, LOG
from accumulating_billing.tests.automation_utils import disable_notification, fire_owed, runs_of
from accumulating_billing.tests.base import AutomationTestCase, GenerationTestCase, TwoStepTestCase
from accumulating_billing.tests.combined_utils import invoices_billing, item_states, make_payer_group
from accumulating_billing.tests.ledger import emails_with, make_notification, pay_with_payment_entry
from accumulating_billing.tests.utils import (
	CREATED_GENERATORS,
	make_billing_contact,
	make_item,
	make_template,
	make_user,
)


class TestCombinedAutomations(AutomationTestCase):
	def test_generated_and_paid_fire_once_per_tab_and_the_site_wide_method_once(self):
		tag = frappe.generate_hash(length=6)
		site_wide = make_notification(
			f"site-{tag}", event="Method", method="on_accumulating_invoice_generated"
		)
		paid_site = make_notification(f"paid-{tag}", event="Method", method="on_accumulating_invoice_paid")
		self.addCleanup(disable_notification, site_wide)
		self.addCleanup(disable_notification, paid_site)
		template = make_template()
		rows = [
			{"event": "Generated", "notification": make_notification(f"gen-{tag}")},
			{"event": "Generated", "assign_template": template.name},
			{"event": "Paid", "notification": make_notification(f"own-paid-{tag}")},
		]
		group = make_payer_group(self.listing, automations=rows, due_days=10)
		[invoice] = tasks.process_due("2026-02-01")
		self.assertEqual(
			sorted((r.event, r.transition) for r in runs_of(invoice)), [("Generated", 1)] * len(group.tabs)
		)
		fire_owed()
		frappe.db.commit()
		# each tab's own Notification once per tab (the same one here: three), the site-wide method once
		self.assertEqual(emails_with(f"gen-{tag}", invoice), len(group.tabs))
		self.assertEqual(emails_with(f"site-{tag}", invoice), 1)
		# each tab's template goes to the tab's own customer, not to the payer three times
		for tab in group.tabs:
			made = frappe.get_all(
				GENERATOR, filters={"customer": group.customers[tab], "template": template.name}, pluck="name"
			)
			CREATED_GENERATORS.extend(made)
			self.assertEqual(len(made), 1, tab)
		pay_with_payment_entry(invoice, "2026-02-05")
		self.assertEqual(paid_once_per_tab(invoice), [("Paid", 1)] * len(group.tabs))
		self.assertEqual(emails_with(f"own-paid-{tag}", invoice), len(group.tabs))
		self.assertEqual(emails_with(f"paid-{tag}", invoice), 1)
		# the sweep fires nothing twice
		fire_owed()
		self.assertEqual(emails_with(f"site-{tag}", invoice), 1)
		self.assertEqual(emails_with(f"own-paid-{tag}", invoice), len(group.tabs))

	def test_the_combined_invoice_is_emailed_once_to_the_payer_with_its_print(self):
		from unittest.mock import patch

		from accumulating_billing.billing import email

		group = make_payer_group(self.listing, generate_as="Open and Email")
		address = make_billing_contact(group.payer)
		frappe.db.commit()
		jobs = []
		with patch.object(email, "enqueue_invoice_email", jobs.append):
			[invoice] = tasks.process_due("2026-02-01")
		self.assertEqual(jobs, [invoice])  # one email owed, whatever the number of tabs
		self.assertEqual(email.owed_invoices().count(invoice), 1)  # one owed email, not one per tab
		with patch.object(email, "make_communication", wraps=email.make_communication) as sent:
			email.send_invoice_email(invoice)
			email.send_invoice_email(invoice)
		self.assertEqual(sent.call_count, 1)
		self.assertEqual(
			(sent.call_args.kwargs["recipients"], sent.call_args.kwargs["print_format"]),
			(address, "Accumulating Combined Invoice"),
		)
		self.assertEqual(
			frappe.get_all(
				LOG, filters={"sales_invoice": invoice, "outcome": "Billed"}, pluck="email_status"
			),
			["Sent"] * len(group.tabs),
		)

	def test_a_credit_note_settling_it_fires_paid_once_per_tab(self):
		from accumulating_billing.tests.ledger import credit_in_full

		tag = frappe.generate_hash(length=6)
		rows = [{"event": "Paid", "notification": make_notification(f"credited-{tag}")}]
		group = make_payer_group(self.listing, automations=rows)
		[invoice] = tasks.process_due("2026-02-01")
		credit_in_full(invoice, "2026-02-03")
		self.assertEqual(paid_once_per_tab(invoice), [("Paid", 1)] * len(group.tabs))
		self.assertEqual(emails_with(f"credited-{tag}", invoice), len(group.tabs))
		self.assertEqual(set(item_states(group.tabs).values()), {("Billed", invoice)})  # a credit: no release


def paid_once_per_tab(invoice: str) -> list[tuple]:
	"""After what settled the invoice: commit, play the sweep and the worker, and return its Paid runs."""
	frappe.db.commit()
	fire_owed()
	frappe.db.commit()
	return sorted((r.event, r.transition) for r in runs_of(invoice, "Paid"))


class TestCombinedLateFee(GenerationTestCase):
	def test_one_late_fee_lands_on_the_tab_the_invoice_is_filed_under(self):
		fee_item = make_item("_AB Late Fee")
		tasks.apply_late_fees("2026-12-31")  # what earlier tests left overdue is not this test's
		group = make_payer_group(
			self.listing,
			due_days=10,
			late_fee_type="Fixed Amount",
			late_fee_amount=15,
			late_fee_item=fee_item,
		)
		[invoice] = tasks.process_due("2026-02-01")
		created = tasks.apply_late_fees("2026-02-20")
		self.assertEqual(tasks.apply_late_fees("2026-02-21"), [])
		fees = frappe.get_all(
			"Accumulating Generator Item",
			filters={"source_doctype": "Sales Invoice", "source_detail": invoice},
			fields=["name", "generator", "amount"],
		)
		self.assertEqual([(f.name, f.generator, f.amount) for f in fees], [(created[0], group.tabs[0], 15)])


class TestCombinedTwoSteps(TwoStepTestCase):
	def test_the_combined_invoice_is_reserved_then_submitted_and_owes_per_tab(self):
		group = make_payer_group(self.listing)
		reserved = []
		real = two_step.finalize

		def spy(generator, invoice, *args, **kwargs):
			reserved.append((generator, frappe.db.get_value("Sales Invoice", invoice, "docstatus")))
			return real(generator, invoice, *args, **kwargs)

		from unittest.mock import patch

		with patch.object(two_step, "finalize", spy):
			[invoice] = tasks.process_due("2026-02-01")
		self.assertEqual(reserved, [(group.tabs[0], 0)])  # reserved as a draft, then submitted
		si = frappe.get_doc("Sales Invoice", invoice)
		self.assertEqual((si.docstatus, si.accumulating_finalize), (1, 0))
		self.assertEqual(set(item_states(group.tabs).values()), {("Billed", invoice)})
		self.assertEqual(tasks.process_due("2026-02-01"), [])

	def test_a_reserved_combined_invoice_holds_back_every_tab_until_it_is_submitted(self):
		group = make_payer_group(self.listing)
		from unittest.mock import patch

		with patch.object(two_step.TwoSteps, "finish", lambda self, generator, invoice: None):
			[invoice] = tasks.process_due("2026-02-01")  # a worker died before the finalize
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "docstatus"), 0)
		for tab in group.tabs:
			self.assertEqual(two_step.reserved_invoices(tab), [invoice])
		# the next run of the payer submits it before billing anything later
		for tab in group.tabs:
			from accumulating_billing.tests.utils import add

			add(tab, self.listing, service_date="2026-02-10")
		frappe.db.commit()
		[later] = tasks.process_due("2026-03-01")
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "docstatus"), 1)
		self.assertEqual(invoices_billing(group.tabs), [invoice, later])

	def test_a_refused_submit_of_the_reserved_invoice_counts_once_on_each_tab_and_holds_them_back(self):
		from accumulating_billing.tests.two_step_utils import refused_submit

		group = make_payer_group(self.listing)
		with refused_submit("the accounts are frozen", "on_submit"):
			[invoice] = tasks.process_due("2026-02-01")
			tasks.process_due("2026-02-01")  # tried again: the same refusal is not counted again
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "docstatus"), 0)
		for tab in group.tabs:
			self.assertEqual(frappe.db.get_value(GENERATOR, tab, "consecutive_failures"), 1)
			self.assertEqual(two_step.reserved_invoices(tab), [invoice])
		two_step.finalize_pending(group.tabs[0])
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "docstatus"), 1)
		self.assertEqual({frappe.db.get_value(GENERATOR, t, "consecutive_failures") for t in group.tabs}, {0})


class TestCombinedCreditLimit(GenerationTestCase):
	def test_the_payers_credit_limit_keeps_the_combined_invoice_for_review(self):
		from accumulating_billing.tests.utils import company

		controller = frappe.db.get_single_value("Accounts Settings", "credit_controller")
		frappe.db.set_single_value("Accounts Settings", "credit_controller", None)
		self.addCleanup(frappe.db.set_single_value, "Accounts Settings", "credit_controller", controller)
		make_user(["Accounts Manager"])
		group = make_payer_group(self.listing)
		doc = frappe.get_doc("Customer", group.payer)
		doc.append(
			"credit_limits", {"company": company(), "credit_limit": 20, "bypass_credit_limit_check": 0}
		)
		doc.save(ignore_permissions=True)
		frappe.db.commit()
		[invoice] = tasks.process_due("2026-02-01")
		si = frappe.get_doc("Sales Invoice", invoice)
		self.assertEqual((si.docstatus, si.accumulating_review), (0, 1))
		self.assertEqual(sorted(r.generator for r in si.accumulating_tabs), sorted(group.tabs))
		for tab in group.tabs:
			self.assertTrue(
				frappe.db.exists(
					LOG, {"generator": tab, "outcome": "Kept for Review", "sales_invoice": invoice}
				)
			)
			self.assertEqual(frappe.db.get_value(GENERATOR, tab, "consecutive_failures"), 0)
		self.assertEqual(set(item_states(group.tabs).values()), {("Billed", invoice)})
