"""Every Web Form writes only its own DocType (issue 20, billing/web_form_guard.py), over the real endpoints, as a
guest: with the payments app (whose override of the endpoint takes the DocType from the posted data) and
without it, and when another app's override would run instead of the guard."""

import json

import frappe
from frappe.tests.utils import FrappeTestCase, patch_hooks
from frappe.utils import get_test_client

from accumulating_billing.billing.web_form_guard import (
	ACCEPT,
	GUARD,
	PAYMENTS_ACCEPT,
	inner_accept,
	is_effective,
)
from accumulating_billing.doctypes import REQUEST, SETTINGS
from accumulating_billing.tests.tab_world import WATCHED, app_doctypes
from accumulating_billing.tests.utils import (
	CREATED_GENERATORS,
	ensure_fiscal_years,
	ensure_outgoing_email_account,
	fetch,
	make_notes_web_form,
	make_template,
	retire_created_generators,
)

FORM = "Client Kickoff"
# what an attacker would like the public form to create instead
INJECTED = ["Contact", "Lead", "Address", "Customer", "User", "ToDo"]


def counts() -> dict:
	frappe.db.rollback()  # see what the requests committed
	doctypes = sorted(app_doctypes() - {SETTINGS}) + [d for d in WATCHED if frappe.db.table_exists(d)]
	out = {doctype: frappe.db.count(doctype) for doctype in doctypes}
	out[SETTINGS] = frappe.db.get_singles_dict(SETTINGS)
	return out


def delta(before: dict, after: dict) -> dict:
	return {k: after[k] - before[k] for k in before if k != SETTINGS and after[k] != before[k]} | (
		{SETTINGS: "changed"} if after[SETTINGS] != before[SETTINGS] else {}
	)


