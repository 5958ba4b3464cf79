"""Which generator receives a source line: the customer's live generator of the line's project, else the
customer's one live generator with the setting on. Several, or none, and the line has no receiver."""

import frappe
from frappe import _
from frappe.utils import cint

from accumulating_billing.billing.sources.base import DELIVERY_NOTE, GENERATOR, TIMESHEET, SourceLine
from accumulating_billing.engine import LIVE_STATUSES

SETTING = {TIMESHEET: "accumulate_timesheets", DELIVERY_NOTE: "accumulate_delivery_notes"}
ROUTING_FIELDS = (
	"name",
	"status",
	"customer",
	"company",
	"currency",
	"project",
	"end_condition",
	"end_date",
	"timesheet_item",
	"accumulate_timesheets",
	"accumulate_delivery_notes",
	"on_refused_line",
)


def live_generators(customer: str, company: str) -> list:
	return frappe.get_all(
		GENERATOR,
		filters={"customer": customer, "company": company, "status": ("in", LIVE_STATUSES)},
		fields=list(ROUTING_FIELDS),
		order_by="name asc",
	)


def route(generators: list, doctype: str, line: SourceLine) -> tuple:
	"""(receiving generator, None) or (None, why not)."""
	receiving = [g for g in generators if cint(g[SETTING[doctype]])]
	if line.project:
		same = [g for g in receiving if g.project == line.project]
		if same or doctype == DELIVERY_NOTE:
			# ERPNext bills a Delivery Note of a project only on an invoice of that project
			receiving = same
	if len(receiving) == 1:
		return receiving[0], None
	label = _(doctype) + "s"
	if not receiving:
		if line.project:
			return None, _("no live generator of project {0} accumulates {1}").format(line.project, label)
		return None, _("no live generator of the customer accumulates {0}").format(label)
	return None, _("{0} live generators could receive it ({1}); set the Project on one of them").format(
		len(receiving), ", ".join(g.name for g in receiving)
	)
