"""No markup from a lower-trust writer reaches a page as markup (issue 25, billing/plain_text.py).

A payload corpus (script tags, event handlers, javascript: links, JSON-wrapped markup, entity-encoded and
unfinished tags, Jinja `{{ }}` and `{% %}`) goes through every field a contributor or a guest writes: a tab
item's description, item name and reference (through api.add_item and the REST API) and each field of the
Client Kickoff form. Each is stored as plain text, and every place that shows it (the portal's running tab, the
desk's running tab data, the invoice line and its print view, the invoice email, the kickoff confirmation
email and page) shows it escaped: no element, attribute or script of the payload is live, and no template
delimiter is evaluated. browser_tests/test_markup.py opens the same pages in a real browser."""

import json
import re
from html.parser import HTMLParser
from urllib.parse import urlencode

import frappe

from accumulating_billing.billing.generation import run_generator
from accumulating_billing.billing.plain_text import as_html, plain_text
from accumulating_billing.tests import tab_world
from accumulating_billing.tests.tab_world import CALLERS, ITEM, body
from accumulating_billing.tests.utils import (
	CREATED_GENERATORS,
	confirmation_key,
	make_template,
	queued_emails,
)

GUEST, PORTAL_A, _PORTAL_B, CONTRIBUTOR, _CONTRIBUTOR_GENERATORS, ACCOUNTS_USER = CALLERS
MARK = "ab25"
PAYLOADS = (
	f'<script>alert("{MARK}")</script>',
	f'<img src=x onerror=alert("{MARK}")>',
	f'<svg/onload=alert("{MARK}")>',
	f"<a href=\"javascript:alert('{MARK}')\">{MARK} link</a>",
	f"[\"<img src=x onerror=alert('{MARK}')>\"]",
	f'{{"note": "<b onmouseover=alert(\'{MARK}\')>{MARK} hover</b>"}}',
	f'&lt;img src=x onerror=alert("{MARK}")&gt;',
	f'{MARK}<img src=x onerror=alert("{MARK}")//',
	f"<scr<script>ipt>alert('{MARK}')</scr</script>ipt>",
	f"{{{{ 7*7 }}}} {MARK} {{{{ frappe.session.user }}}}",
	f"{{% for i in range(3) %}}{MARK}-loop{{% endfor %}}",
)
# the kickoff form's fields a guest types freely (the phone and email are checked as such by Frappe and the app)
TEXT_FIELDS = ("company_name", "first_name", "last_name", "tax_id", "address_line1", "city", "pincode")
# what the Jinja payloads become if evaluated; 7*7 not preceded by a letter or digit: a random hash in the same value
# ("Acme b4e649 ab25...") ends in 49 one time in 256
JINJA_EVALUATED = (
	re.compile(rf"(?<![0-9A-Za-z])49 {MARK}"),
	re.compile(re.escape(f"{MARK}-loop{MARK}-loop")),
)


class LiveMarkup(HTMLParser):
	"""What of the payloads a browser would run in an HTML page: an event handler or a javascript: URL on any
	element, a script with the marker."""

	def __init__(self):
		super().__init__(convert_charrefs=True)
		self.live: list[str] = []
		self.in_script = False

	def handle_starttag(self, tag, attrs):
		self.in_script = tag == "script"
		for name, value in attrs:
			value = value or ""
			if name.startswith("on") and MARK in value:
				self.live.append(f"<{tag} {name}={value}>")
			if name in ("href", "src", "action") and value.strip().lower().startswith("javascript:"):
				self.live.append(f"<{tag} {name}={value}>")

	def handle_endtag(self, tag):
		self.in_script = False

	def handle_data(self, data):
		if self.in_script and MARK in data:
			self.live.append(f"<script>{data[:80]}")


def live_markup(html: str) -> list[str]:
	parser = LiveMarkup()
	parser.feed(html)
	return parser.live


def has_markup(text: str | None) -> bool:
	"""Whether stored text still holds something a browser would read as a tag."""
	return bool(text) and bool(re.search(r"<[A-Za-z!/?]", text))


