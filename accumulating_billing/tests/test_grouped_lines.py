"""Invoice Lines: Grouped (issue 15): one invoice line per item code, rate, UOM and discount, qty summed; every
tab item still knows its invoice and its line, and cancel, draft edits and amendments release or claim exactly
the right items."""

from decimal import Decimal
from unittest.mock import patch

import frappe

from accumulating_billing import api
from accumulating_billing.billing import two_step
from accumulating_billing.billing.assignment import assign
from accumulating_billing.billing.generation import generate_now, run_generator
from accumulating_billing.doctypes import ITEM, LOG
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.source_docs import (
	make_delivery_note,
	make_timesheet,
	service_item,
	stock_item,
)
from accumulating_billing.tests.two_step_utils import set_two_step, stopped_after_reserve
from accumulating_billing.tests.utils import (
	add,
	make_customer,
	make_generator,
	make_item,
	make_template,
	preview_and_invoice,
	tax_account,
	unbilled,
)

PACK = "_AB Pack"


def billing_of(generator: str) -> dict:
	"""{item name: (status, sales invoice, line group key)} of every item of the generator."""
	return {
		row.name: (row.status, row.sales_invoice, row.invoice_line_group)
		for row in frappe.get_all(
			ITEM,
			filters={"generator": generator},
			fields=["name", "status", "sales_invoice", "invoice_line_group"],
		)
	}


def tab_total(names: list[str]) -> Decimal:
	amounts = frappe.get_all(ITEM, filters={"name": ("in", names)}, pluck="amount")
	return sum((Decimal(str(a)) for a in amounts), Decimal(0))


