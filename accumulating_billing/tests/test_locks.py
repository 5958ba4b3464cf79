"""The generator row lock and the read of a locked generator, the fresh transaction of each occurrence, and the write
of the locked generator row (billing/locks.py; docs/architecture.md §4, §6)."""

import json
import threading
from unittest.mock import patch

import frappe
from frappe.utils import getdate

from accumulating_billing.billing import json_rows, locks, tab
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.doctypes import GENERATOR, ITEM
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.faults.connections import Connection
from accumulating_billing.tests.ledger import make_notification
from accumulating_billing.tests.utils import CREATED_GENERATORS, add, make_generator, tax_account


def with_children(**values):
	"""A generator with a tax row and two automation rows (one of each child table)."""
	gen = make_generator(do_not_save=True, **values)
	gen.append(
		"taxes",
		{"charge_type": "On Net Total", "account_head": tax_account(), "description": "Tax", "rate": 7},
	)
	gen.append("automations", {"event": "Generated", "notification": make_notification("locks")})
	gen.append("automations", {"event": "Paid", "notification": make_notification("locks paid")})
	gen.insert(ignore_permissions=True)
	CREATED_GENERATORS.append(gen.name)
	frappe.db.commit()
	return gen


class TestLockAndLoad(GenerationTestCase):
	def setUp(self):
		self.other = Connection(frappe.local.site, "other-worker")

	def tearDown(self):
		self.other.close()
		super().tearDown()

	def test_the_locked_read_builds_the_document_frappe_loads(self):
		children = []
		for gen in (with_children(), make_generator()):
			frappe.db.commit()
			expected = frappe.get_doc(GENERATOR, gen.name).as_dict()
			loaded = locks.lock_and_load_generator_or_skip(gen.name)
			frappe.db.rollback()
			self.assertEqual(loaded.as_dict(), expected)
			self.assertEqual(locks.load_generator(gen.name).as_dict(), expected)
			children.append([len(expected.taxes), len(expected.automations)])
		self.assertEqual(children, [[1, 2], [0, 0]])

	def test_values_of_every_kind_read_as_json_are_what_frappe_reads(self):
		"""The row comes as one JSON value (json_rows.py): dates, datetimes, decimals, ints, NULLs and text with
		quotes, backslashes, newlines and non-ASCII characters decode to what Frappe's own read gives."""
		gen = make_generator(
			first_creation_date="2026-01-06",
			end_condition="On Date",
			end_date="2027-03-31",
			minimum_amount=1234567.891,
			additional_discount_percentage=12.5,
			internal_notes="<p>Quotes \"x\" and 'y', a back\\slash,\nlines, tabs\t, ünïcødé, 漢字 and an emoji 🧾</p>",
			due_days=14,
		)
		frappe.db.set_value(GENERATOR, gen.name, {"resume_date": "2026-02-03", "last_error": None})
		frappe.db.sql(
			f"update `tab{GENERATOR}` set `modified` = '2026-01-02 03:04:05.000007' where `name` = %s",
			gen.name,
		)
		frappe.db.commit()
		frappe_reads = frappe.get_doc(GENERATOR, gen.name)
		expected = frappe_reads.as_dict()
		loaded = locks.lock_and_load_generator_or_skip(gen.name)
		frappe.db.rollback()
		self.assertEqual(loaded.as_dict(), expected)
		# the same types as the document holds them, not only equal values (a date is not its text)
		for field in json_rows.document_columns(GENERATOR):
			self.assertIs(type(loaded.get(field)), type(frappe_reads.get(field)), field)
		self.assertEqual(str(loaded.modified), "2026-01-02 03:04:05.000007")
		self.assertEqual(loaded.end_date, getdate("2027-03-31"))
		self.assertEqual(loaded.resume_date, getdate("2026-02-03"))
		self.assertIn("漢字 and an emoji 🧾", loaded.internal_notes)

	def test_a_generator_another_worker_holds_is_skipped_at_once_and_a_missing_one_is_none(self):
		gen = make_generator()
		frappe.db.commit()
		holding, release = threading.Event(), threading.Event()

		def hold():
			locks.lock_generator(gen.name)
			holding.set()
			release.wait(30)

		held = self.other.submit(hold)
		self.assertTrue(holding.wait(30))
		try:
			self.assertIsNone(locks.lock_and_load_generator_or_skip(gen.name))
		finally:
			release.set()
			held.result(30)
		frappe.db.rollback()
		self.assertEqual(locks.lock_and_load_generator_or_skip(gen.name).name, gen.name)
		frappe.db.rollback()
		self.assertIsNone(locks.lock_and_load_generator_or_skip("ACG-NO-SUCH-ONE"))

	def test_the_child_table_probes_lock_nothing_and_skip_nothing(self):
		"""The probes ride in the locking statement: MariaDB reads them without a lock, so a child row another
		transaction holds is still seen (not skipped as SKIP LOCKED would), and the run holds no child row."""
		gen = with_children()
		tax_row = gen.taxes[0].name
		holding, release = threading.Event(), threading.Event()

		def hold_tax_row():
			frappe.db.sql(
				"select `name` from `tabSales Taxes and Charges` where `name` = %s for update", tax_row
			)
			holding.set()
			release.wait(30)

		held = self.other.submit(hold_tax_row)
		self.assertTrue(holding.wait(30))
		try:
			loaded = locks.lock_and_load_generator_or_skip(gen.name)
		finally:
			release.set()
			held.result(30)
		self.assertEqual([row.name for row in loaded.taxes], [tax_row])
		self.assertEqual(len(loaded.automations), 2)

		def update_tax_row():
			frappe.db.sql("set session innodb_lock_wait_timeout = 2")
			frappe.db.sql(
				"update `tabSales Taxes and Charges` set `idx` = `idx` + 1 where `name` = %s", tax_row
			)
			return frappe.db._cursor.rowcount

		# this transaction still holds the generator row: the other one writes the child row without waiting (and
		# rolls back: Connection.submit)
		self.assertEqual(self.other.run(update_tax_row), 1)
		frappe.db.rollback()


