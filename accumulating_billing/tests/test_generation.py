"""Generation end to end on a real site: items accumulate, runs bill them exactly once (docs/architecture.md §3-§4)."""

import frappe
from frappe.utils import getdate

from accumulating_billing.billing.generation import run_generator
from accumulating_billing.billing.tasks import process_due
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.utils import (
	add,
	company,
	invoices_of,
	make_customer,
	make_generator,
	make_item,
	unbilled,
)


class TestBobExample(GenerationTestCase):
	def test_monthly_tab_for_bob(self):
		bob = make_customer("_AB Bob")
		gen = make_generator(bob, first_creation_date="2026-02-01", title="Bob website maintenance")
		add(gen.name, self.backup, qty=1, rate=None, service_date="2026-01-05")  # price list: 40
		add(gen.name, self.listing, qty=3, rate=15, service_date="2026-01-14")
		add(gen.name, self.backup, qty=1, rate=None, service_date="2026-01-28")
		frappe.db.commit()

		self.assertEqual(process_due("2026-01-31"), [])
		created = run_generator(gen.name, "2026-02-01").invoices
		self.assertEqual(len(created), 1)

		si = frappe.get_doc("Sales Invoice", created[0])
		self.assertEqual(si.docstatus, 1)
		self.assertEqual(getdate(si.posting_date), getdate("2026-02-01"))
		self.assertEqual(si.customer, bob)
		self.assertEqual(str(si.accumulating_occurrence), "2026-02-01")
		self.assertEqual(
			sorted((i.item_code, i.qty, i.rate) for i in si.items),
			sorted([(self.backup, 1, 40), (self.listing, 3, 15), (self.backup, 1, 40)]),
		)
		self.assertEqual(si.net_total, 125)
		self.assertEqual(si.grand_total, 125)
		self.assertTrue(all(i.accumulating_generator_item for i in si.items))

		self.assertEqual(unbilled(gen.name), [])
		gen.reload()
		self.assertEqual(str(gen.next_creation_date), "2026-03-01")
		self.assertEqual(gen.invoices_generated, 1)
		self.assertEqual(str(gen.last_creation_date), "2026-02-01")
		billed = frappe.get_all(
			"Accumulating Generator Item", filters={"generator": gen.name}, fields=["status", "sales_invoice"]
		)
		self.assertEqual({(b.status, b.sales_invoice) for b in billed}, {("Billed", si.name)})

		# a second run on the same day makes nothing
		self.assertEqual(run_generator(gen.name, "2026-02-01").invoices, [])
		self.assertEqual(len(invoices_of(gen.name)), 1)


class TestInvoiceStatus(GenerationTestCase):
	def test_a_submitted_invoice_has_erpnexts_status_even_at_zero(self):
		"""Inserted submitted in one pass, an invoice has the status ERPNext gives it on submit: Unpaid (or
		Overdue), or Paid for a zero total (no ledger entry sets it then)."""
		gen = make_generator(first_creation_date="2026-02-01")
		add(gen.name, self.listing, qty=1, rate=0, service_date="2026-01-05")
		other = make_generator(first_creation_date="2026-02-01", due_days=30)
		add(other.name, self.listing, qty=1, rate=25, service_date="2026-01-05")
		frappe.db.commit()
		[free] = run_generator(gen.name, "2026-02-01").invoices
		[paying] = run_generator(other.name, "2026-02-01").invoices
		self.assertEqual(frappe.db.get_value("Sales Invoice", free, ["docstatus", "status"]), (1, "Paid"))
		docstatus, status = frappe.db.get_value("Sales Invoice", paying, ["docstatus", "status"])
		self.assertEqual(docstatus, 1)
		self.assertIn(status, ("Unpaid", "Overdue"))  # by today's date against its due date

	def test_before_save_runs_once_as_on_insert_then_submit(self):
		"""Frappe's insert of a submitted document skips before_save; the app runs it (hooks, Server Scripts)."""
		from unittest.mock import patch

		from frappe.model.base_document import get_controller

		controller = get_controller("Sales Invoice")
		real, calls = controller.before_save, []

		def spy(doc):
			calls.append(doc.docstatus)
			return real(doc)

		gen = make_generator(first_creation_date="2026-02-01")
		add(gen.name, self.listing, qty=1, rate=25, service_date="2026-01-05")
		frappe.db.commit()
		with patch.object(controller, "before_save", spy):
			self.assertEqual(len(run_generator(gen.name, "2026-02-01").invoices), 1)
		self.assertEqual(calls, [1])


