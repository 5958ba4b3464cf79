"""The Client Kickoff onboarding (docs/architecture.md §12): a new client submits the public Web Form; this creates the
Customer, its Contact (and Address, and a portal User when the settings ask for it) and assigns the chosen
template: when the submission is made, or, with *Confirm the Email Before Creating Records* (the default), when
the email address is confirmed (kickoff_confirm.py). What a guest types is stored as plain text.

The Web Form endpoint inserts with ignore_permissions, so everything is checked here, before anything is
written; a refused submission writes nothing. Submissions from the web are rate limited per IP address with
Frappe's rate_limit (web_form_guard.py keeps the endpoint to this DocType).
"""

import frappe
from frappe import _
from frappe.rate_limiter import rate_limit
from frappe.utils import cint, validate_email_address

from accumulating_billing.billing import assignment
from accumulating_billing.billing.plain_text import plain_text
from accumulating_billing.doctypes import SETTINGS, TEMPLATE

TEXT_FIELDS = (
	"company_name",
	"tax_id",
	"first_name",
	"last_name",
	"email_id",
	"phone",
	"address_line1",
	"city",
	"pincode",
)
RESULT_FIELDS = (
	"customer",
	"contact",
	"generator",
	"portal_user",
	"confirmation_sent_on",
	"expires_on",
	"confirmed_on",
	"confirm_key_hash",
)
RATE_WINDOW = 3600
MODULE = "Accumulating Billing"
NAME_ROOM = 130


def offered_templates() -> list[dict]:
	"""Enabled templates an admin marked "offered at kickoff": [{"value": name, "label": title}]."""
	rows = frappe.get_all(
		TEMPLATE,
		filters={"enabled": 1, "offered_at_kickoff": 1},
		fields=["name", "title"],
		order_by="template_name asc",
	)
	return [{"value": r.name, "label": r.title or r.name} for r in rows]


REDIRECTS = frozenset((301, 302, 303, 307, 308))


def keep_query_on_redirect(response, request) -> None:
	"""after_request: Frappe's Web Form sends its bare route (`/client-kickoff`) on to `/client-kickoff/new` and
	drops the query string, so a link with `?_lang=es` opened the form in English. Its redirect keeps the query
	string, for the app's own Web Forms. A few comparisons per request; one query only for such a redirect."""
	if response is None or response.status_code not in REDIRECTS or not request.query_string:
		return
	route = request.path.strip("/")
	if not route or response.headers.get("Location") != f"/{route}/new":
		return
	if not frappe.db.exists("Web Form", {"route": route, "module": MODULE}):
		return
	response.headers["Location"] = f"/{route}/new?{frappe.safe_decode(request.query_string)}"


def validate_request(doc) -> None:
	"""Everything a submission must satisfy; throws a translated message and writes nothing."""
	if not doc.is_new():
		return
	if frappe.flags.in_web_form:
		count_web_submission()
	for fieldname in TEXT_FIELDS:
		# a guest's words: plain text, whatever was posted (plain_text.py), without the "<" and ">" Frappe
		# refuses in the names of the records a request creates (Customer, Contact, Address)
		text = plain_text(doc.get(fieldname) or "") or ""
		doc.set(fieldname, text.replace("<", "").replace(">", "").strip())
	for fieldname in RESULT_FIELDS:
		doc.set(fieldname, None)
	doc.status = "Received"
	doc.request_ip = getattr(frappe.local, "request_ip", None)
	if doc.customer_type not in ("Company", "Individual"):
		doc.customer_type = "Company"
	if not doc.company_name:
		frappe.throw(_("Enter your company or client name."), title=_("Missing name"))
	if not doc.first_name:
		frappe.throw(_("Enter your first name."), title=_("Missing name"))
	# the Contact is named "first last-company" (140 characters at most, a number may follow)
	if len(f"{doc.first_name} {doc.last_name or ''}-{doc.company_name}") > NAME_ROOM:
		frappe.throw(
			_("Your name and your company name are too long together: {0} characters at most.").format(
				NAME_ROOM
			),
			title=_("Name too long"),
		)
	if not doc.email_id or not validate_email_address(doc.email_id):
		frappe.throw(_("Enter a valid email address."), title=_("Invalid email"))
	doc.email_id = validate_email_address(doc.email_id)
	if doc.address_line1 and not (doc.city and doc.country):
		frappe.throw(_("A billing address needs a city and a country."), title=_("Incomplete address"))
	check_still_valid(doc)


