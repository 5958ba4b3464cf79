"""Templates become generators (docs/architecture.md §12): assignment to a customer, copies for several customers.

One generator per customer and template while it is live (Draft, Active or Paused). An explicit assignment
that meets a live one is refused; automatic paths (customer creation, rules) skip it and leave a comment,
so an automation that fires twice never fails and never duplicates.
"""

from dataclasses import dataclass, field
from datetime import date

import frappe
from frappe import _
from frappe.utils import cint, getdate, nowdate

from accumulating_billing import engine
from accumulating_billing.billing.permissions import permitted_generator
from accumulating_billing.billing.state import schedule_of
from accumulating_billing.doctypes import GENERATOR, TEMPLATE
from accumulating_billing.i18n import engine_message

# what a generator holds that is its own, never copied from a template or another generator
OWN_FIELDS = frozenset(
	(
		"customer",
		"customer_name",
		"title",
		"template",
		"status",
		"first_creation_date",
		"next_creation_date",
		"last_creation_date",
		"invoices_generated",
		"resume_date",
		"consecutive_failures",
		"last_error",
		"lines_on_hold",
	)
)


SYSTEM_FIELDS = frozenset((*frappe.model.default_fields, *frappe.model.child_table_fields))


class AlreadyAssignedError(frappe.ValidationError):
	"""The customer already has a live generator from this template."""


@dataclass
class BulkResult:
	created: list[str] = field(default_factory=list)
	refused: list[dict] = field(default_factory=list)  # {"customer": ..., "reason": ...}

	def as_dict(self) -> dict:
		return {"created": self.created, "refused": self.refused}


# ------------------------------------------------------------------------------------------ assignment


def assign(
	template: str,
	customer: str,
	assignment_date: date | str | None = None,
	ignore_permissions: bool = False,
) -> str:
	"""Create an Active generator for `customer` from `template`; returns its name.

	Refuses (AlreadyAssignedError) when the customer already has a live generator from this template."""
	assignment_date = getdate(assignment_date or nowdate())
	tpl = enabled_template(template)
	check_customer(customer)
	# serialise assignments for one customer: two concurrent ones must not both see "none yet"
	frappe.db.get_value("Customer", customer, "name", for_update=True)
	existing = live_generator(customer, tpl.name)
	if existing:
		frappe.throw(
			_("Customer {0} already has generator {1} from template {2}.").format(
				frappe.bold(customer), frappe.bold(existing), frappe.bold(tpl.name)
			),
			AlreadyAssignedError,
			title=_("Already assigned"),
		)
	doc = frappe.get_doc(
		{
			"doctype": GENERATOR,
			**copied_settings(tpl),
			"customer": customer,
			"template": tpl.name,
			"title": generator_title(customer, tpl),
			"status": "Active",
			"first_creation_date": first_creation_date(tpl, assignment_date),
		}
	)
	doc.insert(ignore_permissions=ignore_permissions)
	return doc.name


def assign_quietly(template: str, customer: str, reference, assignment_date=None) -> str | None:
	"""Assignment for automations (customer creation, rules): an existing live generator is not an error;
	the skip is noted on `reference` (the document that triggered it). Other errors propagate."""
	try:
		return assign(template, customer, assignment_date, ignore_permissions=True)
	except AlreadyAssignedError:
		frappe.clear_last_message()
		reference.add_comment(
			"Info",
			_("Accumulating template {0} not assigned again: customer {1} already has generator {2}.").format(
				template, customer, live_generator(customer, template)
			),
		)
		return None


def enabled_template(template: str):
	if not template or not frappe.db.exists(TEMPLATE, template):
		frappe.throw(_("Accumulating Generator Template {0} does not exist.").format(frappe.bold(template)))
	tpl = frappe.get_doc(TEMPLATE, template)
	if not cint(tpl.enabled):
		frappe.throw(
			_("Template {0} is disabled.").format(frappe.bold(template)), title=_("Disabled template")
		)
	return tpl


def check_customer(customer: str) -> None:
	if not customer or not frappe.db.exists("Customer", customer):
		frappe.throw(_("Customer {0} does not exist.").format(frappe.bold(customer)))
	if cint(frappe.db.get_value("Customer", customer, "disabled")):
		frappe.throw(
			_("Customer {0} is disabled.").format(frappe.bold(customer)), title=_("Disabled customer")
		)


def live_generator(customer: str, template: str) -> str | None:
	return frappe.db.get_value(
		GENERATOR,
		{"customer": customer, "template": template, "status": ("in", engine.LIVE_STATUSES)},
		"name",
	)


def first_creation_date(tpl, assignment_date: date) -> date:
	try:
		return engine.first_creation_date(
			tpl.first_date_rule,
			assignment_date,
			days=cint(tpl.first_date_days),
			day_of_month=cint(tpl.first_date_day_of_month) or 1,
		)
	except engine.ValidationError as e:
		frappe.throw(engine_message(e), title=_("Invalid first date rule"))


