"""The generation log's line (billing/generation_log.write_log): one statement written once, the row Frappe's own
insert of the document writes (docs/architecture.md §4)."""

from unittest.mock import patch

import frappe
from frappe.utils import get_datetime, getdate

from accumulating_billing.billing import generation_log
from accumulating_billing.billing.generation_log import LOG, write_log
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.utils import make_generator

# what differs between two rows written at different moments
STAMPS = ("name", "creation", "modified")


def row_of(name: str) -> dict:
	return frappe.db.sql(f"select * from `tab{LOG}` where `name` = %s", name, as_dict=True)[0]


def lines_of(generator: str) -> list[str]:
	return frappe.get_all(LOG, filters={"generator": generator}, pluck="name")


class TestWriteLog(GenerationTestCase):
	def test_the_line_is_the_row_frappes_insert_of_the_document_writes(self):
		gen = make_generator()
		values = {
			"generator": gen.name,
			"occurrence_date": getdate("2026-02-01"),
			"outcome": "Billed",
			"reason": "2026-02-01: billed 2 item(s) on ACC-SINV-X — «ünïcødé» 'quoted'",
			"sales_invoice": None,
			"items_count": 2,
			"email_status": "Sent",
			"error_key": "frappe.exceptions.ValidationError x.py:check:12",
		}
		by_frappe = frappe.get_doc({"doctype": LOG, **values}).insert(ignore_permissions=True).name
		write_log(
			gen.name,
			values["occurrence_date"],
			"Billed",
			values["reason"],
			None,
			2,
			"Sent",
			values["error_key"],
		)
		ours = [name for name in lines_of(gen.name) if name != by_frappe]
		self.assertEqual(len(ours), 1)
		theirs_row, our_row = row_of(by_frappe), row_of(ours[0])
		self.assertEqual(
			{k: v for k, v in our_row.items() if k not in STAMPS},
			{k: v for k, v in theirs_row.items() if k not in STAMPS},
		)
		self.assertEqual(our_row.owner, "Administrator")
		self.assertEqual(our_row.creation, our_row.modified)
		self.assertLess(
			abs((get_datetime(our_row.creation) - get_datetime(theirs_row.creation)).total_seconds()), 60
		)
		# the Random rule's name: base32hex, the job's character then the time in deciseconds (its first character
		# changes every 102 s), the same for two lines written a moment apart
		self.assertEqual(len(our_row.name), len(theirs_row.name))
		self.assertTrue(set(our_row.name) <= set("0123456789abcdefghijklmnopqrstuv"), our_row.name)
		self.assertEqual(our_row.name[:2], theirs_row.name[:2])
		# and the DocType's own read of it
		self.assertEqual(frappe.get_doc(LOG, ours[0]).reason, values["reason"])
		frappe.db.rollback()

	def test_a_name_that_is_taken_is_drawn_again_once(self):
		gen = make_generator()
		write_log(gen.name, getdate("2026-02-01"), "Skipped", "first")
		taken = lines_of(gen.name)[0]
		fresh = frappe.generate_hash(length=10)
		with patch.object(generation_log, "make_autoname", side_effect=[taken, fresh]):
			write_log(gen.name, getdate("2026-03-01"), "Skipped", "second")
		self.assertEqual(sorted(lines_of(gen.name)), sorted([taken, fresh]))
		self.assertEqual(row_of(fresh).reason, "second")
		# taken twice: refused, nothing more written
		with patch.object(generation_log, "make_autoname", side_effect=[taken, fresh]):
			with self.assertRaises(Exception) as refused:
				write_log(gen.name, getdate("2026-04-01"), "Skipped", "third")
		self.assertTrue(frappe.db.is_primary_key_violation(refused.exception))
		self.assertEqual(len(lines_of(gen.name)), 2)
		self.assertEqual(row_of(taken).reason, "first")
		frappe.db.rollback()
