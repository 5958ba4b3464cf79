"""Factories for the integration tests (one place; every test module uses these)."""

from datetime import date
from unittest.mock import patch

import frappe
from frappe.tests.test_api import make_request
from frappe.utils import get_test_client, getdate
from frappe.utils.password import update_password

from accumulating_billing.doctypes import CONTRIBUTOR_ROLE

CREATED_GENERATORS: list[str] = []


def company() -> str:
	return (
		frappe.db.get_single_value("Global Defaults", "default_company")
		or frappe.get_all("Company", pluck="name", limit=1)[0]
	)


def ensure_fiscal_years(*years: int) -> None:
	"""Fiscal years the fixed test dates fall in (the test site only has the current one)."""
	comp = company()
	for year in years:
		name = str(year)
		if frappe.db.exists("Fiscal Year", {"year_start_date": date(year, 1, 1)}):
			continue
		fy = frappe.get_doc(
			{
				"doctype": "Fiscal Year",
				"year": name if not frappe.db.exists("Fiscal Year", name) else f"{name}-AB",
				"year_start_date": date(year, 1, 1),
				"year_end_date": date(year, 12, 31),
			}
		)
		fy.append("companies", {"company": comp})
		fy.insert(ignore_permissions=True)


def make_customer(name: str | None = None, **kw) -> str:
	name = name or f"_AB Customer {frappe.generate_hash(length=8)}"
	if frappe.db.exists("Customer", name):
		return name
	doc = frappe.get_doc(
		{
			"doctype": "Customer",
			"customer_name": name,
			"customer_group": frappe.db.get_value("Customer Group", {"is_group": 0}, "name"),
			"territory": frappe.db.get_value("Territory", {"is_group": 0}, "name"),
			**kw,
		}
	).insert(ignore_permissions=True)
	return doc.name


def make_item(code: str | None = None, price: float | None = None, **kw) -> str:
	code = code or f"_AB-ITEM-{frappe.generate_hash(length=6)}"
	if not frappe.db.exists("Item", code):
		frappe.get_doc(
			{
				"doctype": "Item",
				"item_code": code,
				"item_name": code,
				"item_group": frappe.db.get_value("Item Group", {"is_group": 0}, "name"),
				"stock_uom": "Nos",
				"is_stock_item": 0,
				"is_sales_item": 1,
				**kw,
			}
		).insert(ignore_permissions=True)
	if price is not None and not frappe.db.exists(
		"Item Price", {"item_code": code, "price_list": "Standard Selling"}
	):
		frappe.get_doc(
			{
				"doctype": "Item Price",
				"item_code": code,
				"price_list": "Standard Selling",
				"price_list_rate": price,
				"valid_from": "2020-01-01",
			}
		).insert(ignore_permissions=True)
	return code


def make_template_item() -> str:
	"""An Item with variants (a template): ERPNext bills one of its variants, never the template."""
	attribute = "_AB Size"
	if not frappe.db.exists("Item Attribute", attribute):
		frappe.get_doc(
			{
				"doctype": "Item Attribute",
				"attribute_name": attribute,
				"item_attribute_values": [
					{"attribute_value": "Small", "abbr": "S"},
					{"attribute_value": "Large", "abbr": "L"},
				],
			}
		).insert(ignore_permissions=True)
	return make_item(
		f"_AB Template Item {frappe.generate_hash(length=5)}",
		has_variants=1,
		attributes=[{"attribute": attribute}],
	)


def set_item(code: str, **values) -> None:
	"""Change an Item as a person does, through its form (its cache is cleared on save)."""
	doc = frappe.get_doc("Item", code)
	doc.update(values)
	doc.save(ignore_permissions=True)


def make_uom(name: str) -> str:
	"""A UOM of its own that takes fractions (a test may turn on *Must be Whole Number* on it without touching
	the UOMs other tests use)."""
	if not frappe.db.exists("UOM", name):
		frappe.get_doc({"doctype": "UOM", "uom_name": name, "must_be_whole_number": 0}).insert(
			ignore_permissions=True
		)
	return name


def make_generator(customer: str | None = None, do_not_save: bool = False, **kw):
	values = {
		"doctype": "Accumulating Generator",
		"customer": customer or make_customer(),
		"company": company(),
		"status": "Active",
		"interval_unit": "Month",
		"interval_count": 1,
		"first_creation_date": "2026-02-01",
		"generate_as": "Open",
		"selling_price_list": "Standard Selling",
	}
	values.update(kw)
	doc = frappe.get_doc(values)
	if do_not_save:
		return doc
	doc.insert(ignore_permissions=True)
	CREATED_GENERATORS.append(doc.name)
	return doc


def add(
	generator: str, item_code: str, qty: float = 1, rate: float | None = 10, service_date="2026-01-10", **kw
):
	doc = frappe.get_doc(
		{
			"doctype": "Accumulating Generator Item",
			"generator": generator,
			"item_code": item_code,
			"qty": qty,
			"rate": rate,
			"service_date": getdate(service_date),
			**kw,
		}
	)
	doc.insert(ignore_permissions=True)
	return doc


