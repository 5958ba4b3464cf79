"""The Client Kickoff Web Form through its real endpoints, as a guest (docs/architecture.md §12)."""

import json
from urllib.parse import urlsplit

import frappe
from frappe.tests.test_api import FrappeAPITestCase, make_request
from frappe.utils import get_test_client

from accumulating_billing.accumulating_billing.web_form.client_kickoff.client_kickoff import (
	PAGE_LIMIT_PER_MINUTE,
)
from accumulating_billing.tests.utils import (
	CREATED_GENERATORS,
	ensure_fiscal_years,
	generators_of,
	make_customer,
	make_notes_web_form,
	make_template,
	retire_created_generators,
)

ACCEPT = "frappe.website.doctype.web_form.web_form.accept"
SETTINGS = "Accumulating Billing Settings"
REQUEST = "Accumulating Kickoff Request"


class TestClientKickoff(FrappeAPITestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_fiscal_years(2025, 2026, 2027)
		cls.offered = make_template(title="Monthly care", offered_at_kickoff=1)
		cls.hidden = make_template(title="Internal only", offered_at_kickoff=0)
		frappe.db.commit()

	def setUp(self):
		self.set_settings(kickoff_create_portal_user=0, kickoff_limit_per_hour=1000)
		clear_rate_limits()
		self.guest = get_test_client()  # its own cookie jar: never logged in

	def tearDown(self):
		retire_created_generators()
		clear_rate_limits()

	def set_settings(self, **values):
		settings = frappe.get_single(SETTINGS)
		settings.update(values)
		settings.save(ignore_permissions=True)
		frappe.db.commit()

	def submit(self, ip: str | None = None, **values):
		"""POST the form as a guest, exactly as the browser does (Frappe's web form script sends the doctype),
		from `ip` or else an address of its own: Frappe's per-minute limit on web forms (10, or 5 with the
		payments app) and the app's hourly limit count per address."""
		type(self).submissions = getattr(type(self), "submissions", 0) + 1
		ip = ip or f"10.40.{self.submissions // 250}.{self.submissions % 250}"
		data = {
			"doctype": REQUEST,
			"company_name": f"_AB Kickoff {frappe.generate_hash(length=8)}",
			"customer_type": "Company",
			"first_name": "Ada",
			"last_name": "Client",
			"email_id": f"ab-kickoff-{frappe.generate_hash(length=8)}@example.com",
			"template": self.offered.name,
			**values,
		}
		response = self.post(
			self.method(ACCEPT),
			{"web_form": "Client Kickoff", "data": json.dumps(data)},
			headers={"X-Forwarded-For": ip},
		)
		frappe.db.rollback()  # see what the request committed
		return data, response

	def test_form_page_offers_only_kickoff_templates(self):
		response = make_request(target=self.guest.get, args=("/client-kickoff/new",))
		self.assertEqual(response.status_code, 200)
		html = response.get_data(as_text=True)
		self.assertIn(self.offered.name, html)
		self.assertNotIn(self.hidden.name, html)

	def test_guest_submission_creates_customer_contact_and_generator(self):
		data, response = self.submit(
			phone="+49 30 1234567", address_line1="Main St 1", city="Berlin", country="Germany"
		)
		self.assertEqual(response.status_code, 200, response.data)
		request = frappe.get_last_doc(REQUEST)
		self.assertEqual(request.status, "Completed")
		self.assertEqual(request.owner, "Guest")
		customer = frappe.get_doc("Customer", request.customer)
		self.assertEqual(customer.customer_name, data["company_name"])
		contact = frappe.get_doc("Contact", request.contact)
		self.assertEqual(contact.email_id, data["email_id"])
		self.assertEqual(contact.is_billing_contact, 1)
		self.assertEqual(
			[(link.link_doctype, link.link_name) for link in contact.links], [("Customer", customer.name)]
		)
		self.assertTrue(
			frappe.db.exists("Dynamic Link", {"parenttype": "Address", "link_name": customer.name})
		)
		generators = generators_of(customer.name)
		CREATED_GENERATORS.extend(generators)
		self.assertEqual(generators, [request.generator])
		gen = frappe.get_doc("Accumulating Generator", request.generator)
		self.assertEqual((gen.status, gen.template), ("Active", self.offered.name))
		self.assertIsNone(request.portal_user)
		self.assertFalse(frappe.db.exists("User", data["email_id"]))

	def test_portal_user_when_enabled(self):
		self.set_settings(kickoff_create_portal_user=1)
		data, response = self.submit()
		self.assertEqual(response.status_code, 200, response.data)
		request = frappe.get_last_doc(REQUEST)
		CREATED_GENERATORS.append(request.generator)
		self.assertEqual(request.portal_user, data["email_id"])
		user = frappe.get_doc("User", data["email_id"])
		self.assertEqual(user.user_type, "Website User")
		self.assertIn("Customer", [r.role for r in user.roles])
		self.assertEqual(frappe.db.get_value("Contact", request.contact, "user"), user.name)

	def test_bad_submissions_are_refused_and_write_nothing(self):
		existing = make_customer()
		frappe.db.commit()
		cases = [
			({"template": self.hidden.name}, "offered plans"),
			({"template": "_AB no such plan"}, "Could not find Plan"),
			({"email_id": "not-an-email"}, "valid email"),
			({"company_name": "   "}, "company or client name"),
			({"first_name": ""}, "first name"),
			({"company_name": existing}, "already a client"),
			({"address_line1": "Main St 1", "city": ""}, "city and a country"),
			({"country": "Atlantis", "address_line1": "x", "city": "y"}, "Could not find Country"),
		]
		for values, message in cases:
			with self.subTest(values=values):
				counts = {
					d: frappe.db.count(d) for d in ("Customer", "Contact", REQUEST, "Accumulating Generator")
				}
				_data, response = self.submit(**values)
				self.assertNotEqual(response.status_code, 200)
				self.assertIn(message, response.get_data(as_text=True))
				self.assertEqual(
					{d: frappe.db.count(d) for d in counts}, counts, "a refused submission wrote something"
				)

	def test_guest_rate_limit(self):
		"""Kickoff Submissions per Hour from one address (Frappe's rate_limit); another address is not held."""
		self.set_settings(kickoff_limit_per_hour=2)
		statuses = [self.submit(ip="10.41.0.1")[1].status_code for _ in range(3)]
		for request in frappe.get_all(REQUEST, filters={"status": "Completed"}, pluck="generator"):
			CREATED_GENERATORS.append(request)
		self.assertEqual(statuses, [200, 200, 429])
		self.assertIn(
			f"rl:{ACCEPT}:10.41.0.1",
			{key.decode().split("|", 1)[-1] for key in frappe.cache.get_keys("rl:")},
		)
		before = frappe.db.count(REQUEST)
		_data, refused = self.submit(ip="10.41.0.1")
		self.assertEqual(refused.status_code, 429)
		self.assertEqual(frappe.db.count(REQUEST), before, "a refused submission wrote something")
		self.assertEqual(self.submit(ip="10.41.0.2")[1].status_code, 200)

	def test_form_page_rate_limit(self):
		"""The public page queries the offered plans: PAGE_LIMIT_PER_MINUTE views per address and minute."""
		headers = {"X-Forwarded-For": "10.42.0.1"}
		statuses = [
			make_request(
				target=self.guest.get, args=("/client-kickoff/new",), kwargs={"headers": headers}
			).status_code
			for _ in range(PAGE_LIMIT_PER_MINUTE + 1)
		]
		self.assertEqual(statuses[:-1], [200] * PAGE_LIMIT_PER_MINUTE)
		self.assertEqual(statuses[-1], 429)
		other = make_request(
			target=self.guest.get,
			args=("/client-kickoff/new",),
			kwargs={"headers": {"X-Forwarded-For": "10.42.0.2"}},
		)
		self.assertEqual(other.status_code, 200)

	def test_a_link_keeps_its_query_string_through_the_redirect(self):
		"""/client-kickoff sends the visitor on to /client-kickoff/new (Frappe's Web Form); a link's query string
		(?_lang=es, campaign tags…) goes with it, so the form opens in the link's language."""
		headers = {"X-Forwarded-For": "10.43.0.1"}
		cases = {
			"/client-kickoff?_lang=es": "/client-kickoff/new?_lang=es",
			"/client-kickoff/?_lang=es&utm_source=mail&plan=a%20b%26c": (
				"/client-kickoff/new?_lang=es&utm_source=mail&plan=a%20b%26c"
			),
			"/client-kickoff": "/client-kickoff/new",
		}
		for path, location in cases.items():
			with self.subTest(path=path):
				response = make_request(target=self.guest.get, args=(path,), kwargs={"headers": headers})
				self.assertEqual(response.status_code, 301)
				self.assertEqual(relative(response.headers["Location"]), location)
		page = make_request(
			target=self.guest.get, args=("/client-kickoff/new?_lang=es",), kwargs={"headers": headers}
		)
		self.assertEqual(page.status_code, 200)
		self.assertIn("Alta de cliente", page.get_data(as_text=True))  # the form's title in Spanish

	def test_other_web_forms_redirect_as_frappe_does(self):
		"""Only the app's own Web Forms: another app's form keeps Frappe's redirect as it is."""
		form = make_notes_web_form("_AB Other Form", module="Website")
		self.addCleanup(lambda: (frappe.delete_doc("Web Form", form.name, force=True), frappe.db.commit()))
		response = make_request(target=self.guest.get, args=(f"/{form.route}?_lang=es",))
		self.assertEqual(response.status_code, 301)
		self.assertEqual(relative(response.headers["Location"]), f"/{form.route}/new")


def relative(location: str) -> str:
	"""A Location header without scheme and host (Werkzeug may make it absolute)."""
	parts = urlsplit(location)
	return parts.path + (f"?{parts.query}" if parts.query else "")


def clear_rate_limits() -> None:
	frappe.cache.delete_keys("rl:")
