"""What `bench accumulating-billing run` does, kept testable (the command only wires the site)."""

from collections.abc import Callable
from datetime import date, datetime

import frappe
from frappe import _
from frappe.utils import getdate, nowdate

from accumulating_billing import engine
from accumulating_billing.billing.accrual import accrue_month
from accumulating_billing.billing.state import state_of
from accumulating_billing.billing.tasks import due_generators, process_due
from accumulating_billing.doctypes import GENERATOR
from accumulating_billing.i18n import engine_message

PROGRESS_FROM = 20


def run(as_of: str | None, dry_run: bool, echo: Callable[[str], None]) -> list[str]:
	as_of = parse_date(as_of)
	names = due_generators(as_of)
	if not names:
		echo(_("Nothing due as of {0}.").format(as_of))
	if dry_run:
		for name in names:
			doc = frappe.get_doc(GENERATOR, name)
			runs = engine.due_runs(state_of(doc), as_of) if doc.status == "Active" else []
			dates = ", ".join(str(d) for d in runs) or _("resume on {0}").format(doc.resume_date)
			echo(_("would run {0} ({1}): {2}").format(name, doc.customer, dates))
		from accumulating_billing.billing import threshold

		for name in threshold.reached_tabs(as_of):
			echo(_("would bill {0} at its threshold").format(name))
		if names:
			echo(_("Dry run: {0} generator(s) due as of {1}; nothing changed.").format(len(names), as_of))
		return []

	def progress(done, total, result):
		for line in result.log:
			echo(f"{result.generator}: {line}")
		if result.error:
			echo(_("{0}: FAILED: {1}").format(result.generator, result.error))
		if total >= PROGRESS_FROM:
			frappe.utils.update_progress_bar(_("Generating"), done - 1, total)

	invoices = []
	if names:
		invoices = process_due(as_of, progress=progress)
		echo(
			_("Created {0} invoice(s) for {1} generator(s) as of {2}.").format(
				len(invoices), len(names), as_of
			)
		)
	return invoices + bill_at_thresholds(as_of, echo)


def bill_at_thresholds(as_of: date, echo: Callable[[str], None]) -> list[str]:
	"""The tabs found at their threshold (or past a Tab Reaches alert not fired) are billed (recorded) too, as the
	hourly sweep asks its jobs to: a lost job or a crash is caught up."""
	from accumulating_billing.billing import threshold

	invoices = threshold.bill_reached(as_of, echo)
	if invoices:
		echo(_("Billed {0} tab(s) at their threshold as of {1}.").format(len(invoices), as_of))
	return invoices


def parse_date(value: str | None) -> date:
	"""The --date option: YYYY-MM-DD, default today (site time zone); anything else is a clear error."""
	if not value:
		return getdate(nowdate())
	try:
		return datetime.strptime(value.strip(), "%Y-%m-%d").date()
	except ValueError:
		frappe.throw(
			_("--date {0} is not a valid date: write it as YYYY-MM-DD.").format(value),
			title=_("Invalid date"),
		)


def accrue(month: str | None, company: str | None, echo: Callable[[str], None]) -> list:
	"""The accrual of the month (YYYY-MM) for every company set up, or one: one line per company; a company that
	failed makes the command fail (after the others were done)."""
	try:
		month_end = engine.parse_month(month)
	except engine.ValidationError as e:
		frappe.throw(engine_message(e), title=_("Invalid month"))
	results = accrue_month(month_end, company)
	if not results:
		echo(
			_(
				"No company is set up under Accumulating Billing Settings ▸ Accrual Accounts: nothing to accrue."
			)
		)
	for result in results:
		echo(
			_("{0}: FAILED: {1}").format(result.company, result.message) if result.failed else result.message
		)
	failed = [result.company for result in results if result.failed]
	if failed:
		frappe.throw(_("The accrual failed for {0}.").format(", ".join(failed)), title=_("Accrual failed"))
	return results
