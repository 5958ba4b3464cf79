"""Issue 25: every way into a tab is guarded, not only the app's own endpoints. Each finding of the issue, over
HTTP through Frappe's real request path (werkzeug's client over frappe.app.application), as the attacker made
it: Frappe's generic endpoints for a portal user, the web form endpoint whatever the install order of the
payments app, a narrow User Permission, markup in a description; then what an independent read of the code
pointed at. The permission matrix (test_permission_matrix.py) proves the same isolation case by case."""

import json
from urllib.parse import quote, urlencode

import frappe
from frappe.tests.utils import patch_hooks

from accumulating_billing.billing import onboarding
from accumulating_billing.billing.item_status import ON_HOLD, UNBILLED
from accumulating_billing.billing.web_form_guard import ACCEPT, GUARD, PAYMENTS_ACCEPT
from accumulating_billing.tests import tab_world
from accumulating_billing.tests.tab_world import (
	B_WORK,
	CALLERS,
	GENERATOR,
	ITEM,
	SECRET,
	answer,
	body,
	changed,
	checksums,
	replace,
)
from accumulating_billing.tests.utils import add

GUEST, PORTAL_A, PORTAL_B, CONTRIBUTOR_ALL, CONTRIBUTOR_GENERATORS, ACCOUNTS_USER = CALLERS
JSON_MARKUP = '["<img src=x onerror=alert(document.domain)>"]'


class WaysIntoATab(tab_world.WorldTestCase):
	def target(self, key: str) -> str:
		return self.w.targets[key]


class TestPortalReadsOnlyTheRunningTab(WaysIntoATab):
	"""Finding 1: Frappe's web form data, print view and PDF trusted a website permission that said yes to any
	read by the customer's portal users, and returned every field (internal notes) of Active and Draft tabs."""

	def test_web_form_data_print_view_and_pdf_refuse_the_portal_user(self):
		for key in ("active", "draft", "archived", "active item", "draft item"):
			doctype = GENERATOR if "item" not in key else ITEM
			query = {"doctype": doctype, "web_form_name": "Client Kickoff"}
			paths = {
				"get_form_data": "/api/method/frappe.website.doctype.web_form.web_form.get_form_data?"
				+ urlencode({**query, "docname": self.target(key)}),
				"printview": "/printview?" + urlencode({"doctype": doctype, "name": self.target(key)}),
				"download_pdf": "/api/method/frappe.utils.print_format.download_pdf?"
				+ urlencode({"doctype": doctype, "name": self.target(key)}),
			}
			for endpoint, path in paths.items():
				with self.subTest(target=key, endpoint=endpoint):
					response = self.call(PORTAL_A, "get", path)
					self.assertEqual(response.status_code, 403, body(response)[:300])
					self.assertNotIn(SECRET, body(response))

	def test_the_running_tab_still_shows_the_customer_their_tab_and_invoices(self):
		page = self.call(PORTAL_A, "get", "/running-tab")
		self.assertEqual(page.status_code, 200)
		self.assertIn("AB A unbilled work active", body(page))
		self.assertNotIn(SECRET, body(page))
		self.assertNotIn("AB A unbilled work draft", body(page))  # a Draft tab is not the customer's yet
		self.assertNotIn(B_WORK, body(page))
		invoices = self.call(PORTAL_A, "get", "/invoices")
		self.assertEqual(invoices.status_code, 200)
		self.assertIn(self.target("active invoice"), body(invoices))
		self.assertNotIn(self.target("draft invoice"), body(invoices))


