"""The expected answers of the permission matrix (test_permission_matrix.py): who reaches what, over HTTP.

Callers (tab_world.CALLERS, in this order, one letter each): G a guest, A the portal user of customer A, B the
portal user of customer B, C a contributor scoped to A by a User Permission on Customer A for all DocTypes,
c the same contributor scoped by that permission applied only to Accumulating Generator, U an Accounts User.

Targets (tab_world.TARGETS): customer A's Active, Draft and Archived generators, an unbilled item on each, and
their invoices (submitted, draft, submitted).

Letters: O = 200 (202 for a REST delete), I = 417 (permitted, the input refused), D = 403, N = 404;
E = 500, Frappe's own SQL error for a filter that joins a table it cannot join (the same for whoever passes the
permission check); P = a PDF was permitted: 200 where wkhtmltopdf is installed, else Frappe's 500 that names it.

**METHODS**, one row per whitelisted method of the app (the test finds them in the code: a method without a row
fails it). `Method(args, answers, writes=True, get=False)`:

- `args(w, generator)`: the form data of a call on `generator` (w: the world of tab_world.build());
- `answers`: six letters, one per caller, for every target generator; or three groups of six separated by
  spaces, for the Active, the Draft and the Archived generator;
- `writes=False`: even a permitted call writes nothing (a refused call never writes, whatever this says);
- `get=True`: the method answers GET like POST (and a GET writes nothing); otherwise a GET is refused (D) for
  every caller. The test checks this flag against the method's own `methods=[...]`.

A permitted call that may write runs on a fresh generator of the target's status (tab_world.fresh_generator),
so no call changes the targets the next calls meet. Porting a row written for the four callers of issue 20
(guest, portal user of another customer, contributor, Accounts User: "GPCU"): the new row is "G P P C C U".

**DOCTYPES**, one row per DocType of the app: REST list, read, insert (an empty document), update (no change)
and delete of its fixture document, six letters each (one per caller).

**DOCUMENT_ENDPOINTS** and **LIST_ENDPOINTS**: Frappe's generic endpoints, each with its answers per kind of
target (generator, item, invoice, draft invoice), six letters each. A list endpoint that answers O must return
exactly the targets the caller reads (READS) among those asked for; a filter on a field the caller cannot read
is refused.

Every case asserts the exact answer, and every refused case and every GET is checked to have written nothing
(tab_world.checksums: every row of every table of the app and of Onboarding Step, Notification Log, Email
Queue, Lead, Contact, Customer, User and more).
"""

import importlib
import json
import pkgutil
import shutil
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import quote, urlencode

import frappe

import accumulating_billing
from accumulating_billing.tests.tab_world import CALLERS, GENERATOR, INVOICE, ITEM, SECRET, app_doctypes

STATUS = {"O": 200, "I": 417, "D": 403, "N": 404, "E": 500}
OPERATIONS = ("list", "read", "insert", "update", "delete")
TARGET_GENERATORS = ("active", "draft", "archived")


class Method(NamedTuple):
	args: Callable  # (world, generator name) -> the form data of the call
	answers: str  # six letters (CALLERS order), or three groups of six: Active, Draft, Archived
	writes: bool = True  # False: even a permitted call writes nothing
	get: bool = False  # True: answers GET like POST (and writes nothing on a GET)
	per_item: bool = False  # True: a batch; a generator it may not use refuses its items, not the call (200)

	def answer(self, caller: int, target: str) -> str:
		groups = self.answers.split()
		group = groups[TARGET_GENERATORS.index(target)] if len(groups) == 3 else groups[0]
		return group[caller]


API = "accumulating_billing.api."


def _gen(**extra):
	return lambda w, g: {"generator": g, **extra}


def _new_customer(w, g):
	from accumulating_billing.tests.utils import make_customer

	return make_customer()


def _line(w, g) -> dict:
	"""The question of the line on generator `g` (the portal's Question this line names a line, not a tab)."""
	line = frappe.db.get_value(ITEM, {"generator": g}, "name")
	return {"item": line, "message": "Why is this on my tab?"}


def _fixture_line(f) -> str:
	"""The unbilled line of customer A's generator that the test's setup added (as Administrator)."""
	return frappe.db.get_value(
		"Accumulating Generator Item",
		{"generator": f.generator, "owner": "Administrator"},
		"name",
		order_by="creation asc",
	)


