"""The page a Client Kickoff confirmation link opens: it shows the request and a Confirm button (whose POST
creates the account, billing/kickoff_confirm.py); the page itself writes nothing."""

import frappe
from frappe.rate_limiter import rate_limit

from accumulating_billing.billing import kickoff_confirm

no_cache = 1
# the page looks up a key: at most this many views per minute from one IP address
PAGE_LIMIT_PER_MINUTE = 30


def get_context(context):
	count_view()
	request = kickoff_confirm.request_of(frappe.form_dict.get("key"))
	context.no_cache = 1
	context.request_open = kickoff_confirm.is_open(request)
	context.request_completed = bool(request and request.status == kickoff_confirm.COMPLETED)
	if context.request_open:
		context.company_name = request.company_name
		context.plan = (
			frappe.db.get_value("Accumulating Generator Template", request.template, "title")
			or request.template
		)
	return context


@rate_limit(limit=PAGE_LIMIT_PER_MINUTE, seconds=60)
def count_view() -> None:
	"""One view of the page: Frappe's rate_limit refuses it (429) past the limit from the same address (a page's
	get_context cannot carry the decorator itself: Frappe reads its arguments)."""
