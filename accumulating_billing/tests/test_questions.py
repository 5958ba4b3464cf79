"""The customer questions a line (issue 27), through Frappe's real request path: an ERPNext Issue raised by the
portal user for their customer, the line On Hold through billing day until the Issue is resolved or closed (or
released by hand); only a portal user of the tab's customer, only an unbilled line, one open question; markup stays
text; rate-limited; the portal shows the line as Questioned and the Issue in ERPNext's own /issues list."""

import json

import frappe

from accumulating_billing import api
from accumulating_billing.billing import questions
from accumulating_billing.billing.generation import generate_now, run_generator
from accumulating_billing.doctypes import CONTRIBUTOR_ROLE, GENERATOR, ITEM
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.faults.invariants import check_invariants
from accumulating_billing.tests.utils import (
	add,
	fetch,
	login,
	make_customer,
	make_generator,
	make_user,
	portal_user_for,
	unbilled,
)

METHOD = "/api/method/accumulating_billing.api.question_line"
MARKUP = '<script>alert("x")</script><b>Why</b> is this <a href="https://evil.example">here</a>?'


def messages_of(response) -> list[str]:
	body = response.get_json(silent=True) or {}
	return [json.loads(m).get("message") for m in json.loads(body.get("_server_messages") or "[]")]


