"""Customer A's tabs as the security tests meet them (not a test module): the callers, the targets, and what
every request may write. Used by test_permission_matrix.py and test_ways_into_a_tab.py.

Callers (CALLERS order): a guest; the portal user of customer A and the one of customer B; a contributor scoped
to A by a User Permission on Customer A that applies to all DocTypes, and one scoped by the same permission
applied only to Accumulating Generator; an Accounts User.

Targets, all customer A's (TARGETS order): the Active, Draft and Archived generators (each with internal notes
holding SECRET), an unbilled item on each, and each one's invoice: the Active one's and the Archived one's
submitted, the Draft one's a draft (it billed as Draft before it was set back to Draft). Customer B has an Active
generator with an item, whose text must never reach A's people.
"""

import io
import json

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import get_test_client

from accumulating_billing.billing import lifecycle
from accumulating_billing.billing.generation import run_generator
from accumulating_billing.doctypes import CONTRIBUTOR_ROLE, GENERATOR, ITEM, SETTINGS
from accumulating_billing.tests.utils import (
	add,
	ensure_fiscal_years,
	ensure_outgoing_email_account,
	fetch,
	login,
	make_customer,
	make_generator,
	make_item,
	make_user,
	portal_user_for,
	retire_created_generators,
)

INVOICE = "Sales Invoice"
SECRET = "AB-INTERNAL-SECRET"
B_WORK = "AB customer B private work"
CALLERS = (
	"guest",
	"portal user of A",
	"portal user of B",
	"contributor (all DocTypes)",
	"contributor (generators only)",
	"Accounts User",
)
# target key: (DocType, what it is)
TARGETS = {
	"active": (GENERATOR, "A's Active generator"),
	"draft": (GENERATOR, "A's Draft generator"),
	"archived": (GENERATOR, "A's Archived generator"),
	"active item": (ITEM, "an unbilled item on A's Active generator"),
	"draft item": (ITEM, "an unbilled item on A's Draft generator"),
	"archived item": (ITEM, "an unbilled item on A's Archived generator"),
	"active invoice": (INVOICE, "the Active generator's submitted invoice"),
	"draft invoice": (INVOICE, "the Draft generator's draft invoice"),
	"archived invoice": (INVOICE, "the Archived generator's submitted invoice"),
}


def build() -> frappe._dict:
	"""Make the world (committed) and return its names: `targets` {key: name}, `users` {caller: user or None},
	customers, B's generator and item, the item code."""
	ensure_fiscal_years(2025, 2026, 2027)
	ensure_outgoing_email_account()
	w = frappe._dict(item=make_item("_AB World Work", price=10))
	w.customer_a, w.customer_b = make_customer(), make_customer()
	w.targets = {}
	for status in ("active", "draft", "archived"):
		gen = make_generator(
			w.customer_a,
			title=f"World A {status}",
			internal_notes=f"<p>{SECRET}</p>",
			generate_as="Draft" if status == "draft" else "Open",
		).name
		add(gen, w.item, service_date="2026-01-05", description=f"AB A billed work {status}")
		frappe.db.commit()
		w.targets[f"{status} invoice"] = run_generator(gen, "2026-02-01").invoices[0]
		w.targets[f"{status} item"] = add(
			gen, w.item, service_date="2099-01-05", description=f"AB A unbilled work {status}"
		).name
		w.targets[status] = gen
	frappe.db.set_value(GENERATOR, w.targets["draft"], "status", "Draft")
	lifecycle.set_archived(w.targets["archived"], True)
	w.generator_b = make_generator(w.customer_b, title="World B", internal_notes=f"<p>{SECRET}</p>").name
	w.item_b = add(w.generator_b, w.item, service_date="2099-01-05", description=B_WORK).name
	w.users = dict(
		zip(
			CALLERS,
			(
				None,
				portal_user_for(w.customer_a),
				portal_user_for(w.customer_b),
				contributor(w.customer_a, applicable_for=None),
				contributor(w.customer_a, applicable_for=GENERATOR),
				make_user(["Accounts User"]),
			),
			strict=True,
		)
	)
	frappe.db.commit()
	return w


def fresh_generator(w, status: str) -> str:
	"""A new generator of customer A in `status` ("active", "draft" or "archived") with an unbilled item dated
	2099: what a permitted call that writes may change, so that the targets stay as they are (committed)."""
	gen = make_generator(
		w.customer_a, title=f"World A fresh {status}", status="Draft" if status == "draft" else "Active"
	)
	add(gen.name, w.item, service_date="2099-01-05")
	if status == "archived":
		lifecycle.set_archived(gen.name, True)
	frappe.db.commit()
	return gen.name


