"""A generator's life outside its runs: pause, resume (by hand or when its resume date comes), archive and restore.

Each is a state change of the generator row under its lock, with a line in the generation log; what billing an
occurrence does is generation.py's."""

from datetime import date

import frappe
from frappe import _
from frappe.utils import cint, getdate, nowdate

from accumulating_billing import engine
from accumulating_billing.billing.generation_log import write_log
from accumulating_billing.billing.state import state_of
from accumulating_billing.doctypes import GENERATOR


def resume_if_due(name: str, as_of: date) -> None:
	"""A Paused generator whose resume date has come resumes by itself."""
	values = frappe.db.get_value(GENERATOR, name, ["status", "resume_date"], as_dict=True)
	if values and resumes(values, as_of):
		resume(name, getdate(values.resume_date))
		frappe.db.commit()


def resumes(generator, as_of: date) -> bool:
	"""Whether `generator` (its document, or its status and resume date) is Paused and its resume date has come:
	it resumes by itself (`resume`)."""
	return bool(
		generator.status == engine.PAUSED
		and generator.resume_date
		and getdate(generator.resume_date) <= as_of
	)


def pause(name: str, resume_date: date | str | None = None) -> None:
	generator = frappe.get_doc(GENERATOR, name, for_update=True)
	if generator.status != engine.ACTIVE:
		frappe.throw(
			_("Only an Active generator can be paused; {0} is {1}.").format(name, _(generator.status))
		)
	if resume_date and generator.next_creation_date and getdate(resume_date) < getdate(nowdate()):
		frappe.throw(_("The resume date cannot be in the past."))
	frappe.db.set_value(GENERATOR, name, {"status": engine.PAUSED, "resume_date": resume_date or None})
	message = _("Paused until {0}").format(frappe.format(resume_date, "Date")) if resume_date else _("Paused")
	write_log(name, getdate(nowdate()), "Paused", message)


def resume(name: str, resume_date: date | str) -> date | None:
	"""Resume on `resume_date`: the next run is the first occurrence on or after it (the rhythm is kept).
	Occurrences that fell inside the pause are not caught up; the log lists them."""
	if not resume_date:
		frappe.throw(_("Resume needs a resume date."))
	resume_date = getdate(resume_date)
	generator = frappe.get_doc(GENERATOR, name, for_update=True)
	if generator.status != engine.PAUSED:
		frappe.throw(
			_("Only a Paused generator can be resumed; {0} is {1}.").format(name, _(generator.status))
		)
	state = state_of(generator)
	missed = engine.missed_during_pause(state, resume_date)
	next_date = engine.resume_next_date(state, resume_date)
	frappe.db.set_value(
		GENERATOR, name, {"status": engine.ACTIVE, "resume_date": None, "next_creation_date": next_date}
	)
	for day in missed:
		write_log(name, day, "Missed", _("{0}: not billed, the generator was paused").format(day))
	write_log(
		name,
		resume_date,
		"Resumed",
		_("Resumed on {0}; next invoice on {1}; {2} paused occurrence(s) not caught up").format(
			resume_date, next_date, len(missed)
		),
	)
	return next_date


def set_archived(name: str, archived: bool) -> str:
	"""Archive (stop billing, hide from the default list) or restore a generator; returns the new status.

	Restore brings it back Paused, so that Resume asks from when to bill again (the archived period is not
	caught up), or Completed when it had reached its end, or Draft when it never started."""
	generator = frappe.get_doc(GENERATOR, name, for_update=True)
	if archived:
		if generator.status == engine.ARCHIVED:
			frappe.throw(_("Generator {0} is already Archived.").format(name))
		status = engine.ARCHIVED
	else:
		if generator.status != engine.ARCHIVED:
			frappe.throw(
				_("Only an Archived generator can be restored; {0} is {1}.").format(name, _(generator.status))
			)
		if not generator.next_creation_date and not cint(generator.invoices_generated):
			status = engine.DRAFT
		elif not generator.next_creation_date or (
			generator.end_condition == engine.END_AFTER_N
			and cint(generator.invoices_generated) >= cint(generator.end_after_invoices)
		):
			status = engine.COMPLETED
		else:
			status = engine.PAUSED
	frappe.db.set_value(GENERATOR, name, {"status": status, "resume_date": None})
	generator.add_comment(
		"Info", _("Archived") if archived else _("Restored from the archive as {0}").format(_(status))
	)
	return status
