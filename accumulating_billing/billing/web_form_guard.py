"""Every Web Form on the site writes only documents of its own DocType, whichever app overrides the endpoint.

Frappe's web form endpoint (`accept`) takes the DocType from the Web Form. The payments app replaces that
endpoint with an older copy that takes it from the posted data: with payments installed, a guest who posts a
public form with "doctype": "Contact" (or Lead, User, ...) and field names the form has gets that document
inserted with permissions ignored. This app puts `accept` below in front of the endpoint (hooks.py
`override_whitelisted_methods`, for Frappe's path and for payments' own, which is whitelisted too): it hands
the accept that would otherwise run a submission whose DocType is the Web Form's, as Frappe core does, and
refuses a submission that names an existing document when the form does not allow editing.

Frappe runs the override of the last installed app. When an app installed after this one overrides the
endpoint too (payments installed on a site that already had this app), ours is not the one that runs:
`check_request` (a before_request hook) reads the request as Frappe's router does (`request_route`: v1, v2,
trailing slashes, `cmd`, a DocType's module path such as `/api/v2/method/Web Form/accept/`), looks up the
function that will run, and when it is an accept other than this guard, checks the posted data itself before
that accept reads it.
"""

import json

import frappe
from frappe import _

from accumulating_billing.billing import request_route

ACCEPT = "frappe.website.doctype.web_form.web_form.accept"
PAYMENTS_ACCEPT = "payments.overrides.payment_webform.accept"
GUARD = "accumulating_billing.billing.web_form_guard.accept"
ENDPOINTS = (ACCEPT, PAYMENTS_ACCEPT)


@frappe.whitelist(allow_guest=True, methods=["POST"])
def accept(
	web_form: str,
	data: str | dict,
	docname: str | int | None = None,
	for_payment: bool | str | int | None = False,
):
	"""The web form endpoint: the submission with the Web Form's DocType, to the accept that would otherwise
	run (the payments app's when it is installed, else Frappe's). Returns what that accept returns."""
	data = checked_data(web_form, data, docname)
	# Frappe's rate_limit counts per called path: whichever path reached the endpoint, count it as the one
	frappe.form_dict.cmd = ACCEPT
	return frappe.call(inner_accept(), web_form=web_form, data=data, docname=docname, for_payment=for_payment)


def inner_accept() -> str:
	"""The accept this guard stands in front of: the last other override of Frappe's endpoint, or Frappe's."""
	overrides = frappe.get_hooks("override_whitelisted_methods", {}).get(ACCEPT, [])
	others = [method for method in overrides if method != GUARD]
	return others[-1] if others else ACCEPT


def is_effective() -> bool:
	"""Whether every path of the web form endpoint runs this guard (no later app overrides it)."""
	return all(frappe.override_whitelisted_method(method) == GUARD for method in ENDPOINTS)


def checked_data(web_form: str | None, data: str | dict | None, docname: str | int | None = None) -> str:
	"""The posted data as JSON, its "doctype" set to the Web Form's; a submission naming a document is refused
	when the form does not allow editing. Throws before anything is written."""
	if not web_form or not isinstance(web_form, str):
		frappe.throw(_("Web Form is required."), frappe.ValidationError)
	form = frappe.get_cached_doc("Web Form", web_form)
	values = frappe.parse_json(data) if isinstance(data, str) else data
	if not isinstance(values, dict):
		frappe.throw(_("Invalid form data."), frappe.ValidationError)
	if (docname or values.get("name")) and not form.allow_edit:
		frappe.throw(_("You are not allowed to update this Web Form Document"), frappe.PermissionError)
	values["doctype"] = form.doc_type
	return json.dumps(values, default=str)


def check_request() -> None:
	"""before_request: when the request calls an accept other than this guard (another app's override of the
	endpoint, installed after this one, or the accept under another name), check the posted data here: the
	accept reads it from the request's form data. The request is read as Frappe's router reads it
	(request_route), whatever the path, API version or trailing slash."""
	function = request_route.resolved_function(request_route.current().method)
	if function is None or function is accept or function not in unguarded_accepts():
		return
	form_dict = frappe.local.form_dict
	form_dict.data = checked_data(form_dict.get("web_form"), form_dict.get("data"), form_dict.get("docname"))


def unguarded_accepts() -> tuple:
	"""The web form accepts of the site's apps (Frappe's; the payments app's when installed), as functions."""
	accepts = []
	for method in ENDPOINTS:
		if method.split(".", 1)[0] in frappe.get_installed_apps():
			accepts.append(frappe.get_attr(method))
	return tuple(accepts)