class TestFreshTransaction(GenerationTestCase):
	def count_statements(self, call):
		sent = []
		real = frappe.db.sql

		def counting(query, *args, **kwargs):
			sent.append(str(query).strip().split()[0].lower())
			return real(query, *args, **kwargs)

		frappe.db.sql = counting
		try:
			call()
		finally:
			del frappe.db.sql
		return sent

	def test_after_a_commit_nothing_is_sent(self):
		frappe.db.commit()
		self.assertEqual(self.count_statements(locks.fresh_transaction), [])

	def test_after_a_read_it_commits_and_the_next_read_sees_what_others_committed_since(self):
		gen = make_generator()
		frappe.db.commit()
		self.assertEqual(frappe.db.get_value(GENERATOR, gen.name, "minimum_amount"), 0)  # the snapshot starts
		other = Connection(frappe.local.site, "other-writer")
		try:
			other.run(
				lambda: (frappe.db.set_value(GENERATOR, gen.name, "minimum_amount", 25), frappe.db.commit())
			)
		finally:
			other.close()
		self.assertEqual(frappe.db.get_value(GENERATOR, gen.name, "minimum_amount"), 0)  # same snapshot
		self.assertEqual(self.count_statements(locks.fresh_transaction), ["commit", "start"])
		self.assertEqual(frappe.db.get_value(GENERATOR, gen.name, "minimum_amount"), 25)

	def test_a_queued_commit_callback_is_not_left_behind(self):
		frappe.db.commit()
		ran = []
		frappe.db.after_commit.add(lambda: ran.append(True))
		self.assertEqual(self.count_statements(locks.fresh_transaction), ["commit", "start"])
		self.assertEqual(ran, [True])