class GroupedTestCase(GenerationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		if not frappe.db.exists("UOM", PACK):
			frappe.get_doc({"doctype": "UOM", "uom_name": PACK}).insert(ignore_permissions=True)
		cls.other = make_item("_AB Grouped Other")
		cls.hours = make_item("_AB Grouped Hours", stock_uom=PACK)  # a UOM that takes fractions
		cls.packed = make_item(
			"_AB Grouped Packed",
			uoms=[{"uom": "Nos", "conversion_factor": 1}, {"uom": PACK, "conversion_factor": 1}],
		)
		frappe.db.commit()

	def bill(self, generator: str, run_date: str) -> str:
		result = run_generator(generator, run_date)
		self.assertEqual(len(result.invoices), 1, result.error)
		return result.invoices[0]

	def grouped(self, **kw):
		return make_generator(invoice_lines="Grouped", **kw)

	def lines_of(self, invoice: str) -> list:
		return frappe.get_all(
			"Sales Invoice Item",
			filters={"parent": invoice},
			fields=[
				"item_code",
				"qty",
				"uom",
				"price_list_rate",
				"rate",
				"discount_percentage",
				"amount",
				"description",
				"accumulating_generator_item",
				"accumulating_line_group",
			],
			order_by="idx",
		)

	def assert_billed_by_lines(self, generator: str, invoice: str) -> None:
		"""Every item of the generator is Billed on `invoice` and linked from exactly one of its lines: a line of
		one item by its name, a grouped line by the key the item carries."""
		billing = billing_of(generator)
		lines = self.lines_of(invoice)
		keys = [line.accumulating_line_group for line in lines if line.accumulating_line_group]
		singles = [line.accumulating_generator_item for line in lines if line.accumulating_generator_item]
		self.assertEqual(len(keys), len(set(keys)))
		for name, (status, sales_invoice, key) in billing.items():
			self.assertEqual((status, sales_invoice), ("Billed", invoice), name)
			if key:
				self.assertIn(key, keys, name)
				self.assertNotIn(name, singles, name)
			else:
				self.assertEqual(singles.count(name), 1, name)
		for line in lines:
			self.assertTrue(bool(line.accumulating_line_group) != bool(line.accumulating_generator_item))


class TestGrouping(GroupedTestCase):
	def test_code_rate_uom_and_discount_each_split_a_group_and_qty_is_summed(self):
		gen = self.grouped()
		a = add(gen.name, self.listing, qty=2, rate=10, service_date="2026-01-05", description="Listings")
		b = add(gen.name, self.listing, qty=3, rate=10, service_date="2026-01-06", description="Listings")
		c = add(gen.name, self.listing, qty=1, rate=12, service_date="2026-01-07")  # another rate
		d = add(gen.name, self.listing, qty=1, rate=10, discount_percentage=10, service_date="2026-01-08")
		e = add(gen.name, self.packed, qty=4, rate=10, service_date="2026-01-09")
		f = add(gen.name, self.packed, qty=2, rate=10, uom=PACK, service_date="2026-01-10")  # another UOM
		g = add(gen.name, self.other, qty=1, rate=10, service_date="2026-01-11")  # another item
		h = add(gen.name, self.listing, qty=2, rate=10, service_date="2026-01-12", description="Other")
		i = add(gen.name, self.packed, qty=1, rate=10, service_date="2026-01-13")
		frappe.db.commit()

		invoice = self.bill(gen.name, "2026-02-01")
		lines = self.lines_of(invoice)
		self.assertEqual(
			[
				(line.item_code, line.qty, line.uom, line.price_list_rate, line.discount_percentage)
				for line in lines
			],
			[
				(self.listing, 7, "Nos", 10, 0),  # a + b + h, at the place of a
				(self.listing, 1, "Nos", 12, 0),
				(self.listing, 1, "Nos", 10, 10),
				(self.packed, 5, "Nos", 10, 0),  # e + i
				(self.packed, 2, PACK, 10, 0),
				(self.other, 1, "Nos", 10, 0),
			],
		)
		self.assertEqual([line.amount for line in lines], [70, 12, 9, 50, 20, 10])
		# the description of a group only when all of its items share it (h differs: the Item's own)
		self.assertNotIn(lines[0].description, ("Listings", "Other"))

		billing = billing_of(gen.name)
		self.assertEqual(billing[a.name][2], lines[0].accumulating_line_group)
		self.assertEqual(billing[b.name][2], lines[0].accumulating_line_group)
		self.assertEqual(billing[h.name][2], lines[0].accumulating_line_group)
		self.assertEqual({billing[e.name][2], billing[i.name][2]}, {lines[3].accumulating_line_group})
		self.assertNotEqual(lines[0].accumulating_line_group, lines[3].accumulating_line_group)
		# a group of one is exactly today's line: linked by name, no key
		self.assertEqual(
			[line.accumulating_generator_item for line in lines], [None, c.name, d.name, None, f.name, g.name]
		)
		for single in (c, d, f, g):
			self.assertIsNone(billing[single.name][2])
		self.assert_billed_by_lines(gen.name, invoice)
		si = frappe.get_doc("Sales Invoice", invoice)
		self.assertEqual(Decimal(str(si.net_total)), tab_total(list(billing)))

	def test_items_whose_amount_was_rounded_keep_a_line_each_so_the_total_is_the_tabs(self):
		gen = self.grouped()
		# 1.5 x 0.25 = 0.375, an amount of 0.38 on the tab: two of them are 0.76, one line of 3 x 0.25 0.75
		rounded = [
			add(gen.name, self.hours, qty=1.5, rate=0.25, service_date=f"2026-01-0{k}") for k in (5, 6)
		]
		exact = [add(gen.name, self.hours, qty=2, rate=0.25, service_date=f"2026-01-0{k}") for k in (7, 8)]
		frappe.db.commit()
		self.assertEqual([frappe.db.get_value(ITEM, r.name, "amount") for r in rounded], [0.38, 0.38])

		invoice = self.bill(gen.name, "2026-02-01")
		lines = self.lines_of(invoice)
		self.assertEqual(
			[(line.qty, line.amount, line.accumulating_generator_item) for line in lines],
			[(1.5, 0.38, rounded[0].name), (1.5, 0.38, rounded[1].name), (4, 1, None)],
		)
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "net_total"), 1.76)
		self.assertEqual(tab_total([r.name for r in rounded + exact]), Decimal("1.76"))
		self.assert_billed_by_lines(gen.name, invoice)

	def test_one_per_item_is_the_default_and_never_groups(self):
		gen = make_generator()
		self.assertEqual(gen.invoice_lines, "One per Item")
		items = [add(gen.name, self.listing, qty=1, rate=10, service_date=f"2026-01-0{k}") for k in (5, 6, 7)]
		frappe.db.commit()
		invoice = self.bill(gen.name, "2026-02-01")
		lines = self.lines_of(invoice)
		self.assertEqual([line.accumulating_generator_item for line in lines], [i.name for i in items])
		self.assertEqual({line.accumulating_line_group for line in lines}, {None})

	def test_delivery_note_lines_keep_their_own_line_and_link(self):
		router = stock_item()
		customer = make_customer()
		gen = self.grouped(customer=customer, accumulate_delivery_notes=1)
		notes = [
			make_delivery_note(customer, [{"item_code": router, "qty": 2, "rate": 25}], day)
			for day in ("2026-01-05", "2026-01-06")
		]
		by_hand = [add(gen.name, router, qty=1, rate=25, service_date=f"2026-01-0{k}") for k in (7, 8)]
		frappe.db.commit()

		invoice = self.bill(gen.name, "2026-02-01")
		lines = frappe.get_all(
			"Sales Invoice Item",
			filters={"parent": invoice},
			fields=["qty", "delivery_note", "dn_detail", "accumulating_line_group"],
			order_by="idx",
		)
		self.assertEqual(
			[(line.qty, line.delivery_note, line.dn_detail) for line in lines],
			[(2, dn.name, dn.items[0].name) for dn in notes] + [(2, None, None)],
		)
		self.assertTrue(lines[2].accumulating_line_group)
		for dn in notes:
			dn.reload()
			self.assertEqual(dn.per_billed, 100)
		self.assertEqual(
			{billing_of(gen.name)[i.name][2] for i in by_hand}, {lines[2].accumulating_line_group}
		)
		self.assert_billed_by_lines(gen.name, invoice)

	def test_timesheet_rows_stay_one_per_log_and_survive_a_save_of_the_draft(self):
		hour = service_item()
		customer = make_customer()
		gen = self.grouped(
			customer=customer, accumulate_timesheets=1, timesheet_item=hour, generate_as="Draft"
		)
		ts = make_timesheet(
			[
				{"start": "2026-01-05 09:00", "hours": 2, "rate": 50, "description": "Backups"},
				{"start": "2026-01-06 09:00", "hours": 1, "rate": 50, "description": "Updates"},
				{"start": "2026-01-07 09:00", "hours": 3, "rate": 50, "description": "Patching"},
			],
			customer=customer,
		)
		frappe.db.commit()

		draft = frappe.get_doc("Sales Invoice", self.bill(gen.name, "2026-02-01"))
		self.assertEqual([(line.qty, line.amount) for line in draft.items], [(6, 300)])
		self.assertEqual(len(draft.timesheets), 3)
		# a later save of the draft (no build flags any more) keeps the rows of the logs its grouped line bills
		draft = frappe.get_doc("Sales Invoice", draft.name)
		draft.save()
		self.assertEqual(
			sorted(row.timesheet_detail for row in draft.timesheets), sorted(log.name for log in ts.time_logs)
		)
		draft.submit()
		ts.reload()
		self.assertEqual((ts.status, {log.sales_invoice for log in ts.time_logs}), ("Billed", {draft.name}))


