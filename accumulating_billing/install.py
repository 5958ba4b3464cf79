"""Install / migrate / uninstall: custom fields on ERPNext DocTypes, the contributor role and the
database key that makes a second invoice for the same occurrence impossible."""

import frappe
from frappe import _
from frappe.custom.doctype.custom_field.custom_field import create_custom_fields

from accumulating_billing.billing import schema
from accumulating_billing.doctypes import CONTRIBUTOR_ROLE


def get_custom_fields() -> dict[str, list[dict]]:
	return {
		"Sales Invoice": [
			{
				"fieldname": "accumulating_generator",
				"fieldtype": "Link",
				"label": _("Accumulating Generator"),
				"options": "Accumulating Generator",
				"insert_after": "customer_name",
				"read_only": 1,
				"no_copy": 1,
				"in_standard_filter": 1,
				"search_index": 1,
				"print_hide": 1,
			},
			{
				"fieldname": "accumulating_occurrence",
				"fieldtype": "Date",
				"label": _("Accumulating Occurrence"),
				"insert_after": "accumulating_generator",
				"read_only": 1,
				"no_copy": 1,
				"print_hide": 1,
				"depends_on": "accumulating_generator",
			},
			{
				# the paid state the automations last saw: a transition to paid fires Paid once
				"fieldname": "accumulating_paid",
				"fieldtype": "Check",
				"label": _("Accumulating Paid Fired"),
				"insert_after": "accumulating_occurrence",
				"read_only": 1,
				"hidden": 1,
				"no_copy": 1,
				"print_hide": 1,
			},
			{
				"fieldname": "accumulating_paid_count",
				"fieldtype": "Int",
				"label": _("Accumulating Paid Transitions"),
				"insert_after": "accumulating_paid",
				"read_only": 1,
				"hidden": 1,
				"no_copy": 1,
				"print_hide": 1,
			},
			{
				"fieldname": "accumulating_late_fee",
				"fieldtype": "Data",
				"label": _("Accumulating Late Fee"),
				"insert_after": "accumulating_paid_count",
				"read_only": 1,
				"no_copy": 1,
				"print_hide": 1,
				"depends_on": "accumulating_late_fee",
				"description": _("The late fee item or Dunning made for this invoice once it was overdue"),
			},
			{
				# two-step billing: the invoice and its billed items are committed (reserved), the submit
				# follows in a second transaction; set until then, so a sweeper can finish what a crash left
				"fieldname": "accumulating_finalize",
				"fieldtype": "Check",
				"label": _("Accumulating Submit Pending"),
				"insert_after": "accumulating_late_fee",
				"read_only": 1,
				"hidden": 1,
				"no_copy": 1,
				"print_hide": 1,
				"search_index": 1,
			},
			{
				# ERPNext's credit limit refused its submit: a Draft a person decides on; no run submits it
				# (billing/review.py). Cleared when it is submitted.
				"fieldname": "accumulating_review",
				"fieldtype": "Check",
				"label": _("Kept for Review"),
				"insert_after": "accumulating_finalize",
				"read_only": 1,
				"no_copy": 1,
				"print_hide": 1,
				"depends_on": "accumulating_review",
				"description": _(
					"ERPNext refused to submit this generated invoice (its credit limit). Its items are billed on "
					"it: submit it, or edit or delete it (its items go back to the tab)."
				),
			},
			{
				# the Payment Gateway Account of the Payment Request this invoice still owes, made after the
				# invoice's commit by a job (billing/payments.py); empty once made or no longer asked for
				"fieldname": "accumulating_pay_request",
				"fieldtype": "Data",
				"label": _("Accumulating Payment Request Owed"),
				"insert_after": "accumulating_review",
				"read_only": 1,
				"hidden": 1,
				"no_copy": 1,
				"print_hide": 1,
				"search_index": 1,
			},
			{
				# the tabs the invoice bills, one row per generator with its occurrence (unique per tab and
				# occurrence: billing/schema.py); shown on a combined invoice (several tabs of one payer)
				"fieldname": "accumulating_tabs",
				"fieldtype": "Table",
				"label": _("Tabs Billed"),
				"options": "Accumulating Invoice Tab",
				"insert_after": "accumulating_pay_request",
				"read_only": 1,
				"no_copy": 1,
				"print_hide": 1,
				"depends_on": "eval:(doc.accumulating_tabs || []).length > 1",
			},
		],
		"Sales Invoice Item": [
			{
				"fieldname": "accumulating_generator_item",
				"fieldtype": "Link",
				"label": _("Accumulating Generator Item"),
				"options": "Accumulating Generator Item",
				"insert_after": "description",
				"read_only": 1,
				"no_copy": 1,
				"print_hide": 1,
			},
			{
				# Invoice Lines: Grouped: the key shared by a group line and the tab items it sums
				"fieldname": "accumulating_line_group",
				"fieldtype": "Data",
				"label": _("Accumulating Line Group"),
				"insert_after": "accumulating_generator_item",
				"read_only": 1,
				"hidden": 1,
				"no_copy": 1,
				"print_hide": 1,
			},
			{
				# a combined invoice: the tab (generator) a line bills, under whose title its print groups it
				"fieldname": "accumulating_tab",
				"fieldtype": "Link",
				"label": _("Accumulating Tab"),
				"options": "Accumulating Generator",
				"insert_after": "accumulating_line_group",
				"read_only": 1,
				"no_copy": 1,
				"print_hide": 1,
				"depends_on": "accumulating_tab",
			},
		],
		"Journal Entry": [
			{
				# the month-end accrual of unbilled revenue and its reversal: the month end they are for
				# (billing/accrual.py finds a month's entries by it)
				"fieldname": "accumulating_accrual_for",
				"fieldtype": "Date",
				"label": _("Unbilled Revenue Accrued As Of"),
				"insert_after": "reversal_of",
				"read_only": 1,
				"no_copy": 1,
				"print_hide": 1,
				"search_index": 1,
				"depends_on": "accumulating_accrual_for",
				"description": _(
					"Posted by Accumulating Billing: the unbilled revenue of the running tabs as of this day (the "
					"month-end accrual, or its reversal)"
				),
			},
		],
		"Issue": [
			{
				# a question the customer asked about a tab line in the portal (billing/questions.py)
				"fieldname": "accumulating_generator_item",
				"fieldtype": "Link",
				"label": _("Questioned Tab Line"),
				"options": "Accumulating Generator Item",
				"insert_after": "customer",
				"read_only": 1,
				"no_copy": 1,
				"search_index": 1,
				"depends_on": "accumulating_generator_item",
				"description": _(
					"The running tab line this question is about: it is on hold until the Issue is resolved or closed"
				),
			},
		],
		"Customer": [
			{
				"fieldname": "accumulating_template",
				"fieldtype": "Link",
				"label": _("Accumulating Generator Template"),
				"options": "Accumulating Generator Template",
				"insert_after": "customer_group",
				"no_copy": 1,
				"depends_on": "eval:doc.__islocal",
				"description": _(
					"Assigns this template's accumulating generator when the customer is created"
				),
			},
		],
	}