class TestUpdateLockedGenerator(GenerationTestCase):
	def test_it_writes_as_set_value_does_and_drops_the_cached_document(self):
		gen = make_generator()
		frappe.db.commit()
		self.assertEqual(frappe.get_cached_doc(GENERATOR, gen.name).minimum_amount, 0)
		before = frappe.db.get_value(GENERATOR, gen.name, "modified")
		frappe.set_user("Administrator")
		locks.update_locked_generator(gen.name, {"minimum_amount": 12.5, "last_error": None})
		row = frappe.db.get_value(
			GENERATOR, gen.name, ["minimum_amount", "last_error", "modified", "modified_by"], as_dict=True
		)
		self.assertEqual((row.minimum_amount, row.last_error, row.modified_by), (12.5, None, "Administrator"))
		self.assertGreater(row.modified, before)
		self.assertEqual(frappe.get_cached_doc(GENERATOR, gen.name).minimum_amount, 12.5)
		frappe.db.rollback()

	def test_a_column_that_is_not_a_field_is_refused_and_nothing_is_written(self):
		gen = make_generator()
		frappe.db.commit()
		with self.assertRaises(ValueError):
			locks.update_locked_generator(gen.name, {"minimum_amount": 3, "`name` = 'x', `status`": 1})
		self.assertEqual(frappe.db.get_value(GENERATOR, gen.name, "minimum_amount"), 0)


class TestUnbilledNames(GenerationTestCase):
	def test_the_written_out_read_selects_what_the_query_builder_selects_in_its_order(self):
		gen = make_generator()
		for day in ("2026-01-07", "2026-01-03", "2026-01-05", "2026-01-05", "2026-02-01"):
			add(gen.name, self.listing, service_date=day)
		billed = add(gen.name, self.listing, service_date="2026-01-04")
		frappe.db.set_value("Accumulating Generator Item", billed.name, "status", "Billed")
		other = make_generator()
		add(other.name, self.listing, service_date="2026-01-04")
		Item = frappe.qb.DocType("Accumulating Generator Item")
		for before, upto in (
			(None, None),
			("2026-01-06", None),
			(None, "2026-01-05"),
			("2026-01-06", "2026-01-04"),
		):
			expected = tab.unbilled_query(Item, gen.name, before, upto).select(Item.name).run(pluck=True)
			self.assertEqual(tab.unbilled_names(gen.name, before, upto), expected)
		self.assertEqual(len(tab.unbilled_names(gen.name, None)), 5)
		self.assertEqual(len(tab.unbilled_names(gen.name, "2026-01-06")), 3)
		frappe.db.rollback()


class TestJsonRows(GenerationTestCase):
	def test_a_row_of_another_doctype_with_a_json_field_reads_as_select_star(self):
		"""A JSON field's column, which MariaDB nests as an object in json_object, is read as its text, as Frappe
		reads it; every column of a DocType that is not ours comes back as `SELECT *` gives it."""
		name = frappe.get_all("Custom Field", filters={"fieldtype": "Link"}, pluck="name", limit=1)[0]
		frappe.db.set_value("Custom Field", name, "link_filters", '[["Item", "disabled", "=", 0]]')
		plain = frappe.db.sql("select * from `tabCustom Field` where `name` = %s", name, as_dict=True)[0]
		(text,) = frappe.db.sql(
			f"select {json_rows.row_object('Custom Field')} from `tabCustom Field` where `name` = %s", name
		)[0]
		row = json_rows.decoder("Custom Field")(text)
		frappe.db.rollback()
		self.assertEqual(dict(row), dict(plain))
		for column, value in plain.items():
			self.assertIs(type(row[column]), type(value), column)
		self.assertEqual(row.link_filters, '[["Item", "disabled", "=", 0]]')


def drop_custom_fields(names: list[str]) -> None:
	for name in names:
		if frappe.db.exists("Custom Field", name):
			frappe.delete_doc("Custom Field", name, ignore_permissions=True, force=True)
	frappe.clear_cache(doctype=GENERATOR)
	frappe.db.commit()


