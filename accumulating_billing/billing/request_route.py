"""What an HTTP request calls, read the way Frappe's router reads it (frappe/app.py, frappe/api/): one reading
for every guard of the app (the web form guard, the document guard), so that no path, API version, trailing
slash or spelling reaches an endpoint past a guard that reads the request differently.

- a `cmd` in the form data wins over the path (frappe/app.py hands the request to frappe.handler);
- `/api/method/<method>` and `/api/v1/method/<method>`: the method up to the first "/" (frappe/api/v1.py);
- `/api/v2/method/<method>` and `/api/v2/method/<DocType>/<method>`: the DocType's controller module's function
  (frappe/api/v2.py); trailing slashes are matched as Frappe's URL map matches them (strict_slashes off);
- `/api/resource/<DocType>/<name>` (v1) and `/api/v2/document/<DocType>/<name>` (read, update, delete, copy and
  document methods): the document they name.

Nothing here checks anything: it only says what Frappe is about to run. The methods are the names Frappe looks
up *before* `override_whitelisted_methods`; `resolved_function` gives the function that will run.
"""

from typing import NamedTuple

from werkzeug.exceptions import HTTPException

import frappe

# frappe/api: the endpoints' function names in the v1 and v2 URL maps
RPC_ENDPOINTS = frozenset(("handle_rpc_call",))
DOCUMENT_ENDPOINTS = frozenset(("read_doc", "update_doc", "delete_doc", "execute_doc_method", "copy_doc"))


class Route(NamedTuple):
	method: str | None = None  # the whitelisted method named (before overrides)
	doctype: str | None = None  # a document endpoint's DocType
	name: str | None = None  # and its document name


def current() -> Route:
	"""What the current request calls (an empty Route for pages, static files and unknown paths); read once per
	request (the guards before and after authentication share it)."""
	request = getattr(frappe.local, "request", None)
	cached = getattr(frappe.local, "accumulating_billing_route", None)
	if cached is None or cached[0] is not request:
		cached = frappe.local.accumulating_billing_route = (request, read_route())
	return cached[1]


def read_route() -> Route:
	form_dict = frappe.local.form_dict
	cmd = form_dict.get("cmd")
	if cmd:
		return Route(method=str(cmd))
	request = getattr(frappe.local, "request", None)
	if request is None or not request.path.startswith("/api/"):
		return Route()
	return api_route(request)


def api_route(request) -> Route:
	"""The route of an /api/ request, matched against Frappe's own URL map."""
	from frappe.api import API_URL_MAP

	try:
		endpoint, arguments = API_URL_MAP.bind_to_environ(request.environ).match()
	except HTTPException:
		return Route()  # Frappe answers 404 (or 405) itself
	name = getattr(endpoint, "__name__", "")
	if name in RPC_ENDPOINTS:
		return Route(method=rpc_method(arguments))
	if name == "<lambda>" and request.path.rstrip("/").endswith("/run_doc_method"):
		return Route(method="run_doc_method")  # v2's /method/run_doc_method
	if name in DOCUMENT_ENDPOINTS:
		return Route(doctype=arguments.get("doctype"), name=arguments.get("name"))
	return Route()


def rpc_method(arguments: dict) -> str | None:
	"""The method of `/api/method/...`: v1 keeps the part before the first "/"; v2 prefixes a DocType's
	controller module when the path names one (frappe.api.v2.handle_rpc_call)."""
	method = arguments.get("method") or ""
	doctype = arguments.get("doctype")
	if not doctype:
		return method.split("/")[0] or None
	from frappe.modules.utils import load_doctype_module

	try:
		return f"{load_doctype_module(doctype).__name__}.{method}"
	except Exception:
		return None  # no such DocType: Frappe refuses the call itself


def resolved_function(method: str | None):
	"""The function Frappe runs for `method`: its last override, imported as frappe.handler imports it; None
	when Frappe could not import it either (it refuses the call itself)."""
	if not method:
		return None
	target = frappe.override_whitelisted_method(method)
	try:
		return frappe.get_attr(target)
	except Exception:
		return None
