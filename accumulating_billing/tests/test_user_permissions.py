"""A contributor's tabs are what their User Permissions give them, as Frappe means User Permissions (issue 25,
billing/permissions.py): *Applies To* and *Apply To All DocTypes* decide which DocTypes a permission narrows;
every link field of a generator is narrowed (and the name), an empty link passes unless *Apply Strict User
Permissions* is on; items follow their tab; a contributor without a permission on Customer or Accumulating
Generator that applies to generators has no tab. The single-generator check agrees with Frappe's own
`has_user_permission` and with the lists, on every path (the tab search, get_list, get_value, add_item)."""

import frappe
import frappe.permissions

from accumulating_billing import api
from accumulating_billing.billing import permissions
from accumulating_billing.doctypes import CONTRIBUTOR_ROLE, GENERATOR, ITEM
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.utils import add, company, make_customer, make_generator, make_user


class TestUserPermissions(GenerationTestCase):
	def setUp(self):
		self.customer_a, self.customer_b = make_customer(), make_customer()
		self.project = (
			frappe.get_doc(
				{
					"doctype": "Project",
					"project_name": f"_AB UP {frappe.generate_hash(length=6)}",
					"company": company(),
				}
			)
			.insert(ignore_permissions=True)
			.name
		)
		self.a1 = make_generator(self.customer_a, title="UP A1").name
		self.a2 = make_generator(self.customer_a, title="UP A2", project=self.project).name
		self.a_archived = make_generator(self.customer_a, title="UP A archived").name
		frappe.db.set_value(GENERATOR, self.a_archived, "status", "Archived")
		self.b1 = make_generator(self.customer_b, title="UP B1").name
		self.items = {
			gen: add(gen, self.listing, service_date="2099-01-05").name for gen in (self.a1, self.a2, self.b1)
		}
		frappe.db.commit()

	def tearDown(self):
		set_strict(0)
		super().tearDown()

	def contributor(self, *grants) -> str:
		"""A contributor with these User Permissions: (allow, for_value, applicable_for or None for all)."""
		user = make_user([CONTRIBUTOR_ROLE])
		for allow, value, applicable_for in grants:
			frappe.get_doc(
				{
					"doctype": "User Permission",
					"user": user,
					"allow": allow,
					"for_value": value,
					"apply_to_all_doctypes": 0 if applicable_for else 1,
					"applicable_for": applicable_for,
				}
			).insert(ignore_permissions=True)
		frappe.db.commit()
		return user

	def reach(self, user: str) -> dict:
		"""What `user` reaches by every path: the tab search, the single check, items by get_list and
		get_value, and add_item."""
		frappe.set_user(user)
		try:
			candidates = (self.a1, self.a2, self.a_archived, self.b1)
			searched = {row[0] for row in api.generator_search(GENERATOR, "UP ", "name", 0, 50)} & set(
				candidates
			)
			checked = {gen for gen in candidates if permissions.is_tab_of(gen, user)}
			items = set(
				frappe.get_list(ITEM, filters={"name": ("in", list(self.items.values()))}, pluck="name")
			)
			values = {name for name in self.items.values() if frappe.client.get_value(ITEM, "name", name)}
			added = set()
			for gen in (self.a1, self.a2, self.b1):
				try:
					api.add_item(gen, self.listing, rate=1, service_date="2099-02-01")
					added.add(gen)
				except frappe.PermissionError:
					frappe.clear_messages()
			return {"search": searched, "check": checked, "items": items, "values": values, "add": added}
		finally:
			frappe.set_user("Administrator")
			frappe.db.rollback()

	def tabs(self, *generators) -> dict:
		"""What a contributor whose tabs are `generators` reaches by every path (the search lists open ones)."""
		open_tabs = {gen for gen in generators if gen != self.a_archived}
		items = {self.items[gen] for gen in generators if gen in self.items}
		return {
			"search": open_tabs,
			"check": set(generators),
			"items": items,
			"values": items,
			"add": open_tabs,
		}

	def agrees_with_frappe(self, user: str):
		"""The single-generator check says what Frappe's own has_user_permission says (for a contributor who
		has a granting permission)."""
		for gen in (self.a1, self.a2, self.a_archived, self.b1):
			doc = frappe.get_doc(GENERATOR, gen)
			with self.subTest(generator=gen):
				self.assertEqual(
					permissions.is_tab_of(gen, user), frappe.permissions.has_user_permission(doc, user)
				)

	def test_a_customer_for_all_doctypes(self):
		user = self.contributor(("Customer", self.customer_a, None))
		self.assertEqual(self.reach(user), self.tabs(self.a1, self.a2, self.a_archived))
		self.agrees_with_frappe(user)

	def test_a_customer_for_generators_only(self):
		"""Finding 3 of issue 25: the permission applies only to generators; the items follow their tab."""
		user = self.contributor(("Customer", self.customer_a, GENERATOR))
		self.assertEqual(self.reach(user), self.tabs(self.a1, self.a2, self.a_archived))
		self.agrees_with_frappe(user)

	def test_a_customer_for_items_only_grants_no_tab(self):
		user = self.contributor(("Customer", self.customer_a, ITEM))
		self.assertEqual(self.reach(user), self.tabs())

	def test_a_customer_for_another_doctype_grants_no_tab(self):
		user = self.contributor(("Customer", self.customer_a, "Sales Invoice"))
		self.assertEqual(self.reach(user), self.tabs())

	def test_one_generator(self):
		user = self.contributor((GENERATOR, self.a2, None))
		self.assertEqual(self.reach(user), self.tabs(self.a2))
		self.agrees_with_frappe(user)

	def test_another_link_narrows_what_the_customer_grants(self):
		"""A Project permission narrows the generators' project link: A's generator of that project, and (not
		strict) A's generators without a project."""
		user = self.contributor(("Customer", self.customer_a, None), ("Project", self.project, None))
		self.assertEqual(self.reach(user), self.tabs(self.a1, self.a2, self.a_archived))
		self.agrees_with_frappe(user)

	def test_strict_user_permissions_refuse_an_empty_link(self):
		set_strict(1)
		user = self.contributor(("Customer", self.customer_a, None), ("Project", self.project, None))
		self.assertEqual(self.reach(user), self.tabs(self.a2))
		self.agrees_with_frappe(user)

	def test_a_company_permission_alone_grants_no_tab(self):
		user = self.contributor(("Company", company(), None))
		self.assertEqual(self.reach(user), self.tabs())

	def test_no_permission_no_tab(self):
		self.assertEqual(self.reach(self.contributor()), self.tabs())


def set_strict(value: int) -> None:
	"""System Settings ▸ Apply Strict User Permissions, committed, as this process reads it next."""
	frappe.db.set_single_value("System Settings", "apply_strict_user_permissions", value)
	frappe.db.commit()
	frappe.clear_document_cache("System Settings", "System Settings")
	frappe.local.system_settings = None