def check_still_valid(doc) -> None:
	"""What must still hold when the request's records are created (at submission, and again when its email is
	confirmed, up to 48 hours later): the plan is offered, the company is not a client yet."""
	if doc.template not in {t["value"] for t in offered_templates()}:
		frappe.throw(_("Choose one of the offered plans."), title=_("Invalid plan"))
	if frappe.db.exists("Customer", {"customer_name": doc.company_name}) or frappe.db.exists(
		"Customer", doc.company_name
	):
		frappe.throw(
			_("{0} is already a client. Please contact us to change your plan.").format(doc.company_name),
			title=_("Already registered"),
		)


def kickoff_limit() -> int:
	"""Submissions per hour from one IP address (Accumulating Billing Settings, default 5)."""
	return cint(frappe.db.get_single_value(SETTINGS, "kickoff_limit_per_hour")) or 5


@rate_limit(limit=kickoff_limit, seconds=RATE_WINDOW)
def count_web_submission() -> None:
	"""One submission of the form from the web: Frappe's rate_limit refuses it (429) past `kickoff_limit` in
	an hour from the same IP address, before anything is written."""


def complete_request(doc) -> None:
	"""after_insert: create the customer, contact, address and portal user, assign the plan."""
	settings = frappe.get_cached_doc(SETTINGS)
	customer = make_customer(doc, settings)
	contact = make_contact(doc, customer)
	if doc.address_line1:
		make_address(doc, customer)
	user = None
	if cint(settings.kickoff_create_portal_user):
		user = make_portal_user(doc, contact, customer)
	generator = assignment.assign(doc.template, customer, ignore_permissions=True)
	doc.db_set(
		{
			"status": "Completed",
			"customer": customer,
			"contact": contact.name,
			"generator": generator,
			"portal_user": user,
		}
	)


def make_customer(doc, settings) -> str:
	customer = frappe.get_doc(
		{
			"doctype": "Customer",
			"customer_name": doc.company_name,
			"customer_type": doc.customer_type,
			"tax_id": doc.tax_id or None,
			"customer_group": settings.kickoff_customer_group
			or frappe.db.get_single_value("Selling Settings", "customer_group"),
			"territory": settings.kickoff_territory
			or frappe.db.get_single_value("Selling Settings", "territory"),
			"email_id": doc.email_id,
		}
	)
	customer.flags.ignore_permissions = True
	customer.insert()
	return customer.name


def make_contact(doc, customer: str):
	contact = frappe.get_doc(
		{
			"doctype": "Contact",
			"first_name": doc.first_name,
			"last_name": doc.last_name or None,
			"is_primary_contact": 1,
			"is_billing_contact": 1,
			"email_ids": [{"email_id": doc.email_id, "is_primary": 1}],
			"phone_nos": [{"phone": doc.phone, "is_primary_phone": 1}] if doc.phone else [],
			"links": [{"link_doctype": "Customer", "link_name": customer}],
		}
	)
	contact.insert(ignore_permissions=True)
	return contact


def make_address(doc, customer: str) -> str:
	address = frappe.get_doc(
		{
			"doctype": "Address",
			"address_title": doc.company_name,
			"address_type": "Billing",
			"address_line1": doc.address_line1,
			"city": doc.city,
			"pincode": doc.pincode or None,
			"country": doc.country,
			"is_primary_address": 1,
			"links": [{"link_doctype": "Customer", "link_name": customer}],
		}
	)
	address.insert(ignore_permissions=True)
	return address.name


def make_portal_user(doc, contact, customer: str) -> str | None:
	"""A website user with the Customer role, linked to the contact and listed among the customer's portal
	users (ERPNext's portal shows a user the invoices of those customers); an existing user is never taken
	over."""
	if frappe.db.exists("User", doc.email_id):
		contact.add_comment(
			"Info", _("No portal user created: a user with {0} already exists.").format(doc.email_id)
		)
		return None
	user = frappe.get_doc(
		{
			"doctype": "User",
			"email": doc.email_id,
			"first_name": doc.first_name,
			"last_name": doc.last_name or None,
			"user_type": "Website User",
			"send_welcome_email": 0,
			"roles": [{"role": "Customer"}],
		}
	)
	user.flags.ignore_permissions = True
	user.insert()
	# the welcome email (its link sets the password) leaves after the commit: a mail server that is down
	# must not undo the onboarding
	frappe.enqueue(
		"accumulating_billing.billing.kickoff.send_welcome_email",
		queue="short",
		enqueue_after_commit=True,
		user=user.name,
	)
	contact.db_set("user", user.name)
	customer_doc = frappe.get_doc("Customer", customer)
	customer_doc.append("portal_users", {"user": user.name})
	customer_doc.save(ignore_permissions=True)
	return user.name


def send_welcome_email(user: str) -> None:
	frappe.get_doc("User", user).send_welcome_mail_to_user()