class TestJsonRowsOfCustomFields(GenerationTestCase):
	def test_custom_fields_of_every_text_typed_kind_and_a_deleted_fields_column(self):
		"""What a site adds to the generator: a Datetime, a Time and a JSON field read as frappe.get_doc reads them;
		the column a deleted custom field leaves in the table (Frappe does not drop it) is not read."""
		from frappe.custom.doctype.custom_field.custom_field import create_custom_field

		kinds = {
			"ab_json_when": "Datetime",
			"ab_json_at": "Time",
			"ab_json_data": "JSON",
			"ab_json_gone": "Date",
		}
		names = [f"{GENERATOR}-{fieldname}" for fieldname in kinds]
		self.addCleanup(drop_custom_fields, names)
		for fieldname, fieldtype in kinds.items():
			create_custom_field(
				GENERATOR, {"fieldname": fieldname, "fieldtype": fieldtype, "label": fieldname}
			)
		gen = make_generator()
		frappe.db.set_value(
			GENERATOR,
			gen.name,
			{
				"ab_json_when": "2026-01-02 03:04:05.000006",
				"ab_json_at": "07:08:09.500000",
				"ab_json_data": '{"a": [1, 2], "b": "x"}',
				"ab_json_gone": "2026-05-06",
			},
		)
		drop_custom_fields([f"{GENERATOR}-ab_json_gone"])  # its column stays, with its value
		self.assertIn("ab_json_gone", frappe.db.get_table_columns(GENERATOR))
		frappe_reads = frappe.get_doc(GENERATOR, gen.name)
		loaded = locks.lock_and_load_generator_or_skip(gen.name)
		frappe.db.rollback()
		self.assertEqual(loaded.as_dict(), frappe_reads.as_dict())
		for field in ("ab_json_when", "ab_json_at", "ab_json_data"):
			self.assertEqual(loaded.get(field), frappe_reads.get(field), field)
			self.assertIs(type(loaded.get(field)), type(frappe_reads.get(field)), field)
		self.assertEqual(str(loaded.ab_json_when), "2026-01-02 03:04:05.000006")
		self.assertEqual(str(loaded.ab_json_at), "7:08:09.500000")
		self.assertEqual(json.loads(loaded.ab_json_data), {"a": [1, 2], "b": "x"})
		self.assertEqual(str(frappe_reads.get("ab_json_gone")), "2026-05-06")  # SELECT * reads it
		self.assertIsNone(loaded.get("ab_json_gone"))  # not a field of the document: not read


class TestLockUnbilledItems(GenerationTestCase):
	def test_the_locked_rows_read_as_json_are_what_a_plain_read_of_their_columns_gives(self):
		gen = make_generator(first_creation_date="2026-01-06")
		names = [
			add(gen.name, self.listing, qty=3, rate=1234.56789, service_date="2026-01-02").name,
			add(
				gen.name,
				self.listing,
				qty=1,
				rate=0,
				service_date="2026-01-05",
				description='A "quoted" line\\ ünïcødé 漢字',
				discount_percentage=7.5,
			).name,
		]
		frappe.db.commit()
		columns = ", ".join(f"`{field}`" for field in tab.ITEM_FIELDS)
		plain = {
			row.name: row
			for row in frappe.db.sql(
				f"select {columns} from `tab{ITEM}` where `name` in %(names)s", {"names": names}, as_dict=True
			)
		}
		locked = tab.lock_unbilled_items(gen.name, getdate("2026-01-06"))
		frappe.db.rollback()
		self.assertEqual([row.name for row in locked], names)
		for row in locked:
			expected = tab.with_net_rates([plain[row.name]])[0]
			self.assertEqual(dict(row), dict(expected))
			for field, value in expected.items():
				self.assertIs(type(row[field]), type(value), field)
		self.assertEqual(locked[0].service_date, getdate("2026-01-02"))
		self.assertEqual(locked[0].rate, 1234.56789)


