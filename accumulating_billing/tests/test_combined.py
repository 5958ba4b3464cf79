"""One invoice per payer (issue 28): the tabs of one payer that combine are billed on one Sales Invoice made out to
the payer, exactly once per tab, and every per-tab rule (minimum amount, end conditions, catch-up, held lines,
cancel) still holds per tab."""

import frappe

from accumulating_billing.billing import combined, payers, tasks
from accumulating_billing.doctypes import GENERATOR, LOG
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.combined_utils import invoices_billing, item_states, make_payer_group
from accumulating_billing.tests.utils import add, make_customer, make_generator, unbilled


class TestOneInvoicePerPayer(GenerationTestCase):
	def test_a_payer_with_two_clinics_and_its_own_tab_gets_one_invoice_once_across_two_runs(self):
		group = make_payer_group(self.listing)
		first = tasks.process_due("2026-02-01")
		again = tasks.process_due("2026-02-01")
		[invoice] = invoices_billing(group.tabs)
		self.assertEqual((first, again), ([invoice], []))
		si = frappe.get_doc("Sales Invoice", invoice)
		self.assertEqual((si.customer, si.docstatus, str(si.posting_date)), (group.payer, 1, "2026-02-01"))
		# filed under the payer's own tab; every tab listed with its occurrence
		self.assertEqual(si.accumulating_generator, group.tabs[0])
		self.assertEqual(
			sorted((row.generator, str(row.occurrence), row.items_count) for row in si.accumulating_tabs),
			sorted((tab, "2026-02-01", 1) for tab in group.tabs),
		)
		# each tab's lines, in the lead's order, each naming its tab
		self.assertEqual(
			[(line.accumulating_tab, line.accumulating_generator_item) for line in si.items],
			[(tab, group.billed[tab][0]) for tab in group.tabs],
		)
		self.assertEqual(
			{item: state for item, state in item_states(group.tabs).items()},
			{item: ("Billed", invoice) for tab in group.tabs for item in group.billed[tab]},
		)
		for tab in group.tabs:
			state = frappe.db.get_value(
				GENERATOR,
				tab,
				["next_creation_date", "invoices_generated", "last_creation_date"],
				as_dict=True,
			)
			self.assertEqual(
				(str(state.next_creation_date), state.invoices_generated, str(state.last_creation_date)),
				("2026-03-01", 1, "2026-02-01"),
			)
			# a log line per tab, naming the one invoice
			self.assertEqual(
				frappe.get_all(LOG, filters={"generator": tab, "outcome": "Billed"}, pluck="sales_invoice"),
				[invoice],
			)

	def test_cancelling_returns_every_tabs_items_and_the_next_billing_day_bills_them_again_once(self):
		group = make_payer_group(self.listing)
		[invoice] = tasks.process_due("2026-02-01")
		frappe.get_doc("Sales Invoice", invoice).cancel()
		frappe.db.commit()
		self.assertEqual(
			set(item_states(group.tabs).values()), {("Unbilled", None)}, "every tab's items are back"
		)
		for tab in group.tabs:
			self.assertTrue(
				frappe.db.exists(LOG, {"generator": tab, "outcome": "Released", "sales_invoice": invoice})
			)
		self.assertEqual(tasks.process_due("2026-02-01"), [])  # the occurrence is billed (cancelled): nothing
		[again] = tasks.process_due("2026-03-01")
		self.assertEqual(tasks.process_due("2026-03-01"), [])
		self.assertEqual(set(item_states(group.tabs).values()), {("Billed", again)})
		self.assertEqual(invoices_billing(group.tabs), [again])

	def test_a_tab_whose_settings_differ_is_billed_alone_with_a_comment_saying_why(self):
		group = make_payer_group(self.listing)
		odd = frappe.get_doc(GENERATOR, group.tabs[2])
		odd.due_days = 30
		odd.save(ignore_permissions=True)
		frappe.db.commit()
		invoices = tasks.process_due("2026-02-01")
		self.assertEqual(len(invoices), 2)
		together = frappe.get_doc("Sales Invoice", invoices_billing(group.tabs[:2])[0])
		self.assertEqual(sorted(row.generator for row in together.accumulating_tabs), sorted(group.tabs[:2]))
		[alone] = invoices_billing([odd.name])
		alone = frappe.get_doc("Sales Invoice", alone)
		self.assertEqual(
			(alone.customer, alone.accumulating_generator, [r.generator for r in alone.accumulating_tabs]),
			(group.payer, odd.name, [odd.name]),
		)
		comments = frappe.get_all(
			"Comment",
			filters={"reference_doctype": GENERATOR, "reference_name": odd.name, "comment_type": "Info"},
			pluck="content",
		)
		why = [c for c in comments if "Due Days" in c and group.tabs[0] in c and group.tabs[1] in c]
		self.assertEqual(len(why), 1, comments)
		# the same reason on the next billing day is not said again
		for tab in group.tabs:
			add(tab, self.listing, service_date="2026-02-10")
		frappe.db.commit()
		self.assertEqual(len(tasks.process_due("2026-03-01")), 2)
		self.assertEqual(
			frappe.db.count(
				"Comment", {"reference_doctype": GENERATOR, "reference_name": odd.name, "content": why[0]}
			),
			1,
		)

	def test_each_tab_keeps_its_own_minimum_amount(self):
		group = make_payer_group(self.listing)
		frappe.db.set_value(GENERATOR, group.tabs[1], "minimum_amount", 1000)
		frappe.db.commit()
		[invoice] = tasks.process_due("2026-02-01")
		si = frappe.get_doc("Sales Invoice", invoice)
		self.assertEqual(
			sorted(row.generator for row in si.accumulating_tabs), sorted([group.tabs[0], group.tabs[2]])
		)
		below = group.tabs[1]
		self.assertEqual(unbilled(below), group.billed[below])  # carries over
		self.assertEqual(
			frappe.get_all(LOG, filters={"generator": below, "outcome": "Skipped"}, pluck="items_count"), [1]
		)
		state = frappe.db.get_value(GENERATOR, below, ["next_creation_date", "invoices_generated"])
		self.assertEqual((str(state[0]), state[1]), ("2026-03-01", 0))

	def test_catch_up_bills_each_occurrence_of_the_group_in_order(self):
		group = make_payer_group(self.listing)
		for tab in group.tabs:
			add(tab, self.listing, qty=1, rate=5, service_date="2026-02-10")
		frappe.db.commit()
		invoices = tasks.process_due("2026-03-05")
		self.assertEqual(len(invoices), 2)
		dates = [str(frappe.db.get_value("Sales Invoice", name, "posting_date")) for name in invoices]
		self.assertEqual(dates, ["2026-02-01", "2026-03-01"])
		for name, day in zip(invoices, dates, strict=True):
			rows = frappe.get_all(
				"Accumulating Invoice Tab", filters={"parent": name}, fields=["generator", "occurrence"]
			)
			self.assertEqual(
				sorted((r.generator, str(r.occurrence)) for r in rows), [(t, day) for t in group.tabs]
			)
		self.assertEqual(set(item_states(group.tabs).values()) - {("Billed", n) for n in invoices}, set())

	def test_tabs_due_on_different_days_are_billed_on_their_own_days(self):
		group = make_payer_group(self.listing)
		later = frappe.get_doc(GENERATOR, group.tabs[2])
		later.first_creation_date = "2026-02-15"
		later.save(ignore_permissions=True)
		frappe.db.commit()
		invoices = tasks.process_due("2026-02-20")
		self.assertEqual(len(invoices), 2)
		first, second = (frappe.get_doc("Sales Invoice", name) for name in invoices)
		self.assertEqual(
			(str(first.posting_date), sorted(r.generator for r in first.accumulating_tabs)),
			("2026-02-01", sorted(group.tabs[:2])),
		)
		self.assertEqual(
			(str(second.posting_date), [r.generator for r in second.accumulating_tabs], second.customer),
			("2026-02-15", [later.name], group.payer),
		)
		# the settings agree: billed alone only for its date, nothing to explain
		self.assertFalse(
			frappe.db.exists(
				"Comment",
				{
					"reference_doctype": GENERATOR,
					"reference_name": later.name,
					"content": ("like", "%differs%"),
				},
			)
		)

	def test_end_conditions_and_pause_are_each_tabs_own(self):
		group = make_payer_group(self.listing, end_condition="After N Invoices", end_after_invoices=3)
		frappe.db.set_value(GENERATOR, group.tabs[1], "end_after_invoices", 1)
		frappe.db.commit()
		[first] = tasks.process_due("2026-02-01")
		self.assertEqual(frappe.db.get_value(GENERATOR, group.tabs[1], "status"), "Completed")
		api_pause(group.tabs[2])
		for tab in (group.tabs[0], group.tabs[2]):
			add(tab, self.listing, service_date="2026-02-10")
		frappe.db.commit()
		[second] = tasks.process_due("2026-03-01")
		self.assertEqual(
			[r.generator for r in frappe.get_doc("Sales Invoice", second).accumulating_tabs], [group.tabs[0]]
		)
		self.assertEqual(len(unbilled(group.tabs[2])), 1)  # Paused: left out
		self.assertNotEqual(first, second)

	def test_a_line_erpnext_refuses_is_held_on_its_tab_and_the_others_are_billed(self):
		from accumulating_billing.tests.utils import make_item, set_item

		group = make_payer_group(self.listing)
		doomed = make_item()
		held = add(group.tabs[1], doomed, service_date="2026-01-20").name
		frappe.db.commit()
		set_item(doomed, disabled=1)
		frappe.db.commit()
		[invoice] = tasks.process_due("2026-02-01")
		self.assertEqual(frappe.db.get_value("Accumulating Generator Item", held, "status"), "On Hold")
		self.assertEqual(frappe.db.get_value(GENERATOR, group.tabs[1], "lines_on_hold"), 1)
		si = frappe.get_doc("Sales Invoice", invoice)
		self.assertEqual(len(si.items), 3)
		self.assertEqual(sorted(r.generator for r in si.accumulating_tabs), sorted(group.tabs))

	def test_generate_now_of_a_tab_bills_it_alone_to_its_payer(self):
		from accumulating_billing.billing.generation import generate_now

		group = make_payer_group(self.listing)
		invoice, _line = generate_now(group.tabs[1], "2026-01-20")
		si = frappe.get_doc("Sales Invoice", invoice)
		self.assertEqual(
			(
				si.customer,
				si.accumulating_generator,
				[(r.generator, r.occurrence) for r in si.accumulating_tabs],
			),
			(group.payer, group.tabs[1], [(group.tabs[1], None)]),
		)

	def test_the_database_refuses_a_second_invoice_for_any_tabs_occurrence(self):
		from accumulating_billing.billing import schema
		from accumulating_billing.billing.generation import create_invoice

		group = make_payer_group(self.listing)
		[invoice] = tasks.process_due("2026-02-01")
		# a worker that missed the lock and the re-check: the same occurrence of the second tab, alone
		doc = frappe.get_doc(GENERATOR, group.tabs[1])
		add(doc.name, self.listing, service_date="2026-01-25")
		row = frappe.get_all(
			"Accumulating Generator Item", filters={"generator": doc.name, "status": "Unbilled"}, fields=["*"]
		)
		from accumulating_billing.billing.tab import with_net_rates

		with self.assertRaises(frappe.UniqueValidationError) as refused:
			create_invoice(doc, with_net_rates(row), "2026-02-01", "2026-02-01")
		self.assertTrue(schema.is_occurrence_key(refused.exception))
		frappe.db.rollback()
		self.assertEqual(invoices_billing(group.tabs), [invoice])

	def test_a_payers_tabs_are_one_entry_of_the_plan_and_one_share(self):
		group = make_payer_group(self.listing)
		alone = make_generator(make_customer()).name
		frappe.db.commit()
		self.assertEqual(
			combined.plan([alone, group.tabs[1], group.tabs[0], group.tabs[2]]),
			[alone, [group.tabs[1], group.tabs[0], group.tabs[2]]],
		)
		self.assertEqual(
			{tasks.share_of(tab, 4, None, [], group.payer) for tab in group.tabs},
			{tasks.share_of("x", 4, None, [], group.payer)},
		)
		# the tick's rows carry what puts them in one share
		rows = {row[0]: row for row in tasks.due_rows(frappe.utils.getdate("2026-02-01"), with_series=True)}
		self.assertEqual(
			{(rows[tab][4] or rows[tab][5]) if rows[tab][3] else None for tab in group.tabs}, {group.payer}
		)
		self.assertEqual(payers.payer_of(frappe.get_doc(GENERATOR, group.tabs[2])), group.payer)

	def test_a_tab_another_worker_holds_makes_the_payer_busy_and_the_next_run_bills_all(self):
		import threading

		from accumulating_billing.billing import locks
		from accumulating_billing.tests.faults.connections import Connection

		group = make_payer_group(self.listing)
		locked, release = threading.Event(), threading.Event()

		def hold(name):
			locks.lock_generator(name)
			locked.set()
			release.wait(60)

		holder = Connection(frappe.local.site, "ab-combined-holder")
		try:
			held = holder.submit(hold, group.tabs[2])  # its transaction stays open, the row locked
			self.assertTrue(locked.wait(60))
			results = combined.run_payer(group.tabs, "2026-02-01")
			self.assertEqual([r.invoices for r in results], [[], [], []])
			self.assertTrue(all("busy" in " ".join(r.log) for r in results), [r.log for r in results])
			self.assertEqual(invoices_billing(group.tabs), [])
			release.set()
			held.result(60)
		finally:
			release.set()
			holder.close()
		[invoice] = tasks.process_due("2026-02-01")
		self.assertEqual(len(frappe.get_doc("Sales Invoice", invoice).accumulating_tabs), 3)


