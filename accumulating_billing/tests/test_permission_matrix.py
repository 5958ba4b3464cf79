"""The permission matrix over HTTP (issues 20 and 25): every whitelisted method of the app, the REST resource of
every DocType of the app, and Frappe's generic document and list endpoints, called through Frappe's real request
path (werkzeug's client over frappe.app.application), by GET and by POST, by a guest, the portal users of
customers A and B, two contributors scoped to A (a User Permission for all DocTypes; one for generators only)
and an Accounts User, against customer A's Active, Draft and Archived generators, their items and invoices.
The expected answers are in permission_matrix.py; the methods and DocTypes are read from the code, so a new one
without a line fails. A refused call and a GET must write nothing (a checksum of every row of every watched
table), and an unknown generator must be refused exactly like a forbidden one."""

import csv
import io
import json
from urllib.parse import quote, urlencode

import frappe

from accumulating_billing.billing import onboarding
from accumulating_billing.doctypes import SETTINGS
from accumulating_billing.tests import tab_world
from accumulating_billing.tests.permission_matrix import (
	ALL_TARGETS,
	DOCTYPES,
	DOCUMENT_ENDPOINTS,
	LIST_ENDPOINTS,
	METHODS,
	OPERATIONS,
	READS,
	TARGET_GENERATORS,
	UNREADABLE_FILTERS,
	answers_get,
	app_doctypes,
	app_whitelisted_methods,
	expected_status,
)
from accumulating_billing.tests.site_assets import assets_served
from accumulating_billing.tests.tab_world import (
	B_WORK,
	CALLERS,
	GENERATOR,
	INVOICE,
	ITEM,
	SECRET,
	TARGETS,
	answer,
	body,
	changed,
	checksums,
	replace,
)
from accumulating_billing.tests.utils import add, company, make_template

UNKNOWN = "_AB-MATRIX-NO-SUCH-GENERATOR"
STAFF = CALLERS[-1]


