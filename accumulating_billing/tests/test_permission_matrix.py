"""The permission matrix over HTTP (issue 20): every whitelisted method of the app and the REST resource of every
DocType of the app, called through Frappe's real request path (werkzeug's client over frappe.app.application)
by a guest, the portal user of another customer, a contributor and an Accounts User. The expected answers are
in permission_matrix.py; the methods and DocTypes are read from the code, so a new one without a line fails.
A refused call must write nothing, and an unknown generator must be refused exactly like a forbidden one."""

from urllib.parse import quote

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import get_test_client

from accumulating_billing.tests.permission_matrix import (
	CALLERS,
	DOCTYPES,
	GENERATOR,
	METHODS,
	OPERATIONS,
	SETTINGS,
	STATUS,
	UNKNOWN,
	answer,
	app_doctypes,
	app_whitelisted_methods,
	fingerprint,
)
from accumulating_billing.tests.utils import (
	CREATED_GENERATORS,
	add,
	ensure_fiscal_years,
	fetch,
	generators_of,
	login,
	make_customer,
	make_generator,
	make_item,
	make_template,
	make_user,
	portal_user_for,
	retire_created_generators,
)


class TestPermissionMatrix(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_fiscal_years(2025, 2026, 2027)
		cls.created: list[tuple[str, str]] = []
		f = cls.f = frappe._dict(item=make_item("_AB Matrix Work", price=10))
		f.customer_a, f.customer_b, f.customer_c, f.customer_d = (make_customer() for _ in range(4))
		f.generator = make_generator(f.customer_a, title="Matrix A").name
		f.other_generator = make_generator(f.customer_b, title="Matrix B").name
		f.template = make_template().name
		users = [
			None,
			portal_user_for(f.customer_b),
			make_user(["Accumulating Billing Contributor"]),
			make_user(["Accounts User"]),
		]
		frappe.get_doc(
			{"doctype": "User Permission", "user": users[2], "allow": "Customer", "for_value": f.customer_a}
		).insert(ignore_permissions=True)
		cls.targets = cls.make_documents()
		frappe.db.commit()
		cls.users = dict(zip(CALLERS, users, strict=True))
		cls.clients = {
			caller: login(user) if user else get_test_client() for caller, user in cls.users.items()
		}
		cls.calls = 0

	@classmethod
	def make_documents(cls) -> dict:
		"""One document of each DocType of the app, the target of read, update and delete."""
		f = cls.f
		rule = frappe.get_doc(
			{
				"doctype": "Accumulating Assignment Rule",
				"enabled": 0,
				"document_type": "Customer",
				"event": "New",
				"customer_field": "name",
				"template": f.template,
			}
		).insert(ignore_permissions=True)
		automation = frappe.get_doc(
			{
				"doctype": "Accumulating Automation",
				"parent": f.other_generator,
				"parenttype": GENERATOR,
				"parentfield": "automations",
				"event": "Generated",
			}
		)
		run = frappe.get_doc(
			{
				"doctype": "Accumulating Automation Run",
				"sales_invoice": "_AB matrix none",
				"generator": f.generator,
				"event": "Generated",
			}
		)
		invoice_tab = frappe.get_doc(
			{
				"doctype": "Accumulating Invoice Tab",
				"parent": cls.matrix_invoice(),
				"parenttype": "Sales Invoice",
				"parentfield": "accumulating_tabs",
				"generator": f.generator,
			}
		)
		log = frappe.get_doc(
			{
				"doctype": "Accumulating Generation Log",
				"generator": f.generator,
				"occurrence_date": "2099-01-01",
				"outcome": "Skipped",
			}
		)
		kickoff = frappe.get_doc(
			{
				"doctype": "Accumulating Kickoff Request",
				"company_name": "_AB Matrix Kickoff",
				"first_name": "M",
				"email_id": "ab-matrix@example.com",
				"status": "Received",
			}
		)
		for doc in (
			automation,
			run,
			invoice_tab,
			log,
			kickoff,
		):  # as the app writes them, without the web form
			doc.db_insert()
			cls.created.append((doc.doctype, doc.name))
		cls.created.append((rule.doctype, rule.name))
		return {
			GENERATOR: f.generator,
			"Accumulating Generator Item": add(f.generator, f.item, service_date="2099-01-05").name,
			"Accumulating Generator Template": f.template,
			"Accumulating Assignment Rule": rule.name,
			"Accumulating Automation": automation.name,
			"Accumulating Automation Run": run.name,
			"Accumulating Invoice Tab": invoice_tab.name,
			"Accumulating Generation Log": log.name,
			SETTINGS: SETTINGS,
			"Accumulating Kickoff Request": kickoff.name,
		}

	@classmethod
	def matrix_invoice(cls) -> str:
		"""A generated draft of generator A (a Sales Invoice the tab row belongs to)."""
		from accumulating_billing.billing.generation import generate_now

		frappe.db.set_value(GENERATOR, cls.f.generator, "generate_as", "Draft")
		add(cls.f.generator, cls.f.item, service_date="2026-01-05")
		cls.invoice, _line = generate_now(cls.f.generator, "2026-01-10")
		return cls.invoice

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		for customer in (cls.f.customer_c, cls.f.customer_d):
			CREATED_GENERATORS.extend(generators_of(customer))
		frappe.delete_doc("Sales Invoice", cls.invoice, ignore_permissions=True, force=True)
		retire_created_generators()
		for doctype, name in cls.created:
			frappe.db.delete(doctype, {"name": name})
		frappe.db.commit()
		frappe.cache.delete_keys("rl:")
		super().tearDownClass()

	def call(self, caller: str, method: str, path: str, **kwargs):
		"""One request as `caller`, from an address of its own (no rate limit in the way)."""
		type(self).calls += 1
		headers = {"X-Forwarded-For": f"10.20.{type(self).calls // 250}.{type(self).calls % 250}"}
		return fetch(self.clients[caller], path, method, headers=headers, **kwargs)

	def test_every_method_and_doctype_has_a_line(self):
		self.assertEqual(app_whitelisted_methods() - set(METHODS), set(), "methods without a line in METHODS")
		self.assertEqual(set(METHODS) - app_whitelisted_methods(), set(), "lines of methods that are gone")
		self.assertEqual(app_doctypes() ^ set(DOCTYPES), set(), "DocTypes and DOCTYPES differ")

	def test_methods(self):
		failures = []
		for caller_index, caller in enumerate(CALLERS):
			for method, row in METHODS.items():
				expected = row.answers[caller_index]
				before = fingerprint()
				response = self.call(
					caller, "post", f"/api/method/{method}", data=row.args(self.f, self.f.generator)
				)
				if response.status_code != STATUS[expected]:
					failures.append(
						f"{caller} {method}: {response.status_code}, expected {STATUS[expected]}: "
						+ response.get_data(as_text=True)[:300]
					)
				if (expected != "O" or not row.writes) and fingerprint() != before:
					failures.append(f"{caller} {method}: answered {response.status_code} and wrote something")
		self.assertEqual(failures, [], "\n".join(failures))

	def test_unknown_generator_answers_as_a_forbidden_one(self):
		"""A guest, a portal user or a contributor learns nothing from a generator's name; staff are told."""
		forbidden = {
			CALLERS[0]: self.f.generator,
			CALLERS[1]: self.f.generator,
			CALLERS[2]: self.f.other_generator,
		}
		for method, row in METHODS.items():
			if row.args(self.f, UNKNOWN) == row.args(self.f, self.f.generator):
				continue  # no generator among its arguments
			for caller, target in forbidden.items():
				with self.subTest(method=method, caller=caller):
					before = fingerprint()
					refused = self.call(
						caller, "post", f"/api/method/{method}", data=row.args(self.f, target)
					)
					unknown = self.call(
						caller, "post", f"/api/method/{method}", data=row.args(self.f, UNKNOWN)
					)
					self.assertEqual(refused.status_code, 403)
					self.assertEqual(
						answer(unknown), tuple(_replace(answer(refused), target, UNKNOWN)), method
					)
					self.assertEqual(fingerprint(), before)
			with self.subTest(method=method, caller="staff"):
				response = self.call(
					CALLERS[3], "post", f"/api/method/{method}", data=row.args(self.f, UNKNOWN)
				)
				self.assertEqual(response.status_code, 404, response.get_data(as_text=True))
				self.assertIn("does not exist", response.get_data(as_text=True))

	def test_rest_resources(self):
		failures = []
		for doctype, answers in DOCTYPES.items():
			path = f"/api/resource/{quote(doctype)}"
			doc_path = f"{path}/{quote(str(self.targets[doctype]))}"
			requests = {
				"list": ("get", path, {}),
				"read": ("get", doc_path, {}),
				"insert": ("post", path, {"json": {}}),
				"update": ("put", doc_path, {"json": {}}),
				"delete": ("delete", doc_path, {}),
			}
			for caller_index, caller in enumerate(CALLERS):
				for operation, expected in zip(OPERATIONS, answers[caller_index], strict=True):
					method, url, kwargs = requests[operation]
					before = fingerprint()
					response = self.call(caller, method, url, **kwargs)
					status = STATUS[expected]
					if operation == "delete" and expected == "O":
						status = 202
					if response.status_code != status:
						failures.append(
							f"{caller} {operation} {doctype}: {response.status_code}, expected {status}: "
							+ response.get_data(as_text=True)[:300]
						)
					writes = expected == "O" and operation in ("update", "delete")
					if not writes and fingerprint() != before:
						failures.append(f"{caller} {operation} {doctype}: wrote something")
		self.assertEqual(failures, [], "\n".join(failures))


def _replace(value, old: str, new: str):
	if isinstance(value, str):
		return value.replace(old, new)
	if isinstance(value, list | tuple):
		return type(value)(_replace(v, old, new) for v in value)
	return value