def generator_title(customer: str, tpl) -> str:
	customer_name = frappe.db.get_value("Customer", customer, "customer_name") or customer
	return f"{customer_name} - {tpl.title or tpl.name}"


def copied_settings(source) -> dict:
	"""The billing settings of a template or generator that a new generator takes over (taxes included)."""
	target = frappe.get_meta(GENERATOR)
	values = {}
	for df in target.get("fields"):
		if df.fieldname in OWN_FIELDS or not source.meta.get_field(df.fieldname):
			continue
		if df.fieldtype == "Table":
			values[df.fieldname] = [
				{k: v for k, v in row.as_dict().items() if k not in SYSTEM_FIELDS}
				for row in source.get(df.fieldname)
			]
		elif df.fieldtype not in frappe.model.no_value_fields:
			values[df.fieldname] = source.get(df.fieldname)
	return values


# ------------------------------------------------------------------------------------------ several customers


def check_can_create(customers: list[str], template: str | None = None, generator: str | None = None) -> None:
	"""Create on generators, read on the template or the source generator and on each customer."""
	frappe.has_permission(GENERATOR, "create", throw=True)
	if template:
		if not frappe.db.exists(TEMPLATE, template):
			frappe.throw(
				_("Accumulating Generator Template {0} does not exist.").format(template),
				frappe.DoesNotExistError,
			)
		frappe.has_permission(TEMPLATE, "read", template, throw=True)
	if generator:
		permitted_generator(generator, "read")
	for customer in customers:
		if customer and frappe.db.exists("Customer", customer):
			frappe.has_permission("Customer", "read", customer, throw=True)


def create_for_customers(
	customers: list[str],
	template: str | None = None,
	generator: str | None = None,
	assignment_date: date | str | None = None,
	progress=None,
	commit_each: bool = False,
) -> BulkResult:
	"""One generator per customer, from a template (an assignment each) or as a copy of a generator.
	Each customer is its own savepoint: a refused one changes nothing and the others go on; with `commit_each`
	(the background job, billing/bulk_create.py) each customer is also committed, so a long run holds no lock
	and keeps what it made. `progress(done, total, customer, result so far)` is called after each customer."""
	customers = customers_to_create(customers, template, generator)
	assignment_date = getdate(assignment_date or nowdate())
	source = None if template else frappe.get_doc(GENERATOR, generator)
	result = BulkResult()
	for done, customer in enumerate(customers, 1):
		savepoint = f"ab_bulk_{done}"
		frappe.db.savepoint(savepoint)
		try:
			if template:
				name = assign(template, customer, assignment_date)
			else:
				name = copy_generator(source, customer, assignment_date)
			result.created.append(name)
		except Exception as e:
			frappe.db.rollback(save_point=savepoint)
			frappe.clear_last_message()
			result.refused.append(
				{"customer": customer, "reason": frappe.utils.strip_html(str(e)) or e.__class__.__name__}
			)
		if commit_each:
			frappe.db.commit()
		if progress:
			progress(done, len(customers), customer, result)
	return result


def customers_to_create(customers: list[str], template: str | None, generator: str | None) -> list[str]:
	"""The customers of a *Create for several customers*, each once; refuses a request without a customer or
	without exactly one source (a template or a generator)."""
	if bool(template) == bool(generator):
		frappe.throw(_("Create from either a template or a generator."))
	customers = list(dict.fromkeys(c for c in customers or [] if c))
	if not customers:
		frappe.throw(_("Select at least one customer."))
	return customers


def copy_generator(source, customer: str, today: date) -> str:
	"""A new generator for `customer` with the settings and rhythm of `source`: the same first date, and
	its next invoice on the first scheduled date on or after `today` (nothing in the past is caught up)."""
	check_customer(customer)
	schedule = schedule_of(source)
	doc = frappe.get_doc(
		{
			"doctype": GENERATOR,
			**copied_settings(source),
			"customer": customer,
			"status": "Draft" if source.status == "Draft" else "Active",
			"first_creation_date": source.first_creation_date,
		}
	)
	if doc.status == "Active":
		doc.next_creation_date = engine.first_on_or_after(schedule, max(today, schedule.first_date))
		doc.flags.keep_next_creation_date = True
	doc.insert()
	return doc.name


# ------------------------------------------------------------------------------------------ customer creation


def check_template_on_new_customer(doc, method=None) -> None:
	"""Customer.before_insert: the template field is checked before anything is written (desk, import, REST)."""
	template = doc.get("accumulating_template")
	if not template:
		return
	enabled_template(template)
	if not doc.flags.ignore_permissions and not frappe.has_permission(GENERATOR, "create"):
		frappe.throw(
			_("You may not create Accumulating Generators, so the customer cannot get template {0}.").format(
				frappe.bold(template)
			),
			frappe.PermissionError,
		)


def assign_on_customer_creation(doc, method=None) -> None:
	"""Customer.after_insert: assign the template chosen on the new customer (errors refuse the customer)."""
	template = doc.get("accumulating_template")
	if template:
		assign_quietly(template, doc.name, doc)
