"""Tabs of many items (issue 30): the desk pages the running tab and counts and sums it in the database; the preview
of a large tab, summed by the database, is the preview of its lines one by one; the portal's running tab pages each
tab and reads one query per kind of data whatever the number of tabs and invoices."""

from contextlib import contextmanager
from unittest.mock import patch

import frappe

from accumulating_billing import api
from accumulating_billing.billing import preview
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.billing.portal import running_tabs
from accumulating_billing.doctypes import ITEM
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.utils import (
	add,
	fetch,
	login,
	make_customer,
	make_generator,
	make_item,
	make_uom,
	portal_user_for,
	tax_account,
)


@contextmanager
def counted_queries():
	"""The SQL statements run inside the block (their count: len)."""
	statements = []
	sql = frappe.db.sql

	def counting(query, *args, **kwargs):
		statements.append(str(query))
		return sql(query, *args, **kwargs)

	with patch.object(frappe.db, "sql", counting):
		yield statements


class TestLargeTabs(GenerationTestCase):
	def add_many(self, generator: str, n: int, **values) -> list[str]:
		entries = [
			{
				"generator": generator,
				"item_code": self.listing,
				"qty": 1 + k % 3,
				"rate": (10, 12.5)[k % 2],
				"service_date": "2026-01-10",
				**values,
			}
			for k in range(n)
		]
		return [answer["name"] for answer in api.add_items(entries)]

	def test_the_running_tab_is_paged_and_summed_by_the_database(self):
		gen = make_generator()
		names = self.add_many(gen.name, 130)
		tab = api.get_tab(gen.name)
		amount = sum(frappe.get_all(ITEM, filters={"generator": gen.name}, pluck="amount"))
		self.assertEqual(len(tab["items"]), 100)
		self.assertEqual(
			{k: tab["page"][k] for k in ("start", "page_length", "count", "amount")},
			{"start": 0, "page_length": 100, "count": 130, "amount": amount},
		)
		rest = api.get_tab_items(gen.name, start=100)
		self.assertEqual(len(rest["rows"]), 30)
		ordered = frappe.get_all(
			ITEM, filters={"generator": gen.name}, order_by="service_date, name", pluck="name"
		)
		self.assertEqual([row.name for row in tab["items"] + rest["rows"]], ordered)
		self.assertEqual(set(ordered), set(names))
		self.assertEqual(api.get_tab_items(gen.name, status="On Hold")["count"], 0)
		with self.assertRaises(frappe.ValidationError):
			api.get_tab_items(gen.name, status="Billed")

	def test_a_summed_preview_is_the_preview_line_by_line(self):
		fraction = make_uom("_AB Fraction Unit")
		hour = make_item("_AB Large Tab Hour", stock_uom=fraction)
		doomed = make_item(f"_AB Large Tab Doomed {frappe.generate_hash(length=5)}")
		account = tax_account()
		for lines in ("One per Item", "Grouped"):
			with self.subTest(lines=lines):
				gen = make_generator(
					invoice_lines=lines,
					taxes=[
						{
							"charge_type": "On Net Total",
							"account_head": account,
							"description": "Tax",
							"rate": 10,
						}
					],
				)
				self.add_many(gen.name, 40)
				self.add_many(gen.name, 7, item_code=self.backup, discount_percentage=5)
				# amounts rounded line by line: 0.5 x 0.25 = 0.125 (such lines keep a line of their own, Grouped)
				self.add_many(gen.name, 5, item_code=hour, qty=0.5, rate=0.25)
				add(gen.name, doomed, rate=3)
				frappe.db.set_value("Item", doomed, "disabled", 1)
				frappe.clear_document_cache("Item", doomed)
				exact = preview.next_invoice(gen)
				with patch.object(preview, "EXACT_LINES", 10):
					summed = preview.next_invoice(gen)
				figures = ("lines", "subtotal", "discount", "net_total", "taxes", "grand_total", "error")
				self.assertEqual({k: summed[k] for k in figures}, {k: exact[k] for k in figures})
				self.assertEqual(exact["lines"], 52 if lines == "One per Item" else 2 + 2 + 5)
				self.assertEqual(
					[(row["item_code"], row["reason"]) for row in summed["to_hold"]],
					[(row["item_code"], row["reason"]) for row in exact["to_hold"]],
				)
				frappe.db.set_value("Item", doomed, "disabled", 0)
				frappe.clear_document_cache("Item", doomed)

	def test_the_portal_reads_one_query_per_kind_whatever_the_tabs_and_invoices(self):
		counts = []
		for tabs in (1, 3):
			customer = make_customer()
			gens = [make_generator(customer, allow_partial_payments=k == 0) for k in range(tabs)]
			for gen in gens:
				for month in range(1, tabs + 1):
					add(gen.name, self.backup, rate=40, service_date=f"2026-0{month}-10")
				self.add_many(gen.name, 60, service_date="2026-06-10")
			frappe.db.commit()
			for gen in gens:
				run_generator(gen.name, f"2026-0{tabs + 1}-01")
			user = portal_user_for(customer)
			frappe.db.commit()
			running_tabs(user)  # Frappe's metadata read once (cached for every later request)
			with counted_queries() as statements:
				result = running_tabs(user)
			counts.append(len(statements))
			self.assertEqual(len(result), tabs)
			self.assertEqual([len(tab["to_pay"]) for tab in result], [tabs] * tabs)
			self.assertEqual([(len(tab["items"]), tab["item_count"]) for tab in result], [(50, 60)] * tabs)
		self.assertEqual(
			counts[0], counts[1], "the portal's queries grow with the number of tabs or invoices"
		)

	def test_the_portal_pages_each_tab(self):
		gen = make_generator()
		self.add_many(gen.name, 60)
		user = portal_user_for(gen.customer)
		frappe.db.commit()
		[tab] = running_tabs(user, pages={gen.name: 50})
		total = sum(frappe.get_all(ITEM, filters={"generator": gen.name}, pluck="amount"))
		self.assertEqual(
			(len(tab["items"]), tab["item_count"], tab["start"], tab["total"]), (10, 60, 50, total)
		)
		# another customer's generator in the link pages nothing of theirs, and shows nothing of it
		other = make_generator()
		self.add_many(other.name, 3)
		frappe.db.commit()
		self.assertEqual([t["generator"] for t in running_tabs(user, pages={other.name: 1})], [gen.name])
		client = login(user)
		page = fetch(client, f"/running-tab?tab={gen.name}&start=50").get_data(as_text=True)
		self.assertIn("Lines 51 to 60 of 60", page)
		self.assertIn("Previous", page)
		self.assertEqual(page.count('class="ab-tab-item"'), 10)