class TestLifecycle(GroupedTestCase):
	def test_cancel_releases_every_item_and_the_next_run_bills_them_again(self):
		gen = self.grouped()
		items = [
			add(gen.name, self.listing, qty=1, rate=10, service_date=f"2026-01-0{k}").name for k in (5, 6, 7)
		]
		items += [add(gen.name, self.other, qty=2, rate=5, service_date="2026-01-08").name]
		frappe.db.commit()
		first = frappe.get_doc("Sales Invoice", self.bill(gen.name, "2026-02-01"))
		old_key = first.items[0].accumulating_line_group
		self.assertTrue(old_key)
		first.cancel()
		frappe.db.commit()
		self.assertEqual(sorted(unbilled(gen.name)), sorted(items))

		again = self.bill(gen.name, "2026-03-01")
		lines = self.lines_of(again)
		self.assertEqual([(line.qty, line.amount) for line in lines], [(3, 30), (2, 10)])
		self.assertNotEqual(lines[0].accumulating_line_group, old_key)  # a fresh key per line
		self.assert_billed_by_lines(gen.name, again)

	def test_a_group_line_removed_from_a_draft_releases_exactly_its_items(self):
		gen = self.grouped(generate_as="Draft")
		listings = [
			add(gen.name, self.listing, qty=1, rate=10, service_date=f"2026-01-0{k}").name for k in (5, 6)
		]
		others = [add(gen.name, self.other, qty=1, rate=7, service_date=f"2026-01-0{k}").name for k in (7, 8)]
		single = add(gen.name, self.other, qty=1, rate=9, service_date="2026-01-09").name
		frappe.db.commit()
		draft = frappe.get_doc("Sales Invoice", self.bill(gen.name, "2026-02-01"))
		self.assertEqual(len(draft.items), 3)
		listing_key = draft.items[0].accumulating_line_group
		other_key = draft.items[1].accumulating_line_group
		draft.items = [row for row in draft.items if row.accumulating_line_group != listing_key]
		draft.save()

		self.assertEqual(sorted(unbilled(gen.name)), sorted(listings))
		billing = billing_of(gen.name)
		for name in others:
			self.assertEqual(billing[name], ("Billed", draft.name, other_key))
		self.assertEqual(billing[single], ("Billed", draft.name, None))
		self.assertTrue(
			frappe.db.exists(LOG, {"sales_invoice": draft.name, "outcome": "Released", "items_count": 2})
		)

		draft.submit()  # its submit releases nothing more
		self.assertEqual(sorted(unbilled(gen.name)), sorted(listings))
		frappe.db.commit()
		nxt = self.bill(gen.name, "2026-03-01")
		self.assertEqual([(line.item_code, line.qty) for line in self.lines_of(nxt)], [(self.listing, 2)])
		self.assertEqual({billing_of(gen.name)[name][1] for name in listings}, {nxt})

	def test_removing_a_single_line_next_to_groups_releases_only_it(self):
		gen = self.grouped(generate_as="Draft")
		grouped = [
			add(gen.name, self.listing, qty=1, rate=10, service_date=f"2026-01-0{k}").name for k in (5, 6)
		]
		single = add(gen.name, self.other, qty=1, rate=9, service_date="2026-01-09").name
		frappe.db.commit()
		draft = frappe.get_doc("Sales Invoice", self.bill(gen.name, "2026-02-01"))
		draft.items = [row for row in draft.items if row.accumulating_generator_item != single]
		draft.save()
		self.assertEqual(unbilled(gen.name), [single])
		self.assertEqual({billing_of(gen.name)[name][1] for name in grouped}, {draft.name})

	def test_a_copied_group_line_loses_its_key(self):
		gen = self.grouped(generate_as="Draft")
		first = [
			add(gen.name, self.listing, qty=1, rate=10, service_date=f"2026-01-0{k}").name for k in (5, 6)
		]
		frappe.db.commit()
		a = frappe.get_doc("Sales Invoice", self.bill(gen.name, "2026-02-01"))
		second = [
			add(gen.name, self.other, qty=1, rate=10, service_date=f"2026-02-0{k}").name for k in (5, 6)
		]
		frappe.db.commit()
		b = frappe.get_doc("Sales Invoice", self.bill(gen.name, "2026-03-01"))
		b.append("items", {**a.items[0].as_dict(), "name": None, "idx": None})
		b.save()
		self.assertEqual([bool(row.accumulating_line_group) for row in b.items], [True, False])
		# the copied line's items stay billed on the invoice they came from
		self.assertEqual({billing_of(gen.name)[name][1] for name in first}, {a.name})
		self.assertEqual({billing_of(gen.name)[name][1] for name in second}, {b.name})
		# and removing the copy later releases nothing
		b.items = b.items[:1]
		b.save()
		self.assertEqual(unbilled(gen.name), [])

	def test_a_grouped_invoice_submitted_in_a_second_transaction_keeps_every_item(self):
		"""Two-step billing submits the reserved draft reloaded (no build flags): the draft checks of its submit
		see every item linked by its grouped line."""
		gen = self.grouped()
		for k in (5, 6, 7):
			add(gen.name, self.listing, qty=1, rate=10, service_date=f"2026-01-0{k}")
		add(gen.name, self.other, qty=1, rate=9, service_date="2026-01-08")
		frappe.db.commit()
		set_two_step(True)
		try:
			with stopped_after_reserve():  # the process died after the reserve
				invoice = self.bill(gen.name, "2026-02-01")
			self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "docstatus"), 0)
			self.assertIsNone(two_step.finalize(gen.name, invoice))
		finally:
			set_two_step(False)
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "docstatus"), 1)
		self.assertEqual(len(self.lines_of(invoice)), 2)
		self.assert_billed_by_lines(gen.name, invoice)

	def test_deleting_a_grouped_draft_releases_all_its_items(self):
		gen = self.grouped(generate_as="Draft")
		items = [
			add(gen.name, self.listing, qty=1, rate=10, service_date=f"2026-01-0{k}").name for k in (5, 6)
		]
		frappe.db.commit()
		invoice = self.bill(gen.name, "2026-02-01")
		frappe.delete_doc("Sales Invoice", invoice)
		self.assertEqual(sorted(unbilled(gen.name)), sorted(items))


