"""Notices of lines held on billing day (issue 26): one message per recipient per billing run, listing the lines
the run held, with a link to the item list filtered to them; in each recipient's language; never lost, never
twice (billing/held_notices.py).

A billing run is one scheduler billing job (`tasks.process_chunk`), one `tasks.process_due`, one
`run_generator` on its own, one Generate Now."""

from unittest.mock import patch
from urllib.parse import parse_qs, urlparse

import frappe

from accumulating_billing.billing import generation, held_notices, tasks
from accumulating_billing.doctypes import GENERATOR, ITEM
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.utils import add, make_generator, make_item, make_user, set_item


def notices_of(user: str) -> list:
	"""The held-line notices `user` has, oldest first."""
	return frappe.get_all(
		"Notification Log",
		filters={"for_user": user, "document_type": ITEM},
		fields=["name", "subject", "email_content", "link"],
		order_by="creation asc",
	)


def listed_lines(link: str) -> list[str]:
	"""The lines the item list shows at a notice's link: its filters, applied as the list view applies them."""
	query = parse_qs(urlparse(link).query)
	filters = {"hold_notice": query["hold_notice"][0]}
	if "generator" in query:
		filters["generator"] = frappe.parse_json(query["generator"][0])
	return sorted(frappe.get_all(ITEM, filters=filters, pluck="name"))