class TestWebFormGuardWhateverTheInstallOrder(WaysIntoATab):
	"""Finding 2: with the payments app installed after this app, its override of the web form endpoint runs,
	and the before_request fallback read `/api/v2/method/...accept/` and `/api/v2/method/Web Form/accept/`
	differently from Frappe's router: a guest created Leads. Here the order is the site's own and, where the
	site has payments, also payments-last (simulated as the existing guard test does)."""

	PATHS = (
		f"/api/method/{ACCEPT}",
		f"/api/method/{ACCEPT}/",
		f"/api/method/{ACCEPT}/anything",
		f"/api/v1/method/{ACCEPT}/",
		f"/api/v2/method/{ACCEPT}",
		f"/api/v2/method/{ACCEPT}/",
		"/api/v2/method/Web Form/accept",
		"/api/v2/method/Web Form/accept/",
		f"/api/method/{PAYMENTS_ACCEPT}/",
		f"/api/v2/method/{PAYMENTS_ACCEPT}/",
	)

	def post_lead(self, path: str, **extra):
		lead = {
			"doctype": "Lead",
			"first_name": "Mallory",
			"email_id": f"m-{frappe.generate_hash()}@example.com",
		}
		data = {"web_form": "Client Kickoff", "data": json.dumps(lead), **extra}
		return self.call(GUEST, "post", quote(path), data=data)

	def assert_no_lead(self):
		for path in self.PATHS:
			with self.subTest(path=path):
				before = frappe.db.count("Lead")
				response = self.post_lead(path)
				frappe.db.rollback()
				self.assertEqual(frappe.db.count("Lead"), before, body(response)[:300])
				# the form's own DocType took the data: a kickoff without its fields is refused
				self.assertEqual(response.status_code, 417, body(response)[:300])
		with self.subTest(path="/ with cmd"):
			before = frappe.db.count("Lead")
			self.post_lead("/", cmd=ACCEPT)
			frappe.db.rollback()
			self.assertEqual(frappe.db.count("Lead"), before)

	def test_no_lead_in_this_sites_install_order(self):
		self.assert_no_lead()

	def test_no_lead_when_payments_comes_after_the_app(self):
		if "payments" not in frappe.get_installed_apps():
			self.skipTest("the payments app is not installed on this site (its accept is the other override)")
		overrides = {ACCEPT: [GUARD, PAYMENTS_ACCEPT], PAYMENTS_ACCEPT: [GUARD]}
		with patch_hooks({"override_whitelisted_methods": overrides}):
			self.assertEqual(frappe.override_whitelisted_method(ACCEPT), PAYMENTS_ACCEPT)
			self.assert_no_lead()


class TestUserPermissionsAsFrappeMeansThem(WaysIntoATab):
	"""Finding 3: a contributor whose one User Permission is Customer A, applied only to Accumulating Generator,
	listed every customer's tab items: the scope check counted any User Permission, whatever it applies to."""

	def test_a_generators_only_permission_opens_no_other_customers_tab(self):
		fields = quote(json.dumps(["customer", "description", "rate"]))
		for caller in (CONTRIBUTOR_GENERATORS, CONTRIBUTOR_ALL):
			with self.subTest(caller=caller):
				response = self.call(caller, "get", f"/api/resource/{quote(ITEM)}?fields={fields}&limit=0")
				self.assertEqual(response.status_code, 200, body(response)[:300])
				self.assertNotIn(B_WORK, body(response))
				self.assertEqual({row["customer"] for row in response.json["data"]}, {self.w.customer_a})

	def test_filters_on_fields_the_contributor_cannot_read_are_refused(self):
		"""A filter on the internal notes (or any generator field) told a contributor which names match."""
		filters = quote(json.dumps([["internal_notes", "like", f"%{SECRET}%"]]))
		joined = quote(json.dumps([[GENERATOR, "internal_notes", "like", f"%{SECRET}%"]]))
		for caller in (CONTRIBUTOR_ALL, CONTRIBUTOR_GENERATORS):
			for path in (
				f"/api/resource/{quote(GENERATOR)}?filters={filters}",
				f"/api/v2/document/{quote(GENERATOR)}?filters={filters}",
				f"/api/resource/{quote(ITEM)}?filters={joined}",
				f"/api/method/frappe.client.get_count?doctype={quote(GENERATOR)}&filters={filters}",
				f"/api/method/frappe.client.get?doctype={quote(GENERATOR)}&filters={filters}",
			):
				with self.subTest(caller=caller, path=path):
					response = self.call(caller, "get", path)
					self.assertEqual(response.status_code, 403, body(response)[:300])
					self.assertNotIn(self.target("active"), body(response))