# fmt: off
METHODS = {
	API + "add_item": Method(
		lambda w, g: {"generator": g, "item_code": w.item, "rate": 5, "service_date": "2099-01-05"},
		"DDDOOO DDDOOO DDDIII"),
	API + "generate_now": Method(_gen(), "DDDDDO DDDDDO DDDDDI"),
	API + "pause": Method(_gen(), "DDDDDO DDDDDI DDDDDI"),
	API + "resume": Method(_gen(resume_date="2099-01-01"), "DDDDDI"),
	API + "get_tab": Method(_gen(), "DDDDDO", writes=False, get=True),
	API + "sync_sources": Method(_gen(), "DDDDDO DDDDDO DDDDDI"),
	API + "archive": Method(_gen(), "DDDDDO DDDDDO DDDDDI"),
	API + "restore": Method(_gen(), "DDDDDI DDDDDI DDDDDO"),
	API + "release_held": Method(_gen(), "DDDDDO"),
	API + "assign_template": Method(
		lambda w, g: {"template": w.template, "customer": _new_customer(w, g)}, "DDDDDO"),
	# it only queues a job (billing/bulk_create.py); a customer that does not exist makes that job, whenever a
	# worker runs it, refuse it and write nothing
	API + "create_for_customers": Method(
		lambda w, g: {"customers": json.dumps(["_AB-MATRIX-NO-SUCH-CUSTOMER"]), "generator": g}, "DDDDDO",
		writes=False),
	# a job of someone else (or none) does not exist for staff, and is refused to everyone else
	API + "create_for_customers_status": Method(
		lambda w, g: {"job": "_AB-MATRIX-NO-SUCH-JOB"}, "DDDDDN", writes=False, get=True),
	# a portal user of the line's customer, on a tab the portal shows (not a Draft or Archived one); nobody else
	API + "question_line": Method(_line, "DODDDD DDDDDD DDDDDD"),
	# the item form's link query: the open generators the caller may add to (contributors: their tabs)
	API + "generator_search": Method(
		lambda w, g: {"doctype": GENERATOR, "txt": "", "searchfield": "name", "start": 0, "page_len": 20},
		"DDDOOO", writes=False, get=True),
	# a batch answers per item (an unknown or forbidden generator's items refused alike: test_batch_intake); on an
	# Archived tab the call answers, each item refused
	API + "add_items": Method(
		lambda w, g: {"items": json.dumps([{"generator": g, "item_code": w.item, "rate": 5,
			"service_date": "2099-01-05"}])}, "DDDOOO DDDOOO DDDOOO", per_item=True),
	API + "get_tab_items": Method(_gen(), "DDDDDO", writes=False, get=True),
	# the target's line (added by Administrator): a contributor may change only their own lines; staff pass to the
	# input check (no reason, nothing to amend: refused, nothing written). Unknown lines: test_void_amend
	API + "void_item": Method(lambda w, g: {"item": _line(w, g)["item"], "reason": ""}, "DDDDDI", writes=False),
	API + "amend_item": Method(lambda w, g: {"item": _line(w, g)["item"]}, "DDDDDI", writes=False),
	# the onboarding widget's tick (billing/onboarding.py): desk users only; a step not done yet is refused
	"accumulating_billing.billing.onboarding.update_onboarding_step": Method(
		lambda w, g: {"name": "Generate an Invoice Now", "field": "is_complete", "value": 1}, "DDDIII",
		writes=False),
	# the web form endpoint (billing/web_form_guard.py): public; a form without its required fields is refused
	"accumulating_billing.billing.web_form_guard.accept": Method(
		lambda w, g: {"web_form": "Client Kickoff", "data": json.dumps({"doctype": "Contact", "first_name": "M"})},
		"IIIIII", writes=False),
	# the kickoff confirmation's button (billing/kickoff_confirm.py): public; a key that names nothing is refused
	"accumulating_billing.billing.kickoff_confirm.confirm": Method(
		lambda w, g: {"key": "no-such-key"}, "IIIIII", writes=False),
}