class TestScheduleBehaviour(GenerationTestCase):
	def test_item_dated_on_the_run_date_waits(self):
		gen = make_generator(first_creation_date="2026-02-01")
		early = add(gen.name, self.listing, service_date="2026-01-31")
		same_day = add(gen.name, self.listing, service_date="2026-02-01")
		frappe.db.commit()
		first = run_generator(gen.name, "2026-02-01").invoices
		self.assertEqual(
			frappe.db.get_value("Accumulating Generator Item", early.name, "sales_invoice"), first[0]
		)
		self.assertEqual(unbilled(gen.name), [same_day.name])
		second = run_generator(gen.name, "2026-03-01").invoices
		self.assertEqual(
			frappe.db.get_value("Accumulating Generator Item", same_day.name, "sales_invoice"), second[0]
		)

	def test_empty_occurrence_makes_no_invoice_and_moves_on(self):
		gen = make_generator(first_creation_date="2026-02-01")
		frappe.db.commit()
		self.assertEqual(run_generator(gen.name, "2026-02-01").invoices, [])
		gen.reload()
		self.assertEqual(str(gen.next_creation_date), "2026-03-01")
		self.assertEqual(gen.invoices_generated, 0)
		log = frappe.get_all("Accumulating Generation Log", filters={"generator": gen.name}, pluck="outcome")
		self.assertEqual(log, ["Skipped"])

	def test_month_end_anchor(self):
		gen = make_generator(first_creation_date="2026-01-31")
		for day in ("2026-01-30", "2026-02-27", "2026-03-30"):
			add(gen.name, self.listing, service_date=day)
		frappe.db.commit()
		created = run_generator(gen.name, "2026-04-30").invoices
		self.assertEqual(
			[str(i.posting_date) for i in invoices_of(gen.name)], ["2026-01-31", "2026-02-28", "2026-03-31"]
		)
		self.assertEqual(len(created), 3)  # Apr 30 was due too, with nothing to bill: skipped
		self.assertEqual(
			str(frappe.db.get_value("Accumulating Generator", gen.name, "next_creation_date")), "2026-05-31"
		)

	def test_catch_up_after_downtime_equals_on_time_billing(self):
		dates = ["2026-01-03", "2026-01-20", "2026-02-11", "2026-03-02", "2026-03-29", "2026-04-15"]
		on_time = make_generator(first_creation_date="2026-02-01")
		late = make_generator(first_creation_date="2026-02-01")
		for day in dates:
			add(on_time.name, self.listing, qty=2, service_date=day)
			add(late.name, self.listing, qty=2, service_date=day)
		frappe.db.commit()
		for run in ("2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01"):
			run_generator(on_time.name, run)
		run_generator(late.name, "2026-05-20")  # the scheduler was down for three months

		def shape(gen):
			return [
				(str(i.posting_date), str(i.accumulating_occurrence), i.net_total)
				for i in invoices_of(gen.name)
			]

		self.assertEqual(shape(on_time), shape(late))
		self.assertEqual(len(shape(late)), 4)
		self.assertEqual(
			frappe.db.get_value("Accumulating Generator", late.name, "next_creation_date"),
			frappe.db.get_value("Accumulating Generator", on_time.name, "next_creation_date"),
		)

	def test_catch_up_is_capped_per_run(self):
		gen = make_generator(first_creation_date="2025-01-01", interval_unit="Week")
		add(gen.name, self.listing, service_date="2024-12-30")
		frappe.db.commit()
		run_generator(gen.name, "2026-01-01")
		logs = frappe.db.count("Accumulating Generation Log", {"generator": gen.name})
		self.assertEqual(logs, 12)
		self.assertEqual(
			str(frappe.db.get_value("Accumulating Generator", gen.name, "next_creation_date")), "2025-03-26"
		)

	def test_minimum_amount_carries_over(self):
		gen = make_generator(first_creation_date="2026-02-01", minimum_amount=50)
		add(gen.name, self.listing, qty=3, rate=15, service_date="2026-01-10")  # 45 < 50
		frappe.db.commit()
		self.assertEqual(run_generator(gen.name, "2026-02-01").invoices, [])
		gen.reload()
		self.assertEqual(str(gen.next_creation_date), "2026-03-01")
		self.assertEqual(gen.invoices_generated, 0)
		self.assertEqual(len(unbilled(gen.name)), 1)
		reason = frappe.get_all(
			"Accumulating Generation Log", filters={"generator": gen.name}, pluck="reason"
		)[0]
		self.assertIn("below the minimum", reason)
		add(gen.name, self.listing, qty=1, rate=10, service_date="2026-02-10")
		frappe.db.commit()
		created = run_generator(gen.name, "2026-03-01").invoices
		self.assertEqual(frappe.db.get_value("Sales Invoice", created[0], "net_total"), 55)
		self.assertEqual(unbilled(gen.name), [])


