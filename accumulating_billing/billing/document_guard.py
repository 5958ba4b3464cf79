"""Unknown and forbidden look the same on Frappe's generic document endpoints, for the app's DocTypes.

Frappe's document endpoints load the document before they check permission: `/api/resource/<DocType>/<name>`
answers 404 for a name that does not exist and 403 for one the caller may not see, so anyone (guests too) could
list generator names by trying them, and `frappe.client.get` with filters (it takes the first match, ignoring
permissions, before the check) tells whether any generator matches a filter on a field the caller cannot read.

`check_request` runs after Frappe has authenticated the request (an `auth_hooks` entry: the session user is
known whether the request came with a cookie, an API key or an OAuth token) and before Frappe dispatches it.
For a caller who is not billing staff, a request that names a document of one of the app's DocTypes through one
of the endpoints below is refused with the same 403 whether the document does not exist or the caller may not
see it (`permissions.refuse`). Documents the caller may see pass through to Frappe, which answers as usual
(e.g. 403 for an item a contributor may read but not change). Billing staff get Frappe's own answers (404).
The request is read as Frappe's router reads it (`request_route`).
"""

import json

import frappe
from frappe import _

from accumulating_billing.billing import request_route
from accumulating_billing.billing.permissions import GENERATOR, is_billing_staff, may_use, refuse

# whitelisted method: (its DocType argument, its document argument, the permission that lets a caller know the
# document exists). "select" is what a link needs (its title, its validation).
METHODS = {
	"frappe.desk.form.load.getdoc": ("doctype", "name", "read"),
	"frappe.desk.form.load.get_docinfo": ("doctype", "name", "read"),
	"frappe.client.get": ("doctype", "name", "read"),
	"frappe.client.set_value": ("doctype", "name", "read"),
	"frappe.client.delete": ("doctype", "name", "read"),
	"frappe.client.cancel": ("doctype", "name", "read"),
	"frappe.client.validate_link": ("doctype", "docname", "select"),
	"frappe.desk.search.get_link_title": ("doctype", "docname", "select"),
	"frappe.website.doctype.web_form.web_form.get_form_data": ("doctype", "docname", "read"),
	"frappe.utils.print_format.download_pdf": ("doctype", "name", "read"),
	"frappe.utils.print_format.download_multi_pdf": ("doctype", "name", "read"),
	"frappe.utils.print_format.download_multi_pdf_async": ("doctype", "name", "read"),
	"frappe.www.printview.get_html_and_style": ("doc", "name", "read"),
	"frappe.www.printview.get_rendered_raw_commands": ("doc", "name", "read"),
	"run_doc_method": ("dt", "dn", "read"),
	# Frappe's endpoints that load or write on any document without a permission check of their own
	"frappe.templates.includes.likes.likes.like": ("reference_doctype", "reference_name", "read"),
	"frappe.templates.includes.comments.comments.add_comment": (
		"reference_doctype",
		"reference_name",
		"read",
	),
	"frappe.desk.form.document_follow.follow_document": ("doctype", "doc_name", "read"),
	"frappe.desk.form.document_follow.get_follow_users": ("doctype", "doc_name", "read"),
	"frappe.utils.file_manager.add_attachments": ("doctype", "name", "read"),
	"frappe.core.doctype.submission_queue.submission_queue.get_latest_submissions": (
		"doctype",
		"docname",
		"read",
	),
	"frappe.social.doctype.energy_point_log.energy_point_log.get_reviews": ("doctype", "docname", "read"),
}
# whitelisted methods that query a DocType with the caller's filters and no permission check at all (Frappe v15's
# frappe.client.get_count counts any table for any logged-in user, whatever the filters: another customer's
# invoices, every customer's name letter by letter). Refused, for any DocType, to a caller who may not read or
# select it, and for the app's DocTypes to everyone but billing staff (the desk counts through
# frappe.desk.reportview.get_count, which applies permissions)
UNCHECKED_QUERIES = {"frappe.client.get_count": "doctype"}
# Frappe's link search with `ignore_user_permissions` runs its query with every permission ignored (the
# permission query hooks too) for whoever may read the DocType: for the app's DocTypes, a non-staff caller's
# flag is dropped (the search applies permissions as usual)
SEARCHES = frozenset(("frappe.desk.search.search_link", "frappe.desk.search.search_widget"))
# website pages that render a document named in the query string
PAGES = {"printview": ("doctype", "name", "read")}


