"""On billing day, a line ERPNext refuses is held and the rest is billed (issue 19 §2), on a real site.

Each family of refusal that can appear after a line was entered: a disabled item, a fraction in a unit that became
*Must be Whole Number*, a Sales Order closed behind a Delivery Note line. Then release and re-bill, Generate Now,
what the desk, the workspace and the portal show, who may release, and *Stop the Invoice* (today's behaviour)."""

import json

import frappe
from frappe.utils import getdate

from accumulating_billing import api
from accumulating_billing.billing import held
from accumulating_billing.billing.generation import generate_now, run_generator
from accumulating_billing.doctypes import CONTRIBUTOR_ROLE, GENERATOR, ITEM, LOG
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.faults.invariants import check_invariants
from accumulating_billing.tests.source_docs import stock_item, warehouse
from accumulating_billing.tests.utils import (
	add,
	company,
	make_customer,
	make_generator,
	make_item,
	make_template,
	make_user,
	set_item,
	unbilled,
)


def item_state(name: str) -> tuple:
	return frappe.db.get_value(ITEM, name, ["status", "hold_reason", "sales_invoice"])


def alerts_for(user: str, generator: str) -> list[str]:
	"""The held-line notices `user` got that name `generator` (subject and listing)."""
	notices = frappe.get_all(
		"Notification Log",
		filters={"for_user": user, "document_type": ITEM},
		fields=["subject", "email_content"],
	)
	texts = [f"{n.subject} {n.email_content or ''}" for n in notices]
	return [text for text in texts if generator in text]


