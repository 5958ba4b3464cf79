"""Work recorded in ERPNext flows into the tab (issue 12): Timesheets and Delivery Notes become tab items on
submit, the generated invoice carries ERPNext's own links, and ERPNext's billing status agrees with the tab."""

import frappe
from frappe.utils import getdate

from accumulating_billing import api
from accumulating_billing.billing import sources
from accumulating_billing.billing.generation import generate_now, run_generator
from accumulating_billing.doctypes import ITEM
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.source_docs import (
	comments_on,
	make_delivery_note,
	make_project,
	make_return,
	make_timesheet,
	service_item,
	stock_item,
)
from accumulating_billing.tests.utils import add, company, make_customer, make_generator, unbilled

BOB_LOGS = [
	{"start": "2026-01-05 09:00", "hours": 2, "rate": 50, "description": "Backups"},
	{"start": "2026-01-14 10:00", "hours": 1.5, "rate": 60, "description": "Product listings"},
	{"start": "2026-01-20 14:00", "hours": 1, "billable": 0, "description": "Internal review"},
	{"start": "2026-01-28 09:00", "hours": 3, "rate": 50, "description": "Security update"},
]


def tab_items(generator: str, **filters) -> list:
	return frappe.get_all(
		ITEM,
		filters={"generator": generator, **filters},
		fields=["name", "qty", "rate", "amount", "status", "service_date", "source_doctype", "source_name"],
		order_by="service_date asc",
	)