def check_request() -> None:
	"""auth_hooks: refuse, the same way, a non-staff request for an unknown or unseen document of the app."""
	if frappe.session.user == "Administrator" or not getattr(frappe.local, "request", None):
		return
	route = request_route.current()
	refuse_unchecked_query(route)
	keep_search_permissions(route)
	target = requested_document(route)
	if not target:
		return
	doctype, names, ptype = target
	doctype = app_doctype(doctype)
	if not doctype or frappe.get_meta(doctype).issingle or is_billing_staff():
		return
	if frappe.session.user == "Guest" and frappe.get_request_header("Authorization"):
		return  # a failed API key or token: Frappe answers 401 itself
	for name, asked in names:
		if not may_know(doctype, name, ptype):
			refuse(doctype, asked)


def refuse_unchecked_query(route: request_route.Route) -> None:
	doctype_arg = UNCHECKED_QUERIES.get(route.method) if route.method else None
	doctype = frappe.local.form_dict.get(doctype_arg) if doctype_arg else None
	if not isinstance(doctype, str) or not frappe.db.exists("DocType", doctype):
		return  # Frappe refuses what is not a DocType itself
	if app_doctype(doctype):
		permitted = is_billing_staff()
	else:
		permitted = frappe.has_permission(doctype, "read") or frappe.has_permission(doctype, "select")
	if not permitted:
		frappe.throw(_("Not permitted"), frappe.PermissionError)


def keep_search_permissions(route: request_route.Route) -> None:
	form_dict = frappe.local.form_dict
	doctype = form_dict.get("doctype")
	if (
		route.method in SEARCHES
		and form_dict.get("ignore_user_permissions")
		and isinstance(doctype, str)
		and app_doctype(doctype)
		and not is_billing_staff()
	):
		form_dict.ignore_user_permissions = 0


def requested_document(route: request_route.Route) -> tuple[str, list[tuple], str] | None:
	"""(DocType, [(document name, what the caller asked for)], the permission to know them) of the request."""
	form_dict = frappe.local.form_dict
	if route.doctype:
		return route.doctype, [(route.name, route.name)], "read"
	arguments = METHODS.get(route.method) if route.method else PAGES.get(frappe.local.request.path.strip("/"))
	if arguments is None:
		return None
	doctype_arg, name_arg, ptype = arguments
	doctype = form_dict.get(doctype_arg)
	if not isinstance(doctype, str):
		return None  # a dict of DocTypes (download_multi_pdf) or nothing: not one of ours by name
	names = [(name, name) for name in names_of(form_dict.get(name_arg))]
	filters = form_dict.get("filters")
	if route.method == "frappe.client.get" and not names and filters:
		# the refusal shows the filters asked, never the name of a match
		names = [(first_match(doctype, filters), filters)]
	return (doctype, names, ptype) if names else None


def names_of(value) -> list:
	"""The document names an argument gives: one name, or a JSON list of them."""
	if value in (None, ""):
		return []
	if isinstance(value, str) and value.startswith("["):
		try:
			value = json.loads(value)
		except ValueError:
			return [value]
	return list(value) if isinstance(value, list) else [value]


def first_match(doctype: str, filters) -> str | None:
	"""The document `frappe.client.get` would load for `filters` (the first match, permissions ignored)."""
	try:
		return frappe.db.get_value(app_doctype(doctype), frappe.parse_json(filters))
	except Exception:
		return None  # filters Frappe cannot read: refused like an unknown document


def may_know(doctype: str, name, ptype: str) -> bool:
	"""Whether the session user may know that `name` exists: they have `ptype` (or read) on it."""
	if not isinstance(name, str | int) or not frappe.db.exists(doctype, name):
		return False
	if doctype == GENERATOR:
		return may_use(str(name), ptype, "read")
	return frappe.has_permission(doctype, "read", frappe.get_doc(doctype, name))


def app_doctype(doctype: str) -> str | None:
	"""The app's DocType that `doctype` names (as the database compares names: case and trailing spaces
	ignored), or None."""

	def load():
		modules = frappe.get_all("Module Def", filters={"app_name": "accumulating_billing"}, pluck="name")
		return sorted(frappe.get_all("DocType", filters={"module": ("in", modules)}, pluck="name"))

	doctypes = frappe.cache.get_value("accumulating_billing_doctypes", load)
	return {name.lower(): name for name in doctypes}.get(doctype.rstrip().lower())
