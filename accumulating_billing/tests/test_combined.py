"""One invoice per payer (issue 28): the tabs of one payer that combine are billed on one Sales Invoice made out to
the payer, exactly once per tab, and every per-tab rule (minimum amount, end conditions, catch-up, held lines,
cancel) still holds per tab."""

import frappe

from accumulating_billing.billing import combined, payers, tasks
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.combined_utils import invoices_billing, item_states, make_payer_group
from accumulating_billing.tests.utils import add, make_customer, make_generator, unbilled

GENERATOR = "Accumulating Generator"
LOG = "Accumulating Generation Log"


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