class TestMarkupNeverRuns(WaysIntoATab):
	"""Finding 4: a contributor's description that parses as JSON skipped Frappe's sanitizer, went onto the
	Sales Invoice line as it was, and ran in the invoice's print view."""

	def test_a_json_wrapped_tag_is_stored_as_text_and_printed_escaped(self):
		response = self.call(
			CONTRIBUTOR_ALL,
			"post",
			"/api/method/accumulating_billing.api.add_item",
			data={
				"generator": self.target("active"),
				"item_code": self.w.item,
				"rate": 7,
				"service_date": "2026-02-05",
				"description": JSON_MARKUP,
			},
		)
		self.assertEqual(response.status_code, 200, body(response)[:300])
		frappe.db.rollback()
		stored = frappe.db.get_value(ITEM, response.json["message"], "description")
		self.assertEqual(stored, '[""]')
		from accumulating_billing.billing.generation import run_generator

		invoice = run_generator(self.target("active"), "2026-03-01").invoices[0]
		page = self.call(
			ACCOUNTS_USER, "get", "/printview?" + urlencode({"doctype": "Sales Invoice", "name": invoice})
		)
		self.assertEqual(page.status_code, 200)
		self.assertNotIn("onerror", body(page))
		self.assertNotIn("<img src=x", body(page))


class TestUnknownAndForbiddenLookAlike(WaysIntoATab):
	"""`/api/resource/<DocType>/<name>` answered 403 for a document that exists and 404 for one that does not,
	to guests too: anyone could list generator names by trying them."""

	def test_same_answer_for_an_unknown_and_a_forbidden_document(self):
		unknown = {GENERATOR: "ACG-99999999", ITEM: "no-such-item-ab25"}
		forbidden = {GENERATOR: self.target("draft"), ITEM: self.w.item_b}
		for caller in (GUEST, PORTAL_A, PORTAL_B, CONTRIBUTOR_ALL, CONTRIBUTOR_GENERATORS):
			for doctype in (GENERATOR, ITEM):
				for template in (
					"/api/resource/{doctype}/{name}",
					"/api/v2/document/{doctype}/{name}",
					"/api/method/frappe.desk.form.load.getdoc?doctype={doctype}&name={name}",
					"/api/method/frappe.client.get?doctype={doctype}&name={name}",
					"/api/method/frappe.website.doctype.web_form.web_form.get_form_data?doctype={doctype}"
					"&docname={name}&web_form_name=Client%20Kickoff",
					"/api/method/frappe.utils.print_format.download_pdf?doctype={doctype}&name={name}",
					"/api/method/frappe.templates.includes.likes.likes.like?reference_doctype={doctype}"
					"&reference_name={name}&like=1",
				):
					with self.subTest(caller=caller, doctype=doctype, path=template):
						answers = []
						for name in (forbidden[doctype], unknown[doctype]):
							path = template.format(doctype=quote(doctype), name=quote(name))
							answers.append(replace(answer(self.call(caller, "get", path)), name, "X"))
						self.assertEqual(answers[0][0], 403)
						self.assertEqual(answers[0], answers[1])

	def test_staff_are_told_it_does_not_exist(self):
		response = self.call(ACCOUNTS_USER, "get", f"/api/resource/{quote(GENERATOR)}/ACG-99999999")
		self.assertEqual(response.status_code, 404)