class TestHeldNotices(GenerationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.manager = make_user(["Accounts Manager", "Accounts User"])
		cls.owner = make_user(["Accounts User"])
		frappe.db.commit()

	def setUp(self):
		held_notices.send_owed_notices()  # what earlier tests left owed is not this test's
		self.seen = {user: len(notices_of(user)) for user in (self.manager, self.owner)}

	def new_notices(self, user: str) -> list:
		return notices_of(user)[self.seen[user] :]

	def tabs_with_a_doomed_item(self, tabs: int, lines: int, owners: list[str]) -> tuple[list[str], dict]:
		"""`tabs` generators due on 1 Feb 2026, each with `lines` lines of one item and a good line; the item is
		then disabled (as across thousands of tabs). Returns (generators, {generator: its doomed lines})."""
		doomed = make_item(f"_AB Notice {frappe.generate_hash(length=6)}")
		generators, doomed_lines = [], {}
		for k in range(tabs):
			gen = make_generator(first_creation_date="2026-02-01")
			frappe.db.set_value(GENERATOR, gen.name, "owner", owners[k % len(owners)])
			add(gen.name, self.listing, qty=1, rate=10, service_date="2026-01-03")
			doomed_lines[gen.name] = [
				add(gen.name, doomed, qty=1, rate=5, service_date=f"2026-01-{10 + n % 20:02d}").name
				for n in range(lines)
			]
			generators.append(gen.name)
		frappe.db.commit()
		set_item(doomed, disabled=1)
		frappe.db.commit()
		return generators, doomed_lines

	def test_one_notice_per_recipient_for_many_held_lines_across_generators(self):
		gens, doomed = self.tabs_with_a_doomed_item(4, 5, [self.owner, "Administrator"])
		all_lines = sorted(line for lines in doomed.values() for line in lines)
		owned = sorted(line for gen in gens[0::2] for line in doomed[gen])  # the owner's generators

		results = tasks.process_chunk(gens, "2026-02-01")  # one scheduler billing job
		self.assertEqual([len(r.invoices) for r in results], [1] * 4)
		self.assertEqual(frappe.db.count(ITEM, {"name": ("in", all_lines), "status": "On Hold"}), 20)

		# the manager: one message for the 20 lines on the 4 generators, and its link lists exactly them
		[notice] = self.new_notices(self.manager)
		self.assertIn("20", notice.subject)
		self.assertEqual([line for line in all_lines if line in notice.email_content], all_lines)
		self.assertEqual(listed_lines(notice.link), all_lines)
		self.assertTrue(notice.link.startswith(frappe.utils.get_url("/app/accumulating-generator-item?")))
		# the owner: one message for the lines of their 2 generators only, and a link filtered to those
		[mine] = self.new_notices(self.owner)
		self.assertEqual([line for line in all_lines if line in mine.email_content], owned)
		self.assertEqual(listed_lines(mine.link), owned)
		# Administrator owns the others: never alerted
		self.assertEqual(
			frappe.get_all("Notification Log", {"for_user": "Administrator", "document_type": ITEM}), []
		)
		# sent: nothing is owed any more, the next run (nothing new held) sends nothing
		self.assertEqual(frappe.db.count(ITEM, {"name": ("in", all_lines), "hold_notice": "Pending"}), 0)
		tasks.process_chunk(gens, "2026-03-01")
		self.assertEqual(len(self.new_notices(self.manager)), 1)

	def test_a_long_list_is_cut_and_the_link_lists_them_all(self):
		gens, doomed = self.tabs_with_a_doomed_item(2, held_notices.LISTED, [self.owner])
		all_lines = sorted(line for lines in doomed.values() for line in lines)
		tasks.process_due("2026-02-01")  # the CLI's billing run: one message too
		[notice] = [n for n in self.new_notices(self.owner) if gens[0] in n.email_content]
		named = [line for line in all_lines if line in notice.email_content]
		self.assertEqual(len(named), held_notices.LISTED)
		self.assertIn(str(len(all_lines) - held_notices.LISTED), notice.email_content)
		self.assertEqual(listed_lines(notice.link), all_lines)

	def test_run_generator_alone_and_generate_now_are_runs_of_their_own(self):
		[gen], doomed = self.tabs_with_a_doomed_item(1, 2, [self.owner])
		generation.run_generator(gen, "2026-02-01")
		[notice] = self.new_notices(self.owner)
		self.assertEqual(listed_lines(notice.link), sorted(doomed[gen]))
		# one more line of the disabled item, billed now: its own run, its own message
		code = frappe.db.get_value(ITEM, doomed[gen][0], "item_code")
		set_item(code, disabled=0)
		late = add(gen, code, qty=1, rate=5, service_date="2026-02-05").name
		frappe.db.commit()
		set_item(code, disabled=1)
		frappe.db.commit()
		invoice, message = generation.generate_now(gen, "2026-02-06")
		self.assertIsNone(invoice, message)  # the good line was billed on 1 Feb: nothing but the held one
		notices = self.new_notices(self.owner)
		self.assertEqual(len(notices), 2)
		self.assertEqual(listed_lines(notices[1].link), [late])
		# one line: the message names it in its subject
		self.assertIn(late, notices[1].subject)

	def test_each_recipient_reads_it_in_their_language(self):
		german = make_user(["Accounts Manager"])
		frappe.db.set_value("User", german, "language", "de")
		frappe.db.commit()
		try:
			[gen], doomed = self.tabs_with_a_doomed_item(1, 1, [self.owner])
			generation.run_generator(gen, "2026-02-01")
			[line] = doomed[gen]
			[theirs] = notices_of(german)
			[english] = self.new_notices(self.manager)
			self.assertIn(line, theirs.subject)
			self.assertIn("ist auf Eis gelegt", theirs.subject)
			self.assertIn("is on hold and was not billed", english.subject)
		finally:
			frappe.db.set_value("User", german, "enabled", 0)
			frappe.db.commit()

	def test_a_run_that_dies_before_sending_is_swept_once(self):
		gens, doomed = self.tabs_with_a_doomed_item(2, 2, [self.owner])
		all_lines = sorted(line for lines in doomed.values() for line in lines)
		# the job dies after its last occurrence committed, before it sends: the notices stay owed
		with patch.object(held_notices, "send_notices", side_effect=SystemExit("worker killed")):
			with self.assertRaises(SystemExit):
				tasks.process_chunk(gens, "2026-02-01")
		frappe.db.rollback()
		self.assertEqual(frappe.db.count(ITEM, {"name": ("in", all_lines), "hold_notice": "Pending"}), 4)
		self.assertEqual(self.new_notices(self.owner), [])
		# too recent for the hourly sweep (a job may still be running and send them) ...
		self.assertEqual(held_notices.send_owed_notices(), [])
		# ... an hour later it sends them, once
		with patch.object(held_notices, "SWEEP_AFTER_MINUTES", -1):
			self.assertEqual(sorted(held_notices.send_owed_notices()), all_lines)
			self.assertEqual(held_notices.send_owed_notices(), [])
		[notice] = self.new_notices(self.owner)
		self.assertEqual(listed_lines(notice.link), all_lines)
		self.assertEqual(held_notices.send_notices(gens), [])  # the next run of those generators: nothing

	def test_a_line_released_before_the_notice_is_not_named(self):
		[gen], doomed = self.tabs_with_a_doomed_item(1, 2, [self.owner])
		first, second = doomed[gen]
		with patch.object(held_notices, "announce"):
			generation.run_generator(gen, "2026-02-01")
		code = frappe.db.get_value(ITEM, first, "item_code")
		set_item(code, disabled=0)
		from accumulating_billing.billing import held

		held.release(gen, [first])
		set_item(code, disabled=1)
		frappe.db.commit()
		self.assertEqual(held_notices.send_notices([gen]), [second])
		[notice] = self.new_notices(self.owner)
		self.assertIn(second, notice.subject)
		self.assertNotIn(first, notice.subject + notice.email_content)
		# the released line is settled too: nothing is owed
		self.assertEqual(
			frappe.db.count(ITEM, {"name": ("in", [first, second]), "hold_notice": "Pending"}), 0
		)

	def test_the_notice_field_is_the_apps_alone(self):
		[gen], doomed = self.tabs_with_a_doomed_item(1, 1, [self.owner])
		generation.run_generator(gen, "2026-02-01")
		[line] = doomed[gen]
		key = frappe.db.get_value(ITEM, line, "hold_notice")
		self.assertNotIn(key, (None, "", "Pending"))
		# the item is corrected and the line saved by hand (back on the tab), with a notice it tries to owe: a
		# form or REST save that sets the field is ignored, so no second notice
		set_item(frappe.db.get_value(ITEM, line, "item_code"), disabled=0)
		doc = frappe.get_doc(ITEM, line)
		doc.hold_notice = "Pending"
		doc.save(ignore_permissions=True)
		frappe.db.commit()
		self.assertEqual(frappe.db.get_value(ITEM, line, ["status", "hold_notice"]), ("Unbilled", key))
		self.assertEqual(held_notices.send_notices([gen]), [])
