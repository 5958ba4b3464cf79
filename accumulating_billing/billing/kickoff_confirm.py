"""The kickoff form confirms the email address before anything is created (README *Templates and assignment*).

With *Confirm the Email Before Creating Records* on (the default), a submission of the Client Kickoff form
keeps only the Kickoff Request, in status *Awaiting Confirmation*, and emails a link to the address given. The
link carries a random key (32 bytes; only its SHA-256 is stored, so neither the desk nor a database copy can
confirm a request) and opens `/client-kickoff-confirm`, which shows the request and a *Confirm* button: the
button's POST (`confirm`) creates the Customer, Contact, Address, portal user and generator, as the form did
before (kickoff.complete_request). A GET never creates anything: mail scanners that open links confirm nothing.

An unconfirmed request expires after 48 hours (the hourly scheduler event `expire_requests`; a link past its
time is refused even before the event ran). One address gets at most one confirmation email per 48 hours,
however many strangers submit it: a second submission for the same address is refused and sends nothing. With
the per-address limit of the form (`kickoff_limit_per_hour`), a stranger can neither fill the customer list nor
make the site email a third party more than once in that window.
"""

import hashlib
import secrets

import frappe
from frappe import _
from frappe.rate_limiter import rate_limit
from frappe.utils import add_to_date, cint, get_datetime, get_url, now_datetime

from accumulating_billing.billing import kickoff
from accumulating_billing.doctypes import REQUEST, SETTINGS

AWAITING = "Awaiting Confirmation"
EXPIRED = "Expired"
COMPLETED = "Completed"
LINK_HOURS = 48
CONFIRM_ROUTE = "client-kickoff-confirm"


def confirms_email() -> bool:
	"""Whether kickoff submissions wait for the email's confirmation (the setting, on by default)."""
	return bool(cint(frappe.db.get_single_value(SETTINGS, "kickoff_confirm_email")))


def key_hash(key: str) -> str:
	return hashlib.sha256(key.encode()).hexdigest()


def check_address_not_pending(doc) -> None:
	"""validate: one confirmation email per address per 48 hours, whoever submits it. Throws before anything
	is written."""
	since = add_to_date(now_datetime(), hours=-LINK_HOURS)
	if frappe.db.exists(
		REQUEST,
		{"email_id": doc.email_id, "confirmation_sent_on": (">", since), "name": ("!=", doc.name or "")},
	):
		frappe.throw(
			_(
				"We already sent a confirmation link to {0}. Use the link in that email, or try again after it "
				"expires (48 hours)."
			).format(doc.email_id),
			title=_("Check your inbox"),
		)


def await_confirmation(doc) -> None:
	"""after_insert: keep the request Awaiting Confirmation and email its link (queued in this transaction)."""
	key = secrets.token_urlsafe(32)
	sent = now_datetime()
	doc.db_set(
		{
			"status": AWAITING,
			"confirm_key_hash": key_hash(key),
			"confirmation_sent_on": sent,
			"expires_on": add_to_date(sent, hours=LINK_HOURS),
		}
	)
	link = get_url(f"/{CONFIRM_ROUTE}?key={key}")
	frappe.sendmail(
		recipients=[doc.email_id],
		subject=_("Confirm your email address for {0}").format(doc.company_name),
		template="kickoff_confirmation",
		args={"request": doc, "link": link, "hours": LINK_HOURS},
		reference_doctype=REQUEST,
		reference_name=doc.name,
		header=[_("Confirm your email address"), "blue"],
	)


def request_of(key: str | None) -> frappe._dict | None:
	"""The request a confirmation key belongs to (name, status, company and plan, expiry), or None."""
	if not key or not isinstance(key, str) or len(key) > 200:
		return None
	return frappe.db.get_value(
		REQUEST,
		{"confirm_key_hash": key_hash(key)},
		["name", "status", "company_name", "email_id", "template", "expires_on"],
		as_dict=True,
	)


def is_open(request) -> bool:
	return bool(request and request.status == AWAITING and get_datetime(request.expires_on) > now_datetime())


def confirm_limit() -> int:
	"""Confirmations per hour from one IP address (the form's limit, Accumulating Billing Settings)."""
	return kickoff.kickoff_limit()


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(limit=confirm_limit, seconds=kickoff.RATE_WINDOW)
def confirm(key: str) -> dict:
	"""The confirmation link's button: create what the request asked for. Returns {"status": "Completed"}; an
	unknown, used up or expired key gets one refusal (the key is the only thing that names a request)."""
	request = request_of(key)
	if request and request.status == COMPLETED:
		return {"status": COMPLETED}
	if not is_open(request):
		frappe.throw(
			_("This confirmation link is not valid or has expired. Please fill in the form again."),
			title=_("Link not valid"),
		)
	doc = frappe.get_doc(REQUEST, request.name, for_update=True)
	if doc.status != AWAITING:  # a second click that raced the first
		return {"status": doc.status}
	kickoff.check_still_valid(doc)
	# the key's hash stays: a second click of the link says it is done (it can do nothing more)
	doc.db_set("confirmed_on", now_datetime())
	kickoff.complete_request(doc)
	return {"status": COMPLETED}


def expire_requests() -> int:
	"""Hourly: requests still awaiting confirmation 48 hours after their link was sent are Expired (their key
	forgotten). Returns how many."""
	Request = frappe.qb.DocType(REQUEST)
	expired = (
		frappe.qb.from_(Request)
		.select(Request.name)
		.where((Request.status == AWAITING) & (Request.expires_on <= now_datetime()))
	).run(pluck=True)
	if expired:
		(
			frappe.qb.update(Request)
			.set(Request.status, EXPIRED)
			.set(Request.confirm_key_hash, None)
			.where(Request.name.isin(expired) & (Request.status == AWAITING))
		).run()
	return len(expired)
