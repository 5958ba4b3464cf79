"""Generate as, discounts and taxes, due dates, pause/resume, Generate now, cancel/delete, CLI, tick."""

from unittest.mock import patch

import frappe
from frappe.utils import getdate

from accumulating_billing import api
from accumulating_billing.billing import cli, email, generation, lifecycle, tasks
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.utils import (
	add,
	ensure_fiscal_years,
	invoices_of,
	make_customer,
	make_emailing_generator,
	make_generator,
	tax_account,
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


class TestPauseResume(GenerationTestCase):
	def test_pause_then_resume_keeps_rhythm_and_skips_paused_occurrences(self):
		gen = make_generator(first_creation_date="2026-02-01")
		add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.commit()
		lifecycle.pause(gen.name)
		frappe.db.commit()
		self.assertEqual(run_generator(gen.name, "2026-04-10").invoices, [])  # paused: nothing
		add(gen.name, self.listing, service_date="2026-03-05")  # items can still be added
		next_date = lifecycle.resume(gen.name, "2026-04-10")
		frappe.db.commit()
		self.assertEqual(str(next_date), "2026-05-01")
		missed = frappe.get_all(
			"Accumulating Generation Log",
			filters={"generator": gen.name, "outcome": "Missed"},
			pluck="occurrence_date",
		)
		self.assertEqual(sorted(str(d) for d in missed), ["2026-02-01", "2026-03-01", "2026-04-01"])
		created = run_generator(gen.name, "2026-05-01").invoices
		self.assertEqual(len(created), 1)
		self.assertEqual(frappe.db.count("Sales Invoice Item", {"parent": created[0]}), 2)

	def test_paused_generator_resumes_by_itself(self):
		gen = make_generator(first_creation_date="2026-02-01")
		add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.set_value(
			"Accumulating Generator", gen.name, {"status": "Paused", "resume_date": "2026-03-15"}
		)
		frappe.db.commit()
		self.assertIn(gen.name, tasks.due_generators(getdate("2026-03-15")))
		created = tasks.process_due("2026-04-01")
		gen.reload()
		self.assertEqual(gen.status, "Active")
		self.assertEqual(len([i for i in created if i in {x.name for x in invoices_of(gen.name)}]), 1)
		self.assertEqual(str(gen.next_creation_date), "2026-05-01")

	def test_api_checks_permission(self):
		gen = make_generator()
		frappe.db.commit()
		frappe.set_user("Guest")
		try:
			with self.assertRaises(frappe.PermissionError):
				api.pause(gen.name)
		finally:
			frappe.set_user("Administrator")


class TestGenerateNow(GenerationTestCase):
	def test_generate_now_bills_off_cycle_and_double_click_makes_one(self):
		gen = make_generator(
			first_creation_date="2026-02-01", end_condition="After N Invoices", end_after_invoices=3
		)
		add(gen.name, self.listing, service_date="2026-01-05")
		add(gen.name, self.listing, service_date="2026-01-25")  # after "today": waits
		frappe.db.commit()
		first, _message = generation.generate_now(gen.name, "2026-01-20")
		second, message = generation.generate_now(gen.name, "2026-01-20")
		self.assertTrue(first)
		self.assertIsNone(second)
		self.assertIn("Nothing to bill", message)
		si = frappe.get_doc("Sales Invoice", first)
		self.assertIsNone(si.accumulating_occurrence)
		self.assertEqual(str(si.posting_date), "2026-01-20")
		gen.reload()
		self.assertEqual((str(gen.next_creation_date), gen.invoices_generated), ("2026-02-01", 0))
		self.assertEqual(len(unbilled(gen.name)), 1)

	def test_generate_now_bills_what_a_completed_generator_still_holds(self):
		gen = make_generator(
			first_creation_date="2026-02-01", end_condition="After N Invoices", end_after_invoices=1
		)
		add(gen.name, self.listing, service_date="2026-01-05")
		add(gen.name, self.listing, service_date="2026-02-10")
		frappe.db.commit()
		run_generator(gen.name, "2026-02-01")
		self.assertEqual(frappe.db.get_value("Accumulating Generator", gen.name, "status"), "Completed")
		invoice, _message = generation.generate_now(gen.name, "2026-02-20")
		self.assertTrue(invoice)
		self.assertEqual(unbilled(gen.name), [])


class TestReleaseOnCancelOrDelete(GenerationTestCase):
	def test_cancel_returns_items_and_next_invoice_picks_them_up(self):
		gen = make_generator()
		items = sorted(add(gen.name, self.listing, service_date=d).name for d in ("2026-01-05", "2026-01-06"))
		frappe.db.commit()
		invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		frappe.get_doc("Sales Invoice", invoice).cancel()
		frappe.db.commit()
		self.assertEqual(sorted(unbilled(gen.name)), items)
		comments = frappe.get_all(
			"Comment",
			filters={"reference_doctype": "Accumulating Generator", "reference_name": gen.name},
			pluck="content",
		)
		self.assertTrue(any(invoice in c for c in comments))
		again = run_generator(gen.name, "2026-03-01").invoices
		self.assertEqual(frappe.db.count("Sales Invoice Item", {"parent": again[0]}), 2)

	def test_deleting_a_generated_draft_returns_items(self):
		gen = make_generator(generate_as="Draft")
		item = add(gen.name, self.listing, service_date="2026-01-05").name
		frappe.db.commit()
		invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		frappe.delete_doc("Sales Invoice", invoice)
		self.assertEqual(unbilled(gen.name), [item])
		self.assertFalse(frappe.db.exists("Sales Invoice", invoice))

	def test_deleting_a_generator_with_invoices_is_refused(self):
		gen = make_generator()
		add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.commit()
		run_generator(gen.name, "2026-02-01")
		with self.assertRaises(frappe.ValidationError) as ctx:
			frappe.delete_doc("Accumulating Generator", gen.name)
		self.assertIn("Archive", str(ctx.exception))


class TestSchedulerAndCli(GenerationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_fiscal_years(2030)
		frappe.db.commit()

	def test_enqueue_due_uses_long_queue_and_deterministic_job_ids(self):
		make_generator(first_creation_date="2030-05-01")
		frappe.db.commit()
		with patch.object(frappe, "enqueue") as enqueue:
			first = tasks.enqueue_due("2030-05-01")
			second = tasks.enqueue_due("2030-05-01")
		self.assertEqual(first, second)
		parts = tasks.jobs_per_tick()
		self.assertEqual(len(first), parts)
		self.assertEqual(len(set(first)), parts)
		for call in enqueue.call_args_list:
			self.assertEqual(call.args[0], "accumulating_billing.billing.tasks.process_share")
			self.assertEqual(call.kwargs["queue"], "long")
			self.assertTrue(call.kwargs["deduplicate"])
			self.assertEqual((call.kwargs["parts"], call.kwargs["as_of"]), (parts, "2030-05-01"))
		self.assertEqual(sorted({c.kwargs["part"] for c in enqueue.call_args_list}), list(range(parts)))

	def test_nothing_due_enqueues_nothing(self):
		with patch.object(frappe, "enqueue") as enqueue:
			self.assertEqual(tasks.enqueue_due("1990-01-01"), [])
		enqueue.assert_not_called()

	def test_the_shares_take_every_due_generator_once(self):
		gens = [make_generator(first_creation_date="2030-07-01") for _ in range(7)]
		frappe.db.commit()
		taken: list[str] = []

		def record(name, as_of):  # generators of other tests are due too: only record, bill nothing
			taken.append(name)
			return generation.RunResult(name)

		settings = frappe.get_single("Accumulating Billing Settings")
		settings.billing_jobs_per_tick = 3
		settings.save()
		try:
			due = tasks.due_generators(frappe.utils.getdate("2030-07-01"))
			with patch.object(frappe, "enqueue") as enqueue:
				tasks.enqueue_due("2030-07-01")
			shares = [
				{k: call.kwargs[k] for k in ("as_of", "part", "parts")} for call in enqueue.call_args_list
			]
			self.assertEqual(len(shares), 3)
			with patch.object(tasks, "run_isolated", side_effect=record):
				for share in shares:
					tasks.process_share(**share)
		finally:
			settings.reload()
			settings.billing_jobs_per_tick = 0  # back to the default
			settings.save()
		self.assertEqual(settings.billing_jobs_per_tick, tasks.DEFAULT_JOBS_PER_TICK)
		self.assertEqual(sorted(taken), sorted(due))  # every due generator in exactly one share
		for gen in gens:
			self.assertIn(gen.name, taken)

	def test_a_share_stops_taking_generators_when_its_time_budget_is_spent(self):
		gen = make_generator(first_creation_date="2030-08-01")
		frappe.db.commit()
		with patch.object(tasks, "run_isolated", side_effect=lambda name, as_of: generation.RunResult(name)):
			self.assertEqual(tasks.process_share("2030-08-01", 0, 1, budget=-1), [])
			results = tasks.process_share("2030-08-01", 0, 1)
		self.assertIn(gen.name, [r.generator for r in results])

	def test_generators_of_one_naming_series_go_to_one_job(self):
		options = ["A-.####", "B-.####", "C-.####"]
		self.assertEqual({tasks.share_of(f"G{i}", 4, "C-.####", options) for i in range(50)}, {2})
		self.assertEqual(tasks.share_of("G1", 2, "B-.####", options), 1)
		self.assertEqual(tasks.share_of("G1", 4, None, options), tasks.share_of("G1", 4))
		self.assertEqual(tasks.share_of("G1", 4, "GONE-.####", options), tasks.share_of("G1", 4))

		series = tasks.invoice_series_options()[0]
		gens = [
			make_generator(first_creation_date="2030-09-01", naming_series_for_invoice=series).name
			for _ in range(4)
		]
		frappe.db.commit()
		taken: dict[int, list[str]] = {}
		with patch.object(tasks, "run_isolated", side_effect=lambda name, as_of: generation.RunResult(name)):
			for part in range(3):
				taken[part] = [r.generator for r in tasks.process_share("2030-09-01", part, 3)]
		self.assertEqual([part for part in taken if set(gens) & set(taken[part])], [0])
		self.assertTrue(set(gens) <= set(taken[0]))

	def test_a_share_bills_the_generators_that_failed_last_after_the_others(self):
		failing = make_generator(first_creation_date="2030-10-01")
		healthy = make_generator(first_creation_date="2030-10-02")
		frappe.db.set_value("Accumulating Generator", failing.name, "consecutive_failures", 2)
		frappe.db.commit()
		order: list[str] = []

		def record(name, as_of):
			order.append(name)
			return generation.RunResult(name)

		with patch.object(tasks, "run_isolated", side_effect=record):
			tasks.process_share("2030-10-02", 0, 1)
		self.assertLess(order.index(healthy.name), order.index(failing.name))

	def test_a_bad_number_of_jobs_written_around_the_form_still_bills(self):
		frappe.db.set_single_value("Accumulating Billing Settings", "billing_jobs_per_tick", -3)
		try:
			self.assertEqual(tasks.jobs_per_tick(), 1)
		finally:
			frappe.db.set_single_value("Accumulating Billing Settings", "billing_jobs_per_tick", 0)
		self.assertEqual(tasks.jobs_per_tick(), tasks.DEFAULT_JOBS_PER_TICK)

	def test_share_of_is_stable_and_spreads_names(self):
		names = [f"ACG-{i:05d}" for i in range(400)]
		shares = [tasks.share_of(name, 4) for name in names]
		self.assertEqual(shares, [tasks.share_of(name, 4) for name in names])
		counts = [shares.count(k) for k in range(4)]
		self.assertTrue(all(60 <= c <= 140 for c in counts), counts)

	def test_cli_dry_run_changes_nothing_then_run_bills(self):
		gen = make_generator(first_creation_date="2030-06-01")
		add(gen.name, self.listing, service_date="2030-05-05")
		frappe.db.commit()
		out: list[str] = []
		cli.run("2030-06-01", True, out.append)
		self.assertTrue(any(gen.name in line and "2030-06-01" in line for line in out), out)
		self.assertIn("nothing changed", out[-1])
		self.assertEqual(invoices_of(gen.name), [])
		out.clear()
		cli.run("2030-06-01", False, out.append)
		self.assertTrue(any("billed 1 item" in line for line in out), out)
		self.assertEqual(len(invoices_of(gen.name)), 1)


class TestAddItemApi(GenerationTestCase):
	def test_client_ref_is_idempotent_and_added_by_is_the_user(self):
		gen = make_generator()
		first = api.add_item(
			gen.name, self.listing, qty=2, rate=5, client_ref="ticket-42", service_date="2026-01-05"
		)
		again = api.add_item(
			gen.name, self.listing, qty=2, rate=5, client_ref="ticket-42", service_date="2026-01-05"
		)
		self.assertEqual(first, again)
		item = frappe.get_doc("Accumulating Generator Item", first)
		self.assertEqual((item.added_by, item.amount), ("Administrator", 10))

	def test_rate_defaults_from_price_list(self):
		gen = make_generator()
		name = api.add_item(gen.name, self.backup, service_date="2026-01-05")
		self.assertEqual(frappe.db.get_value("Accumulating Generator Item", name, "rate"), 40)

	def test_unknown_generator(self):
		with self.assertRaises(frappe.DoesNotExistError):
			api.add_item("ACG-NOPE", self.listing)

	def test_get_tab_previews_the_next_invoice(self):
		gen = make_generator(additional_discount_percentage=10, apply_discount_on="Net Total")
		api.add_item(gen.name, self.listing, qty=3, rate=10, service_date="2026-01-05")
		api.add_item(gen.name, self.listing, qty=1, rate=5, service_date="2026-01-06")
		tab = api.get_tab(gen.name)
		self.assertEqual(
			(tab["lines"], tab["subtotal"], tab["discount"], tab["net_total"]), (2, 35, 3.5, 31.5)
		)
		frappe.db.commit()
		invoice = run_generator(gen.name, "2026-02-01").invoices[0]
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "net_total"), tab["net_total"])