# per DocType, per caller (CALLERS order): the answers to list, read, insert (an empty document), update (no
# change) and delete of its fixture document
DOCTYPES = {
	"Accumulating Generator": ("DDDDD", "DDDDD", "DDDDD", "DDDDD", "DDDDD", "OOIOD"),
	"Accumulating Generator Item": ("DDDDD", "DDDDD", "DDDDD", "OOIDD", "OOIDD", "OOIOO"),
	"Accumulating Generator Template": ("DDDDD", "DDDDD", "DDDDD", "DDDDD", "DDDDD", "OOIOD"),
	"Accumulating Assignment Rule": ("DDDDD", "DDDDD", "DDDDD", "DDDDD", "DDDDD", "DDDDD"),
	"Accumulating Automation": ("DDDDD", "DDDDD", "DDDDD", "DDDDD", "DDDDD", "DODID"),  # a row: as its generator
	# a row of Accumulating Billing Settings (Accrual Accounts): as the settings, for Accounts Managers only
	"Accumulating Accrual Account": ("DDDDD", "DDDDD", "DDDDD", "DDDDD", "DDDDD", "DDDDD"),
	"Accumulating Automation Run": ("DDDDD", "DDDDD", "DDDDD", "DDDDD", "DDDDD", "OODDD"),
	# a row of a Sales Invoice (the tabs it bills): as its invoice (billing staff may edit a draft invoice)
	"Accumulating Invoice Tab": ("DDDDD", "DDDDD", "DDDDD", "DDDDD", "DDDDD", "DODOD"),
	"Accumulating Generation Log": ("DDDDD", "DDDDD", "DDDDD", "DDDDD", "DDDDD", "OODDD"),
	"Accumulating Billing Settings": ("DDDDD", "DDDDD", "DDDDD", "DDDDD", "DDDDD", "DDDDD"),
	"Accumulating Kickoff Request": ("DDDDD", "DDDDD", "DDDDD", "DDDDD", "DDDDD", "DDDDD"),
}
# fmt: on

# ------------------------------------------------------------------------------------------ Frappe's endpoints

KINDS = ("generator", "item", "invoice", "draft invoice")
KIND_OF = {
	"active": "generator",
	"draft": "generator",
	"archived": "generator",
	"active item": "item",
	"draft item": "item",
	"archived item": "item",
	"active invoice": "invoice",
	"draft invoice": "draft invoice",
	"archived invoice": "invoice",
}
ALL_TARGETS = tuple(KIND_OF)
ITEMS = ("active item", "draft item", "archived item")
# what each caller reads through the desk's endpoints (lists, REST, getdoc), among the targets
READS = {
	"guest": (),
	"portal user of A": (),
	"portal user of B": (),
	"contributor (all DocTypes)": ITEMS,
	"contributor (generators only)": ITEMS,
	"Accounts User": ALL_TARGETS,
}


class Endpoint(NamedTuple):
	method: str  # "get", "post" or "put"
	request: Callable  # (doctype, name) -> (path, form data or None)
	answers: dict  # kind of target (or one target, which then overrides its kind) -> six letters

	def answer(self, caller: int, target: str) -> str:
		return (self.answers.get(target) or self.answers[KIND_OF[target]])[caller]


def _query(path: str, **args) -> Callable:
	return lambda doctype, name: (f"{path}?{urlencode({k: v(doctype, name) for k, v in args.items()})}", None)


def _form(path: str, **args) -> Callable:
	return lambda doctype, name: (path, {k: v(doctype, name) for k, v in args.items()})


def _dt(doctype, name):
	return doctype


def _name(doctype, name):
	return name


def _kickoff(doctype, name):
	return "Client Kickoff"


def _resource(prefix: str) -> Callable:
	return lambda doctype, name: (f"{prefix}/{quote(doctype)}/{quote(name)}", None)


# the answers that repeat: what the desk reads (staff; contributors their tabs' items); what prints (the same,
# and ERPNext's portal: the customer's portal user prints their submitted invoices, never a generated draft)
DESK = {"generator": "DDDDDO", "item": "DDDOOO", "invoice": "DDDDDO", "draft invoice": "DDDDDO"}
PRINT = {"generator": "DDDDDO", "item": "DDDOOO", "invoice": "DODDDO", "draft invoice": "DDDDDO"}
PDF = {"generator": "DDDDDP", "item": "DDDPPP", "invoice": "DPDDDP", "draft invoice": "DDDDDP"}
# web form data: Frappe gives it to a document's owner or to whom its website permission says (ERPNext: the
# customer's portal user, a desk user who reads invoices), never through role permissions
WEB_FORM = {"generator": "DDDDDD", "item": "DDDDDD", "invoice": "DODDDO", "draft invoice": "DDDDDD"}