class TestPermissionMatrix(tab_world.WorldTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.enterClassContext(
			assets_served()
		)  # wkhtmltopdf reads the print's stylesheets from the site's URL
		cls.w.template = make_template().name
		cls.documents = cls.make_documents()
		# the onboarding step the widget's tick names is not done: the tick is refused (417) to desk users
		frappe.db.set_value(
			"Onboarding Step", onboarding.GENERATE_NOW, "is_complete", 0, update_modified=False
		)
		frappe.db.commit()
		onboarding.forget_ticks()

	@classmethod
	def make_documents(cls) -> dict:
		"""One document of each DocType of the app: the target of REST read, update and delete."""
		w = cls.w
		cls.created: list[tuple[str, str]] = []
		rule = frappe.get_doc(
			{
				"doctype": "Accumulating Assignment Rule",
				"enabled": 0,
				"document_type": "Customer",
				"event": "New",
				"customer_field": "name",
				"template": w.template,
			}
		).insert(ignore_permissions=True)
		automation = frappe.get_doc(
			{
				"doctype": "Accumulating Automation",
				"parent": w.generator_b,
				"parenttype": GENERATOR,
				"parentfield": "automations",
				"event": "Generated",
			}
		)
		run = frappe.get_doc(
			{
				"doctype": "Accumulating Automation Run",
				"sales_invoice": "_AB matrix none",
				"generator": w.targets["active"],
				"event": "Generated",
			}
		)
		log = frappe.get_doc(
			{
				"doctype": "Accumulating Generation Log",
				"generator": w.targets["active"],
				"occurrence_date": "2099-01-01",
				"outcome": "Skipped",
			}
		)
		kickoff = frappe.get_doc(
			{
				"doctype": "Accumulating Kickoff Request",
				"company_name": "_AB Matrix Kickoff",
				"first_name": "M",
				"email_id": "ab-matrix@example.com",
				"status": "Received",
			}
		)
		accrual_account = frappe.get_doc(
			{
				"doctype": "Accumulating Accrual Account",
				"parent": SETTINGS,
				"parenttype": SETTINGS,
				"parentfield": "accrual_accounts",
				"company": company(),
				"unbilled_revenue_account": frappe.get_cached_value(
					"Company", company(), "default_receivable_account"
				),
			}
		)
		for doc in (automation, run, log, kickoff, accrual_account):  # as the app writes them, no web form
			doc.db_insert()
			cls.created.append((doc.doctype, doc.name))
		cls.created.append((rule.doctype, rule.name))
		return {
			GENERATOR: w.targets["active"],
			ITEM: add(w.targets["active"], w.item, service_date="2099-01-06").name,
			"Accumulating Generator Template": w.template,
			"Accumulating Assignment Rule": rule.name,
			"Accumulating Automation": automation.name,
			"Accumulating Accrual Account": accrual_account.name,
			# the tab row of a generated draft invoice (every generated invoice lists the tabs it bills)
			"Accumulating Invoice Tab": frappe.db.get_value(
				"Accumulating Invoice Tab", {"parent": w.targets["draft invoice"]}, "name"
			),
			"Accumulating Automation Run": run.name,
			"Accumulating Generation Log": log.name,
			SETTINGS: SETTINGS,
			"Accumulating Kickoff Request": kickoff.name,
		}

	@classmethod
	def matrix_invoice(cls) -> str:
		"""A generated draft of generator A (a Sales Invoice the tab row belongs to)."""
		from accumulating_billing.billing.generation import generate_now

		frappe.db.set_value(GENERATOR, cls.f.generator, "generate_as", "Draft")
		add(cls.f.generator, cls.f.item, service_date="2026-01-05")
		cls.invoice, _line = generate_now(cls.f.generator, "2026-01-10")
		return cls.invoice

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		for doctype, name in cls.created:
			frappe.db.delete(doctype, {"name": name})
		frappe.db.commit()
		super().tearDownClass()

	# ------------------------------------------------------------------------------------------ helpers

	def quietly(self, cases: list, failures: list) -> None:
		"""Run `cases` (label, callable) that must write nothing: one checksum around all of them, and only
		when it changed, one around each, to name the ones that wrote."""
		before = checksums()
		for _label, run in cases:
			run()
		after = checksums()
		if not changed(before, after):
			return
		for label, run in cases:
			before = checksums()
			run()
			wrote = changed(before, checksums())
			if wrote:
				failures.append(f"{label}: wrote {wrote}")
		if not any("wrote" in f for f in failures):
			failures.append(f"a batch wrote {changed(before, after)}, no single case did again")

	def expect(self, failures: list, label: str, response, status: int, *, secret_ok: bool = False):
		if response.status_code != status:
			failures.append(f"{label}: {response.status_code}, expected {status}: {body(response)[:240]}")
		elif status == 200 and not secret_ok and (SECRET in body(response) or B_WORK in body(response)):
			failures.append(f"{label}: the answer shows internal notes or another customer's work")

	# ------------------------------------------------------------------------------------------ the table

	def test_every_method_and_doctype_has_a_line(self):
		self.assertEqual(app_whitelisted_methods() - set(METHODS), set(), "methods without a line in METHODS")
		self.assertEqual(set(METHODS) - app_whitelisted_methods(), set(), "lines of methods that are gone")
		self.assertEqual(app_doctypes() ^ set(DOCTYPES), set(), "DocTypes and DOCTYPES differ")
		wrong_get = {method for method, row in METHODS.items() if row.get != answers_get(method)}
		self.assertEqual(wrong_get, set(), "get= differs from the method's own methods=[...]")

	# ------------------------------------------------------------------------------------------ the app's methods

	def test_methods(self):
		failures, writing = [], []
		quiet = {caller: [] for caller in CALLERS}
		for index, caller in enumerate(CALLERS):
			for method, row in METHODS.items():
				for target in TARGET_GENERATORS if names_a_generator(row, self.w) else ("active",):
					letter = row.answer(index, target)
					if letter == "O" and row.writes:
						writing.append((caller, method, target, row, letter))
					else:
						quiet[caller].append(self.method_case(failures, caller, method, target, row, letter))
					# a GET never writes: a method that takes only POST refuses it to everyone
					quiet[caller].append(
						self.method_case(failures, caller, method, target, row, letter, get=True)
					)
		frappe.db.commit()  # what the arguments needed (a new customer) is there before the checksums
		for caller in CALLERS:
			self.quietly(quiet[caller], failures)
		for case in writing:  # on a fresh generator of the target's status: the targets stay as they are
			self.method_case(failures, *case, fresh=True)[1]()
		self.assertEqual(failures, [], "\n".join(failures))

	def method_case(self, failures, caller, method, target, row, letter, get=False, fresh=False):
		"""(label, a callable making the call); the call's arguments are built now, unless `fresh`."""
		label = f"{caller} {'GET' if get else 'POST'} {method} on {target}"
		expected = (letter if row.get else "D") if get else letter
		data = None if fresh else row.args(self.w, self.w.targets[target])

		def run():
			args = data
			if args is None:
				args = row.args(self.w, tab_world.fresh_generator(self.w, target))
				frappe.db.commit()  # what the arguments made (a new customer) is there for the request
			if get:
				response = self.call(caller, "get", f"/api/method/{method}?{urlencode(args)}")
			else:
				response = self.call(caller, "post", f"/api/method/{method}", data=args)
			self.expect(failures, label, response, expected_status(expected), secret_ok=caller == STAFF)

		return label, run

	def test_unknown_generator_answers_as_a_forbidden_one(self):
		"""A guest, a portal user or a contributor learns nothing from a generator's name; staff are told."""
		forbidden = {caller: self.w.targets["draft"] for caller in CALLERS[:3]}
		forbidden.update({caller: self.w.generator_b for caller in CALLERS[3:5]})
		for method, row in METHODS.items():
			if not names_a_generator(row, self.w):
				continue
			for caller, target in forbidden.items():
				with self.subTest(method=method, caller=caller):
					before = checksums()
					refused = self.call(
						caller, "post", f"/api/method/{method}", data=row.args(self.w, target)
					)
					unknown = self.call(
						caller, "post", f"/api/method/{method}", data=row.args(self.w, UNKNOWN)
					)
					if row.per_item and caller in CALLERS[3:5]:
						# a batch of a contributor (who may call it) answers per item: the item refused, alike
						self.assertEqual(refused.status_code, 200, body(refused)[:300])
						self.assertIn("does not exist or you are not permitted to use it", body(refused))
					else:
						self.assertEqual(refused.status_code, 403, body(refused)[:300])
					self.assertEqual(answer(unknown), replace(answer(refused), target, UNKNOWN), method)
					self.assertEqual(changed(before, checksums()), [])
			with self.subTest(method=method, caller="staff"):
				response = self.call(STAFF, "post", f"/api/method/{method}", data=row.args(self.w, UNKNOWN))
				self.assertEqual(response.status_code, 200 if row.per_item else 404, body(response))
				self.assertIn("does not exist", body(response))

	# ------------------------------------------------------------------------------------------ REST per DocType

	def test_rest_resources(self):
		failures, deletes = [], []
		for index, caller in enumerate(CALLERS):
			cases = []
			for doctype, answers in DOCTYPES.items():
				path = f"/api/resource/{quote(doctype)}"
				doc_path = f"{path}/{quote(str(self.documents[doctype]))}"
				requests = {
					"list": ("get", path, {}),
					"read": ("get", doc_path, {}),
					"insert": ("post", path, {"json": {}}),
					"update": ("put", doc_path, {"json": {}}),
					"delete": ("delete", doc_path, {}),
				}
				for operation, letter in zip(OPERATIONS, answers[index], strict=True):
					method, url, kwargs = requests[operation]
					label = f"{caller} {operation} {doctype}"
					status = expected_status(letter, delete=operation == "delete")

					def run(caller=caller, method=method, url=url, kwargs=kwargs, label=label, status=status):
						self.expect(
							failures, label, self.call(caller, method, url, **kwargs), status, secret_ok=True
						)

					if not (letter == "O" and operation in ("update", "delete")):
						cases.append((label, run))
					elif operation == "delete":
						deletes.append((label, run))  # after every other case: the document is gone then
					else:
						run()  # a permitted save may write (a new version of the document)
			self.quietly(cases, failures)
		for _label, run in deletes:
			run()
		self.assertEqual(failures, [], "\n".join(failures))

	# ------------------------------------------------------------------------------------------ Frappe's endpoints

	def test_frappes_document_endpoints(self):
		failures = []
		for index, caller in enumerate(CALLERS):
			cases = []
			for name, endpoint in DOCUMENT_ENDPOINTS.items():
				for key in ALL_TARGETS:
					doctype = TARGETS[key][0]
					letter = endpoint.answer(index, key)
					path, data = endpoint.request(doctype, self.w.targets[key])
					label = f"{caller} {name} on {key}"

					def run(
						caller=caller, endpoint=endpoint, path=path, data=data, label=label, letter=letter
					):
						kwargs = {"data": data} if data is not None else {}
						if endpoint.method == "put":
							kwargs = {"json": {}}
						response = self.call(caller, endpoint.method, path, **kwargs)
						self.expect(
							failures, label, response, expected_status(letter), secret_ok=caller == STAFF
						)

					if endpoint.method == "put" and letter == "O":
						run()  # a permitted save may write (a new version of the document)
					else:
						cases.append((label, run))
			self.quietly(cases, failures)
		self.assertEqual(failures, [], "\n".join(failures))

	def test_frappes_list_endpoints(self):
		failures = []
		# A's targets, and B's tab and its item: what no one but staff may see among the rows of a list
		others = {GENERATOR: [self.w.generator_b], ITEM: [self.w.item_b], INVOICE: []}
		names = {
			doctype: [self.w.targets[k] for k in ALL_TARGETS if TARGETS[k][0] == doctype] + others[doctype]
			for doctype in (GENERATOR, ITEM, INVOICE)
		}
		for index, caller in enumerate(CALLERS):
			cases = []
			for name, endpoint in LIST_ENDPOINTS.items():
				for doctype, asked in names.items():
					letter = endpoint.answers[doctype][index]
					reads = {self.w.targets[k] for k in READS[caller]} & set(asked)
					if caller == STAFF:
						reads |= set(others[doctype])
					variants = {"targets": ([["name", "in", asked]], letter, reads)}
					if doctype in UNREADABLE_FILTERS:
						# a filter on the internal notes: staff see what matches, nobody else learns anything
						unreadable, answers = UNREADABLE_FILTERS[doctype]
						permitted = letter if answers[index] == "O" else answers[index]
						variants["unreadable field"] = (
							[*unreadable, ["name", "in", asked]],
							permitted,
							reads,
						)
					for variant, (filters, expected, rows) in variants.items():
						method, path, data = endpoint.request(doctype, filters)
						label = f"{caller} {name} {doctype} ({variant})"

						def run(
							caller=caller,
							method=method,
							path=path,
							data=data,
							label=label,
							expected=expected,
							rows=rows,
							endpoint=endpoint,
						):
							response = self.call(caller, method, path, **({"data": data} if data else {}))
							self.expect(
								failures,
								label,
								response,
								expected_status(expected),
								secret_ok=caller == STAFF,
							)
							if response.status_code == 200 and expected == "O":
								got = listed(response, endpoint.shape)
								want = len(rows) if endpoint.shape == "count" else set(rows)
								if got != want:
									failures.append(f"{label}: answered {got}, expected {want}")

						cases.append((label, run))
			self.quietly(cases, failures)
		self.assertEqual(failures, [], "\n".join(failures))


def names_a_generator(row, w) -> bool:
	"""Whether the method takes a generator among its arguments."""
	return UNKNOWN in json.dumps(row.args(w, UNKNOWN), default=str)


def listed(response, shape: str):
	"""The names (or the count) a list endpoint answered, whatever its shape (v1, v2, report view, an export,
	a link search)."""
	if shape == "csv":
		rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
		return {row[1] for row in rows[1:]}  # "Sr", then the name
	payload = response.json
	data = payload.get("data", payload.get("message"))
	if shape == "count":
		return data
	if shape == "search":
		return {row["value"] for row in data}
	if isinstance(data, dict) and "keys" in data:  # report view: {"keys": [...], "values": [[...], ...]}
		return {row[data["keys"].index("name")] for row in data["values"]}
	return {row["name"] if isinstance(row, dict) else row[0] for row in data}
