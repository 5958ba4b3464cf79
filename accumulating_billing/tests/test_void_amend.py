"""Void and amend (issue 30): a voided line stays with its reason, who and when, is never billed and never shown to
the customer; an amended line is voided and replaced (amended_from), and the replacement is billed once; a billed
line is refused ("use a credit note"); contributors change only their own lines within the window of the settings,
staff any unbilled line at any time; an unknown line is refused like a forbidden one."""

from datetime import timedelta

import frappe
from frappe.utils import now_datetime

from accumulating_billing import api
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.billing.portal import running_tabs
from accumulating_billing.doctypes import GENERATOR, ITEM, SETTINGS
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.faults.invariants import check_invariants
from accumulating_billing.tests.source_docs import make_timesheet, service_item
from accumulating_billing.tests.utils import (
	add,
	contributor_for,
	make_generator,
	make_item,
	make_user,
	portal_user_for,
	refusal,
)


def state(name: str) -> frappe._dict:
	return frappe.db.get_value(
		ITEM,
		name,
		[
			"status",
			"void_reason",
			"voided_by",
			"voided_on",
			"amended_from",
			"client_ref",
			"sales_invoice",
			"qty",
		],
		as_dict=True,
	)


class TestVoidAndAmend(GenerationTestCase):
	def setUp(self):
		self.gen = make_generator()

	def test_a_voided_line_keeps_its_history_and_is_never_billed_nor_shown(self):
		kept = add(self.gen.name, self.listing, qty=1, rate=30).name
		wrong = add(self.gen.name, self.listing, qty=5, rate=30).name
		api.void_item(wrong, "  entered twice  ")
		voided = state(wrong)
		self.assertEqual(
			(voided.status, voided.void_reason, voided.voided_by),
			("Voided", "entered twice", "Administrator"),
		)
		self.assertLess(now_datetime() - voided.voided_on, timedelta(minutes=5))
		tab = api.get_tab(self.gen.name)
		self.assertEqual([row.name for row in tab["items"]], [kept])
		self.assertEqual((tab["page"]["count"], tab["subtotal"]), (1, 30))
		self.assertEqual(
			[(row.name, row.void_reason, row.voided_by, row.replaced_by) for row in tab["voided"]],
			[(wrong, "entered twice", "Administrator", None)],
		)
		comments = frappe.get_all(
			"Comment", filters={"reference_doctype": ITEM, "reference_name": wrong}, pluck="content"
		)
		self.assertEqual(comments, ["Voided: entered twice"])
		customer_user = portal_user_for(self.gen.customer)
		shown = [item for tab in running_tabs(customer_user) for item in tab["items"]]
		self.assertEqual([item.qty for item in shown], [1])
		frappe.db.commit()
		invoice = run_generator(self.gen.name, "2026-02-01").invoices[0]
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "net_total"), 30)
		self.assertEqual(state(wrong).status, "Voided")
		check_invariants([self.gen.name], {kept, wrong})
		# a voided line is the record of its void: not edited, not deleted, not voided again
		doc = frappe.get_doc(ITEM, wrong)
		doc.qty = 2
		self.assertIn("is voided", refusal(doc.save)[1])
		self.assertIn("is voided", refusal(frappe.delete_doc, ITEM, wrong)[1])
		self.assertIn("already voided", refusal(api.void_item, wrong, "again")[1])

	def test_an_amended_line_is_replaced_and_the_replacement_billed_once(self):
		name = api.add_item(
			self.gen.name, self.listing, qty=2, rate=10, service_date="2026-01-10", client_ref="T-7"
		)
		replacement = api.amend_item(name, qty=3, description="three backups")
		old, new = state(name), state(replacement)
		self.assertEqual(
			(old.status, old.void_reason, old.client_ref),
			("Voided", f"Amended: replaced by {replacement}", None),
		)
		self.assertEqual(
			(new.status, new.amended_from, new.client_ref, new.qty), ("Unbilled", name, "T-7", 3)
		)
		doc = frappe.get_doc(ITEM, replacement)
		self.assertEqual(
			(doc.rate, doc.amount, str(doc.service_date), doc.description),
			(10, 30, "2026-01-10", "three backups"),
		)
		# the client's retry answers the line as it is now
		self.assertEqual(
			api.add_item(self.gen.name, self.listing, qty=2, rate=10, client_ref="T-7"), replacement
		)
		self.assertEqual(
			api.add_items([{"generator": self.gen.name, "item_code": self.listing, "client_ref": "T-7"}])[0][
				"name"
			],
			replacement,
		)
		self.assertEqual(
			[(row.name, row.replaced_by) for row in api.get_tab(self.gen.name)["voided"]],
			[(name, replacement)],
		)
		frappe.db.commit()
		[invoice] = run_generator(self.gen.name, "2026-02-01").invoices
		lines = frappe.get_all(
			"Sales Invoice Item", filters={"parent": invoice}, pluck="accumulating_generator_item"
		)
		self.assertEqual(lines, [replacement])
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "net_total"), 30)
		self.assertEqual(run_generator(self.gen.name, "2026-03-01").invoices, [])
		check_invariants([self.gen.name], {name, replacement})

	def test_a_replacement_is_amended_in_turn(self):
		first = add(self.gen.name, self.listing, qty=1, rate=10).name
		second = api.amend_item(first, qty=2)
		third = api.amend_item(second, rate=12)
		self.assertEqual((state(second).amended_from, state(third).amended_from), (first, second))
		self.assertEqual(frappe.db.get_value(ITEM, third, "amount"), 24)

	def test_a_billed_line_is_refused_with_use_a_credit_note(self):
		name = add(self.gen.name, self.listing, rate=10).name
		frappe.db.commit()
		run_generator(self.gen.name, "2026-02-01")
		for call in (lambda: api.void_item(name, "too late"), lambda: api.amend_item(name, qty=2)):
			kind, message = refusal(call)
			self.assertIs(kind, frappe.ValidationError)
			self.assertIn("use a credit note", message)
		self.assertEqual(state(name).status, "Billed")

	def test_a_held_line_is_voided_and_the_held_count_follows(self):
		doomed = make_item(f"_AB Void Held {frappe.generate_hash(length=5)}")
		line = add(self.gen.name, doomed, rate=10).name
		frappe.db.commit()
		item = frappe.get_doc("Item", doomed)
		item.disabled = 1
		item.save()
		frappe.db.commit()
		run_generator(self.gen.name, "2026-02-01")
		self.assertEqual(
			(state(line).status, frappe.db.get_value(GENERATOR, self.gen.name, "lines_on_hold")),
			("On Hold", 1),
		)
		api.void_item(line, "the service was discontinued")
		self.assertEqual(
			(state(line).status, frappe.db.get_value(GENERATOR, self.gen.name, "lines_on_hold")),
			("Voided", 0),
		)

	def test_an_amendment_refused_by_the_checks_changes_nothing(self):
		name = add(self.gen.name, self.listing, qty=2, rate=10, client_ref="R-1").name
		self.assertIn("Quantity must be greater than 0", refusal(api.amend_item, name, qty=-1)[1])
		self.assertIn("Nothing to amend", refusal(api.amend_item, name)[1])
		self.assertIn("reason", refusal(api.void_item, name, " ")[1])
		self.assertEqual((state(name).status, state(name).client_ref), ("Unbilled", "R-1"))
		self.assertEqual(frappe.db.count(ITEM, {"generator": self.gen.name}), 1)

	def test_lines_from_timesheets_follow_their_document(self):
		gen = make_generator(accumulate_timesheets=1, timesheet_item=service_item())
		make_timesheet([{"start": "2026-01-05 09:00", "hours": 2}], customer=gen.customer)
		[line] = frappe.get_all(ITEM, filters={"generator": gen.name}, pluck="name")
		self.assertIn("comes from Timesheet", refusal(api.void_item, line, "no")[1])
		self.assertIn("comes from Timesheet", refusal(api.amend_item, line, qty=1)[1])

	def test_contributors_change_their_own_lines_within_the_window_staff_always(self):
		contributor = contributor_for(self.gen.customer)
		frappe.set_user(contributor)
		own = api.add_item(self.gen.name, self.listing, rate=10, service_date="2026-01-10")
		late = api.add_item(self.gen.name, self.listing, rate=11, service_date="2026-01-10")
		frappe.set_user("Administrator")
		others = add(self.gen.name, self.listing, rate=12).name
		frappe.db.set_value(
			ITEM, late, "creation", now_datetime() - timedelta(hours=25), update_modified=False
		)
		frappe.set_user(contributor)
		replacement = api.amend_item(own, qty=2)
		self.assertEqual(frappe.db.get_value(ITEM, replacement, "added_by"), contributor)
		kind, message = refusal(api.void_item, others, "not mine")
		self.assertEqual(
			(kind, message),
			(frappe.PermissionError, "You may void or amend only the items you added yourself."),
		)
		kind, message = refusal(api.void_item, late, "too late")
		self.assertIs(kind, frappe.PermissionError)
		self.assertIn("more than 24 hours ago", message)
		frappe.set_user("Administrator")
		frappe.db.set_single_value(SETTINGS, "contributor_void_hours", 48)
		frappe.set_user(contributor)
		api.void_item(late, "within 48 hours")
		frappe.set_user("Administrator")
		frappe.db.set_single_value(SETTINGS, "contributor_void_hours", 0)
		accounts_user = make_user(["Accounts User"])
		frappe.db.set_value(
			ITEM, others, "creation", now_datetime() - timedelta(days=400), update_modified=False
		)
		frappe.set_user(accounts_user)
		api.void_item(others, "staff may, any time")
		self.assertEqual(
			[state(n).status for n in (own, late, others, replacement)],
			["Voided", "Voided", "Voided", "Unbilled"],
		)

	def test_an_unknown_line_is_refused_like_a_forbidden_one(self):
		other = make_generator()
		foreign = add(other.name, self.listing, rate=10).name
		contributor = contributor_for(self.gen.customer)
		portal_user = portal_user_for(other.customer)
		for user in (contributor, portal_user):
			frappe.set_user(user)
			for call in (api.void_item, api.amend_item):
				args = {"reason": "x"} if call is api.void_item else {"qty": 2}
				forbidden = refusal(call, foreign, **args)
				unknown = refusal(call, "no-such-line", **args)
				self.assertEqual(forbidden[0], frappe.PermissionError)
				self.assertEqual(
					(forbidden[0], forbidden[1].replace(foreign, "X")),
					(unknown[0], unknown[1].replace("no-such-line", "X")),
				)
				self.assertIn("does not exist or you are not permitted", forbidden[1])
		frappe.set_user("Administrator")
		kind, message = refusal(api.void_item, "no-such-line", "x")
		self.assertEqual(
			(kind, message),
			(frappe.DoesNotExistError, "Accumulating Generator Item no-such-line does not exist."),
		)
		self.assertEqual(state(foreign).status, "Unbilled")
