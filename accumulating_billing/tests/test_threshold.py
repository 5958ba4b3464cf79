"""Billing early at a threshold (issue 27): *Bill When Unbilled Reaches* on a generator or template; the tab is
billed through Generate Now by a job asked for after the commit of the line that reached it; the decision is taken
again under the generator's lock; the schedule stays or restarts; the hourly sweep and the CLI catch up; every way
a line joins a tab is watched, cheaply. The job runs in process here (test_threshold_worker.py: a real worker)."""

from unittest.mock import patch

import frappe
from frappe.utils import getdate

from accumulating_billing import api
from accumulating_billing.billing import cli, generation, held, late_fees, threshold, watch
from accumulating_billing.billing.generation import generate_now
from accumulating_billing.doctypes import GENERATOR, ITEM, LOG
from accumulating_billing.tests.automation_utils import disable_test_webhooks
from accumulating_billing.tests.base import GenerationTestCase, WatchedTabs
from accumulating_billing.tests.faults.invariants import check_invariants
from accumulating_billing.tests.ledger import make_webhook
from accumulating_billing.tests.source_docs import (
	make_delivery_note,
	make_timesheet,
	service_item,
	stock_item,
)
from accumulating_billing.tests.utils import (
	add,
	fetch,
	invoices_of,
	login,
	make_customer,
	make_generator,
	make_item,
	make_template,
	make_user,
	unbilled,
)

TODAY = "2026-03-10 11:00:00"
DAY = "2026-03-10"


def log_of(generator: str, outcome: str) -> list[dict]:
	return frappe.get_all(
		LOG,
		filters={"generator": generator, "outcome": outcome},
		fields=["occurrence_date", "reason", "sales_invoice", "items_count", "email_status"],
		order_by="creation asc",
	)


class ThresholdTestCase(WatchedTabs, GenerationTestCase):
	def watched(self, threshold: float = 100, **kw):
		gen = make_generator(
			make_customer(),
			**{"first_creation_date": "2026-04-01", **kw},
			bill_when_unbilled_reaches=threshold,
		)
		frappe.db.commit()
		return gen