# fmt: off
DOCUMENT_ENDPOINTS = {
	"GET /api/resource/<doctype>/<name>": Endpoint("get", _resource("/api/resource"), DESK),
	"GET /api/v2/document/<doctype>/<name>": Endpoint("get", _resource("/api/v2/document"), DESK),
	"GET getdoc": Endpoint("get", _query("/api/method/frappe.desk.form.load.getdoc", doctype=_dt, name=_name), DESK),
	"POST getdoc": Endpoint("post", _form("/api/method/frappe.desk.form.load.getdoc", doctype=_dt, name=_name), DESK),
	"GET frappe.client.get": Endpoint("get", _query("/api/method/frappe.client.get", doctype=_dt, name=_name), DESK),
	"POST frappe.client.get": Endpoint("post", _form("/api/method/frappe.client.get", doctype=_dt, name=_name), DESK),
	"GET frappe.client.get_value": Endpoint(
		"get", _query("/api/method/frappe.client.get_value", doctype=_dt, filters=_name,
			fieldname=lambda d, n: "name"), DESK),
	"GET get_form_data": Endpoint(
		"get", _query("/api/method/frappe.website.doctype.web_form.web_form.get_form_data", doctype=_dt,
			docname=_name, web_form_name=_kickoff), WEB_FORM),
	"POST get_form_data": Endpoint(
		"post", _form("/api/method/frappe.website.doctype.web_form.web_form.get_form_data", doctype=_dt,
			docname=_name, web_form_name=_kickoff), WEB_FORM),
	"GET /printview": Endpoint("get", _query("/printview", doctype=_dt, name=_name), PRINT),
	"GET download_pdf": Endpoint(
		"get", _query("/api/method/frappe.utils.print_format.download_pdf", doctype=_dt, name=_name), PDF),
	# a link's title: contributors know their tabs (they pick them); Frappe answers any invoice's name as it
	# was asked (Sales Invoice shows no title in links)
	"GET get_link_title": Endpoint(
		"get", _query("/api/method/frappe.desk.search.get_link_title", doctype=_dt, docname=_name),
		{"generator": "DDDOOO", "item": "DDDOOO", "invoice": "DOOOOO", "draft invoice": "DOOOOO"}),
	"POST validate_link": Endpoint(
		"post", _form("/api/method/frappe.client.validate_link", doctype=_dt, docname=_name), DESK),
	# a save with no change: staff only (an Archived tab's item cannot change; its Sales Invoice is ERPNext's)
	"PUT /api/resource/<doctype>/<name>": Endpoint(
		"put", _resource("/api/resource"),
		{"generator": "DDDDDO", "item": "DDDDDO", "archived item": "DDDDDI", "invoice": "DDDDDO",
			"draft invoice": "DDDDDO"}),
}
# fmt: on


class ListEndpoint(NamedTuple):
	request: Callable  # (doctype, filters) -> (method, path, form data or None)
	answers: dict  # DocType -> six letters (CALLERS order)
	shape: str = "rows"  # what it answers: "rows" (names), "count", "csv" (an export), "search" (link search)


def _list_query(path: str, **fixed) -> Callable:
	def request(doctype, filters):
		args = {"doctype": doctype, "filters": json.dumps(filters), **fixed}
		return "get", f"{path}?{urlencode(args)}", None

	return request


def _list_form(path: str, **fixed) -> Callable:
	def request(doctype, filters):
		return "post", path, {"doctype": doctype, "filters": json.dumps(filters), **fixed}

	return request


def _resource_list(prefix: str) -> Callable:
	def request(doctype, filters):
		args = {"filters": json.dumps(filters), "fields": json.dumps(["name"]), "limit_page_length": 0}
		return "get", f"{prefix}/{quote(doctype)}?{urlencode(args)}", None

	return request


