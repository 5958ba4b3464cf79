"""Who may do what (docs/architecture.md §13), through frappe.get_list, the REST API, the portal and every whitelisted method."""

import frappe
from frappe.utils import get_test_client

from accumulating_billing import api
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.billing.portal import running_tabs
from accumulating_billing.doctypes import CONTRIBUTOR_ROLE, GENERATOR, ITEM
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.utils import (
	add,
	fetch,
	login,
	make_customer,
	make_generator,
	make_template,
	make_user,
	portal_user_for,
)


class TestContributor(GenerationTestCase):
	def setUp(self):
		self.allowed = make_generator(internal_notes="<p>AB-SECRET-NOTE</p>")
		self.other = make_generator()
		add(self.other.name, self.listing, service_date="2026-01-05", description="AB other customer work")
		self.contributor = make_user([CONTRIBUTOR_ROLE])
		frappe.get_doc(
			{
				"doctype": "User Permission",
				"user": self.contributor,
				"allow": "Customer",
				"for_value": self.allowed.customer,
			}
		).insert(ignore_permissions=True)
		self.unscoped = make_user([CONTRIBUTOR_ROLE])
		frappe.db.commit()

	def test_contributor_reaches_only_their_tabs(self):
		"""The tabs come from the link query (api.generator_search); the items from frappe.get_list. Frappe's
		generic queries on generators are not theirs at all: no role permission on Accumulating Generator."""
		frappe.set_user(self.contributor)
		mine = api.add_item(self.allowed.name, self.listing, rate=10, service_date="2026-01-05")
		self.assertEqual(tab_names(), [self.allowed.name])
		self.assertEqual(frappe.get_list(ITEM, pluck="name"), [mine])
		with self.assertRaises(frappe.PermissionError):
			frappe.get_list(GENERATOR, pluck="name")

	def test_unscoped_contributor_reaches_nothing(self):
		frappe.set_user(self.unscoped)
		self.assertEqual(tab_names(), [])
		self.assertEqual(frappe.get_list(ITEM, pluck="name"), [])
		with self.assertRaises(frappe.PermissionError):
			api.add_item(self.allowed.name, self.listing, rate=10, service_date="2026-01-05")

	def test_contributor_cannot_read_settings_or_notes(self):
		frappe.set_user(self.contributor)
		with self.assertRaises(frappe.PermissionError):
			frappe.get_doc(GENERATOR, self.allowed.name).check_permission("read")
		with self.assertRaises(frappe.PermissionError):
			api.get_tab(self.allowed.name)
		for method in (api.generate_now, api.pause, api.archive, api.restore):
			with self.subTest(method=method.__name__), self.assertRaises(frappe.PermissionError):
				method(self.allowed.name)
		with self.assertRaises(frappe.PermissionError):
			api.resume(self.allowed.name, "2030-01-01")
		with self.assertRaises(frappe.PermissionError):
			api.assign_template(make_template().name, self.allowed.customer)

	def test_rest_api(self):
		client = login(self.contributor)
		response = fetch(client, f"/api/resource/{GENERATOR}/{self.allowed.name}")
		self.assertEqual(response.status_code, 403)
		self.assertNotIn("AB-SECRET-NOTE", response.get_data(as_text=True))

		response = fetch(
			client,
			f"/api/resource/{ITEM}",
			"post",
			json={
				"generator": self.allowed.name,
				"item_code": self.listing,
				"rate": 12,
				"service_date": "2026-01-07",
			},
		)
		self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
		self.assertEqual(response.json["data"]["added_by"], self.contributor)

		response = fetch(
			client,
			f"/api/resource/{ITEM}",
			"post",
			json={
				"generator": self.other.name,
				"item_code": self.listing,
				"rate": 12,
				"service_date": "2026-01-07",
			},
		)
		self.assertEqual(response.status_code, 403)
		frappe.db.rollback()
		self.assertEqual(frappe.db.count(ITEM, {"generator": self.other.name}), 1)

		response = fetch(client, f'/api/resource/{ITEM}?fields=["description"]&limit_page_length=0')
		self.assertEqual(response.status_code, 200)
		self.assertNotIn("AB other customer work", response.get_data(as_text=True))

	def test_contributor_edits_only_own_unbilled_items(self):
		colleague = frappe.get_doc(
			{
				"doctype": ITEM,
				"generator": self.allowed.name,
				"item_code": self.listing,
				"rate": 10,
				"service_date": "2026-01-05",
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		frappe.set_user(self.contributor)
		mine = frappe.get_doc(
			ITEM, api.add_item(self.allowed.name, self.listing, rate=10, service_date="2026-01-05")
		)
		mine.qty = 2
		mine.save()
		theirs = frappe.get_doc(ITEM, colleague.name)
		theirs.qty = 5
		with self.assertRaises(frappe.PermissionError):
			theirs.save()
		with self.assertRaises(frappe.PermissionError):
			frappe.delete_doc(ITEM, colleague.name)


def tab_names() -> list[str]:
	"""The generators the session user's link query offers (as the item form asks for them)."""
	return [row[0] for row in api.generator_search(GENERATOR, "", "name", 0, 50)]


class TestPortal(GenerationTestCase):
	def setUp(self):
		self.customer_a = make_customer()
		self.customer_b = make_customer()
		self.user_a = portal_user_for(self.customer_a)
		self.user_b = portal_user_for(self.customer_b)
		self.gen_a = make_generator(self.customer_a, internal_notes="<p>AB-SECRET-NOTE</p>", title="A tab")
		self.gen_b = make_generator(self.customer_b, title="B tab")
		add(self.gen_a.name, self.listing, service_date="2026-01-05", description="AB billed work A")
		add(self.gen_b.name, self.listing, service_date="2026-01-05", description="AB billed work B")
		frappe.db.commit()
		self.invoice_a = run_generator(self.gen_a.name, "2026-02-01").invoices[0]
		self.invoice_b = run_generator(self.gen_b.name, "2026-02-01").invoices[0]
		add(self.gen_a.name, self.listing, service_date="2026-02-03", description="AB unbilled work A")
		add(self.gen_b.name, self.listing, service_date="2026-02-03", description="AB unbilled work B")
		self.draft_gen = make_generator(self.customer_a, generate_as="Draft", title="A drafts")
		add(self.draft_gen.name, self.listing, service_date="2026-01-05", description="AB draft work A")
		frappe.db.commit()
		self.draft_a = run_generator(self.draft_gen.name, "2026-02-01").invoices[0]

	def test_running_tab_shows_only_own_unbilled_items(self):
		tabs = running_tabs(self.user_a)
		self.assertEqual({t["title"] for t in tabs}, {"A tab", "A drafts"})
		descriptions = {i.description for t in tabs for i in t["items"]}
		self.assertEqual(descriptions, {"AB unbilled work A"})
		self.assertEqual(
			next(t for t in tabs if t["title"] == "A tab")["next_invoice_date"].isoformat(), "2026-03-01"
		)
		self.assertNotIn("internal_notes", str(tabs))

	def test_portal_pages_as_customer_a(self):
		client = login(self.user_a)
		page = fetch(client, "/running-tab")
		self.assertEqual(page.status_code, 200)
		html = page.get_data(as_text=True)
		self.assertIn("AB unbilled work A", html)
		self.assertNotIn("AB unbilled work B", html)
		self.assertNotIn("AB-SECRET-NOTE", html)

		listing = fetch(client, "/invoices")
		self.assertEqual(listing.status_code, 200, listing.get_data(as_text=True))
		shown = listing.get_data(as_text=True)
		self.assertIn(self.invoice_a, shown)
		self.assertNotIn(self.invoice_b, shown)
		self.assertNotIn(self.draft_a, shown)

		self.assertEqual(fetch(client, f"/invoices/{self.invoice_a}").status_code, 200)
		self.assertIn(fetch(client, f"/invoices/{self.invoice_b}").status_code, (403, 404))

	def test_portal_user_gets_no_desk_data(self):
		client = login(self.user_a)
		for path in (
			f"/api/resource/{GENERATOR}/{self.gen_a.name}",
			f"/api/resource/{GENERATOR}/{self.gen_b.name}",
			f"/api/resource/{ITEM}",
			f"/api/method/accumulating_billing.api.get_tab?generator={self.gen_a.name}",
		):
			with self.subTest(path=path):
				self.assertEqual(fetch(client, path).status_code, 403)

	def test_guest_gets_403(self):
		client = get_test_client()
		for path in (
			"/running-tab",
			f"/api/resource/{GENERATOR}",
			f"/api/resource/{ITEM}",
			f"/api/method/accumulating_billing.api.get_tab?generator={self.gen_a.name}",
		):
			with self.subTest(path=path):
				self.assertEqual(fetch(client, path).status_code, 403)
		for method, data in (
			("add_item", {"generator": self.gen_a.name, "item_code": self.listing}),
			("generate_now", {"generator": self.gen_a.name}),
			("pause", {"generator": self.gen_a.name}),
			("resume", {"generator": self.gen_a.name, "resume_date": "2030-01-01"}),
			("archive", {"generator": self.gen_a.name}),
			("restore", {"generator": self.gen_a.name}),
			("assign_template", {"template": "x", "customer": self.customer_a}),
			("create_for_customers", {"customers": "[]", "template": "x"}),
		):
			with self.subTest(method=method):
				response = fetch(client, f"/api/method/accumulating_billing.api.{method}", "post", data=data)
				self.assertEqual(response.status_code, 403, response.get_data(as_text=True))
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value(GENERATOR, self.gen_a.name, "status"), "Active")