class TestBillingEarly(ThresholdTestCase):
	def test_reaching_it_asks_for_the_job_after_the_commit_only(self):
		gen = self.watched(100)
		with self.freeze_time(TODAY, tick=True):
			self.add_committed(gen.name, 60)
			self.assertEqual(self.requested, [])  # 60 of 100
			add(gen.name, self.listing, rate=40, service_date="2026-03-06")
			self.assertEqual(self.requested, [])  # not before the commit: the job must see the line
			frappe.db.commit()
			self.assertEqual(self.requested, [gen.name])

	def test_the_job_bills_the_whole_tab_through_generate_now_and_leaves_the_schedule(self):
		gen = self.watched(100, generate_as="Open")
		with self.freeze_time(TODAY, tick=True):
			lines = [
				self.add_committed(gen.name, rate, f"2026-03-0{i + 1}") for i, rate in enumerate((50, 35, 25))
			]
			later = self.add_committed(gen.name, 70, "2026-03-20")  # dated after today: not yet billable
			self.assertEqual(threshold.watch_tab(gen.name), [invoices_of(gen.name)[0].name])
		[invoice] = invoices_of(gen.name)
		self.assertEqual((invoice.docstatus, str(invoice.posting_date), invoice.net_total), (1, DAY, 110))
		self.assertIsNone(invoice.accumulating_occurrence)  # off-cycle, as Generate Now
		self.assertEqual(unbilled(gen.name), [later])
		state = frappe.db.get_value(
			GENERATOR,
			gen.name,
			["next_creation_date", "invoices_generated", "last_creation_date"],
			as_dict=True,
		)
		self.assertEqual(
			(str(state.next_creation_date), state.invoices_generated, str(state.last_creation_date)),
			("2026-04-01", 0, DAY),
		)
		[billed] = log_of(gen.name, "Billed")
		self.assertEqual((billed.sales_invoice, billed.items_count), (invoice.name, 3))
		self.assertTrue(
			billed.reason.startswith(f"Threshold reached on {DAY}: billed 3 item(s)"), billed.reason
		)
		[reached] = log_of(gen.name, "Threshold Reached")
		self.assertEqual((reached.sales_invoice, reached.items_count), (invoice.name, 3))
		self.assertIn("110.00", reached.reason)
		self.assertIn("100.00", reached.reason)
		check_invariants([gen.name], {*lines, later})
		# again: the tab is below its threshold now, nothing more is billed
		with self.freeze_time(TODAY, tick=True):
			self.assertEqual(threshold.watch_tab(gen.name), [])
		self.assertEqual(len(invoices_of(gen.name)), 1)

	def test_restart_the_schedule_one_interval_after_the_threshold_invoice(self):
		gen = self.watched(100, restart_schedule_after_threshold=1)
		with self.freeze_time(TODAY, tick=True):
			self.add_committed(gen.name, 120)
			threshold.watch_tab(gen.name)
		dates = frappe.db.get_value(GENERATOR, gen.name, ["first_creation_date", "next_creation_date"])
		self.assertEqual([str(d) for d in dates], [DAY, "2026-04-10"])
		self.assertIn("2026-04-10", log_of(gen.name, "Threshold Reached")[0].reason)

	def test_below_the_threshold_nothing_is_asked_or_billed(self):
		gen = self.watched(100)
		with self.freeze_time(TODAY, tick=True):
			self.add_committed(gen.name, 99.99)
			self.add_committed(gen.name, 500, "2026-03-25")  # future work does not count yet
			self.assertEqual(self.requested, [])
			self.assertEqual(threshold.watch_tab(gen.name), [])
		self.assertEqual(invoices_of(gen.name), [])
		self.assertEqual(log_of(gen.name, "Threshold Reached"), [])

	def test_the_decision_is_taken_again_under_the_lock(self):
		"""A job asked for while the tab was at its threshold finds it billed by someone else meanwhile (a person's
		Generate Now, the scheduled run, another job): it bills nothing, and writes nothing."""
		gen = self.watched(100)
		with self.freeze_time(TODAY, tick=True):
			self.add_committed(gen.name, 150)
			self.assertEqual(self.requested, [gen.name])
			generate_now(gen.name, DAY)
			self.add_committed(gen.name, 10)  # below again
			occasion = threshold.ThresholdReached(getdate(DAY))
			self.assertEqual(generate_now(gen.name, DAY, occasion=occasion), (None, ""))
			self.assertEqual(threshold.watch_tab(gen.name), [])
		self.assertEqual(len(invoices_of(gen.name)), 1)
		self.assertEqual(log_of(gen.name, "Threshold Reached"), [])

	def test_only_an_active_generator_is_billed_early(self):
		gen = self.watched(100)
		frappe.db.set_value(GENERATOR, gen.name, "status", "Paused")
		frappe.db.commit()
		with self.freeze_time(TODAY, tick=True):
			self.add_committed(gen.name, 150)
			self.assertEqual(self.requested, [])
			self.assertEqual(threshold.watch_tab(gen.name), [])
		self.assertEqual(invoices_of(gen.name), [])

	def test_the_generators_own_settings_apply(self):
		"""Draft invoices stay drafts; a line ERPNext refuses is held, the rest billed (Generate Now's path)."""
		retired = make_item(f"_AB Retired {frappe.generate_hash(length=5)}")
		gen = self.watched(100, generate_as="Draft")
		with self.freeze_time(TODAY, tick=True):
			self.add_committed(gen.name, 120)
			held_line = add(gen.name, retired, rate=30, service_date="2026-03-04").name
			frappe.get_doc("Item", retired).update({"disabled": 1}).save(ignore_permissions=True)
			frappe.db.commit()
			threshold.watch_tab(gen.name)
		[invoice] = invoices_of(gen.name)
		self.assertEqual((invoice.docstatus, invoice.net_total), (0, 120))
		self.assertEqual(frappe.db.get_value(ITEM, held_line, "status"), "On Hold")

	def test_a_tab_nobody_watches_costs_the_adder_nothing(self):
		"""No threshold, no Tab Reaches automation: an add looks at nothing after its commit (the generator's
		`tab_watched` comes with the values the add reads anyway); a batch path that names it pays one read."""
		plain = make_generator(make_customer(), first_creation_date="2026-04-01")
		watched = self.watched(100)
		self.assertEqual((plain.tab_watched, watched.tab_watched), (0, 1))
		add(plain.name, self.listing, rate=5)
		self.assertIsNone(frappe.local.accumulating_tab_watch)
		add(watched.name, self.listing, rate=5)
		self.assertEqual(frappe.local.accumulating_tab_watch, {watched.name})
		frappe.db.rollback()
		self.assertIsNone(frappe.local.accumulating_tab_watch)  # a rollback forgets what it added
		watch.items_added([plain.name])
		with self.assertQueryCount(1):
			watch.look_after_commit()
		self.assertEqual(self.requested, [])
		# a Tab Reaches row watches it too
		self.addCleanup(disable_test_webhooks)
		alerted = make_generator(
			make_customer(),
			automations=[
				{
					"event": "Tab Reaches",
					"tab_amount": 10,
					"webhook": make_webhook("http://127.0.0.1:9/", GENERATOR),
				}
			],
		)
		self.assertEqual(alerted.tab_watched, 1)

	def test_a_failure_is_recorded_once_and_the_job_ends(self):
		gen = self.watched(100)
		with self.freeze_time(TODAY, tick=True):
			self.add_committed(gen.name, 150)
			with patch.object(
				generation, "create_invoice", side_effect=frappe.ValidationError("closed period")
			):
				self.assertEqual(threshold.watch_tab(gen.name), [])
				self.assertEqual(threshold.watch_tab(gen.name), [])
		failures = log_of(gen.name, "Failed")
		self.assertEqual(len(failures), 1)
		self.assertIn("closed period", failures[0].reason)
		self.assertEqual(frappe.db.get_value(GENERATOR, gen.name, "consecutive_failures"), 1)
		self.assertEqual(len(unbilled(gen.name)), 1)