class TestHeldLinesAndOnboarding(WaysIntoATab):
	def held_line(self, owner: str) -> str:
		"""An On Hold line on A's Active tab, added by `owner` (its item disabled and enabled again)."""
		frappe.set_user(owner)
		name = (
			frappe.get_doc(
				{
					"doctype": ITEM,
					"generator": self.target("active"),
					"item_code": self.w.item,
					"rate": 3,
					"service_date": "2099-02-01",
				}
			)
			.insert(ignore_permissions=True)
			.name
		)
		frappe.set_user("Administrator")
		frappe.db.set_value(ITEM, name, {"status": ON_HOLD, "hold_reason": "AB held"})
		frappe.db.commit()
		return name

	def test_a_contributor_saving_their_held_line_leaves_it_on_hold(self):
		"""PUT {} on their own On Hold line released it, without write permission on the generator and without
		a log line."""
		line = self.held_line(self.w.users[CONTRIBUTOR_ALL])
		response = self.call(CONTRIBUTOR_ALL, "put", f"/api/resource/{quote(ITEM)}/{line}", json={})
		self.assertEqual(response.status_code, 200, body(response)[:300])
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value(ITEM, line, "status"), ON_HOLD)

	def test_staff_saving_a_corrected_held_line_release_it_with_a_log_line(self):
		line = self.held_line("Administrator")
		response = self.call(ACCOUNTS_USER, "put", f"/api/resource/{quote(ITEM)}/{line}", json={})
		self.assertEqual(response.status_code, 200, body(response)[:300])
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value(ITEM, line, "status"), UNBILLED)
		log = frappe.get_all(
			"Accumulating Generation Log",
			filters={
				"generator": self.target("active"),
				"outcome": "Released",
				"reason": ("like", f"%{line}%"),
			},
			pluck="reason",
		)
		self.assertEqual(len(log), 1, log)
		self.assertIn(self.w.users[ACCOUNTS_USER], log[0])

	def test_the_onboarding_tick_is_refused_whatever_the_case_of_the_step(self):
		frappe.db.set_value(
			"Onboarding Step", onboarding.GENERATE_NOW, "is_complete", 0, update_modified=False
		)
		frappe.db.commit()
		onboarding.forget_ticks()
		for name in (onboarding.GENERATE_NOW.lower(), onboarding.GENERATE_NOW.upper() + " "):
			with self.subTest(name=name):
				response = self.call(
					ACCOUNTS_USER,
					"post",
					"/api/method/frappe.desk.desktop.update_onboarding_step",
					data={"name": name, "field": "is_complete", "value": 1},
				)
				self.assertEqual(response.status_code, 417, body(response)[:300])
				frappe.db.rollback()
				self.assertEqual(
					frappe.db.get_value("Onboarding Step", onboarding.GENERATE_NOW, "is_complete"), 0
				)

	def test_add_item_is_post_only_and_a_get_of_the_tab_writes_nothing(self):
		before = checksums()
		response = self.call(
			ACCOUNTS_USER,
			"get",
			"/api/method/accumulating_billing.api.add_item?"
			+ urlencode({"generator": self.target("active"), "item_code": self.w.item, "rate": 1}),
		)
		self.assertEqual(response.status_code, 403, body(response)[:300])
		self.assertEqual(changed(before, checksums()), [])
		# a line the next invoice bills: the preview has lines to show
		add(self.target("active"), self.w.item, service_date="2026-02-10")
		frappe.db.set_value("Onboarding Step", onboarding.PREVIEW, "is_complete", 0, update_modified=False)
		frappe.db.commit()
		onboarding.forget_ticks()
		before = checksums()
		response = self.call(
			ACCOUNTS_USER,
			"get",
			f"/api/method/accumulating_billing.api.get_tab?generator={self.target('active')}",
		)
		self.assertEqual(response.status_code, 200, body(response)[:300])
		self.assertEqual(changed(before, checksums()), [])
		# the desk's form posts: that is the person looking at the preview
		response = self.call(
			ACCOUNTS_USER,
			"post",
			"/api/method/accumulating_billing.api.get_tab",
			data={"generator": self.target("active")},
		)
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("Onboarding Step", onboarding.PREVIEW, "is_complete"), 1)