class SourcesTestCase(GenerationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.hour = service_item()
		cls.router = stock_item()
		frappe.db.commit()

	def hand_invoice(self, ts, customer: str, posting_date: str):
		"""A Sales Invoice made by hand from the Timesheet (its *Create ▸ Sales Invoice*), saved, not submitted."""
		from erpnext.projects.doctype.timesheet.timesheet import make_sales_invoice

		si = make_sales_invoice(ts.name, self.hour, customer)
		si.posting_date = getdate(posting_date)
		si.set_posting_time = 1
		return si.insert(ignore_permissions=True)

	def timesheet_generator(self, customer=None, **kw):
		return make_generator(
			customer or make_customer(),
			accumulate_timesheets=1,
			timesheet_item=self.hour,
			**kw,
		)


class TestTimesheets(SourcesTestCase):
	def test_bob_timesheet_billed_cancelled_and_billed_again(self):
		bob = make_customer()
		project = make_project(bob, f"_AB Bob website {frappe.generate_hash(length=4)}")
		gen = self.timesheet_generator(bob, project=project)
		ts = make_timesheet(BOB_LOGS, customer=bob, project=project)
		frappe.db.commit()

		items = tab_items(gen.name)
		self.assertEqual(
			[(i.qty, i.rate, i.amount) for i in items], [(2, 50, 100), (1.5, 60, 90), (3, 50, 150)]
		)
		self.assertEqual({(i.source_doctype, i.source_name) for i in items}, {("Timesheet", ts.name)})
		self.assertEqual([str(i.service_date) for i in items], ["2026-01-05", "2026-01-14", "2026-01-28"])

		created = run_generator(gen.name, "2026-02-01").invoices
		self.assertEqual(len(created), 1)
		si = frappe.get_doc("Sales Invoice", created[0])
		self.assertEqual(len(si.items), 3)
		self.assertEqual(si.net_total, 340)
		self.assertEqual(
			sorted((r.timesheet_detail, r.billing_hours, r.billing_amount) for r in si.timesheets),
			sorted(
				(log.name, log.billing_hours, log.billing_amount) for log in ts.time_logs if log.is_billable
			),
		)
		ts.reload()
		self.assertEqual((ts.status, ts.per_billed), ("Billed", 100))
		self.assertEqual([log.sales_invoice for log in ts.time_logs], [si.name, si.name, None, si.name])

		si.cancel()
		frappe.db.commit()
		ts.reload()
		self.assertEqual((ts.status, ts.per_billed), ("Submitted", 0))
		self.assertEqual(len(unbilled(gen.name)), 3)

		again = run_generator(gen.name, "2026-03-01").invoices
		self.assertEqual(len(again), 1)
		ts.reload()
		self.assertEqual(ts.status, "Billed")
		self.assertEqual({log.sales_invoice for log in ts.time_logs if log.is_billable}, {again[0]})

	def test_invoice_without_project_marks_only_its_own_logs(self):
		"""ERPNext marks every unbilled log of a listed Timesheet on an invoice without a Project; the app puts
		the mark back on exactly the logs it billed (a later log still waits on the tab)."""
		customer = make_customer()
		gen = self.timesheet_generator(customer)
		ts = make_timesheet(
			[
				{"start": "2026-01-30 09:00", "hours": 2, "rate": 50},
				{"start": "2026-01-30 13:00", "hours": 1, "billable": 0},
				{"start": "2026-02-02 09:00", "hours": 2, "rate": 50},
			],
			customer=customer,
		)
		frappe.db.commit()
		first = run_generator(gen.name, "2026-02-01").invoices[0]
		ts.reload()
		self.assertEqual([log.sales_invoice for log in ts.time_logs], [first, None, None])
		self.assertEqual((ts.status, ts.per_billed), ("Submitted", 50))
		second = run_generator(gen.name, "2026-03-01").invoices[0]
		ts.reload()
		self.assertEqual([log.sales_invoice for log in ts.time_logs], [first, None, second])
		self.assertEqual(ts.status, "Billed")

	def test_cancel_and_amend_replace_the_items(self):
		customer = make_customer()
		gen = self.timesheet_generator(customer)
		ts = make_timesheet([{"start": "2026-01-05 09:00", "hours": 2}], customer=customer)
		self.assertEqual(len(unbilled(gen.name)), 1)
		ts.cancel()
		self.assertEqual(unbilled(gen.name), [])
		amended = frappe.copy_doc(ts)
		amended.amended_from = ts.name
		amended.docstatus = 0
		amended.time_logs[0].hours = amended.time_logs[0].billing_hours = 4
		amended.time_logs[0].billing_amount = 200
		amended.insert(ignore_permissions=True)
		amended.submit()
		self.assertEqual(
			[(i.qty, i.amount, i.source_name) for i in tab_items(gen.name)], [(4, 200, amended.name)]
		)

	def test_cancel_of_a_billed_timesheet_is_refused(self):
		customer = make_customer()
		gen = self.timesheet_generator(customer)
		ts = make_timesheet([{"start": "2026-01-05 09:00", "hours": 2}], customer=customer)
		frappe.db.commit()
		run_generator(gen.name, "2026-02-01")
		ts.reload()
		self.assertRaises(frappe.ValidationError, ts.cancel)
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("Timesheet", ts.name, "docstatus"), 1)

	def test_update_billing_amount_after_submit_follows_the_unbilled_item(self):
		customer = make_customer()
		gen = self.timesheet_generator(customer)
		ts = make_timesheet(
			[{"start": "2026-01-05 09:00", "hours": 2}, {"start": "2026-01-06 09:00", "hours": 1}],
			customer=customer,
		)
		ts.time_logs[0].billing_hours = 1.5
		ts.time_logs[0].billing_amount = 75
		ts.time_logs[1].is_billable = 0
		ts.save()
		self.assertEqual([(i.qty, i.rate, i.amount) for i in tab_items(gen.name)], [(1.5, 50, 75)])
		# submitted again through every path: never a duplicate (the unique source key)
		sources.sync_document(ts)
		sources.on_submit(ts)
		self.assertEqual(len(tab_items(gen.name)), 1)

	def test_two_candidate_generators_comment_and_add_nothing(self):
		customer = make_customer()
		first = self.timesheet_generator(customer)
		second = self.timesheet_generator(customer)
		ts = make_timesheet([{"start": "2026-01-05 09:00", "hours": 2}], customer=customer)
		self.assertEqual(unbilled(first.name) + unbilled(second.name), [])
		comments = comments_on("Timesheet", ts.name)
		self.assertEqual(len(comments), 1)
		self.assertIn(first.name, comments[0])
		self.assertIn(second.name, comments[0])
		self.assertEqual(frappe.db.get_value("Timesheet", ts.name, "docstatus"), 1)

	def test_the_project_generator_wins(self):
		customer = make_customer()
		project = make_project(customer)
		general = self.timesheet_generator(customer)
		of_project = self.timesheet_generator(customer, project=project)
		make_timesheet([{"start": "2026-01-05 09:00", "hours": 2}], customer=customer, project=project)
		make_timesheet([{"start": "2026-01-06 09:00", "hours": 1}], customer=customer)
		self.assertEqual(len(unbilled(of_project.name)), 1)
		# the log without a project has two candidates: neither gets it
		self.assertEqual(unbilled(general.name), [])

	def test_closed_generators_receive_nothing(self):
		customer = make_customer()
		gen = self.timesheet_generator(customer)
		frappe.db.set_value("Accumulating Generator", gen.name, "status", "Archived")
		ts = make_timesheet([{"start": "2026-01-05 09:00", "hours": 2}], customer=customer)
		self.assertEqual(unbilled(gen.name), [])
		self.assertEqual(comments_on("Timesheet", ts.name), [])  # the customer no longer uses the feature

	def test_sync_adds_what_was_submitted_before_the_setting(self):
		customer = make_customer()
		gen = make_generator(customer)
		ts = make_timesheet(
			[{"start": "2026-01-05 09:00", "hours": 2}, {"start": "2026-01-06 09:00", "hours": 1}],
			customer=customer,
		)
		self.assertEqual(unbilled(gen.name), [])
		gen.reload()
		gen.accumulate_timesheets = 1
		gen.timesheet_item = self.hour
		gen.save()
		added = api.sync_sources(gen.name)
		self.assertEqual(sorted(added), sorted(unbilled(gen.name)))
		self.assertEqual(len(added), 2)
		self.assertEqual(api.sync_sources(gen.name), [])  # nothing twice
		self.assertEqual({i.source_name for i in tab_items(gen.name)}, {ts.name})

	def test_an_assigned_template_passes_the_settings_on(self):
		from accumulating_billing.tests.utils import CREATED_GENERATORS, make_template

		template = make_template(
			accumulate_timesheets=1, timesheet_item=self.hour, accumulate_delivery_notes=1
		)
		gen = frappe.get_doc("Accumulating Generator", api.assign_template(template.name, make_customer()))
		CREATED_GENERATORS.append(gen.name)
		self.assertEqual(
			(gen.accumulate_timesheets, gen.timesheet_item, gen.accumulate_delivery_notes), (1, self.hour, 1)
		)
		make_timesheet([{"start": "2026-01-05 09:00", "hours": 2}], customer=gen.customer)
		self.assertEqual(len(unbilled(gen.name)), 1)

	def test_sync_command_adds_missing_lines(self):
		customer = make_customer()
		gen = make_generator(customer)
		make_timesheet([{"start": "2026-01-05 09:00", "hours": 2}], customer=customer)
		frappe.db.set_value(
			"Accumulating Generator", gen.name, {"accumulate_timesheets": 1, "timesheet_item": self.hour}
		)
		frappe.db.commit()
		result = sources.sync_all()
		self.assertEqual(len(result[gen.name]), 1)
		self.assertEqual(sources.sync_all()[gen.name], [])

	def test_an_invoice_made_by_hand_takes_the_lines_off_the_tab(self):
		customer = make_customer()
		gen = self.timesheet_generator(customer)
		ts = make_timesheet([{"start": "2026-01-05 09:00", "hours": 2}], customer=customer)
		self.assertEqual(len(unbilled(gen.name)), 1)
		self.hand_invoice(ts, customer, "2026-01-10").submit()
		self.assertEqual(unbilled(gen.name), [])
		frappe.db.commit()
		self.assertEqual(run_generator(gen.name, "2026-02-01").invoices, [])

	def test_a_log_on_a_generated_draft_cannot_be_billed_by_hand(self):
		customer = make_customer()
		gen = self.timesheet_generator(customer, generate_as="Draft")
		ts = make_timesheet([{"start": "2026-01-05 09:00", "hours": 2}], customer=customer)
		frappe.db.commit()
		draft = run_generator(gen.name, "2026-02-01").invoices[0]
		hand = self.hand_invoice(ts, customer, "2026-02-03")
		with self.assertRaisesRegex(frappe.ValidationError, draft):
			hand.submit()
		frappe.db.rollback()

	def test_cancelling_a_hand_made_invoice_brings_the_lines_back(self):
		customer = make_customer()
		gen = self.timesheet_generator(customer)
		ts = make_timesheet([{"start": "2026-01-05 09:00", "hours": 2}], customer=customer)
		hand = self.hand_invoice(ts, customer, "2026-01-10")
		hand.submit()
		self.assertEqual(unbilled(gen.name), [])
		hand.cancel()
		self.assertEqual([i.source_name for i in tab_items(gen.name, status="Unbilled")], [ts.name])

	def test_a_sync_moves_a_line_to_the_generator_of_its_project(self):
		customer = make_customer()
		project = make_project(customer)
		general = self.timesheet_generator(customer)
		ts = make_timesheet([{"start": "2026-01-05 09:00", "hours": 2}], customer=customer, project=project)
		self.assertEqual(len(unbilled(general.name)), 1)
		of_project = self.timesheet_generator(customer, project=project)
		# the Timesheet synced again for the general generator (its Sync, another line of it): the line moves
		self.assertEqual(len(sources.sync_document(ts, only_generator=general.name)), 1)
		self.assertEqual((unbilled(general.name), len(unbilled(of_project.name))), ([], 1))

	def test_source_items_are_not_edited_by_hand(self):
		customer = make_customer()
		gen = self.timesheet_generator(customer)
		make_timesheet([{"start": "2026-01-05 09:00", "hours": 2}], customer=customer)
		item = frappe.get_doc(ITEM, unbilled(gen.name)[0])
		item.qty = 10
		self.assertRaises(frappe.ValidationError, item.save)
		self.assertRaises(frappe.ValidationError, item.delete)
		# nor can a hand-made item claim a source
		ts = frappe.get_last_doc("Timesheet")
		forged = add(gen.name, self.hour, source_doctype="Timesheet", source_detail="x", source_name=ts.name)
		self.assertIsNone(frappe.db.get_value(ITEM, forged.name, "source_doctype"))