class TestAmendment(GroupedTestCase):
	def amend(self, original):
		amended = frappe.copy_doc(original)
		amended.docstatus = 0
		amended.amended_from = original.name
		amended.accumulating_generator = original.accumulating_generator
		amended.accumulating_occurrence = original.accumulating_occurrence
		return amended.insert()

	def test_an_amendment_claims_the_items_of_its_group_lines_and_they_are_not_billed_twice(self):
		gen = self.grouped()
		grouped = [
			add(gen.name, self.listing, qty=1, rate=10, service_date=f"2026-01-0{k}").name for k in (5, 6)
		]
		single = add(gen.name, self.other, qty=1, rate=9, service_date="2026-01-07").name
		frappe.db.commit()
		original = frappe.get_doc("Sales Invoice", self.bill(gen.name, "2026-02-01"))
		key = original.items[0].accumulating_line_group
		original.cancel()
		self.assertEqual(len(unbilled(gen.name)), 3)

		amended = self.amend(original)
		self.assertEqual(amended.items[0].accumulating_line_group, key)
		amended.submit()
		billing = billing_of(gen.name)
		for name in grouped:
			self.assertEqual(billing[name], ("Billed", amended.name, key))
		self.assertEqual(billing[single][:2], ("Billed", amended.name))
		frappe.db.commit()
		self.assertEqual(run_generator(gen.name, "2026-03-01").invoices, [])
		self.assertEqual(unbilled(gen.name), [])

	def test_an_amendment_does_not_claim_a_group_billed_again_elsewhere(self):
		gen = self.grouped()
		grouped = [
			add(gen.name, self.listing, qty=1, rate=10, service_date=f"2026-01-0{k}").name for k in (5, 6)
		]
		frappe.db.commit()
		original = frappe.get_doc("Sales Invoice", self.bill(gen.name, "2026-02-01"))
		original.cancel()
		frappe.db.commit()
		rebilled, _message = generate_now(gen.name, "2026-02-10")
		self.assertTrue(rebilled)

		amended = self.amend(original)
		self.assertIsNone(amended.items[0].accumulating_line_group)
		amended.submit()
		self.assertEqual({billing_of(gen.name)[name][1] for name in grouped}, {rebilled})

	def test_an_amendment_bills_only_what_is_left_of_a_group_billed_in_part_elsewhere(self):
		gen = self.grouped()
		early = add(gen.name, self.listing, qty=1, rate=10, service_date="2026-01-03").name
		late = add(gen.name, self.listing, qty=1, rate=10, service_date="2026-01-20").name
		frappe.db.commit()
		original = frappe.get_doc("Sales Invoice", self.bill(gen.name, "2026-02-01"))
		self.assertEqual(original.items[0].qty, 2)
		key = original.items[0].accumulating_line_group
		original.cancel()
		frappe.db.commit()
		rebilled, _message = generate_now(gen.name, "2026-01-10")  # bills the 3 Jan item alone
		self.assertEqual(billing_of(gen.name)[early][:2], ("Billed", rebilled))

		amended = self.amend(original)
		self.assertEqual((amended.items[0].accumulating_line_group, amended.items[0].qty), (key, 1))
		amended.submit()
		billing = billing_of(gen.name)
		self.assertEqual(billing[late], ("Billed", amended.name, key))
		self.assertEqual(billing[early][:2], ("Billed", rebilled))
		self.assertEqual(amended.net_total, 10)  # the 3 Jan item is on the Generate Now invoice only