class TestMarkup(tab_world.WorldTestCase):
	def add_items(self) -> list[str]:
		"""Each payload as a tab item on A's Active tab, by the contributor: through api.add_item (description,
		item name, reference) and through the REST API (description)."""
		names = []
		for index, payload in enumerate(PAYLOADS):
			response = self.call(
				CONTRIBUTOR,
				"post",
				"/api/method/accumulating_billing.api.add_item",
				data={
					"generator": self.w.targets["active"],
					"item_code": self.w.item,
					"rate": 1,
					"service_date": "2026-02-10",
					"description": payload,
					"client_ref": f"{payload}-{index}-{frappe.generate_hash(length=6)}",
				},
			)
			self.assertEqual(response.status_code, 200, body(response)[:300])
			names.append(response.json["message"])
			response = self.call(
				CONTRIBUTOR,
				"post",
				f"/api/resource/{ITEM}",
				json={
					"generator": self.w.targets["active"],
					"item_code": self.w.item,
					"item_name": payload,
					"rate": 1,
					"service_date": "2026-02-11",
					"description": payload,
				},
			)
			self.assertEqual(response.status_code, 200, body(response)[:300])
			names.append(response.json["data"]["name"])
		frappe.db.rollback()
		return names

	def assert_shown_as_text(self, html: str, where: str):
		self.assertEqual(live_markup(html), [], f"{where}: a payload is live markup")
		for evaluated in JINJA_EVALUATED:
			self.assertIsNone(evaluated.search(html), f"{where}: a template delimiter was evaluated")

	def test_tab_items_are_stored_as_plain_text_and_shown_escaped(self):
		names = self.add_items()
		rows = frappe.get_all(
			ITEM, filters={"name": ("in", names)}, fields=["description", "item_name", "client_ref"]
		)
		for row in rows:
			for fieldname, value in row.items():
				self.assertFalse(has_markup(value), f"{fieldname} stored with markup: {value!r}")
		self.assertIn("{{ 7*7 }} ab25 {{ frappe.session.user }}", {row.description for row in rows})

		page = self.call(PORTAL_A, "get", "/running-tab")
		self.assertEqual(page.status_code, 200)
		self.assert_shown_as_text(body(page), "the portal's running tab")
		self.assertIn(f"{MARK} link", body(page))  # the words of the payloads are there, as text

		tab = self.call(
			ACCOUNTS_USER,
			"get",
			f"/api/method/accumulating_billing.api.get_tab?generator={self.w.targets['active']}",
		)
		self.assertEqual(tab.status_code, 200)
		for row in tab.json["message"]["items"]:
			self.assertFalse(has_markup(row["description"]) or has_markup(row["item_name"]), row)

	def test_the_invoice_line_and_its_print_view_show_text(self):
		names = set(self.add_items())
		invoice = run_generator(self.w.targets["active"], "2026-03-01").invoices[0]
		lines = frappe.get_all(
			"Sales Invoice Item",
			filters={"parent": invoice, "accumulating_generator_item": ("in", list(names))},
			fields=["description", "accumulating_generator_item"],
		)
		self.assertEqual(len(lines), len(names))
		for line in lines:
			stored = frappe.db.get_value(ITEM, line.accumulating_generator_item, "description")
			if stored:
				self.assertEqual(line.description, as_html(stored))
			else:  # nothing left of the payload: ERPNext takes the Item's own description
				self.assertEqual(line.description, frappe.db.get_value("Item", self.w.item, "description"))
		page = self.call(
			ACCOUNTS_USER, "get", "/printview?" + urlencode({"doctype": "Sales Invoice", "name": invoice})
		)
		self.assertEqual(page.status_code, 200)
		self.assert_shown_as_text(body(page), "the invoice's print view")
		self.assertIn("{{ 7*7 }}", body(page))

	def test_kickoff_fields_are_plain_text_in_the_request_the_email_the_page_and_the_customer(self):
		plan = make_template(title="Markup plan", offered_at_kickoff=1).name
		frappe.db.set_single_value(
			"Accumulating Billing Settings", {"kickoff_confirm_email": 1, "kickoff_limit_per_hour": 1000}
		)
		frappe.db.commit()
		for index, payload in enumerate(PAYLOADS):
			with self.subTest(payload=payload):
				data = {
					"doctype": "Accumulating Kickoff Request",
					"company_name": f"Acme {frappe.generate_hash(length=6)} {payload}",
					"customer_type": "Company",
					"first_name": f"Ada {payload}",
					"last_name": "Client",
					"tax_id": payload,
					"email_id": f"ab-markup-{index}-{frappe.generate_hash(length=6)}@example.com",
					"address_line1": payload,
					"city": f"{payload} Berlin",
					"pincode": payload,
					"country": "Germany",
					"template": plan,
				}
				response = self.call(
					GUEST,
					"post",
					"/api/method/frappe.website.doctype.web_form.web_form.accept",
					data={"web_form": "Client Kickoff", "data": json.dumps(data)},
				)
				self.assertEqual(response.status_code, 200, body(response)[:300])
				frappe.db.rollback()
				request = frappe.get_doc("Accumulating Kickoff Request", {"email_id": data["email_id"]})
				for fieldname in TEXT_FIELDS:
					self.assertFalse(
						has_markup(request.get(fieldname)), f"{fieldname}: {request.get(fieldname)!r}"
					)
					self.assertEqual(request.get(fieldname), plain_text(request.get(fieldname)))
				[email] = queued_emails("Accumulating Kickoff Request", request.name)
				self.assert_shown_as_text(email, "the confirmation email")
				key = confirmation_key(request.name)
				page = self.call(GUEST, "get", f"/client-kickoff-confirm?key={key}")
				self.assertEqual(page.status_code, 200)
				self.assert_shown_as_text(body(page), "the confirmation page")
				confirmed = self.call(
					GUEST,
					"post",
					"/api/method/accumulating_billing.billing.kickoff_confirm.confirm",
					data={"key": key},
				)
				self.assertEqual(confirmed.status_code, 200, body(confirmed)[:300])
				frappe.db.rollback()
				request.reload()
				CREATED_GENERATORS.append(request.generator)
				customer_name = frappe.db.get_value("Customer", request.customer, "customer_name")
				self.assertFalse(has_markup(customer_name))
				self.assertFalse(
					has_markup(frappe.db.get_value("Accumulating Generator", request.generator, "title"))
				)

	def test_the_invoice_email_shows_the_customer_name_as_text(self):
		from accumulating_billing.billing.email import compose

		for payload in PAYLOADS:
			si = frappe.get_doc("Sales Invoice", self.w.targets["active invoice"])
			si.customer_name = plain_text(payload) or MARK
			_subject, message = compose(
				si, frappe.get_doc("Accumulating Generator", self.w.targets["active"])
			)
			self.assert_shown_as_text(message, "the invoice email")
			self.assertIn(frappe.utils.escape_html(si.customer_name), message)
