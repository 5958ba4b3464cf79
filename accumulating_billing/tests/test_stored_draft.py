"""Two-step billing's stored draft (billing/two_step.py, billing/child_rows.py, docs/architecture.md §7): the reserve
stores the draft as built, one INSERT per child table, the rows db_insert writes; the finalize inserts the invoice
submitted over it, each row written over the stored one of its name in the statement that writes its table, a
stored row the invoice no longer lists deleted, nothing deleted before; a finalize that fails leaves the draft as
the reserve stored it."""

from unittest.mock import patch

import frappe
from frappe.utils import get_datetime

from accumulating_billing.billing import child_rows, two_step
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.tests.base import TwoStepTestCase
from accumulating_billing.tests.child_rows_utils import (
	batch_sizes,
	colliding_line_names,
	stored_and_built,
	writes,
)
from accumulating_billing.tests.source_docs import make_timesheet, service_item
from accumulating_billing.tests.two_step_utils import stopped_after_reserve
from accumulating_billing.tests.utils import (
	add,
	make_customer,
	make_generator,
)

# the tables of a reserved draft of one tab, the Sales Invoice's own first
DRAFT_TABLES = ("Sales Invoice", "Sales Invoice Item", "Accumulating Invoice Tab")


def draft_rows(name: str) -> dict[str, list[dict]]:
	"""Every stored row of the invoice `name`, by table, as the database holds them."""
	rows = {}
	for table in DRAFT_TABLES:
		key = "name" if table == "Sales Invoice" else "parent"
		rows[table] = frappe.db.sql(
			f"select * from `tab{table}` where `{key}` = %s order by `name`", name, as_dict=True
		)
	return rows


