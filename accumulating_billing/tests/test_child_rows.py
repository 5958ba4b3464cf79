"""An invoice a billing run inserts submitted in one pass has its rows written a table at a time (billing/child_rows.py,
docs/architecture.md §4): Frappe's whole insert runs, and only the writing of its rows is one INSERT per table
instead of one per row: the same rows and values, nothing left on them afterwards. Any other Sales Invoice is
written by Frappe, row by row, as before."""

from unittest.mock import patch

import frappe
from frappe.utils import getdate

from accumulating_billing.billing import child_rows, generation, tab
from accumulating_billing.billing.child_rows import STAND_IN
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.billing.invoice import build_sales_invoice
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.child_rows_utils import (
	batch_sizes,
	colliding_line_names,
	stored_and_built,
	writes,
)
from accumulating_billing.tests.utils import (
	add,
	company,
	make_customer,
	make_generator,
)


class TestRowsWrittenTogether(GenerationTestCase):
	def tab_of(self, lines: int):
		gen = make_generator(first_creation_date="2026-02-01")
		for k in range(lines):
			add(gen.name, self.listing, qty=k + 1, rate=10 + k, service_date="2026-01-10")
		frappe.db.commit()
		return gen

	def bill(self, lines: int = 3) -> tuple[str, list]:
		"""Bill a fresh tab of `lines` lines in one step; (the invoice, its document as the run inserted it)."""
		gen = self.tab_of(lines)
		built = []
		real = generation.save_generated

		def keep(generator, invoice, rows, reserve=False):
			built.append(invoice)
			return real(generator, invoice, rows, reserve)

		with patch.object(generation, "save_generated", keep):
			[name] = run_generator(gen.name, "2026-02-01").invoices
		return name, built

	def test_a_billed_invoice_writes_each_table_in_one_insert_the_rows_db_insert_would_write(self):
		with writes() as counts:
			name, [invoice] = self.bill(lines=3)
		self.assertEqual(invoice.name, name)
		self.assertEqual(invoice.docstatus, 1)
		self.assertEqual(counts["INSERT", "Sales Invoice"], 1)
		self.assertEqual(counts["INSERT", "Sales Invoice Item"], 1)  # 3 lines, one statement
		self.assertEqual(counts["INSERT", "Accumulating Invoice Tab"], 1)
		self.assertEqual(counts["INSERT", "Payment Schedule"], 1)
		children = invoice.get_all_children()
		self.assertEqual(
			sorted({row.doctype for row in children}),
			["Accumulating Invoice Tab", "Payment Schedule", "Sales Invoice Item"],
		)
		for row in children:
			self.assertEqual(*stored_and_built(row), row.doctype)
			self.assertFalse(row.is_new(), row.doctype)  # as db_insert leaves it
			self.assertNotIn(STAND_IN, row.__dict__, row.doctype)  # its class's db_insert again
		stored = frappe.get_doc("Sales Invoice", name)
		# the lines in the tab's order (its items of one day by name), numbered as Frappe numbers them
		self.assertEqual([row.idx for row in stored.items], [1, 2, 3])
		self.assertEqual(sorted((row.qty, row.rate) for row in stored.items), [(1, 10), (2, 11), (3, 12)])
		self.assertEqual(
			[row.accumulating_generator_item for row in stored.items],
			[row.accumulating_generator_item for row in invoice.items],
		)
		self.assertEqual(stored.grand_total, 10 + 22 + 36)
		self.assertEqual(
			frappe.db.count("GL Entry", {"voucher_no": name, "is_cancelled": 0}),
			2,  # the customer's receivable and the income: ERPNext's on_submit saw its lines
		)

	def test_a_long_invoice_is_written_a_hundred_rows_to_a_statement(self):
		with batch_sizes(2) as sizes:
			name, _built = self.bill(lines=5)
		self.assertEqual(
			sizes,
			[
				("Sales Invoice Item", 2),
				("Sales Invoice Item", 2),
				("Sales Invoice Item", 1),
				("Payment Schedule", 1),
				("Accumulating Invoice Tab", 1),
			],
		)
		self.assertEqual(len(frappe.get_all("Sales Invoice Item", filters={"parent": name})), 5)
		self.assertEqual(child_rows.ROWS_PER_INSERT, 100)

	def test_a_row_name_that_collides_writes_the_rows_one_by_one(self):
		with colliding_line_names() as rows:
			name, [invoice] = self.bill(lines=3)
		stored = frappe.get_all("Sales Invoice Item", filters={"parent": name}, pluck="name")
		self.assertEqual(len(stored), 3)
		self.assertEqual(sorted(stored), sorted(row.name for row in rows))
		self.assertEqual(frappe.db.get_value("Sales Invoice", name, "docstatus"), 1)
		self.assertEqual([STAND_IN in row.__dict__ for row in invoice.get_all_children()], [False] * 5)

	def test_a_row_added_after_the_hook_is_written_by_frappe_and_one_removed_is_not_written(self):
		"""What Frappe's insert does after the invoice's before_submit (its row, then each row's db_insert), on an
		invoice whose rows were given their stand-ins, then changed as a later hook could change them."""
		gen = self.tab_of(3)
		rows = tab.unbilled_items(gen.name, None)
		invoice = build_sales_invoice(gen, rows, getdate("2026-02-01"), None, fill_missing=False)
		invoice.flags.accumulating_generated = True
		invoice.set("__islocal", 1)
		invoice.set_new_name()
		invoice.set_user_and_timestamp()
		invoice.set_parent_in_children()
		child_rows.write_together(invoice)
		removed = invoice.items.pop()  # a later hook drops a line
		added = invoice.append(
			"taxes", {"charge_type": "Actual", "description": "later hook", "tax_amount": 0}
		)
		invoice.set_parent_in_children()
		try:
			with writes() as counts:
				invoice.db_insert()
				for row in invoice.get_all_children():
					row.db_insert()
			self.assertEqual(counts["INSERT", "Sales Invoice Item"], 1)  # the two lines left, together
			self.assertEqual(counts["INSERT", "Sales Taxes and Charges"], 1)  # the added row, by Frappe
			self.assertEqual(
				sorted(frappe.get_all("Sales Invoice Item", filters={"parent": invoice.name}, pluck="name")),
				sorted(row.name for row in invoice.items),
			)
			self.assertFalse(frappe.db.exists("Sales Invoice Item", removed.name))
			self.assertTrue(frappe.db.exists("Sales Taxes and Charges", added.name))
			self.assertEqual(
				[STAND_IN in row.__dict__ for row in [*invoice.get_all_children(), removed]],
				[False, False, False, False, True],  # the dropped line was never called: nothing wrote it
			)
		finally:
			frappe.db.rollback()

	def test_a_sales_invoice_made_by_hand_is_written_by_frappe_row_by_row(self):
		customer = make_customer()
		invoice = frappe.get_doc(
			{
				"doctype": "Sales Invoice",
				"customer": customer,
				"company": company(),
				"posting_date": "2026-02-01",
				"set_posting_time": 1,
				"due_date": "2026-02-01",
				"items": [{"item_code": self.listing, "qty": 1, "rate": 10 + k} for k in range(3)],
			}
		)
		with writes() as counts:
			invoice.insert()
			invoice.submit()
		self.assertEqual(counts["INSERT", "Sales Invoice Item"], 3)
		self.assertEqual([STAND_IN in row.__dict__ for row in invoice.items], [False] * 3)
		self.assertEqual(len(frappe.get_all("Sales Invoice Item", filters={"parent": invoice.name})), 3)