class TestReviewFindings(GenerationTestCase):
	def test_amending_a_cancelled_invoice_rebills_once(self):
		gen = make_generator()
		add(gen.name, self.listing, service_date="2026-01-05")
		frappe.db.commit()
		original = frappe.get_doc("Sales Invoice", run_generator(gen.name, "2026-02-01").invoices[0])
		original.cancel()
		amended = frappe.copy_doc(original)
		amended.docstatus = 0
		amended.amended_from = original.name
		amended.accumulating_generator = original.accumulating_generator
		amended.accumulating_occurrence = original.accumulating_occurrence
		amended.insert()
		amended.submit()
		self.assertIsNone(amended.accumulating_occurrence)
		self.assertEqual(unbilled(gen.name), [])
		frappe.db.commit()
		self.assertEqual(run_generator(gen.name, "2026-03-01").invoices, [])

	def test_status_cannot_be_written_by_a_user(self):
		gen = make_generator()
		item = add(gen.name, self.listing, service_date="2026-01-05")
		item.status = "Billed"
		item.save()
		self.assertEqual(frappe.db.get_value("Accumulating Generator Item", item.name, "status"), "Unbilled")

	def test_contributor_cannot_add_to_another_customers_generator(self):
		allowed = make_generator()
		other = make_generator()
		email = f"ab-contrib-{frappe.generate_hash(length=6)}@example.com"
		user = frappe.get_doc(
			{"doctype": "User", "email": email, "first_name": "Contributor", "send_welcome_email": 0}
		).insert(ignore_permissions=True)
		user.add_roles("Accumulating Billing Contributor")
		frappe.get_doc(
			{"doctype": "User Permission", "user": email, "allow": "Customer", "for_value": allowed.customer}
		).insert(ignore_permissions=True)
		frappe.set_user(email)
		try:
			name = api.add_item(allowed.name, self.listing, rate=10, service_date="2026-01-05")
			self.assertEqual(frappe.db.get_value("Accumulating Generator Item", name, "added_by"), email)
			with self.assertRaises(frappe.PermissionError):
				api.add_item(other.name, self.listing, rate=10, service_date="2026-01-05")
			with self.assertRaises(frappe.PermissionError):
				frappe.get_doc(
					{
						"doctype": "Accumulating Generator Item",
						"generator": other.name,
						"item_code": self.listing,
						"rate": 10,
					}
				).insert()
		finally:
			frappe.set_user("Administrator")

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