def after_install():
	make_role()
	make_custom_fields()
	make_indexes()
	set_settings_defaults()
	compile_translations()


def after_migrate():
	make_role()
	make_custom_fields()
	make_indexes()
	compile_translations()


def set_settings_defaults() -> None:
	"""Store the defaults of Accumulating Billing Settings that a missing value would turn off (a Check read
	from a Single is 0 until it is saved): the kickoff form confirms the email unless an admin turns it off."""
	settings = "Accumulating Billing Settings"
	Singles = frappe.qb.DocType("Singles")
	stored = (
		frappe.qb.from_(Singles)
		.select(Singles.value)
		.where((Singles.doctype == settings) & (Singles.field == "kickoff_confirm_email"))
	).run()
	if not stored:
		frappe.db.set_single_value(settings, "kickoff_confirm_email", 1)


def compile_translations():
	"""The app's locale/<lang>.po compiled for Frappe (as `bench build` does), so a site that is only installed
	or migrated speaks them too; a bench whose assets folder is not writable keeps what it has."""
	from accumulating_billing.i18n import compile_catalogues

	try:
		compile_catalogues()
	except OSError:
		frappe.log_error(title=_("Accumulating Billing: translations not compiled"))


def make_indexes():
	"""The tick's selection indexes and the tabs' occurrence key, also on sites installed before one was added
	(idempotent)."""
	schema.add_generator_indexes()
	schema.add_tab_occurrence_key()


def make_role():
	if not frappe.db.exists("Role", CONTRIBUTOR_ROLE):
		frappe.get_doc(
			{"doctype": "Role", "role_name": CONTRIBUTOR_ROLE, "desk_access": 1, "is_custom": 0}
		).insert(ignore_permissions=True)


def make_custom_fields():
	create_custom_fields(get_custom_fields(), ignore_validate=True)
	# one invoice per (generator, occurrence): a duplicate-key error means "already done"
	schema.add_occurrence_key()


def before_uninstall():
	schema.drop_occurrence_key()
	for doctype, fields in get_custom_fields().items():
		for field in fields:
			name = frappe.db.get_value("Custom Field", {"dt": doctype, "fieldname": field["fieldname"]})
			if name:
				frappe.delete_doc("Custom Field", name, ignore_permissions=True, force=True)
		frappe.clear_cache(doctype=doctype)