class TestQuestions(GenerationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.customer = make_customer()
		cls.portal_user = portal_user_for(cls.customer)
		cls.other_user = portal_user_for(make_customer())
		cls.manager = make_user(["Accounts Manager", "Accounts User"])
		cls.contributor = make_user([CONTRIBUTOR_ROLE])
		frappe.get_doc(
			{
				"doctype": "User Permission",
				"user": cls.contributor,
				"allow": "Customer",
				"for_value": cls.customer,
			}
		).insert(ignore_permissions=True)
		cls.accounts_user = make_user(["Accounts User"])
		frappe.db.commit()
		cls.clients = {}
		cls.calls = 0

	@classmethod
	def tearDownClass(cls):
		frappe.cache.delete_keys("rl:")
		super().tearDownClass()

	def client(self, user: str):
		if user not in self.clients:
			self.clients[user] = login(user)
		return self.clients[user]

	def ask(
		self, user: str, item: str | None, message: str = "Was this really two hours?", ip: str | None = None
	):
		"""One question over HTTP, from an address of its own unless given (the rate limit counts per address)."""
		type(self).calls += 1
		headers = {"X-Forwarded-For": ip or f"10.27.{type(self).calls // 250}.{type(self).calls % 250}"}
		return fetch(
			self.client(user), METHOD, "post", data={"item": item, "message": message}, headers=headers
		)

	def tab(self):
		"""A generator of the customer (monthly from 1 Feb 2026) with three lines of January; committed."""
		gen = make_generator(self.customer, title=f"Questions {frappe.generate_hash(length=5)}")
		lines = [
			add(gen.name, self.listing, qty=qty, rate=rate, service_date="2026-01-10").name
			for qty, rate in ((2, 50), (1, 30), (3, 10))
		]
		frappe.db.commit()
		return gen, lines

	def test_a_question_makes_an_issue_and_holds_the_line(self):
		gen, (line, *_rest) = self.tab()
		response = self.ask(self.portal_user, line, MARKUP)
		self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
		issue = frappe.get_doc("Issue", response.get_json()["message"])
		self.assertEqual(
			(issue.raised_by, issue.customer, issue.accumulating_generator_item, issue.via_customer_portal),
			(self.portal_user, self.customer, line, 1),
		)
		self.assertIn(self.listing, issue.subject)
		self.assertIn(frappe.format("2026-01-10", "Date"), issue.subject)
		# the message is plain text (billing/plain_text.py): the words the customer typed, no markup, never run
		self.assertEqual(issue.description, "<p>Why is this here?</p>")
		communication = frappe.get_all(
			"Communication",
			filters={"reference_doctype": "Issue", "reference_name": issue.name},
			pluck="content",
		)
		self.assertTrue(communication and all("<script" not in c for c in communication), communication)
		state = frappe.db.get_value(ITEM, line, ["status", "hold_reason", "question_issue"], as_dict=True)
		self.assertEqual(
			(state.status, state.hold_reason, state.question_issue),
			("On Hold", f"Questioned by the customer ({issue.name})", issue.name),
		)
		self.assertEqual(frappe.db.get_value(GENERATOR, gen.name, "lines_on_hold"), 1)
		# the held-line notice (held_notices.py), to the Accounts Managers (and the generator's owner), sent at once
		alerts = frappe.get_all(
			"Notification Log",
			filters={"for_user": self.manager, "document_type": ITEM},
			pluck="subject",
		)
		self.assertTrue(any(line in subject and issue.name in subject for subject in alerts), alerts)
		log = frappe.get_all(
			"Accumulating Generation Log",
			filters={"generator": gen.name, "outcome": "Questioned"},
			pluck="reason",
		)
		self.assertTrue(log and issue.name in log[0] and self.portal_user in log[0], log)

	def test_it_stays_held_through_billing_day_and_closing_the_issue_releases_it(self):
		gen, (line, *rest) = self.tab()
		issue = self.ask(self.portal_user, line).get_json()["message"]
		frappe.db.rollback()
		[invoice] = run_generator(gen.name, "2026-02-01").invoices
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "net_total"), 60)  # the two others
		self.assertEqual(frappe.db.get_value(ITEM, line, "status"), "On Hold")
		# an edit does not release it: the Issue decides
		doc = frappe.get_doc(ITEM, line)
		doc.description = "corrected"
		doc.save(ignore_permissions=True)
		self.assertEqual(frappe.db.get_value(ITEM, line, "status"), "On Hold")
		for status in ("Replied", "Closed"):
			doc = frappe.get_doc("Issue", issue)
			doc.status = status
			doc.save(ignore_permissions=True)
		state = frappe.db.get_value(ITEM, line, ["status", "hold_reason", "question_issue"])
		self.assertEqual(tuple(state), ("Unbilled", None, None))
		self.assertEqual(frappe.db.get_value(GENERATOR, gen.name, "lines_on_hold"), 0)
		frappe.db.commit()
		[later] = run_generator(gen.name, "2026-03-01").invoices
		self.assertEqual(frappe.db.get_value(ITEM, line, "sales_invoice"), later)
		check_invariants([gen.name], {line, *rest})

	def test_resolved_released_by_hand_or_removed(self):
		gen, (first, second, third) = self.tab()
		issues = [self.ask(self.portal_user, name).get_json()["message"] for name in (first, second, third)]
		frappe.db.rollback()
		doc = frappe.get_doc("Issue", issues[0])
		doc.status = "Resolved"
		doc.save(ignore_permissions=True)
		self.assertEqual(frappe.db.get_value(ITEM, first, "status"), "Unbilled")
		# staff release it by hand (issue 19's Release); closing its Issue later changes nothing
		self.assertEqual(api.release_held(gen.name, [second]), [second])
		self.assertEqual(frappe.db.get_value(ITEM, second, ["status", "question_issue"]), ("Unbilled", None))
		# staff remove the line: its Issue says so, and closing it releases nothing
		frappe.delete_doc(ITEM, third, ignore_permissions=True)
		self.assertIsNone(frappe.db.get_value("Issue", issues[2], "accumulating_generator_item"))
		comments = frappe.get_all(
			"Comment", filters={"reference_doctype": "Issue", "reference_name": issues[2]}, pluck="content"
		)
		self.assertTrue(any(third in c for c in comments), comments)
		for issue in issues[1:]:
			doc = frappe.get_doc("Issue", issue)
			doc.status = "Closed"
			doc.save(ignore_permissions=True)
		self.assertEqual(sorted(unbilled(gen.name)), sorted([first, second]))
		self.assertEqual(frappe.db.get_value(GENERATOR, gen.name, "lines_on_hold"), 0)
		# an Issue deleted releases its line too
		fresh = add(gen.name, self.listing, rate=5, service_date="2026-01-11").name
		frappe.db.commit()
		issue = self.ask(self.portal_user, fresh).get_json()["message"]
		frappe.db.rollback()
		frappe.delete_doc("Issue", issue, ignore_permissions=True)
		self.assertEqual(frappe.db.get_value(ITEM, fresh, "status"), "Unbilled")

	def test_who_may_question_which_line(self):
		gen, (line, billed_line, *_rest) = self.tab()
		other_gen = make_generator(make_customer())
		foreign = add(other_gen.name, self.listing, rate=5).name
		frappe.db.commit()
		# another customer's portal user, a contributor, staff, a guest: issue 20's refusal, as for no such line
		for user in (self.other_user, self.contributor, self.accounts_user):
			with self.subTest(user=user):
				refused = self.ask(user, line)
				unknown = self.ask(user, "no-such-line")
				self.assertEqual(refused.status_code, 403)
				self.assertEqual(unknown.status_code, 403)
				self.assertEqual(
					[m.replace(line, "X") for m in messages_of(refused)],
					[m.replace("no-such-line", "X") for m in messages_of(unknown)],
				)
		guest = fetch(frappe.utils.get_test_client(), METHOD, "post", data={"item": line, "message": "x"})
		self.assertEqual(guest.status_code, 403)
		self.assertEqual(self.ask(self.portal_user, foreign).status_code, 403)  # their own, but not their tab
		# their own line: a message is required; one open question per line; only an unbilled line
		self.assertEqual(self.ask(self.portal_user, line, "  \n ").status_code, 417)
		self.assertEqual(self.ask(self.portal_user, line).status_code, 200)
		again = self.ask(self.portal_user, line)
		self.assertEqual(again.status_code, 417)
		self.assertIn("already asked", " ".join(messages_of(again)))
		frappe.db.rollback()
		generate_now(gen.name, "2026-01-31")  # bills the two other lines
		billed = self.ask(self.portal_user, billed_line)
		self.assertEqual(billed.status_code, 417)
		self.assertIn("Only a line still waiting", " ".join(messages_of(billed)))
		frappe.db.rollback()
		self.assertEqual(frappe.db.count("Issue", {"accumulating_generator_item": line}), 1)
		self.assertEqual(frappe.db.count("Issue", {"accumulating_generator_item": billed_line}), 0)

	def test_questions_are_rate_limited_per_address(self):
		frappe.cache.delete_keys("rl:")
		answers = [self.ask(self.other_user, "no-such-line", ip="10.27.250.1").status_code for _ in range(21)]
		self.assertEqual(answers[:20], [403] * 20)
		self.assertEqual(answers[20], 429)
		self.assertEqual(self.ask(self.other_user, "no-such-line", ip="10.27.250.2").status_code, 403)
		frappe.cache.delete_keys("rl:")

	def test_the_portal_shows_it_questioned_and_the_issue_in_erpnexts_list(self):
		gen, (line, *_rest) = self.tab()
		issue = self.ask(self.portal_user, line).get_json()["message"]
		page = fetch(self.client(self.portal_user), "/running-tab").get_data(as_text=True)
		self.assertIn("ab-questioned-badge", page)
		self.assertIn(f'href="/issues/{issue}"', page)
		self.assertIn('class="ab-question"', page)  # the other lines can still be questioned
		self.assertIn('id="ab-question-dialog"', page)
		self.assertIn(frappe.utils.fmt_money(60, currency=gen.currency), page)  # the total leaves it out
		from erpnext.support.doctype.issue.issue import get_issue_list

		frappe.db.rollback()  # this connection's snapshot: after the request's commit
		frappe.set_user(self.portal_user)
		try:
			listed = [row.name for row in get_issue_list("Issue", None, None, 0, 100)]
		finally:
			frappe.set_user("Administrator")
		self.assertIn(issue, listed)

	def test_question_text_is_kept_as_plain_text(self):
		self.assertEqual(questions.question_text("  a\r\nb\x00c\x07 "), "a\nbc")
		self.assertEqual(len(questions.question_text("x" * 5000)), questions.MAX_MESSAGE)
		self.assertEqual(questions.question_text(None), "")
		self.assertEqual(questions.as_html("<b>1\n2</b>"), "<p>&lt;b&gt;1<br>2&lt;/b&gt;</p>")