class TestStoredDraft(TwoStepTestCase):
	def reserve(self, lines: int = 3):
		"""A tab of `lines` lines billed in two steps up to its reserve: returns the reserved draft's name."""
		gen = make_generator(first_creation_date="2026-02-01")
		for k in range(lines):
			add(gen.name, self.listing, rate=10 + k, service_date="2026-01-10")
		frappe.db.commit()
		with stopped_after_reserve():
			[name] = run_generator(gen.name, "2026-02-01").invoices
		return name

	def test_the_draft_stored_in_one_insert_per_table_is_the_rows_db_insert_writes(self):
		built = []
		real = two_step.store_reserved

		def keep(invoice):
			real(invoice)
			built.append(invoice)

		with patch.object(two_step, "store_reserved", keep):
			name = self.reserve()
		[invoice] = built
		self.assertEqual(invoice.name, name)
		children = invoice.get_all_children()
		self.assertEqual(
			[row.is_new() for row in children], [False] * len(children)
		)  # as db_insert leaves them
		self.assertEqual(
			sorted({row.doctype for row in children}), ["Accumulating Invoice Tab", "Sales Invoice Item"]
		)
		for row in children:
			self.assertEqual(*stored_and_built(row), row.doctype)
		self.assertEqual(len(frappe.get_doc("Sales Invoice", name).items), 3)

	def test_a_long_invoice_is_stored_a_hundred_lines_to_a_statement(self):
		with batch_sizes(2) as sizes:
			name = self.reserve(lines=5)
		self.assertEqual(
			sizes,
			[
				("Sales Invoice Item", 2),
				("Sales Invoice Item", 2),
				("Sales Invoice Item", 1),
				("Accumulating Invoice Tab", 1),
			],
		)
		self.assertEqual(len(frappe.get_all("Sales Invoice Item", filters={"parent": name})), 5)
		self.assertEqual(child_rows.ROWS_PER_INSERT, 100)

	def test_a_row_name_that_collides_stores_the_rows_one_by_one(self):
		with colliding_line_names() as rows:
			name = self.reserve()
		stored = frappe.get_all("Sales Invoice Item", filters={"parent": name}, pluck="name")
		self.assertEqual(len(stored), 3)
		self.assertEqual(sorted(stored), sorted(row.name for row in rows))
		self.assertIsNone(
			two_step.finalize(frappe.get_value("Sales Invoice", name, "accumulating_generator"), name)
		)
		self.assertEqual(frappe.db.get_value("Sales Invoice", name, "docstatus"), 1)

	def finalize(self, name: str) -> str | None:
		return two_step.finalize(frappe.db.get_value("Sales Invoice", name, "accumulating_generator"), name)

	def test_the_finalize_writes_the_invoice_over_the_stored_draft_one_statement_a_table(self):
		name = self.reserve(lines=3)
		stored = draft_rows(name)
		submitted = []
		real = two_step.submit_stored

		def keep(doc):
			real(doc)
			submitted.append(doc)

		with patch.object(two_step, "submit_stored", keep), writes() as counts:
			self.assertIsNone(self.finalize(name))
		[invoice] = submitted
		for table in (*DRAFT_TABLES, "Payment Schedule"):
			self.assertEqual(
				counts["INSERT", table], 1, table
			)  # the draft's rows written over, the new one added
			self.assertEqual(counts["DELETE", table], 0, table)  # nothing deleted first
		now = draft_rows(name)
		for table in DRAFT_TABLES:
			# the same rows, under the same names: each written over, none added or left over
			self.assertEqual([row.name for row in now[table]], [row.name for row in stored[table]], table)
			self.assertEqual([row.docstatus for row in now[table]], [1] * len(now[table]), table)
		self.assertEqual(len(now["Sales Invoice Item"]), 3)
		for row in invoice.get_all_children():
			self.assertEqual(*stored_and_built(row), row.doctype)  # what db_insert writes, every column
		self.assertEqual(
			frappe.db.get_value(
				"Sales Invoice", name, ["accumulating_finalize", "grand_total", "modified"], as_dict=True
			),
			{
				"accumulating_finalize": 0,
				"grand_total": 10 + 11 + 12,
				"modified": get_datetime(invoice.modified),
			},
		)
		self.assertEqual(frappe.db.count("GL Entry", {"voucher_no": name, "is_cancelled": 0}), 2)

	def test_a_stored_row_the_invoice_no_longer_lists_is_deleted(self):
		name = self.reserve(lines=2)
		# a row stored with the draft that the finalize's invoice no longer lists when its row is written, as when a
		# validation replaces a table's rows
		draft = frappe.get_doc("Sales Invoice", name)
		dropped = draft.append("taxes", {"charge_type": "Actual", "description": "dropped", "tax_amount": 0})
		draft.set_parent_in_children()
		dropped.db_insert()
		frappe.db.commit()
		real = child_rows.written_over

		def dropping(doc):
			real(doc)
			doc.set("taxes", [])

		with patch.object(child_rows, "written_over", dropping), writes() as counts:
			self.assertIsNone(self.finalize(name))
		self.assertEqual(counts["DELETE", "Sales Taxes and Charges"], 1)
		self.assertFalse(frappe.db.exists("Sales Taxes and Charges", dropped.name))
		self.assertEqual(frappe.db.get_value("Sales Invoice", name, ["docstatus", "grand_total"]), (1, 21))
		self.assertEqual(
			frappe.get_all("Sales Invoice Item", filters={"parent": name}, pluck="docstatus"), [1, 1]
		)

	def test_a_finalize_refused_after_its_rows_were_written_leaves_the_draft_as_stored(self):
		name = self.reserve(lines=3)
		stored = draft_rows(name)
		real = child_rows.store_children

		def refused(rows, stored=None):
			real(rows, stored)
			frappe.throw("refused after the lines were written")

		# compute_draft (which saves a refused draft so the desk shows ERPNext's totals) is left out: the rows
		# compared are the ones the rollback left
		with patch.object(child_rows, "store_children", refused), patch.object(two_step, "compute_draft"):
			self.assertIn("refused after the lines were written", self.finalize(name))
		self.assertEqual(draft_rows(name), stored)  # every column of every row, as the reserve stored it
		self.assertEqual(
			two_step.reserved_invoices(frappe.db.get_value("Sales Invoice", name, "accumulating_generator")),
			[name],
		)
		self.assertIsNone(self.finalize(name))
		self.assertEqual(frappe.db.get_value("Sales Invoice", name, "docstatus"), 1)
		self.assertEqual(
			sorted(row.name for row in draft_rows(name)["Sales Invoice Item"]),
			sorted(row.name for row in stored["Sales Invoice Item"]),
		)

	def test_a_timesheet_tab_in_two_steps_bills_its_time_logs_once(self):
		"""ERPNext's own rows of an invoice (its timesheet rows) and its Timesheet's billing, through a reserve and
		a finalize that writes over the stored draft."""
		customer = make_customer()
		gen = make_generator(
			customer,
			first_creation_date="2026-02-01",
			accumulate_timesheets=1,
			timesheet_item=service_item(),
		)
		sheet = make_timesheet(
			[{"start": "2026-01-05 09:00", "hours": 2}, {"start": "2026-01-20 09:00", "hours": 1}],
			customer=customer,
		)
		frappe.db.commit()
		with patch.object(two_step, "submit_stored", wraps=two_step.submit_stored) as finalized:
			[name] = run_generator(gen.name, "2026-02-01").invoices
		self.assertEqual(finalized.call_count, 1)  # reserved, then written over the stored draft
		self.assertEqual(frappe.db.get_value("Sales Invoice", name, ["docstatus", "grand_total"]), (1, 150))
		logs = sorted(row.name for row in sheet.time_logs)
		self.assertEqual(
			sorted(
				frappe.get_all("Sales Invoice Timesheet", filters={"parent": name}, pluck="timesheet_detail")
			),
			logs,
		)
		self.assertEqual(
			frappe.get_all("Timesheet Detail", filters={"name": ("in", logs)}, pluck="sales_invoice"),
			[name, name],
		)
		self.assertEqual(
			frappe.db.get_value("Timesheet", sheet.name, ["status", "per_billed"]), ("Billed", 100)
		)
		self.assertEqual(two_step.reserved_invoices(gen.name), [])