class TestCatchingUp(ThresholdTestCase):
	def test_the_hourly_sweep_asks_for_a_job_lost_on_the_way(self):
		gen = self.watched(100)
		quiet = self.watched(100)
		with self.freeze_time(TODAY, tick=True):
			self.add_committed(gen.name, 100)
			self.add_committed(quiet.name, 40)
			self.requested.clear()  # the job asked for was lost (a crash between the commit and the enqueue)
			self.assertIn(gen.name, threshold.enqueue_reached())
			self.assertNotIn(quiet.name, self.requested)
			self.assertIn(gen.name, self.requested)

	def test_the_cli_run_bills_tabs_at_their_threshold(self):
		gen = self.watched(100)
		self.add_committed(gen.name, 130)  # its job was asked for, and never ran
		said = []
		cli.run(DAY, False, said.append)
		[invoice] = invoices_of(gen.name)
		self.assertIn(f"{gen.name}: threshold reached: billed on {invoice.name}", said)
		self.assertEqual(str(invoice.posting_date), DAY)


class TestSettings(ThresholdTestCase):
	def test_a_minimum_amount_above_the_threshold_is_refused_with_the_reason(self):
		doc = make_generator(
			make_customer(), do_not_save=True, bill_when_unbilled_reaches=100, minimum_amount=150
		)
		with self.assertRaisesRegex(frappe.ValidationError, "would never reach the minimum"):
			doc.insert(ignore_permissions=True)
		doc.minimum_amount = 100
		doc.insert(ignore_permissions=True)
		with self.assertRaises(frappe.ValidationError):
			make_template(bill_when_unbilled_reaches=50, minimum_amount=60)

	def test_a_template_passes_it_on(self):
		from accumulating_billing.billing import assignment

		template = make_template(bill_when_unbilled_reaches=250, restart_schedule_after_threshold=1)
		gen = assignment.assign(template.name, make_customer())
		values = frappe.db.get_value(
			GENERATOR, gen, ["bill_when_unbilled_reaches", "restart_schedule_after_threshold"]
		)
		self.assertEqual(tuple(values), (250, 1))

	def test_lowering_the_threshold_under_the_tab_asks_for_the_job(self):
		gen = self.watched(0)
		with self.freeze_time(TODAY, tick=True):
			self.add_committed(gen.name, 80)
			self.assertEqual(self.requested, [])
			gen.reload()
			gen.bill_when_unbilled_reaches = 75
			gen.save(ignore_permissions=True)
			frappe.db.commit()
			self.assertEqual(self.requested, [gen.name])

	def test_the_form_the_report_and_the_portal_show_how_much_is_used(self):
		from accumulating_billing.accumulating_billing.report.upcoming_accumulating_invoices import (
			upcoming_accumulating_invoices as report,
		)
		from accumulating_billing.billing import portal
		from accumulating_billing.tests.utils import portal_user_for

		gen = self.watched(200)
		with self.freeze_time(TODAY, tick=True):
			self.add_committed(gen.name, 50)
			self.add_committed(gen.name, 20, "2026-03-30")  # future: not counted
			tab = api.get_tab(gen.name)
			self.assertEqual(
				tab["threshold"], {"amount": 200.0, "used": 50.0, "percent": 25, "currency": gen.currency}
			)
			self.assertEqual(frappe.get_doc(GENERATOR, gen.name).as_dict().unbilled_total, 50.0)
			_columns, rows, *_ = report.execute(
				{"customer": gen.customer, "from_date": DAY, "to_date": "2026-04-30"}
			)
			[row] = [r for r in rows if r.generator == gen.name]
			self.assertEqual((row.threshold, row.threshold_used), (200, 25))
			user = portal_user_for(gen.customer)
			[shown] = portal.running_tabs(user)
			self.assertEqual(shown["threshold"]["percent"], 25)
			self.assertIsNone(api.get_tab(self.watched(0).name)["threshold"])