class TestWebFormGuard(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_fiscal_years(2025, 2026, 2027)
		ensure_outgoing_email_account()  # a kickoff emails its confirmation link
		cls.plan = make_template(title="Guarded plan", offered_at_kickoff=1).name
		settings = frappe.get_single(SETTINGS)
		settings.update({"kickoff_create_portal_user": 0, "kickoff_limit_per_hour": 1000})
		settings.save(ignore_permissions=True)
		frappe.db.commit()
		cls.requests = 0

	def setUp(self):
		self.guest = get_test_client()

	def tearDown(self):
		frappe.db.rollback()
		CREATED_GENERATORS.extend(
			frappe.get_all(REQUEST, filters={"generator": ("is", "set")}, pluck="generator")
		)
		retire_created_generators()
		frappe.cache.delete_keys("rl:")

	def post(self, data: dict, path: str = f"/api/method/{ACCEPT}", web_form: str = FORM, **extra):
		"""POST the form as a guest from an address of its own (Frappe's per-form limit never in the way)."""
		type(self).requests += 1
		ip = f"10.30.{type(self).requests // 250}.{type(self).requests % 250}"
		body = {"web_form": web_form, "data": json.dumps(data), **extra}
		return fetch(self.guest, path, "post", data=body, headers={"X-Forwarded-For": ip})

	def kickoff(self, **values) -> dict:
		return {
			"company_name": f"_AB Guard {frappe.generate_hash(length=8)}",
			"customer_type": "Company",
			"first_name": "Mallory",
			"last_name": "Guest",
			"email_id": f"ab-guard-{frappe.generate_hash(length=8)}@example.com",
			"phone": "+49 30 555",
			"city": "Berlin",
			"template": self.plan,
			**values,
		}

	def baseline(self) -> dict:
		"""What one valid kickoff writes, posted as Frappe's own script posts it."""
		before = counts()
		response = self.post({"doctype": REQUEST, **self.kickoff()})
		self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
		return delta(before, counts())

	def assert_pinned(self, response, data: dict, written: dict, expected: dict):
		self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
		returned = response.json.get("message") or response.json.get("data")  # API v1, v2
		self.assertEqual(returned["doctype"], REQUEST)
		self.assertEqual(frappe.db.get_value(REQUEST, returned["name"], "company_name"), data["company_name"])
		self.assertEqual(written, expected, "the submission wrote something besides a kickoff")

	def test_the_guard_is_the_endpoint_unless_payments_was_installed_after_it(self):
		"""Frappe runs the last installed app's override: payments installed after this app takes Frappe's path
		(the before_request check then keeps the form to its DocType: the posts of this module run through it on
		such a site); payments' own path is always the guard's."""
		apps = frappe.get_installed_apps()
		installed = "payments" in apps
		payments_after = installed and apps.index("payments") > apps.index("accumulating_billing")
		self.assertEqual(is_effective(), not payments_after)
		self.assertEqual(
			frappe.override_whitelisted_method(ACCEPT), PAYMENTS_ACCEPT if payments_after else GUARD
		)
		self.assertEqual(frappe.override_whitelisted_method(PAYMENTS_ACCEPT), GUARD)
		# it stands in front of the payments app's accept when that app is installed, else Frappe's
		self.assertEqual(inner_accept(), PAYMENTS_ACCEPT if installed else ACCEPT)

	def post_naming(self, doctype: str, expected: dict) -> dict:
		"""Post the kickoff form naming `doctype`: without a plan it is refused and nothing at all is written; a
		valid one is a kickoff, whatever DocType it names. Returns the valid submission."""
		before = counts()
		response = self.post({"doctype": doctype, **self.kickoff(template="")})
		self.assertEqual(response.status_code, 417, response.get_data(as_text=True))
		self.assertEqual(delta(before, counts()), {})
		data = {"doctype": doctype, **self.kickoff()}
		before = counts()
		response = self.post(data)
		self.assert_pinned(response, data, delta(before, counts()), expected)
		return data

	def test_posted_doctype_creates_nothing_else(self):
		expected = self.baseline()
		self.assertEqual(expected.get(REQUEST), 1)
		for doctype in INJECTED + sorted(app_doctypes()):
			with self.subTest(doctype=doctype):
				self.post_naming(doctype, expected)

	def test_every_path_to_the_endpoint_is_guarded(self):
		expected = self.baseline()
		paths = [
			f"/api/method/{ACCEPT}",
			f"/api/method/{PAYMENTS_ACCEPT}",  # whitelisted in the payments app, reachable on its own
			f"/api/v2/method/{ACCEPT}",
			"/api/v2/method/Web Form/accept",
		]
		for path in paths:
			with self.subTest(path=path):
				data = {"doctype": "Contact", **self.kickoff()}
				before = counts()
				response = self.post(data, path=path)
				self.assert_pinned(response, data, delta(before, counts()), expected)
		with self.subTest(path="/ with cmd"):
			data = {"doctype": "Contact", **self.kickoff()}
			before = counts()
			response = self.post(data, path="/", cmd=ACCEPT)
			self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
			self.assertEqual(delta(before, counts()), expected)
			self.assertTrue(frappe.db.exists(REQUEST, {"company_name": data["company_name"]}))

	def test_a_named_document_is_refused_without_allow_edit(self):
		self.assertEqual(frappe.db.get_value("Web Form", FORM, "allow_edit"), 0)
		data = self.kickoff()
		self.assertEqual(self.post({"doctype": REQUEST, **data}).status_code, 200)
		frappe.db.rollback()
		request = frappe.get_doc(REQUEST, {"company_name": data["company_name"]})
		for path in (f"/api/method/{ACCEPT}", f"/api/method/{PAYMENTS_ACCEPT}"):
			for how, extra, values in (
				("name in the data", {}, {"name": request.name}),
				("docname", {"docname": request.name}, {}),
			):
				with self.subTest(path=path, how=how):
					before = counts()
					response = self.post(
						{"doctype": REQUEST, **data, "company_name": "_AB Taken Over", **values},
						path=path,
						**extra,
					)
					self.assertEqual(response.status_code, 403, response.get_data(as_text=True))
					self.assertIn("not allowed to update", response.get_data(as_text=True))
					self.assertEqual(delta(before, counts()), {})
					self.assertEqual(
						frappe.db.get_value(REQUEST, request.name, "company_name"), data["company_name"]
					)

	def test_guard_holds_when_another_app_overrides_the_endpoint_after_it(self):
		"""An app installed after this one that overrides the endpoint runs instead of the guard; the
		before_request check still keeps the form to its DocType."""
		if "payments" not in frappe.get_installed_apps():
			# Frappe runs no method of an app the site does not have: no other override to stand in for
			self.skipTest("the payments app is not installed on this site (its accept is the other override)")
		expected = self.baseline()
		overrides = {ACCEPT: [GUARD, PAYMENTS_ACCEPT], PAYMENTS_ACCEPT: [GUARD]}
		with patch_hooks({"override_whitelisted_methods": overrides}):
			self.assertEqual(frappe.override_whitelisted_method(ACCEPT), PAYMENTS_ACCEPT)
			self.assertFalse(is_effective())
			for doctype in ("Contact", "Lead", "ToDo"):
				with self.subTest(doctype=doctype):
					data = self.post_naming(doctype, expected)
			frappe.db.rollback()
			request = frappe.get_doc(REQUEST, {"company_name": data["company_name"]})
			response = self.post({"doctype": REQUEST, "name": request.name, **self.kickoff()})
			self.assertEqual(response.status_code, 403, response.get_data(as_text=True))

	def notes_form(self) -> str:
		"""A second public Web Form (ToDo, one field), deleted with its notes after the test."""
		form = make_notes_web_form("_AB Guard Notes")

		def cleanup():
			frappe.db.rollback()
			frappe.db.delete("ToDo", {"description": ("like", "%_AB guarded note%")})
			frappe.delete_doc("Web Form", form.name, ignore_permissions=True, force=True)
			frappe.db.commit()

		self.addCleanup(cleanup)
		return form.name

	def test_every_web_form_of_the_site_is_guarded(self):
		form = self.notes_form()
		for doctype in ("Contact", "User", "Lead"):
			with self.subTest(doctype=doctype):
				note = f"_AB guarded note {frappe.generate_hash(length=8)}"
				before = counts()
				response = self.post(
					{"doctype": doctype, "description": note, "first_name": "M"}, web_form=form
				)
				self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
				self.assertEqual(response.json["message"]["doctype"], "ToDo")
				written = delta(before, counts())
				self.assertEqual(written.get("ToDo"), 1)
				self.assertNotIn(doctype, written)
				self.assertTrue(frappe.db.exists("ToDo", {"description": ("like", f"%{note}%")}))

	def test_the_endpoint_keeps_the_limit_of_the_accept_behind_it(self):
		"""Per address and form and minute: 10 with Frappe's accept, 5 with the payments app's."""
		form = self.notes_form()
		limit = 5 if inner_accept() == PAYMENTS_ACCEPT else 10
		headers = {"X-Forwarded-For": "10.31.0.1"}
		body = {"web_form": form, "data": json.dumps({"description": "_AB guarded note limit"})}
		statuses = [
			fetch(self.guest, f"/api/method/{ACCEPT}", "post", data=body, headers=headers).status_code
			for _ in range(limit + 1)
		]
		self.assertEqual(statuses, [200] * limit + [429])
		frappe.db.rollback()
		self.assertEqual(
			frappe.db.count("ToDo", {"description": ("like", "%_AB guarded note limit%")}), limit
		)