class HeldLinesTestCase(GenerationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.manager = make_user(["Accounts Manager", "Accounts User"])
		frappe.db.commit()

	def fresh_item(self, **kw) -> str:
		return make_item(f"_AB Held {frappe.generate_hash(length=6)}", **kw)

	def held_line(self, *args, **kwargs):
		"""A generator (made with these arguments) whose billing day of 2026-02-01 held its one line: the line's
		item was disabled after it was added. Returns (generator, line, item)."""
		gen = make_generator(*args, **kwargs)
		doomed = self.fresh_item()
		line = add(gen.name, doomed, service_date="2026-01-10").name
		frappe.db.commit()
		set_item(doomed, disabled=1)
		run_generator(gen.name, "2026-02-01")
		return gen, line, doomed


class TestHoldOnBillingDay(HeldLinesTestCase):
	def test_disabled_item_is_held_the_rest_billed_then_released_and_billed(self):
		gen = make_generator()
		doomed = self.fresh_item()
		kept = [
			add(gen.name, self.listing, qty=2, rate=15, service_date="2026-01-05").name,
			add(gen.name, self.backup, qty=1, rate=40, service_date="2026-01-20").name,
		]
		line = add(gen.name, doomed, qty=1, rate=99, service_date="2026-01-10").name
		frappe.db.commit()
		set_item(doomed, disabled=1)
		frappe.db.commit()

		result = run_generator(gen.name, "2026-02-01")
		self.assertIsNone(result.error)
		self.assertEqual(len(result.invoices), 1)
		si = frappe.get_doc("Sales Invoice", result.invoices[0])
		self.assertEqual(si.docstatus, 1)
		self.assertEqual(sorted(i.accumulating_generator_item for i in si.items), sorted(kept))
		self.assertEqual(si.net_total, 70)
		# held: not billed, On Hold, ERPNext's own message
		status, reason, invoice = item_state(line)
		self.assertEqual((status, invoice), ("On Hold", None))
		self.assertEqual(reason, f"Item {doomed} is disabled")
		gen.reload()
		self.assertEqual(
			(gen.lines_on_hold, gen.consecutive_failures, str(gen.next_creation_date)), (1, 0, "2026-03-01")
		)
		# the occurrence's log line names the held line and its reason
		log = frappe.get_all(LOG, filters={"generator": gen.name, "outcome": "Billed"}, pluck="reason")
		self.assertEqual(len(log), 1)
		self.assertIn(line, log[0])
		self.assertIn(f"Item {doomed} is disabled", log[0])
		# one notice naming the held line to the managers (the owner here is Administrator: never alerted)
		alerts = alerts_for(self.manager, gen.name)
		self.assertEqual(len(alerts), 1)
		self.assertIn(line, alerts[0])
		self.assertEqual(alerts_for("Administrator", gen.name), [])
		check_invariants([gen.name], {*kept, line})

		# released while ERPNext still refuses it: it stays held, nothing is released
		self.assertEqual(api.release_held(gen.name), [])
		frappe.clear_messages()
		self.assertEqual(item_state(line)[0], "On Hold")
		# fixed, released: back on the tab, and the next invoice bills it
		set_item(doomed, disabled=0)
		self.assertEqual(api.release_held(gen.name, json.dumps([line])), [line])
		frappe.db.commit()
		self.assertEqual(item_state(line), ("Unbilled", None, None))
		self.assertEqual(frappe.db.get_value(GENERATOR, gen.name, "lines_on_hold"), 0)
		self.assertTrue(frappe.db.exists(LOG, {"generator": gen.name, "outcome": "Released"}))
		again = run_generator(gen.name, "2026-03-01")
		self.assertEqual(len(again.invoices), 1)
		self.assertEqual(item_state(line), ("Billed", None, again.invoices[0]))
		check_invariants([gen.name], {*kept, line})
		# released twice (a double click): the second finds nothing held
		self.assertEqual(api.release_held(gen.name, line), [])

	def test_the_owner_and_the_managers_get_one_notice_naming_every_held_line(self):
		owner = make_user(["Accounts User"])
		gen = make_generator()
		frappe.db.set_value(GENERATOR, gen.name, "owner", owner)
		doomed = self.fresh_item()
		lines = [add(gen.name, doomed, service_date=f"2026-01-1{k}").name for k in range(2)]
		frappe.db.commit()
		set_item(doomed, disabled=1)
		run_generator(gen.name, "2026-02-01")
		for user in (owner, self.manager):
			alerts = alerts_for(user, gen.name)
			self.assertEqual(len(alerts), 1, user)
			self.assertEqual({line for line in lines if line in alerts[0]}, set(lines))

	def test_fraction_in_a_unit_made_whole_number_after_entry(self):
		uom = f"_AB Visit {frappe.generate_hash(length=4)}"
		frappe.get_doc({"doctype": "UOM", "uom_name": uom, "must_be_whole_number": 0}).insert()
		visit = self.fresh_item(stock_uom=uom)
		gen = make_generator()
		line = add(gen.name, visit, qty=1.5, rate=20, service_date="2026-01-08").name
		whole = add(gen.name, visit, qty=2, rate=20, service_date="2026-01-09").name
		frappe.db.commit()
		frappe.db.set_value("UOM", uom, "must_be_whole_number", 1)
		frappe.db.commit()

		result = run_generator(gen.name, "2026-02-01")
		self.assertEqual(len(result.invoices), 1, result.error)
		self.assertEqual(item_state(whole), ("Billed", None, result.invoices[0]))
		status, reason, _invoice = item_state(line)
		self.assertEqual(status, "On Hold")
		self.assertIn("Quantity (1.5) cannot be a fraction", reason)
		check_invariants([gen.name], {line, whole})

	def test_a_line_refused_again_after_release_keeps_the_new_reason(self):
		gen, line, doomed = self.held_line()
		self.assertEqual(item_state(line)[0], "On Hold")
		# the item is enabled but is no longer a sales item: the reason follows ERPNext's refusal as it is now
		set_item(doomed, disabled=0, is_sales_item=0)
		self.assertEqual(api.release_held(gen.name), [])
		frappe.clear_messages()
		status, reason, _invoice = item_state(line)
		self.assertEqual(status, "On Hold")
		self.assertNotIn("disabled", reason)
		self.assertIn(doomed, reason)

	def test_everything_held_bills_nothing_and_moves_on(self):
		gen = make_generator()
		doomed = self.fresh_item()
		line = add(gen.name, doomed, service_date="2026-01-10").name
		frappe.db.commit()
		set_item(doomed, disabled=1)
		result = run_generator(gen.name, "2026-02-01")
		self.assertEqual((result.invoices, result.error), ([], None))
		self.assertEqual(item_state(line)[0], "On Hold")
		gen.reload()
		self.assertEqual((str(gen.next_creation_date), gen.invoices_generated), ("2026-03-01", 0))
		skipped = frappe.get_all(LOG, filters={"generator": gen.name, "outcome": "Skipped"}, pluck="reason")
		self.assertEqual(len(skipped), 1)
		self.assertIn(line, skipped[0])

	def test_generate_now_holds_too_and_keeps_the_hold_when_nothing_is_billed(self):
		gen = make_generator()
		doomed = self.fresh_item()
		line = add(gen.name, doomed, service_date="2026-01-10").name
		frappe.db.commit()
		set_item(doomed, disabled=1)
		invoice, message = generate_now(gen.name, "2026-01-31")
		self.assertIsNone(invoice)
		self.assertIn(line, message)
		frappe.db.rollback()  # committed by Generate Now: the hold stays
		self.assertEqual(item_state(line)[0], "On Hold")
		self.assertEqual(frappe.db.get_value(GENERATOR, gen.name, "lines_on_hold"), 1)

		good = add(gen.name, self.listing, service_date="2026-01-11").name
		frappe.db.commit()
		set_item(doomed, disabled=0)
		api.release_held(gen.name)
		set_item(doomed, disabled=1)
		frappe.db.commit()
		invoice, message = generate_now(gen.name, "2026-01-31")
		self.assertTrue(invoice)
		self.assertEqual(item_state(good), ("Billed", None, invoice))
		self.assertEqual(item_state(line)[0], "On Hold")
		self.assertIn(line, message)


class TestClosedSalesOrder(HeldLinesTestCase):
	def test_a_delivery_note_line_of_a_closed_sales_order_is_held(self):
		from erpnext.selling.doctype.sales_order.sales_order import make_delivery_note, update_status

		router = stock_item()
		customer = make_customer()
		gen = make_generator(customer, accumulate_delivery_notes=1)
		so = frappe.get_doc(
			{
				"doctype": "Sales Order",
				"customer": customer,
				"company": company(),
				"transaction_date": getdate("2026-01-03"),
				"delivery_date": getdate("2026-01-10"),
				"selling_price_list": "Standard Selling",
				"items": [
					{"item_code": router, "qty": 4, "rate": 25, "warehouse": warehouse()},
					{"item_code": self.listing, "qty": 1, "rate": 30, "warehouse": warehouse()},
				],
			}
		).insert(ignore_permissions=True)
		so.submit()
		dn = make_delivery_note(so.name)
		dn.posting_date = getdate("2026-01-05")
		dn.set_posting_time = 1
		dn.insert(ignore_permissions=True)
		dn.submit()
		lines = frappe.get_all(ITEM, filters={"generator": gen.name}, pluck="name")
		self.assertEqual(len(lines), 2)
		other = add(gen.name, self.backup, qty=1, rate=40, service_date="2026-01-12").name
		frappe.db.commit()
		update_status("Closed", so.name)
		frappe.db.commit()

		result = run_generator(gen.name, "2026-02-01")
		self.assertEqual(len(result.invoices), 1, result.error)
		self.assertEqual(item_state(other), ("Billed", None, result.invoices[0]))
		for line in lines:
			status, reason, _invoice = item_state(line)
			self.assertEqual(status, "On Hold")
			self.assertEqual(reason, f"Sales Order {so.name} is Closed")
		check_invariants([gen.name], {*lines, other})

		# reopened: released and billed with ERPNext's own links to the Delivery Note
		update_status("Draft", so.name)
		self.assertEqual(sorted(api.release_held(gen.name)), sorted(lines))
		frappe.db.commit()
		again = run_generator(gen.name, "2026-03-01")
		self.assertEqual(len(again.invoices), 1, again.error)
		si = frappe.get_doc("Sales Invoice", again.invoices[0])
		self.assertEqual({row.delivery_note for row in si.items}, {dn.name})
		check_invariants([gen.name], {*lines, other})


class TestStopTheInvoice(HeldLinesTestCase):
	def test_stop_the_invoice_fails_and_retries_as_before(self):
		gen = make_generator(on_refused_line="Stop the Invoice")
		doomed = self.fresh_item()
		items = [
			add(gen.name, self.listing, service_date="2026-01-05").name,
			add(gen.name, doomed, service_date="2026-01-06").name,
		]
		frappe.db.commit()
		set_item(doomed, disabled=1)
		frappe.db.commit()
		result = run_generator(gen.name, "2026-02-01")
		self.assertEqual(result.invoices, [])
		self.assertIn("disabled", result.error)
		gen.reload()
		self.assertEqual(
			(gen.consecutive_failures, str(gen.next_creation_date), gen.lines_on_hold), (1, "2026-02-01", 0)
		)
		self.assertEqual(sorted(unbilled(gen.name)), sorted(items))
		self.assertEqual(frappe.db.count(ITEM, {"generator": gen.name, "status": "On Hold"}), 0)
		self.assertEqual(alerts_for(self.manager, gen.name), [])
		self.assertEqual(frappe.get_all(LOG, filters={"generator": gen.name}, pluck="outcome"), ["Failed"])
		# fixed: the retry bills everything, as today
		set_item(doomed, disabled=0)
		frappe.db.commit()
		again = run_generator(gen.name, "2026-02-01")
		self.assertEqual(len(again.invoices), 1, again.error)
		self.assertEqual(unbilled(gen.name), [])

	def test_a_refusal_no_line_check_explains_fails_and_retries_in_hold_mode(self):
		"""A disabled customer is not a line's fault: nothing is held, the occurrence fails and retries."""
		customer = make_customer()
		gen = make_generator(customer)
		line = add(gen.name, self.listing, service_date="2026-01-05").name
		frappe.db.set_value("Customer", customer, "disabled", 1)
		frappe.db.commit()
		try:
			result = run_generator(gen.name, "2026-02-01")
		finally:
			frappe.db.set_value("Customer", customer, "disabled", 0)
			frappe.db.commit()
		self.assertEqual(result.invoices, [])
		self.assertTrue(result.error)
		self.assertEqual(item_state(line), ("Unbilled", None, None))
		self.assertEqual(frappe.db.get_value(GENERATOR, gen.name, "consecutive_failures"), 1)

	def test_a_template_passes_the_setting_on(self):
		tpl = make_template(on_refused_line="Stop the Invoice")
		name = api.assign_template(tpl.name, make_customer())
		self.assertEqual(frappe.db.get_value(GENERATOR, name, "on_refused_line"), "Stop the Invoice")
		default = api.assign_template(make_template().name, make_customer())
		self.assertEqual(
			frappe.db.get_value(GENERATOR, default, "on_refused_line"), "Hold the Line and Bill the Rest"
		)
		frappe.db.rollback()


class TestWhatShowsHeldLines(HeldLinesTestCase):
	def test_preview_tab_card_and_portal(self):
		from frappe.desk.doctype.number_card.number_card import get_result

		from accumulating_billing.billing.portal import running_tabs
		from accumulating_billing.tests.utils import portal_user_for

		card = frappe.get_doc("Number Card", "Accumulating Lines On Hold")
		count = lambda: get_result(card, json.dumps(json.loads(card.filters_json)))  # noqa: E731
		before = count()
		customer = make_customer()
		gen = make_generator(customer)
		doomed = self.fresh_item()
		kept = add(gen.name, self.listing, qty=1, rate=15, service_date="2026-01-05").name
		line = add(gen.name, doomed, qty=1, rate=99, service_date="2026-01-10", description="AB-HELD-LINE")
		frappe.db.commit()
		set_item(doomed, disabled=1)

		# before billing day the preview shows what will be held, and the invoice of the rest
		tab = api.get_tab(gen.name)
		self.assertEqual([row["name"] for row in tab["to_hold"]], [line.name])
		self.assertEqual((tab["lines"], tab["grand_total"], tab["error"]), (1, 15, None))

		run_generator(gen.name, "2026-02-01")
		add(gen.name, self.listing, qty=1, rate=15, service_date="2026-02-05")
		frappe.db.commit()
		tab = api.get_tab(gen.name)
		self.assertEqual(
			[(row.name, row.hold_reason) for row in tab["held"]], [(line.name, f"Item {doomed} is disabled")]
		)
		self.assertNotIn(line.name, [row.name for row in tab["items"]])
		self.assertEqual(count(), before + 1)
		self.assertNotEqual(item_state(kept)[0], "On Hold")

		# the portal shows the customer nothing of it
		user = portal_user_for(customer)
		frappe.db.commit()
		frappe.set_user(user)
		try:
			tabs = running_tabs(user)
		finally:
			frappe.set_user("Administrator")
		self.assertEqual(len(tabs), 1)
		self.assertNotIn("AB-HELD-LINE", json.dumps(tabs, default=str))
		self.assertEqual(tabs[0]["total"], 15)

	def test_deleting_a_held_line_counts_it_off(self):
		gen, line, _item = self.held_line()
		self.assertEqual(frappe.db.get_value(GENERATOR, gen.name, "lines_on_hold"), 1)
		frappe.delete_doc(ITEM, line)
		self.assertEqual(frappe.db.get_value(GENERATOR, gen.name, "lines_on_hold"), 0)
		frappe.db.rollback()


class TestWhoMayRelease(HeldLinesTestCase):
	def test_release_is_for_those_who_may_change_the_generator(self):
		from accumulating_billing.tests.utils import portal_user_for

		customer = make_customer()
		gen = make_generator(customer)
		other = make_generator()
		doomed = self.fresh_item()
		line = add(gen.name, doomed, service_date="2026-01-10").name
		elsewhere = add(other.name, self.listing, service_date="2026-01-10").name
		frappe.db.commit()
		set_item(doomed, disabled=1)
		run_generator(gen.name, "2026-02-01")
		set_item(doomed, disabled=0)
		portal = portal_user_for(customer)
		reader = make_user([CONTRIBUTOR_ROLE])
		frappe.db.commit()

		def refusal(user, generator, items=None):
			frappe.set_user(user)
			try:
				with self.assertRaises(frappe.PermissionError) as caught:
					api.release_held(generator, items)
			finally:
				frappe.set_user("Administrator")
				frappe.clear_messages()
			return str(caught.exception).replace(generator, "<g>")

		# whoever may not change it gets one answer, whether it exists or not; billing staff are told it does not
		unknown = refusal(portal, "ACG-NO-SUCH")
		self.assertEqual(refusal(portal, gen.name), unknown)
		self.assertEqual(refusal(reader, gen.name), unknown)
		self.assertEqual(refusal(reader, "ACG-NO-SUCH"), unknown)
		frappe.set_user(self.manager)
		try:
			with self.assertRaises(frappe.DoesNotExistError):
				api.release_held("ACG-NO-SUCH")
		finally:
			frappe.set_user("Administrator")
			frappe.clear_messages()
		self.assertEqual(item_state(line)[0], "On Hold")
		# bad input: refused, nothing changes
		for bad in (elsewhere, json.dumps([line, "ACGI-NO-SUCH"]), "[1, 2]", "[not json"):
			with self.assertRaises(frappe.ValidationError):
				api.release_held(gen.name, bad)
			frappe.clear_messages()
			self.assertEqual(item_state(line)[0], "On Hold")
			self.assertEqual(item_state(elsewhere)[0], "Unbilled")
		# an Accounts Manager may
		frappe.set_user(self.manager)
		try:
			self.assertEqual(api.release_held(gen.name), [line])
		finally:
			frappe.set_user("Administrator")
		frappe.db.rollback()


class TestHeldCount(HeldLinesTestCase):
	def test_the_count_is_state_no_form_save_changes(self):
		gen = make_generator()
		gen.lines_on_hold = 7
		gen.save()
		self.assertEqual(frappe.db.get_value(GENERATOR, gen.name, "lines_on_hold"), 0)
		self.assertEqual(held.holds(gen), True)
		frappe.db.rollback()