class TestEndConditions(GenerationTestCase):
	def test_after_n_invoices_completes_and_skips_do_not_count(self):
		gen = make_generator(
			first_creation_date="2026-02-01", end_condition="After N Invoices", end_after_invoices=2
		)
		add(gen.name, self.listing, service_date="2026-01-10")
		frappe.db.commit()
		run_generator(gen.name, "2026-03-01")  # Feb 1 bills, Mar 1 is empty (skipped)
		gen.reload()
		self.assertEqual((gen.status, gen.invoices_generated), ("Active", 1))
		add(gen.name, self.listing, service_date="2026-03-05")
		frappe.db.commit()
		run_generator(gen.name, "2026-04-01")
		gen.reload()
		self.assertEqual((gen.status, gen.invoices_generated, gen.next_creation_date), ("Completed", 2, None))
		# Completed is final: no resume, no new items
		with self.assertRaises(frappe.ValidationError):
			add(gen.name, self.listing, service_date="2026-04-02")

	def test_on_date_final_sweep_ignores_minimum(self):
		gen = make_generator(
			first_creation_date="2026-02-01",
			end_condition="On Date",
			end_date="2026-03-15",
			minimum_amount=100,
		)
		add(gen.name, self.listing, qty=1, rate=20, service_date="2026-01-10")
		add(gen.name, self.listing, qty=1, rate=20, service_date="2026-03-15")
		frappe.db.commit()
		run_generator(gen.name, "2026-03-20")  # Feb 1, Mar 1 below minimum; Mar 15 final
		gen.reload()
		self.assertEqual(gen.status, "Completed")
		invoices = invoices_of(gen.name)
		self.assertEqual([(str(i.posting_date), i.net_total) for i in invoices], [("2026-03-15", 40)])
		self.assertEqual(unbilled(gen.name), [])


class TestErpnextItemDefaultCache(GenerationTestCase):
	def test_erpnext_writes_the_item_income_account_once_not_on_every_invoice(self):
		# ERPNext's validate copies the income account onto an Item Default row without one, deciding from the
		# cached Item; a stale cache would make every invoice rewrite (and lock) the row
		code = make_item(
			f"_AB Defaults {frappe.generate_hash(length=5)}", item_defaults=[{"company": company()}]
		)
		frappe.get_cached_doc("Item", code)  # cached while the row has no income account
		gen = make_generator(first_creation_date="2026-02-01")
		add(gen.name, code, service_date="2026-01-05")
		frappe.db.commit()
		self.assertEqual(len(run_generator(gen.name, "2026-02-01").invoices), 1)
		row = next(d for d in frappe.get_cached_doc("Item", code).item_defaults if d.company == company())
		self.assertTrue(row.income_account)
		written = frappe.db.get_value("Item Default", row.name, "modified")
		add(gen.name, code, service_date="2026-02-05")
		frappe.db.commit()
		self.assertEqual(len(run_generator(gen.name, "2026-03-01").invoices), 1)
		self.assertEqual(frappe.db.get_value("Item Default", row.name, "modified"), written)


class TestPartyDefaultsOnGeneratedInvoices(GenerationTestCase):
	def test_the_customers_sales_partner_brings_its_commission_rate(self):
		partner = frappe.get_doc(
			{
				"doctype": "Sales Partner",
				"partner_name": f"_AB Partner {frappe.generate_hash(length=5)}",
				"territory": frappe.db.get_value("Territory", {"is_group": 0}, "name"),
				"commission_rate": 10,
			}
		).insert(ignore_permissions=True)
		customer = make_customer(default_sales_partner=partner.name)
		gen = make_generator(customer, first_creation_date="2026-02-01", generate_as="Open")
		add(gen.name, self.listing, qty=2, rate=50, service_date="2026-01-05")
		frappe.db.commit()
		invoice = frappe.get_doc("Sales Invoice", run_generator(gen.name, "2026-02-01").invoices[0])
		self.assertEqual(invoice.sales_partner, partner.name)
		self.assertEqual(invoice.commission_rate, 10)
		self.assertEqual(invoice.total_commission, 10)