class TestEveryPathIsWatched(ThresholdTestCase):
	"""Each way a line joins a tab calls watch.items_added with its generator, once per transaction."""

	def setUp(self):
		super().setUp()
		self.calls: list[set] = []
		real = watch.items_added
		patcher = patch.object(
			watch, "items_added", lambda names: (self.calls.append(set(names)), real(names))
		)
		patcher.start()
		self.addCleanup(patcher.stop)

	def seen(self, generator: str) -> bool:
		return any(generator in names for names in self.calls)

	def test_add_item_the_desk_and_rest(self):
		gen = self.watched(100)
		api.add_item(gen.name, self.listing, qty=1, rate=5, service_date="2026-03-01")
		self.assertTrue(self.seen(gen.name))
		self.calls.clear()
		add(gen.name, self.listing, rate=5)  # the desk's form and Data Import insert the document
		self.assertTrue(self.seen(gen.name))
		frappe.db.commit()
		self.calls.clear()
		manager = make_user(["Accounts Manager", "Accounts User"])
		client = login(manager)
		response = fetch(
			client,
			"/api/resource/Accumulating Generator Item",
			"post",
			json={
				"generator": gen.name,
				"item_code": self.listing,
				"qty": 1,
				"rate": 7,
				"service_date": "2026-03-02",
			},
		)
		self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
		self.assertTrue(self.seen(gen.name))

	def test_data_import(self):
		from frappe.core.doctype.data_import.importer import Importer

		gen = self.watched(100)
		csv = f"Accumulating Generator,Item,Quantity,Rate,Service Date\n{gen.name},{self.listing},1,12,2026-03-03\n"
		upload = frappe.get_doc(
			{"doctype": "File", "file_name": f"ab-{gen.name}.csv", "content": csv.encode(), "is_private": 1}
		).insert(ignore_permissions=True)
		data_import = frappe.get_doc(
			{
				"doctype": "Data Import",
				"reference_doctype": ITEM,
				"import_type": "Insert New Records",
				"import_file": upload.file_url,
			}
		).insert(ignore_permissions=True)
		Importer(ITEM, data_import=data_import, console=True).import_data()
		self.assertEqual(frappe.db.count(ITEM, {"generator": gen.name}), 1)
		self.assertTrue(self.seen(gen.name))

	def test_timesheets_delivery_notes_and_sync(self):
		customer = make_customer()
		gen = make_generator(
			customer,
			first_creation_date="2026-04-01",
			bill_when_unbilled_reaches=1000,
			accumulate_timesheets=1,
			timesheet_item=service_item(),
			accumulate_delivery_notes=1,
		)
		frappe.db.commit()
		make_timesheet([{"start": "2026-03-02 09:00", "hours": 2, "rate": 50}], customer=customer)
		self.assertTrue(self.seen(gen.name))
		self.calls.clear()
		make_delivery_note(customer, [{"item_code": stock_item(), "qty": 1, "rate": 30}], "2026-03-03")
		self.assertTrue(self.seen(gen.name))

	def test_late_fees_and_released_lines(self):
		fee = make_item("_AB Late Fee")
		gen = self.watched(
			1000,
			first_creation_date="2026-02-01",
			due_days=10,
			late_fee_type="Fixed Amount",
			late_fee_amount=15,
			late_fee_item=fee,
			late_fee_grace_days=5,
		)
		add(gen.name, self.listing, qty=2, rate=50, service_date="2026-01-10")
		frappe.db.commit()
		invoice = generation.run_generator(gen.name, "2026-02-01").invoices[0]
		self.calls.clear()
		self.assertTrue(late_fees.charge(invoice, getdate("2026-02-17")))
		self.assertTrue(self.seen(gen.name))
		# a held line released is back on the tab
		retired = make_item(f"_AB Retired {frappe.generate_hash(length=5)}")
		line = add(gen.name, retired, rate=5, service_date="2026-02-20").name
		frappe.get_doc("Item", retired).update({"disabled": 1}).save(ignore_permissions=True)
		generation.run_generator(gen.name, "2026-03-01")
		self.assertEqual(frappe.db.get_value(ITEM, line, "status"), "On Hold")
		frappe.get_doc("Item", retired).update({"disabled": 0}).save(ignore_permissions=True)
		self.calls.clear()
		self.assertEqual(held.release(gen.name, [line])[0], [line])
		self.assertTrue(self.seen(gen.name))