class TestCombinedFailuresAndAmendments(GenerationTestCase):
	def test_an_error_of_the_invoice_is_recorded_on_each_of_its_tabs_and_the_next_run_bills_once(self):
		from accumulating_billing.tests.two_step_utils import refused_submit

		group = make_payer_group(self.listing)
		with refused_submit("the accounting period is closed", "on_submit"):
			self.assertEqual(tasks.process_due("2026-02-01"), [])
		for tab in group.tabs:
			state = frappe.db.get_value(
				GENERATOR, tab, ["next_creation_date", "consecutive_failures", "last_error"], as_dict=True
			)
			self.assertEqual((str(state.next_creation_date), state.consecutive_failures), ("2026-02-01", 1))
			self.assertIn("closed", state.last_error)
			self.assertTrue(frappe.db.exists(LOG, {"generator": tab, "outcome": "Failed"}))
		self.assertEqual(set(item_states(group.tabs).values()), {("Unbilled", None)})
		[invoice] = tasks.process_due("2026-02-01")
		self.assertEqual(set(item_states(group.tabs).values()), {("Billed", invoice)})
		self.assertEqual(
			{frappe.db.get_value(GENERATOR, tab, "consecutive_failures") for tab in group.tabs}, {0}
		)

	def test_an_amendment_of_a_cancelled_combined_invoice_claims_every_tabs_items_back(self):
		group = make_payer_group(self.listing)
		[invoice] = tasks.process_due("2026-02-01")
		original = frappe.get_doc("Sales Invoice", invoice)
		original.cancel()
		amended = frappe.copy_doc(original)
		amended.amended_from = original.name
		amended.docstatus = 0
		amended.insert(ignore_permissions=True)
		amended.submit()
		frappe.db.commit()
		self.assertEqual(set(item_states(group.tabs).values()), {("Billed", amended.name)})
		self.assertEqual(
			sorted((r.generator, r.occurrence) for r in amended.accumulating_tabs),
			sorted((tab, None) for tab in group.tabs),
		)
		# a Sales Invoice made any other way (a copy posted through REST with the tab rows) lists no tab, so it can
		# never take a tab's occurrence from a billing run
		copy = frappe.copy_doc(amended)
		for row in copy.accumulating_tabs:
			row.occurrence = "2026-03-01"
		copy.insert(ignore_permissions=True)
		self.assertEqual(copy.get("accumulating_tabs"), [])
		frappe.db.rollback()


def api_pause(generator: str) -> None:
	from accumulating_billing.billing.lifecycle import pause

	pause(generator)
	frappe.db.commit()