LISTED = {GENERATOR: "DDDDDO", ITEM: "DDDOOO", INVOICE: "DDDDDO"}
# frappe.client.get_count: the app's DocTypes to staff only; any other to who reads it
COUNTED = {GENERATOR: "DDDDDO", ITEM: "DDDDDO", INVOICE: "DDDDDO"}
LIST_ENDPOINTS = {
	"GET /api/resource/<doctype>": ListEndpoint(_resource_list("/api/resource"), LISTED),
	"GET /api/v2/document/<doctype>": ListEndpoint(_resource_list("/api/v2/document"), LISTED),
	"GET frappe.client.get_list": ListEndpoint(
		_list_query("/api/method/frappe.client.get_list", fields='["name"]', limit_page_length=0), LISTED
	),
	"POST frappe.client.get_list": ListEndpoint(
		_list_form("/api/method/frappe.client.get_list", fields='["name"]', limit_page_length=0), LISTED
	),
	"POST reportview.get": ListEndpoint(
		_list_form("/api/method/frappe.desk.reportview.get", fields='["name"]', page_length=0), LISTED
	),
	"POST reportview.get_count": ListEndpoint(
		_list_form("/api/method/frappe.desk.reportview.get_count"), LISTED, shape="count"
	),
	# Frappe v15 counts any table for any logged-in caller: the app refuses it to non-staff
	"GET frappe.client.get_count": ListEndpoint(
		_list_query("/api/method/frappe.client.get_count"), COUNTED, shape="count"
	),
	# an export needs the Export permission too (ERPNext gives an Accounts User none on Sales Invoice)
	"POST reportview.export_query": ListEndpoint(
		_list_form(
			"/api/method/frappe.desk.reportview.export_query", file_format_type="CSV", fields='["name"]'
		),
		{GENERATOR: "DDDDDO", ITEM: "DDDOOO", INVOICE: "DDDDDD"},
		shape="csv",
	),
	"POST search_link": ListEndpoint(
		_list_form("/api/method/frappe.desk.search.search_link", txt="", page_length=50),
		LISTED,
		shape="search",
	),
	# a caller may ask the link search to ignore User Permissions: the app's own conditions still hold
	"POST search_link ignoring user permissions": ListEndpoint(
		_list_form(
			"/api/method/frappe.desk.search.search_link", txt="", page_length=50, ignore_user_permissions=1
		),
		LISTED,
		shape="search",
	),
}
# a filter on a field the caller cannot read, per DocType, and who passes the permission check with it: the
# internal notes of generators (staff only); for items, the same joined from their generator (refused to everyone
# but staff, for whom Frappe cannot join a table that is not a child table: E)
UNREADABLE_FILTERS = {
	GENERATOR: ([["internal_notes", "like", f"%{SECRET}%"]], "DDDDDO"),
	ITEM: ([[GENERATOR, "internal_notes", "like", f"%{SECRET}%"]], "DDDDDE"),
}


# ------------------------------------------------------------------------------------------ the code's side


def app_whitelisted_methods() -> set[str]:
	"""Every whitelisted function of the app (its modules imported first; the tests' are not the app's)."""
	for module in pkgutil.walk_packages(accumulating_billing.__path__, "accumulating_billing."):
		if not module.name.startswith("accumulating_billing.tests"):
			importlib.import_module(module.name)
	return {
		f"{fn.__module__}.{fn.__qualname__}"
		for fn in frappe.whitelisted
		if fn.__module__.startswith("accumulating_billing.")
		and not fn.__module__.startswith("accumulating_billing.tests")
	}


def answers_get(method: str) -> bool:
	"""Whether the whitelisted `method` accepts GET (its `methods=[...]`; Frappe's default accepts all)."""
	fn = frappe.get_attr(method)
	allowed = frappe.allowed_http_methods_for_whitelisted_func.get(fn)
	return allowed is None or "GET" in allowed


def expected_status(letter: str, delete: bool = False) -> int:
	if letter == "P":
		return 200 if shutil.which("wkhtmltopdf") else 500
	return 202 if delete and letter == "O" else STATUS[letter]


__all__ = ["CALLERS", "Endpoint", "ListEndpoint", "Method", "app_doctypes"]