class TestSourceScreens(SourcesTestCase):
	def test_tab_portal_and_card_show_where_lines_came_from(self):
		import json

		from frappe.desk.doctype.number_card.number_card import get_result

		from accumulating_billing.billing.portal import running_tabs
		from accumulating_billing.tests.utils import portal_user_for

		card = frappe.get_doc("Number Card", "Billable Hours on Tabs")
		hours_before = get_result(card, json.dumps(json.loads(card.filters_json)))
		customer = make_customer()
		gen = self.timesheet_generator(customer, title="Tab with hours")
		ts = make_timesheet(
			[{"start": "2026-01-05 09:00", "hours": 2, "description": "Server patching"}], customer=customer
		)
		add(gen.name, self.listing, service_date="2026-01-06", description="Typed by hand")
		self.assertEqual(get_result(card, json.dumps(json.loads(card.filters_json))), hours_before + 2)

		tab = api.get_tab(gen.name)
		by_description = {i.description: i for i in tab["items"]}
		self.assertEqual(
			(
				by_description["_AB Website Work: Server patching"].source_doctype,
				by_description["_AB Website Work: Server patching"].source_name,
			),
			("Timesheet", ts.name),
		)
		self.assertIsNone(by_description["Typed by hand"].source_doctype)
		self.assertEqual(tab["lines"], 2)

		user = portal_user_for(customer)
		items = next(t for t in running_tabs(user) if t["title"] == "Tab with hours")["items"]
		self.assertEqual(sorted(str(i.source) for i in items), ["None", "Time logged"])
		self.assertNotIn(ts.name, str(items))
		self.assertNotIn("source_detail", str(items))


