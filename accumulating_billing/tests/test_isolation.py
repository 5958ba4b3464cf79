"""The isolation level of two-step billing's finalize (billing/isolation.py, docs/architecture.md §7), read from
what a transaction sees, not from the session variable: the finalize runs at READ COMMITTED, every transaction
after it at the session's own level, whichever way the finalize ended; the switch rides on the commits the run
makes anyway. (The draft the reserve stores and the finalize writes over: test_stored_draft.py.)"""

from unittest.mock import patch

import frappe

from accumulating_billing.billing import isolation, two_step
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.tests.base import TwoStepTestCase
from accumulating_billing.tests.faults.connections import Connection
from accumulating_billing.tests.two_step_utils import refused_submit, stopped_after_reserve
from accumulating_billing.tests.utils import (
	add,
	make_generator,
)

PROBE = "ToDo"
ENDS = ("COMMIT", "ROLLBACK", "START TRANSACTION")


def rewrite(name: str, text: str) -> None:
	frappe.db.set_value(PROBE, name, "description", text, update_modified=False)
	frappe.db.commit()


class TestFinalizeIsolation(TwoStepTestCase):
	def setUp(self):
		super().setUp()
		self.other = Connection(frappe.local.site, "isolation-other")
		self.probe = (
			frappe.get_doc({"doctype": PROBE, "description": "0"}).insert(ignore_permissions=True).name
		)
		frappe.db.commit()
		self.writes = 0

	def tearDown(self):
		self.other.close()
		frappe.db.rollback()
		frappe.delete_doc(PROBE, self.probe, ignore_permissions=True, force=True)
		frappe.db.commit()
		super().tearDown()

	def level_seen(self) -> str:
		"""The level of the open transaction, from what it sees: it reads the probe row (its snapshot starts, at
		REPEATABLE READ), another connection commits a change of it, and it reads it again."""
		before = frappe.db.sql(f"select description from `tab{PROBE}` where name = %s", self.probe)[0][0]
		self.writes += 1
		self.other.run(rewrite, self.probe, f"{before}-{self.writes}")
		after = frappe.db.sql(f"select description from `tab{PROBE}` where name = %s", self.probe)[0][0]
		return "READ COMMITTED" if after != before else "REPEATABLE READ"

	def bill_one(self):
		gen = make_generator(first_creation_date="2026-02-01")
		add(gen.name, self.listing, service_date="2026-01-10")
		frappe.db.commit()
		return gen

	def test_the_finalize_runs_at_read_committed_and_every_transaction_after_it_at_the_sessions_level(self):
		gen = self.bill_one()
		frappe.db.rollback()
		own = self.level_seen()
		frappe.db.rollback()
		seen = []
		real = two_step.finish_reserved

		def finish(doc, method=None):
			seen.append(self.level_seen())  # inside the finalize's transaction (the invoice's on_submit)
			return real(doc, method)

		with patch.object(two_step, "finish_reserved", finish):
			[name] = run_generator(gen.name, "2026-02-01").invoices
		self.assertEqual(frappe.db.get_value("Sales Invoice", name, "docstatus"), 1)
		self.assertEqual((own, seen), ("REPEATABLE READ", ["READ COMMITTED"]))
		frappe.db.rollback()
		self.assertEqual(self.level_seen(), "REPEATABLE READ")
		frappe.db.commit()
		self.assertEqual(self.level_seen(), "REPEATABLE READ")

	def test_the_switch_rides_on_the_commits_the_run_makes(self):
		"""Between the reserve and the finalize, and after the finalize: one SET each, no read of the session's
		level and no commit of its own (a commit and a rollback each way before)."""
		gen = self.bill_one()
		isolation.session()  # known for this connection (read once per connection, before any run)
		sent = []
		sql = frappe.db.sql

		def recording(query, *args, **kwargs):
			sent.append(" ".join(str(query).split()).upper())
			return sql(query, *args, **kwargs)

		with patch.object(frappe.db, "sql", recording):
			[name] = run_generator(gen.name, "2026-02-01").invoices
		self.assertEqual(frappe.db.get_value("Sales Invoice", name, "docstatus"), 1)
		switches = [(k, query) for k, query in enumerate(sent) if query.startswith("SET SESSION TRANSACTION")]
		self.assertEqual(
			[query for _k, query in switches],
			[
				"SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
				"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
			],
		)
		# each inside the transaction whose commit ends it (other before-commit work may come between)
		ends = []
		for k, _query in switches:
			after = sent[k + 1 :]
			ends.append([query for query in after if query in ENDS][:2])
		self.assertEqual(ends, [["COMMIT", "START TRANSACTION"]] * 2)
		self.assertFalse([query for query in sent if "@@" in query])

	def test_a_finalize_that_did_not_run_or_was_refused_leaves_the_session_at_its_level(self):
		gen = self.bill_one()
		with stopped_after_reserve():  # the run stopped after its commit
			run_generator(gen.name, "2026-02-01")
		self.assertEqual(self.level_seen(), "REPEATABLE READ")
		frappe.db.rollback()
		[reserved] = two_step.reserved_invoices(gen.name)
		with refused_submit("refused on purpose"):
			self.assertIn("refused on purpose", two_step.finalize(gen.name, reserved))
		self.assertEqual(self.level_seen(), "REPEATABLE READ")
		frappe.db.rollback()
		self.assertIsNone(two_step.finalize(gen.name, reserved))
		self.assertEqual(frappe.db.get_value("Sales Invoice", reserved, "docstatus"), 1)
		self.assertEqual(self.level_seen(), "REPEATABLE READ")

	def test_a_commit_that_fails_leaves_the_session_at_its_level(self):
		frappe.db.rollback()
		with patch.object(frappe.db, "commit", side_effect=frappe.QueryTimeoutError("gone")):
			with self.assertRaises(frappe.QueryTimeoutError):
				isolation.commit_into_read_committed()
		frappe.db.rollback()
		self.assertEqual(self.level_seen(), "REPEATABLE READ")

	def test_a_finalize_that_raised_leaves_the_session_at_its_level(self):
		gen = self.bill_one()
		with patch.object(two_step, "finalize", side_effect=RuntimeError("the finalize broke")):
			with self.assertRaises(RuntimeError):
				run_generator(gen.name, "2026-02-01")
		frappe.db.rollback()
		self.assertEqual(self.level_seen(), "REPEATABLE READ")

	def test_a_switch_whose_commit_failed_leaves_the_session_at_its_level(self):
		frappe.db.rollback()
		with patch.object(frappe.db, "commit", side_effect=frappe.QueryTimeoutError("gone")):
			with self.assertRaises(frappe.QueryTimeoutError), isolation.read_committed():
				self.fail("the body runs only once the switch committed")
		frappe.db.rollback()
		self.assertEqual(self.level_seen(), "REPEATABLE READ")

	def test_only_a_level_is_set(self):
		with self.assertRaises(ValueError):
			isolation.set_from_next_transaction("READ COMMITTED; DROP TABLE x")