class TestCandidatesAlong(GenerationTestCase):
	"""A billing run reads its tab's candidates in the statement that locks the generator (tab.along), where a
	statement of their own read them before (docs/architecture.md §4)."""

	def setUp(self):
		self.other = Connection(frappe.local.site, "other-worker")

	def tearDown(self):
		self.other.close()
		super().tearDown()

	def tab_with_items(self):
		"""A generator whose next occurrence is 6 Jan 2026: three candidates dated before it, in an order of their
		own, and items that are not (dated on or after it, billed, of another tab)."""
		gen = make_generator(first_creation_date="2026-01-06")
		names = {}
		for key, day in (("c", "2026-01-05"), ("a", "2026-01-02"), ("b", "2026-01-05"), ("on", "2026-01-06")):
			names[key] = add(gen.name, self.listing, service_date=day).name
		add(gen.name, self.listing, service_date="2026-02-01")
		billed = add(gen.name, self.listing, service_date="2026-01-03")
		frappe.db.set_value(ITEM, billed.name, "status", "Billed")
		add(make_generator(first_creation_date="2026-01-06").name, self.listing, service_date="2026-01-02")
		frappe.db.commit()
		return gen, names

	def test_the_candidates_read_along_are_what_the_plain_read_selects_in_its_order(self):
		gen, names = self.tab_with_items()
		expected = tab.unbilled_names(gen.name, getdate("2026-01-06"))
		self.assertEqual(len(expected), 3)
		self.assertEqual(expected[0], names["a"])
		self.assertEqual(sorted(expected[1:]), sorted([names["b"], names["c"]]))
		for loaded in (
			locks.lock_and_load_generator_or_skip(gen.name, None, tab.along()),
			locks.load_generator(gen.name, None, tab.along()),
		):
			self.assertEqual(tab.candidates_along(loaded, getdate("2026-01-06")), expected)
			self.assertEqual(tab.candidates_along(loaded, "2026-01-06"), expected)
			# another date, a final run (no date), a document read without them: read on their own
			self.assertIsNone(tab.candidates_along(loaded, getdate("2026-01-07")))
			self.assertIsNone(tab.candidates_along(loaded, None))
		self.assertIsNone(tab.candidates_along(locks.load_generator(gen.name), getdate("2026-01-06")))
		self.assertIsNone(tab.candidates_along(frappe.get_doc(GENERATOR, gen.name), getdate("2026-01-06")))
		frappe.db.rollback()

	def test_a_tab_with_no_candidates_reads_none_and_an_overlong_answer_is_read_on_its_own(self):
		gen = make_generator(first_creation_date="2026-01-06")
		add(gen.name, self.listing, service_date="2026-01-06")
		frappe.db.commit()
		loaded = locks.lock_and_load_generator_or_skip(gen.name, None, tab.along())
		self.assertEqual(tab.candidates_along(loaded, getdate("2026-01-06")), [])
		frappe.db.rollback()

		def answer(names, count=None, length=None):
			found = {"before": "2026-01-06", "names": names, "count": len(names) if count is None else count}
			found["length"] = sum(map(len, names)) if length is None else length
			loaded.flags.along = {"candidates": json.dumps(found)}
			return tab.candidates_along(loaded, getdate("2026-01-06"))

		names = [f"ITEM-{k}" for k in range(tab.CANDIDATES_ALONG + 1)]
		self.assertEqual(answer(names[:-1]), names[:-1])
		self.assertIsNone(answer(names))  # more than CANDIDATES_ALONG: read on their own
		self.assertIsNone(answer(names[:3], count=4))  # fewer names than the tab has
		self.assertIsNone(answer(names[:3], length=19))  # a name cut
		loaded.flags.along = {"candidates": '{"before": "2026-01-06", "count": 2, "names": ["ITEM-1", "IT'}
		self.assertIsNone(tab.candidates_along(loaded, getdate("2026-01-06")))

	def test_an_answer_the_server_cut_short_is_read_on_its_own(self):
		"""MariaDB cuts an aggregate longer than group_concat_max_len and closes it as valid JSON, its last name cut
		short: the count and length that ride with it tell."""
		gen, _names = self.tab_with_items()
		expected = tab.unbilled_names(gen.name, getdate("2026-01-06"))
		frappe.db.sql("set session group_concat_max_len = 16")
		try:
			loaded = locks.load_generator(gen.name, None, tab.along())
		finally:
			frappe.db.sql("set session group_concat_max_len = default")
		raw = json.loads(loaded.flags.along["candidates"])
		self.assertEqual(raw["count"], 3)
		self.assertLess(sum(map(len, raw["names"] or [])), raw["length"])  # the server did cut it
		self.assertIsNone(tab.candidates_along(loaded, getdate("2026-01-06")))
		self.assertEqual(
			tab.lock_unbilled_items(gen.name, getdate("2026-01-06")),
			tab.lock_unbilled_items(gen.name, getdate("2026-01-06"), candidates=expected),
		)
		frappe.db.rollback()

	def test_the_read_stops_one_past_the_limit(self):
		gen, _names = self.tab_with_items()
		with patch.object(tab, "CANDIDATES_ALONG", 1):
			tab.candidates_query.cache_clear()
			try:
				loaded = locks.load_generator(gen.name, None, tab.along())
			finally:
				tab.candidates_query.cache_clear()
			self.assertIsNone(tab.candidates_along(loaded, getdate("2026-01-06")))
		raw = json.loads(loaded.flags.along["candidates"])
		self.assertEqual(raw["count"], 3)
		self.assertEqual(raw["names"], tab.unbilled_names(gen.name, getdate("2026-01-06"))[:2])
		frappe.db.rollback()

	def test_the_read_along_locks_no_item_and_skips_none(self):
		"""Read as the probes are: an item row another transaction holds is still listed, and the run holds no
		item row until it locks its candidates by name."""
		gen, names = self.tab_with_items()
		holding, release = threading.Event(), threading.Event()

		def hold_item():
			frappe.db.sql(f"select `name` from `tab{ITEM}` where `name` = %s for update", names["a"])
			holding.set()
			release.wait(30)

		held = self.other.submit(hold_item)
		self.assertTrue(holding.wait(30))
		try:
			loaded = locks.lock_and_load_generator_or_skip(gen.name, None, tab.along())
		finally:
			release.set()
			held.result(30)
		self.assertIn(names["a"], tab.candidates_along(loaded, getdate("2026-01-06")))

		def update_item():
			frappe.db.sql("set session innodb_lock_wait_timeout = 2")
			frappe.db.sql(f"update `tab{ITEM}` set `idx` = `idx` + 1 where `name` = %s", names["b"])
			return frappe.db._cursor.rowcount

		self.assertEqual(self.other.run(update_item), 1)
		frappe.db.rollback()

	def test_a_scheduled_run_reads_them_along_and_a_final_run_reads_them_on_its_own(self):
		gen, names = self.tab_with_items()
		with patch.object(tab, "unbilled_names", wraps=tab.unbilled_names) as plain_read:
			invoices = run_generator(gen.name, "2026-01-06").invoices
		self.assertEqual(plain_read.call_count, 0)
		self.assertEqual(len(invoices), 1)
		billed = frappe.get_all(ITEM, filters={"sales_invoice": invoices[0]}, pluck="name")
		self.assertEqual(sorted(billed), sorted([names["a"], names["b"], names["c"]]))
		# the last occurrence bills every item left, whatever its date: its candidates are read on their own
		add(gen.name, self.listing, service_date="2026-03-01")
		frappe.db.set_value(GENERATOR, gen.name, {"end_condition": "On Date", "end_date": "2026-02-06"})
		frappe.db.commit()
		with patch.object(tab, "unbilled_names", wraps=tab.unbilled_names) as plain_read:
			invoices = run_generator(gen.name, "2026-02-06").invoices
		self.assertEqual(plain_read.call_count, 1)
		self.assertEqual(len(invoices), 1)
		self.assertEqual(frappe.db.count(ITEM, {"generator": gen.name, "status": "Unbilled"}), 0)
