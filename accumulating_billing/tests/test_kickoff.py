"""The Client Kickoff Web Form through its real endpoints, as a guest (docs/architecture.md §12): a submission waits
for its email's confirmation (billing/kickoff_confirm.py, issue 25), and the confirmation's POST creates the records."""

import json
from urllib.parse import urlsplit

import frappe
from frappe.tests.test_api import FrappeAPITestCase, make_request
from frappe.utils import get_test_client

from accumulating_billing.accumulating_billing.web_form.client_kickoff.client_kickoff import (
	PAGE_LIMIT_PER_MINUTE,
)
from accumulating_billing.billing import kickoff_confirm
from accumulating_billing.doctypes import REQUEST, SETTINGS
from accumulating_billing.tests.utils import (
	CREATED_GENERATORS,
	confirmation_key,
	ensure_fiscal_years,
	ensure_outgoing_email_account,
	generators_of,
	make_customer,
	make_notes_web_form,
	make_template,
	retire_created_generators,
)
from accumulating_billing.www.client_kickoff_confirm import PAGE_LIMIT_PER_MINUTE as CONFIRM_PAGE_LIMIT

ACCEPT = "frappe.website.doctype.web_form.web_form.accept"


class TestClientKickoff(FrappeAPITestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_fiscal_years(2025, 2026, 2027)
		ensure_outgoing_email_account()
		cls.offered = make_template(title="Monthly care", offered_at_kickoff=1)
		cls.hidden = make_template(title="Internal only", offered_at_kickoff=0)
		frappe.db.commit()

	def setUp(self):
		self.set_settings(kickoff_create_portal_user=0, kickoff_limit_per_hour=1000, kickoff_confirm_email=1)
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

	def confirm(self, key: str, ip: str = "10.43.0.1"):
		"""The confirmation page's button, as a guest (its own address)."""
		response = self.post(
			self.method("accumulating_billing.billing.kickoff_confirm.confirm"),
			{"key": key},
			headers={"X-Forwarded-For": ip},
		)
		frappe.db.rollback()
		return response

	def submit_and_confirm(self, **values):
		"""Submit the form, then confirm its email with the key the email carries."""
		data, response = self.submit(**values)
		self.assertEqual(response.status_code, 200, response.data)
		request = frappe.get_last_doc(REQUEST)
		self.assertEqual(request.status, "Awaiting Confirmation")
		confirmed = self.confirm(confirmation_key(request.name))
		self.assertEqual(confirmed.status_code, 200, confirmed.data)
		self.assertEqual(confirmed.json["message"], {"status": "Completed"})
		return data, frappe.get_doc(REQUEST, request.name)

	def test_a_submission_keeps_only_the_request_and_emails_a_link(self):
		counts = {
			d: frappe.db.count(d)
			for d in ("Customer", "Contact", "Address", "User", "Accumulating Generator")
		}
		data, response = self.submit()
		self.assertEqual(response.status_code, 200, response.data)
		request = frappe.get_last_doc(REQUEST)
		self.assertEqual((request.status, request.email_id), ("Awaiting Confirmation", data["email_id"]))
		self.assertEqual({d: frappe.db.count(d) for d in counts}, counts)
		self.assertIsNone(request.customer)
		key = confirmation_key(request.name)
		self.assertGreaterEqual(len(key), 40)
		# only the key's hash is stored: the desk (or a copy of the database) cannot confirm it
		self.assertEqual(request.confirm_key_hash, kickoff_confirm.key_hash(key))
		self.assertNotIn(key, json.dumps(request.as_dict(), default=str))
		self.assertEqual(
			frappe.utils.time_diff_in_hours(request.expires_on, request.confirmation_sent_on), 48
		)
		emails = frappe.get_all(
			"Email Queue Recipient",
			filters={
				"parent": (
					"in",
					frappe.get_all("Email Queue", {"reference_name": request.name}, pluck="name"),
				)
			},
			pluck="recipient",
		)
		self.assertEqual(emails, [data["email_id"]])

	def test_guest_submission_creates_customer_contact_and_generator(self):
		data, request = self.submit_and_confirm(
			phone="+49 30 1234567", address_line1="Main St 1", city="Berlin", country="Germany"
		)
		self.assertEqual(request.status, "Completed")
		self.assertIsNotNone(request.confirmed_on)
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
		data, request = self.submit_and_confirm()
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
			({"first_name": "A" * 70, "last_name": "B" * 70}, "too long together"),
			({"company_name": "<script>alert(1)</script>"}, "company or client name"),
			({"country": "Atlantis", "address_line1": "x", "city": "y"}, "Could not find Country"),
		]
		for values, message in cases:
			with self.subTest(values=values):
				counts = {
					d: frappe.db.count(d)
					for d in ("Customer", "Contact", REQUEST, "Accumulating Generator", "Email Queue")
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

	def test_without_the_confirmation_the_records_come_at_once(self):
		self.set_settings(kickoff_confirm_email=0)
		data, response = self.submit()
		self.assertEqual(response.status_code, 200, response.data)
		request = frappe.get_last_doc(REQUEST)
		CREATED_GENERATORS.append(request.generator)
		self.assertEqual(request.status, "Completed")
		self.assertEqual(
			frappe.db.get_value("Customer", request.customer, "customer_name"), data["company_name"]
		)
		self.assertFalse(frappe.db.exists("Email Queue", {"reference_name": request.name}))

	def test_the_link_page_shows_the_request_and_writes_nothing(self):
		data, _response = self.submit()
		request = frappe.get_last_doc(REQUEST)
		key = confirmation_key(request.name)
		before = frappe.db.count("Customer"), frappe.db.get_value(REQUEST, request.name, "modified")
		page = make_request(target=self.guest.get, args=(f"/client-kickoff-confirm?key={key}",))
		self.assertEqual(page.status_code, 200)
		self.assertIn(data["company_name"], page.get_data(as_text=True))
		self.assertIn("ab-confirm", page.get_data(as_text=True))
		frappe.db.rollback()
		self.assertEqual(
			(frappe.db.count("Customer"), frappe.db.get_value(REQUEST, request.name, "modified")), before
		)
		self.assertEqual(frappe.db.get_value(REQUEST, request.name, "status"), "Awaiting Confirmation")
		unknown = make_request(target=self.guest.get, args=("/client-kickoff-confirm?key=nope",))
		self.assertIn("not valid or has expired", unknown.get_data(as_text=True))

	def test_an_unknown_expired_or_used_key_creates_nothing_more(self):
		_data, request = self.submit_and_confirm()
		CREATED_GENERATORS.append(request.generator)
		customers = frappe.db.count("Customer")
		# a second click of the used link: already done, nothing new
		self.assertEqual(
			self.confirm(confirmation_key(request.name)).json["message"], {"status": "Completed"}
		)
		for key in ("", "nope", "x" * 300):
			with self.subTest(key=key):
				response = self.confirm(key)
				self.assertEqual(response.status_code, 417)
				self.assertIn("not valid or has expired", response.get_data(as_text=True))
		self.submit()
		late = frappe.get_last_doc(REQUEST)
		frappe.db.set_value(REQUEST, late.name, "expires_on", frappe.utils.add_to_date(None, minutes=-1))
		frappe.db.commit()
		response = self.confirm(confirmation_key(late.name))
		self.assertEqual(response.status_code, 417)
		self.assertEqual(frappe.db.count("Customer"), customers)

	def test_unconfirmed_requests_expire_after_48_hours(self):
		self.submit()
		fresh = frappe.get_last_doc(REQUEST)
		self.submit()
		stale = frappe.get_last_doc(REQUEST)
		frappe.db.set_value(
			REQUEST, stale.name, "expires_on", frappe.utils.add_to_date(stale.confirmation_sent_on, hours=-1)
		)
		self.assertGreaterEqual(kickoff_confirm.expire_requests(), 1)
		frappe.db.commit()
		self.assertEqual(
			frappe.db.get_value(REQUEST, stale.name, ["status", "confirm_key_hash"]), ("Expired", None)
		)
		self.assertEqual(frappe.db.get_value(REQUEST, fresh.name, "status"), "Awaiting Confirmation")
		self.assertIn("kickoff_confirm.expire_requests", str(frappe.get_hooks("scheduler_events")["hourly"]))

	def test_one_confirmation_email_per_address_whoever_submits(self):
		"""A stranger cannot make the site email a third party more than once in 48 hours: a second submission for
		the address (another company, another IP address) is refused and sends nothing."""
		victim = f"ab-victim-{frappe.generate_hash(length=8)}@example.com"
		_data, first = self.submit(email_id=victim)
		self.assertEqual(first.status_code, 200, first.data)
		queued = frappe.db.count("Email Queue")
		for ip, address in (("10.44.0.1", victim), ("10.44.0.2", victim.upper())):
			with self.subTest(address=address):
				_data, again = self.submit(ip=ip, email_id=address)
				self.assertEqual(again.status_code, 417)
				self.assertIn("already sent a confirmation link", again.get_data(as_text=True))
		self.assertEqual(frappe.db.count("Email Queue"), queued)
		self.assertEqual(frappe.db.count(REQUEST, {"email_id": victim}), 1)

	def test_confirmation_rechecks_the_plan_and_the_client(self):
		"""Up to 48 hours pass between submission and confirmation: a plan withdrawn or a client registered
		meanwhile is refused then, and nothing is created."""
		data, _response = self.submit()
		request = frappe.get_last_doc(REQUEST)
		make_customer(data["company_name"])
		frappe.db.commit()
		response = self.confirm(confirmation_key(request.name))
		self.assertEqual(response.status_code, 417)
		self.assertIn("already a client", response.get_data(as_text=True))
		self.assertEqual(frappe.db.get_value(REQUEST, request.name, "status"), "Awaiting Confirmation")

	def test_confirmation_rate_limits(self):
		"""The Confirm button counts per address like the form (kickoff_limit_per_hour); the page that looks a key
		up allows 30 views per minute per address."""
		self.set_settings(kickoff_limit_per_hour=2)
		statuses = [self.confirm("no-such-key", ip="10.45.0.1").status_code for _ in range(3)]
		self.assertEqual(statuses, [417, 417, 429])
		self.assertEqual(self.confirm("no-such-key", ip="10.45.0.2").status_code, 417)
		headers = {"X-Forwarded-For": "10.45.0.3"}
		pages = [
			make_request(
				target=self.guest.get, args=("/client-kickoff-confirm?key=x",), kwargs={"headers": headers}
			).status_code
			for _ in range(CONFIRM_PAGE_LIMIT + 1)
		]
		self.assertEqual(pages, [200] * CONFIRM_PAGE_LIMIT + [429])

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