def contributor(customer: str, applicable_for: str | None) -> str:
	"""A contributor whose one User Permission is `customer`, for all DocTypes or only `applicable_for`."""
	user = make_user([CONTRIBUTOR_ROLE])
	frappe.get_doc(
		{
			"doctype": "User Permission",
			"user": user,
			"allow": "Customer",
			"for_value": customer,
			"apply_to_all_doctypes": 0 if applicable_for else 1,
			"applicable_for": applicable_for,
		}
	).insert(ignore_permissions=True)
	return user


def clients(w) -> dict:
	"""A logged-in werkzeug client per caller (a guest's is never logged in)."""
	return {caller: login(user) if user else get_test_client() for caller, user in w.users.items()}


class Caller:
	"""Requests as one caller through Frappe's real request path, each from an address of its own (no rate
	limit in the way)."""

	count = 0

	def __init__(self, client):
		self.client = client

	def __call__(self, method: str, path: str, **kwargs):
		Caller.count += 1
		headers = {"X-Forwarded-For": f"10.25.{Caller.count // 250 % 250}.{Caller.count % 250}"}
		headers.update(kwargs.pop("headers", {}))
		return fetch(self.client, path, method, headers=headers, **kwargs)


class WorldTestCase(FrappeTestCase):
	"""A test case on a world of its own (built once for the class, its generators retired after it), called
	through `self.call(caller, method, path, ...)`."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.w = build()
		cls.callers = {caller: Caller(client) for caller, client in clients(cls.w).items()}

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		retire_created_generators()
		frappe.cache.delete_keys("rl:")
		super().tearDownClass()

	def call(self, caller: str, method: str, path: str, **kwargs):
		return self.callers[caller](method, path, **kwargs)


def replace(value, old: str, new: str):
	"""`value` (a string, or lists and tuples of them) with `old` replaced: an answer about one name compared
	with an answer about another."""
	if isinstance(value, str):
		return value.replace(old, new)
	if isinstance(value, list | tuple):
		return type(value)(replace(v, old, new) for v in value)
	return value


def body(response) -> str:
	"""What the answer says, as text: a PDF's text is read out of it (its bytes are compressed)."""
	if response.mimetype == "application/pdf":
		from pypdf import PdfReader

		return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.get_data())).pages)
	return response.get_data(as_text=True)


def answer(response) -> tuple:
	"""What a caller learns from a refusal: status, exception type and messages."""
	data = response.get_json(silent=True) or {}
	messages = [json.loads(m).get("message") for m in json.loads(data.get("_server_messages") or "[]")]
	return response.status_code, data.get("exc_type"), messages


# ------------------------------------------------------------------------------------------ writes

# besides every table of the app: what a careless endpoint could write
WATCHED = (
	"Onboarding Step",
	"Notification Log",
	"Email Queue",
	"Lead",
	"Contact",
	"Customer",
	"User",
	"Address",
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
# columns a request writes by itself whoever calls what: a session's bookkeeping on its User
BOOKKEEPING = {"User": ("last_active", "last_login", "last_ip", "last_known_versions")}


def app_doctypes() -> set[str]:
	modules = frappe.get_all("Module Def", filters={"app_name": "accumulating_billing"}, pluck="name")
	return set(frappe.get_all("DocType", filters={"module": ("in", modules)}, pluck="name"))


def watched_doctypes() -> list[str]:
	"""Every table of the app (the Settings' values through Singles) and WATCHED."""
	own = [d for d in sorted(app_doctypes()) if not frappe.get_meta(d).issingle]
	return own + [d for d in WATCHED if frappe.db.table_exists(d)]


def checksums() -> dict:
	"""A checksum of every row of every watched table, as committed: {DocType: (rows, xor of row CRCs, sum)}.
	A change of any value in any row changes it (row counts and `modified` would miss an update that keeps
	them)."""
	frappe.db.rollback()  # see what the requests committed
	out = {}
	for doctype in watched_doctypes():
		columns = [c for c in frappe.db.get_table_columns(doctype) if c not in BOOKKEEPING.get(doctype, ())]
		row = "concat_ws(char(31), " + ", ".join(f"ifnull(`{c}`, char(0))" for c in columns) + ")"
		out[doctype] = tuple(
			frappe.db.sql(
				f"select count(*), coalesce(bit_xor(crc32({row})), 0), coalesce(sum(crc32({row})), 0) "
				f"from `tab{doctype}`"
			)[0]
		)
	out[SETTINGS] = frappe.db.get_singles_dict(SETTINGS)
	return out


def changed(before: dict, after: dict) -> list[str]:
	return sorted(doctype for doctype in before if before[doctype] != after.get(doctype))