def invoices_of(generator: str, **filters) -> list[dict]:
	return frappe.get_all(
		"Sales Invoice",
		filters={"accumulating_generator": generator, **filters},
		fields=[
			"name",
			"posting_date",
			"docstatus",
			"net_total",
			"grand_total",
			"accumulating_occurrence",
			"due_date",
		],
		order_by="posting_date asc, creation asc",
	)


def unbilled(generator: str) -> list[str]:
	return frappe.get_all(
		"Accumulating Generator Item", filters={"generator": generator, "status": "Unbilled"}, pluck="name"
	)


def retire_created_generators() -> None:
	"""Committed generators of a test must not be picked up by another test's process_due."""
	if CREATED_GENERATORS:
		frappe.db.rollback()
		Gen = frappe.qb.DocType("Accumulating Generator")
		frappe.qb.update(Gen).set(Gen.status, "Archived").where(Gen.name.isin(CREATED_GENERATORS)).run()
		frappe.db.commit()
		CREATED_GENERATORS.clear()


def ensure_outgoing_email_account() -> str:
	"""A default outgoing account so emails are queued (tests never reach an SMTP server). Its server is not a local
	address: Frappe checks the connection of a local one on save, and no SMTP server listens on a test machine."""
	name = "_AB Outgoing"
	if not frappe.db.exists("Email Account", name):
		frappe.get_doc(
			{
				"doctype": "Email Account",
				"email_account_name": name,
				"email_id": "billing@example.com",
				"enable_outgoing": 1,
				"default_outgoing": 1,
				"smtp_server": "smtp.example.com",
				"smtp_port": 587,
				"no_smtp_authentication": 1,
			}
		).insert(ignore_permissions=True)
	return name


def make_user(roles: list[str], email: str | None = None, user_type: str = "System User") -> str:
	email = email or f"ab-user-{frappe.generate_hash(length=8)}@example.com"
	if not frappe.db.exists("User", email):
		# Frappe refuses a 61st user within the hour ("Throttled"); a suite run twice in an hour makes more
		with patch.dict(frappe.local.conf, {"throttle_user_limit": 1_000_000}):
			user = frappe.get_doc(
				{
					"doctype": "User",
					"email": email,
					"first_name": email.split("@")[0],
					"send_welcome_email": 0,
					"user_type": user_type,
				}
			).insert(ignore_permissions=True)
		user.add_roles(*roles)
	return email


def make_template(name: str | None = None, **kw):
	name = name or f"_AB Template {frappe.generate_hash(length=6)}"
	values = {
		"doctype": "Accumulating Generator Template",
		"template_name": name,
		"enabled": 1,
		"company": company(),
		"interval_unit": "Month",
		"interval_count": 1,
		"first_date_rule": "Days After Assignment",
		"first_date_days": 0,
		"end_condition": "Never",
		"generate_as": "Open",
		"selling_price_list": "Standard Selling",
	}
	values.update(kw)
	return frappe.get_doc(values).insert(ignore_permissions=True)


def generators_of(customer: str, **filters) -> list[str]:
	return frappe.get_all(
		"Accumulating Generator", filters={"customer": customer, **filters}, pluck="name", order_by="creation"
	)


def track(customer: str) -> list[str]:
	"""Generators of the customer, registered for retirement after the test."""
	names = generators_of(customer)
	CREATED_GENERATORS.extend(names)
	return names


TEST_PASSWORD = "Ab-Test-Password-2026!"


def login(user: str):
	"""A client of the real WSGI app, logged in as `user` (its own cookie jar)."""
	update_password(user, TEST_PASSWORD)
	frappe.db.commit()
	client = get_test_client()
	response = make_request(
		target=client.post, args=("/api/method/login",), kwargs={"data": {"usr": user, "pwd": TEST_PASSWORD}}
	)
	assert response.status_code == 200, response.get_data(as_text=True)
	return client


def fetch(client, path: str, method: str = "get", **kwargs):
	"""One request through `client` (in a thread, as Frappe's API tests do)."""
	return make_request(target=getattr(client, method), args=(path,), kwargs=kwargs)


def make_billing_contact(customer: str, email: str | None = None) -> str:
	"""A billing contact with an email for the customer; returns the email."""
	email = email or f"billing-{frappe.generate_hash(length=8)}@example.com"
	frappe.get_doc(
		{
			"doctype": "Contact",
			"first_name": "Billing",
			"email_ids": [{"email_id": email, "is_primary": 1}],
			"is_billing_contact": 1,
			"links": [{"link_doctype": "Customer", "link_name": customer}],
		}
	).insert(ignore_permissions=True)
	return email


def tax_account() -> str:
	comp = company()
	name = frappe.db.get_value("Account", {"company": comp, "account_name": "_AB Sales Tax"})
	if name:
		return name
	parent = frappe.db.get_value(
		"Account", {"company": comp, "account_type": "Tax", "is_group": 1}
	) or frappe.db.get_value("Account", {"company": comp, "root_type": "Liability", "is_group": 1})
	return (
		frappe.get_doc(
			{
				"doctype": "Account",
				"account_name": "_AB Sales Tax",
				"company": comp,
				"parent_account": parent,
				"account_type": "Tax",
			}
		)
		.insert(ignore_permissions=True)
		.name
	)


