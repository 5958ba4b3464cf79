"""The Client Kickoff Web Form through its real endpoints, as a guest (DESIGN §6)."""

import json

import frappe
from frappe.tests.test_api import FrappeAPITestCase, make_request
from frappe.utils import get_test_client

from accumulating_billing.tests.utils import (
	CREATED_GENERATORS,
	ensure_fiscal_years,
	generators_of,
	make_customer,
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

	def submit(self, **values):
		"""POST the form as a guest, exactly as the browser does (Frappe's web form script sends the doctype;
		the payments app's override of `accept` reads it from the data). Frappe's per-minute limit on web
		forms (10, or 5 with the payments app) is reset first: the app's own hourly limit is what is tested."""
		frappe.cache.delete_keys("rl:")
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
		response = self.post(self.method(ACCEPT), {"web_form": "Client Kickoff", "data": json.dumps(data)})
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
		self.set_settings(kickoff_limit_per_hour=2)
		clear_rate_limits()
		statuses = [self.submit()[1].status_code for _ in range(3)]
		for request in frappe.get_all(REQUEST, filters={"status": "Completed"}, pluck="generator"):
			CREATED_GENERATORS.append(request)
		self.assertEqual(statuses[:2], [200, 200])
		self.assertEqual(statuses[2], 429)


def clear_rate_limits() -> None:
	frappe.cache.delete_keys("accumulating-kickoff:")
	frappe.cache.delete_keys("rl:")
