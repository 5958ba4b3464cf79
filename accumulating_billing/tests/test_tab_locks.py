"""The rows a billing run locks of the item table (billing/tab.py, billing/by_names.py; docs/architecture.md §6):
its tab's items, by primary key, and no other row, whatever share of the table its tab is. An adder of a new item
on another tab and a change to another tab's item go on at once while a run holds its tab's items, read and then
marked billed.

A tab that is most of the table is where MariaDB's optimizer would rather scan it (by_names.py): a new site whose
first customer's tab has thousands of lines."""

from datetime import date

import frappe

from accumulating_billing.billing import tab
from accumulating_billing.billing.by_names import BY_NAMES, BY_PRIMARY_KEY
from accumulating_billing.doctypes import ITEM
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.faults.connections import Connection
from accumulating_billing.tests.utils import add, make_generator

# the big tab is at least this many items and at least this many times the rest of the table
SMALLEST_BIG_TAB = 3000
SHARE = 2
# the longest the other connection waits for a lock before it says it was blocked
WAIT_SECONDS = 1


class TestARunLocksOnlyItsTab(GenerationTestCase):
	def setUp(self):
		self.other_worker = Connection(frappe.local.site, "other-worker")
		self.addCleanup(self.other_worker.close)
		self.neighbour = make_generator()
		self.neighbours_item = add(self.neighbour.name, self.listing, qty=1, rate=10).name
		frappe.db.commit()

	def big_tab(self) -> tuple[str, list[str]]:
		"""A generator whose Unbilled items are most of the item table, inserted in this test's transaction (as a
		Sync does, in bulk; never committed)."""
		gen = make_generator()
		frappe.db.commit()
		n = max(SMALLEST_BIG_TAB, SHARE * frappe.db.count(ITEM))
		now, user = frappe.utils.now_datetime(), frappe.session.user
		values = {
			"creation": now,
			"modified": now,
			"owner": user,
			"modified_by": user,
			"generator": gen.name,
			"customer": gen.customer,
			"company": gen.company,
			"currency": gen.currency,
			"service_date": date(2026, 1, 10),
			"status": "Unbilled",
			"item_code": self.listing,
			"item_name": self.listing,
			"uom": "Nos",
			"qty": 1,
			"rate": 10,
			"amount": 10,
		}
		names = [f"ab-big-{k:06d}-{frappe.generate_hash(length=6)}" for k in range(n)]
		rows = [(name, *values.values()) for name in names]
		frappe.db.bulk_insert(ITEM, ["name", *values], rows, chunk_size=5000)
		return gen.name, names

	def others_meanwhile(self) -> dict[str, str]:
		"""What another worker can do while this transaction holds what it holds: add an item to another tab and
		change another tab's item ("done", or "waited" when it waited WAIT_SECONDS for a lock)."""

		def attempt(what):
			frappe.db.sql(f"set session innodb_lock_wait_timeout = {WAIT_SECONDS}")
			try:
				what()
			except frappe.QueryTimeoutError:
				return "waited"
			return "done"

		def add_item():
			add(self.neighbour.name, self.listing, qty=2, rate=10)

		def change_item():
			frappe.db.set_value(ITEM, self.neighbours_item, "description", "changed meanwhile")

		return {
			"add an item to another tab": self.other_worker.run(attempt, add_item),
			"change another tab's item": self.other_worker.run(attempt, change_item),
		}

	def test_reading_and_marking_a_tab_that_is_most_of_the_table_holds_no_other_tabs_row(self):
		gen, names = self.big_tab()
		try:
			locked = tab.lock_unbilled_items(gen, None)
			self.assertEqual(sorted(row.name for row in locked), sorted(names))
			self.assertEqual(
				self.others_meanwhile(),
				{"add an item to another tab": "done", "change another tab's item": "done"},
			)
			tab.mark_billed(names, "SINV-AB-LOCKS")
			self.assertEqual(frappe.db.count(ITEM, {"generator": gen, "status": "Billed"}), len(names))
			self.assertEqual(
				self.others_meanwhile(),
				{"add an item to another tab": "done", "change another tab's item": "done"},
			)
		finally:
			frappe.db.rollback()
		self.assertEqual(frappe.db.count(ITEM, {"generator": gen}), 0)

	def test_the_statements_read_the_names_on_the_primary_key(self):
		"""The plans the server makes of the two statements for a tab that is most of the table: a range of the
		primary key, no table scan, no join with a table of the names."""
		_gen, names = self.big_tab()
		try:
			listed = ", ".join(["%s"] * len(names))
			locking_read = frappe.db.sql(
				f"{BY_NAMES}explain select `name` from `tab{ITEM}` {BY_PRIMARY_KEY} "
				f"where `name` in ({listed}) for update",
				names,
				as_dict=True,
			)
			update = frappe.db.sql(
				f"explain update `tab{ITEM}` {BY_PRIMARY_KEY} set `modified` = `modified` "
				"where `status` = 'Unbilled' and `name` in %(names)s",
				{"names": tuple(names)},
				as_dict=True,
			)
		finally:
			frappe.db.rollback()
		for plan in (locking_read, update):
			self.assertEqual(
				[(row.table, row.type, row.key) for row in plan], [(f"tab{ITEM}", "range", "PRIMARY")]
			)