def tax_template(rate: float) -> str:
	"""A Sales Taxes and Charges Template of the test company: one row, `rate` % on the net total."""
	title = f"_AB Sales Tax {rate}"
	name = frappe.db.get_value("Sales Taxes and Charges Template", {"title": title, "company": company()})
	if name:
		return name
	return (
		frappe.get_doc(
			{
				"doctype": "Sales Taxes and Charges Template",
				"title": title,
				"company": company(),
				"taxes": [
					{
						"charge_type": "On Net Total",
						"account_head": tax_account(),
						"description": title,
						"rate": rate,
					}
				],
			}
		)
		.insert(ignore_permissions=True)
		.name
	)


def make_emailing_generator(item_code: str, service_date: str = "2026-01-05"):
	"""An Open and Email generator whose customer has a billing contact, with one item; committed."""
	ensure_outgoing_email_account()
	customer = make_customer()
	make_billing_contact(customer)
	gen = make_generator(customer, generate_as="Open and Email")
	add(gen.name, item_code, service_date=service_date)
	frappe.db.commit()
	return gen


def preview_and_invoice(tab: dict, si) -> tuple[tuple, tuple]:
	"""(the tab preview's figures, the same figures of the invoice the run made): equal when the preview
	showed the invoice exactly."""
	return (
		(tab["lines"], tab["subtotal"], tab["discount"], tab["net_total"], tab["taxes"], tab["grand_total"]),
		(
			len(si.items),
			si.total,
			si.discount_amount,
			si.net_total,
			si.total_taxes_and_charges,
			si.rounded_total or si.grand_total,
		),
	)


def portal_user_for(customer: str) -> str:
	email = make_user(["Customer"], user_type="Website User")
	doc = frappe.get_doc("Customer", customer)
	doc.append("portal_users", {"user": email})
	doc.save(ignore_permissions=True)
	return email


def make_notes_web_form(title: str, module: str = "Accumulating Billing"):
	"""A public Web Form of ToDo with one field (a form of the site besides Client Kickoff); committed."""
	form = frappe.get_doc(
		{
			"doctype": "Web Form",
			"title": f"{title} {frappe.generate_hash(length=6)}",
			"doc_type": "ToDo",
			"module": module,
			"is_standard": 0,
			"published": 1,
			"login_required": 0,
			"web_form_fields": [{"fieldname": "description", "fieldtype": "Text Editor", "label": "Note"}],
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	return form


def add_committed_each(
	generator: str, item_code: str, count: int, rate: float, service_date, tag: str
) -> list[str]:
	"""`count` items added through api.add_item, each committed (as many requests would), with client refs
	`tag-0`, `tag-1`…; returns their names (the concurrent adders of the threshold tests, on their own connections)."""
	from accumulating_billing import api

	names = []
	for k in range(count):
		names.append(
			api.add_item(
				generator,
				item_code,
				qty=1,
				rate=rate,
				service_date=str(service_date),
				client_ref=f"{tag}-{k}",
			)
		)
		frappe.db.commit()  # its look at the tab, after the commit, may ask for the job
	return names


def queued_emails(reference_doctype: str, reference_name: str) -> list[str]:
	"""The HTML of the emails queued for a document, decoded from their MIME messages."""
	import email

	bodies = []
	for message in frappe.get_all(
		"Email Queue",
		filters={"reference_doctype": reference_doctype, "reference_name": reference_name},
		pluck="message",
		order_by="creation asc",
	):
		for part in email.message_from_string(message).walk():
			if part.get_content_type() == "text/html":
				bodies.append(part.get_payload(decode=True).decode())
	return bodies


def confirmation_key(request: str) -> str:
	"""The key in the confirmation link a Kickoff Request's email carries."""
	import re

	[html] = queued_emails("Accumulating Kickoff Request", request)
	return re.search(r"client-kickoff-confirm\?key=([A-Za-z0-9_\-]+)", html).group(1)


def contributor_for(customer: str) -> str:
	"""An Accumulating Billing Contributor granted `customer` (a User Permission)."""
	user = make_user([CONTRIBUTOR_ROLE])
	frappe.get_doc(
		{"doctype": "User Permission", "user": user, "allow": "Customer", "for_value": customer}
	).insert(ignore_permissions=True)
	return user


def refusal(fn, *args, **kwargs) -> tuple[type, str]:
	"""(exception class, message) of a call that must be refused; nothing it did is kept (a savepoint)."""
	frappe.db.savepoint("ab_refused")
	try:
		fn(*args, **kwargs)
	except Exception as e:
		frappe.db.rollback(save_point="ab_refused")
		frappe.clear_messages()
		return type(e), str(e)
	raise AssertionError(f"{getattr(fn, '__name__', fn)}{args} {kwargs} was not refused")