class TestDeliveryNotes(SourcesTestCase):
	def dn_generator(self, customer=None, **kw):
		return make_generator(customer or make_customer(), accumulate_delivery_notes=1, **kw)

	def test_monthly_billing_with_a_partial_return(self):
		"""Returned before it is billed: the delivered line is billed for what was kept (ERPNext's returned_qty),
		and ERPNext's billing status and report agree."""
		customer = make_customer()
		gen = self.dn_generator(customer)
		dn = make_delivery_note(customer, [{"item_code": self.router, "qty": 10, "rate": 25}], "2026-01-05")
		self.assertEqual([(i.qty, i.amount) for i in tab_items(gen.name)], [(10, 250)])
		make_return(dn, "2026-01-20", {self.router: 3})
		frappe.db.commit()
		self.assertEqual([(i.qty, i.amount, i.source_name) for i in tab_items(gen.name)], [(7, 175, dn.name)])
		warehouse = dn.items[0].warehouse
		stock_before = frappe.db.get_value(
			"Bin", {"item_code": self.router, "warehouse": warehouse}, "actual_qty"
		)

		result = run_generator(gen.name, "2026-02-01")
		self.assertEqual(len(result.invoices), 1, result.error)
		si = frappe.get_doc("Sales Invoice", result.invoices[0])
		self.assertEqual((si.net_total, si.update_stock), (175, 0))
		self.assertEqual(
			[(r.delivery_note, r.dn_detail, r.qty) for r in si.items], [(dn.name, dn.items[0].name, 7)]
		)
		dn.reload()
		self.assertEqual((dn.per_billed, dn.status), (100, "Completed"))
		self.assertEqual(
			frappe.db.get_value("Bin", {"item_code": self.router, "warehouse": warehouse}, "actual_qty"),
			stock_before,
		)
		self.assertNotIn(dn.name, delivered_to_be_billed(customer))

		si.cancel()
		dn.reload()
		self.assertEqual(dn.per_billed, 0)
		self.assertIn(dn.name, delivered_to_be_billed(customer))
		self.assertEqual(len(unbilled(gen.name)), 1)

	def test_a_netted_return_is_never_credited_again_by_sync(self):
		customer = make_customer()
		gen = self.dn_generator(customer)
		dn = make_delivery_note(customer, [{"item_code": self.router, "qty": 10, "rate": 25}], "2026-01-05")
		make_return(dn, "2026-01-20", {self.router: 3})
		frappe.db.commit()
		self.assertEqual(len(run_generator(gen.name, "2026-02-01").invoices), 1)
		self.assertEqual(api.sync_sources(gen.name), [])
		self.assertEqual(unbilled(gen.name), [])

	def test_a_return_after_billing_is_credited_on_the_next_run(self):
		customer = make_customer()
		gen = self.dn_generator(customer)
		dn = make_delivery_note(customer, [{"item_code": self.router, "qty": 4, "rate": 25}], "2026-01-05")
		frappe.db.commit()
		first = run_generator(gen.name, "2026-02-01").invoices
		self.assertEqual(len(first), 1)
		ret = make_return(dn, "2026-02-10", {self.router: 1})
		make_delivery_note(customer, [{"item_code": self.router, "qty": 2, "rate": 25}], "2026-02-12")
		frappe.db.commit()
		self.assertEqual(sorted(i.qty for i in tab_items(gen.name, status="Unbilled")), [-1, 2])

		result = run_generator(gen.name, "2026-03-01")
		self.assertEqual(len(result.invoices), 1, result.error)
		invoices = frappe.get_all(
			"Sales Invoice",
			filters={"accumulating_generator": gen.name, "posting_date": "2026-03-01", "docstatus": 1},
			fields=["name", "is_return", "net_total"],
			order_by="is_return asc",
		)
		self.assertEqual([(i.is_return, i.net_total) for i in invoices], [(0, 50), (1, -25)])
		self.assertIn(invoices[1].name, result.log[0])
		ret.reload()
		self.assertEqual(ret.items[0].billed_amt, -25)
		self.assertEqual(unbilled(gen.name), [])

		frappe.get_doc("Sales Invoice", invoices[1].name).cancel()
		self.assertEqual([i.qty for i in tab_items(gen.name, status="Unbilled")], [-1])

	def test_a_negative_tab_carries_over(self):
		customer = make_customer()
		gen = self.dn_generator(customer)
		dn = make_delivery_note(customer, [{"item_code": self.router, "qty": 2, "rate": 25}], "2026-01-05")
		frappe.db.commit()
		self.assertEqual(len(run_generator(gen.name, "2026-02-01").invoices), 1)
		make_return(dn, "2026-02-20", {self.router: 2})
		frappe.db.commit()
		result = run_generator(gen.name, "2026-03-01")
		self.assertEqual(result.invoices, [])
		self.assertIn("negative", result.log[0])
		self.assertEqual(len(unbilled(gen.name)), 1)
		self.assertEqual(generate_now(gen.name, "2026-03-02")[0], None)

	def test_cancelled_delivery_note_leaves_the_tab(self):
		customer = make_customer()
		gen = self.dn_generator(customer)
		dn = make_delivery_note(customer, [{"item_code": self.router, "qty": 1, "rate": 25}], "2026-01-05")
		self.assertEqual(len(unbilled(gen.name)), 1)
		dn.cancel()
		self.assertEqual(tab_items(gen.name), [])

	def test_a_project_delivery_needs_a_generator_of_that_project(self):
		customer = make_customer()
		gen = self.dn_generator(customer)
		dn = make_delivery_note(
			customer,
			[{"item_code": self.router, "qty": 1, "rate": 25}],
			"2026-01-05",
			project=make_project(customer),
		)
		self.assertEqual(unbilled(gen.name), [])
		self.assertEqual(len(comments_on("Delivery Note", dn.name)), 1)


def delivered_to_be_billed(customer: str) -> list[str]:
	"""The Delivery Notes of the customer that ERPNext's report "Delivered Items To Be Billed" lists."""
	from erpnext.accounts.report.delivered_items_to_be_billed.delivered_items_to_be_billed import execute

	rows = execute(frappe._dict(company=company(), posting_date="2026-12-31"))[1]
	return [row.name for row in rows if row.customer == customer]
