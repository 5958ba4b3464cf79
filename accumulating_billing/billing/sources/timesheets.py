"""Timesheets as a source: their billable, uninvoiced time logs, and the Timesheets a generator's Sync takes."""

import frappe
from frappe import _
from frappe.utils import cint, flt, getdate, strip_html

from accumulating_billing.billing.sources.base import TIMESHEET, SourceLine, unsynced


def timesheet_lines(ts) -> list[SourceLine]:
	"""Billable, not yet invoiced time logs: qty = billing hours, rate = billing rate, on the log's start date."""
	lines = []
	for log in ts.time_logs:
		if not cint(log.is_billable) or flt(log.billing_hours) <= 0 or log.sales_invoice:
			continue
		project = log.project or ts.get("parent_project")
		customer = ts.customer or (project and frappe.get_cached_value("Project", project, "customer"))
		hours = flt(log.billing_hours)
		rate = flt(log.billing_rate)
		if flt(log.billing_amount) and abs(hours * rate - flt(log.billing_amount)) >= 0.005:
			# the amount was edited (Update Billing Amount): the rate follows it
			rate = flt(log.billing_amount) / hours
		description = ": ".join(
			part for part in (log.activity_type, strip_html(log.description or "").strip()) if part
		)
		lines.append(
			SourceLine(
				detail=log.name,
				customer=customer,
				project=project,
				service_date=getdate(log.from_time),
				qty=hours,
				rate=rate,
				exchange_rate=flt(ts.exchange_rate),
				currency=ts.currency or frappe.get_cached_value("Company", ts.company, "default_currency"),
				description=description or _("Time log {0}").format(log.idx),
			)
		)
	return lines


def unsynced_timesheets(generator) -> list[str]:
	"""Submitted Timesheets of the customer (directly or through a project of theirs) with billable,
	uninvoiced logs that no tab holds."""
	Project = frappe.qb.DocType("Project")
	projects = frappe.qb.from_(Project).select(Project.name).where(Project.customer == generator.customer)
	return unsynced(
		TIMESHEET,
		"Timesheet Detail",
		generator,
		lambda Ts, Log: (
			((Ts.customer == generator.customer) | Log.project.isin(projects))
			& (Log.is_billable == 1)
			& (Log.billing_hours > 0)
			& (Log.sales_invoice.isnull() | (Log.sales_invoice == ""))
		),
	)
