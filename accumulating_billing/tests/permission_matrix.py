"""The expected answers of the permission matrix (test_permission_matrix.py): who may call what over HTTP.

One line per whitelisted method and one per DocType of the app. The test finds the methods and DocTypes in the
code; one without a line here fails it. Adding a method is one line in METHODS.

Callers, in this order: a guest, the portal user of another customer (B), a contributor scoped to customer A,
an Accounts User. The target is customer A's generator `f.generator` (an unbilled item dated 2099: nothing is
ever billed by the matrix), or the fixture document of the DocType.

Answers: O = 200, I = 417 (permitted, the input refused), D = 403, N = 404. A refused call writes nothing.
"""

import importlib
import json
import pkgutil
from collections.abc import Callable
from typing import NamedTuple

import frappe
from frappe.query_builder.functions import Count, Max

import accumulating_billing

CALLERS = ("guest", "portal user of another customer", "contributor", "Accounts User")
STATUS = {"O": 200, "I": 417, "D": 403, "N": 404}
OPERATIONS = ("list", "read", "insert", "update", "delete")


class Method(NamedTuple):
	args: Callable  # (fixtures, generator name) -> the form data of the call
	answers: str  # one letter per caller, in CALLERS order
	writes: bool = True  # False: even a permitted call writes nothing


API = "accumulating_billing.api."


def _gen(**extra):
	return lambda f, g: {"generator": g, **extra}


# fmt: off
METHODS = {
	API + "add_item": Method(
		lambda f, g: {"generator": g, "item_code": f.item, "rate": 5, "service_date": "2099-01-05"}, "DDOO"),
	API + "generate_now": Method(_gen(), "DDDO"),
	API + "pause": Method(_gen(), "DDDO"),
	API + "resume": Method(_gen(resume_date="2099-01-01"), "DDDO"),
	API + "get_tab": Method(_gen(), "DDDO", writes=False),
	API + "sync_sources": Method(_gen(), "DDDO"),
	API + "archive": Method(_gen(), "DDDO"),
	API + "restore": Method(_gen(), "DDDO"),
	API + "assign_template": Method(lambda f, g: {"template": f.template, "customer": f.customer_c}, "DDDO"),
	API + "release_held": Method(_gen(), "DDDO"),
	# it only queues a job (billing/bulk_create.py); a customer that does not exist makes that job, whenever a
	# worker runs it, refuse it and write nothing
	API + "create_for_customers": Method(
		lambda f, g: {"customers": json.dumps(["_AB-MATRIX-NO-SUCH-CUSTOMER"]), "generator": g}, "DDDO",
		writes=False),
	# a job of someone else (or none) does not exist for staff, and is refused to everyone else
	API + "create_for_customers_status": Method(lambda f, g: {"job": "_AB-MATRIX-NO-SUCH-JOB"}, "DDDN", writes=False),
	# the onboarding widget's tick (billing/onboarding.py): desk users only; a step not done yet is refused
	"accumulating_billing.billing.onboarding.update_onboarding_step": Method(
		lambda f, g: {"name": "Generate an Invoice Now", "field": "is_complete", "value": 1}, "DDII", writes=False),
	# the web form endpoint (billing/web_form_guard.py): public; a form without its required fields is refused
	"accumulating_billing.billing.web_form_guard.accept": Method(
		lambda f, g: {"web_form": "Client Kickoff", "data": json.dumps({"doctype": "Contact", "first_name": "M"})},
		"IIII", writes=False),
}

# per DocType, per caller (CALLERS order): the answers to list, read, insert (an empty document), update (no
# change) and delete of its fixture document
DOCTYPES = {
	"Accumulating Generator": ("DDDDD", "DDDDD", "ODDDD", "OOIOD"),
	"Accumulating Generator Item": ("DDDDD", "DDDDD", "OOIDD", "OOIOO"),
	"Accumulating Generator Template": ("DDDDD", "DDDDD", "DDDDD", "OOIOD"),
	"Accumulating Assignment Rule": ("DDDDD", "DDDDD", "DDDDD", "DDDDD"),
	"Accumulating Automation": ("DDDDD", "DDDDD", "DDDDD", "DODID"),  # a row: as its generator
	"Accumulating Automation Run": ("DDDDD", "DDDDD", "DDDDD", "OODDD"),
	# a row of a Sales Invoice: as its invoice (billing staff may edit a draft invoice)
	"Accumulating Invoice Tab": ("DDDDD", "DDDDD", "DDDDD", "DODOD"),
	"Accumulating Generation Log": ("DDDDD", "DDDDD", "DDDDD", "OODDD"),
	"Accumulating Billing Settings": ("DDDDD", "DDDDD", "DDDDD", "DDDDD"),
	"Accumulating Kickoff Request": ("DDDDD", "DDDDD", "DDDDD", "DDDDD"),
}
# fmt: on


GENERATOR = "Accumulating Generator"
SETTINGS = "Accumulating Billing Settings"
UNKNOWN = "_AB-MATRIX-NO-SUCH-GENERATOR"
# besides the app's own DocTypes: what a careless endpoint could write
WATCHED = (
	"Customer",
	"Contact",
	"Address",
	"Lead",
	"User",
	"Has Role",
	"User Permission",
	"ToDo",
	"Sales Invoice",
	"Payment Request",
	"Comment",
	"Version",
	"File",
	"DocShare",
)


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


def app_doctypes() -> set[str]:
	modules = frappe.get_all("Module Def", filters={"app_name": "accumulating_billing"}, pluck="name")
	return set(frappe.get_all("DocType", filters={"module": ("in", modules)}, pluck="name"))


def fingerprint() -> dict:
	"""Row count and last modification of every watched table, as committed (the requests commit)."""
	frappe.db.rollback()
	doctypes = sorted(app_doctypes() - {SETTINGS}) + [d for d in WATCHED if frappe.db.table_exists(d)]
	out = {}
	for doctype in doctypes:
		table = frappe.qb.DocType(doctype)
		out[doctype] = tuple(frappe.qb.from_(table).select(Count(table.name), Max(table.modified)).run()[0])
	out[SETTINGS] = frappe.db.get_singles_dict(SETTINGS)
	return out


def answer(response) -> tuple:
	"""What a caller learns from a response: status, exception type and messages."""
	body = response.get_json(silent=True) or {}
	messages = [json.loads(m).get("message") for m in json.loads(body.get("_server_messages") or "[]")]
	return response.status_code, body.get("exc_type"), messages