class TestPreviewAndTemplate(GroupedTestCase):
	def test_the_preview_of_a_grouped_tab_equals_the_invoice(self):
		taxes = [
			{"charge_type": "On Net Total", "account_head": tax_account(), "description": "VAT", "rate": 19}
		]
		gen = self.grouped(discount_amount=7.5, apply_discount_on="Grand Total", taxes=taxes)
		for k in (5, 6, 7):
			add(gen.name, self.listing, qty=3, rate=33.33, service_date=f"2026-01-0{k}")
		add(gen.name, self.other, qty=1, rate=12.1, service_date="2026-01-20")
		add(gen.name, self.other, qty=1, rate=99, service_date="2026-02-01")  # waits for the next invoice
		tab = api.get_tab(gen.name)
		frappe.db.commit()
		si = frappe.get_doc("Sales Invoice", self.bill(gen.name, "2026-02-01"))
		self.assertEqual(len(tab["items"]), 5)
		self.assertEqual(len(si.items), 2)
		self.assertEqual(*preview_and_invoice(tab, si))

	def test_a_template_passes_the_setting_to_its_generators(self):
		grouped = make_template(invoice_lines="Grouped")
		default = make_template()
		self.assertEqual(default.invoice_lines, "One per Item")
		made = {
			tpl.name: frappe.db.get_value(
				"Accumulating Generator", assign(tpl.name, make_customer(), "2026-01-10"), "invoice_lines"
			)
			for tpl in (grouped, default)
		}
		self.assertEqual(made, {grouped.name: "Grouped", default.name: "One per Item"})
