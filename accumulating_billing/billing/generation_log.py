"""The generation log (one line per occurrence and per state change) and what a failed run records: the
failure count and message on the generator, an Error Log, and the managers' alert after five in a row."""

from datetime import date

import frappe
from frappe import _
from frappe.utils import cint, getdate, nowdate

GENERATOR = "Accumulating Generator"
LOG = "Accumulating Generation Log"
FAILING_AFTER = 5


def write_log(
	generator: str,
	occurrence: date,
	outcome: str,
	reason: str,
	sales_invoice: str | None = None,
	items_count: int = 0,
	email_status: str | None = None,
) -> None:
	"""One line of the log, written as a row in the caller's transaction: every value comes from this app, so
	the document pipeline (permission, link and option checks, hooks) has nothing to add to it."""
	log = frappe.new_doc(LOG)
	log.update(
		{
			"generator": generator,
			"occurrence_date": occurrence,
			"outcome": outcome,
			"reason": reason,
			"sales_invoice": sales_invoice,
			"items_count": items_count,
			"email_status": email_status,
		}
	)
	log.set_new_name()
	log.set_user_and_timestamp()
	log.db_insert()


def record_failure(name: str, run_date: date | None, error: Exception) -> str:
	"""Keep next_creation_date; count the failure, keep the message, write an Error Log; flag after 5."""
	message = frappe.utils.strip_html(str(error)) or error.__class__.__name__
	frappe.log_error(
		title=_("Accumulating Generator {0} failed").format(name),
		reference_doctype=GENERATOR,
		reference_name=name,
	)
	if not frappe.db.exists(GENERATOR, name):
		return message
	failures = cint(frappe.db.get_value(GENERATOR, name, "consecutive_failures", for_update=True)) + 1
	frappe.db.set_value(
		GENERATOR,
		name,
		{"consecutive_failures": failures, "last_error": message[:1000]},
		update_modified=False,
	)
	write_log(
		name,
		run_date or getdate(nowdate()),
		"Failed",
		_("{0}: failed, will retry on the next run: {1}").format(run_date, message[:500]),
	)
	if failures == FAILING_AFTER:
		notify_failing(name, message)
	return message


def notify_failing(name: str, message: str) -> None:
	from frappe.desk.doctype.notification_log.notification_log import enqueue_create_notification

	managers = frappe.get_all(
		"Has Role",
		filters={"role": "Accounts Manager", "parenttype": "User"},
		pluck="parent",
		distinct=True,
	)
	users = [
		u
		for u in managers
		if u not in ("Administrator", "Guest") and frappe.db.get_value("User", u, "enabled")
	]
	if not users:
		return
	enqueue_create_notification(
		users,
		{
			"type": "Alert",
			"document_type": GENERATOR,
			"document_name": name,
			"subject": _("Accumulating Generator {0} is failing ({1} failures in a row): {2}").format(
				name, FAILING_AFTER, message[:200]
			),
		},
	)


def accounts_managers() -> list[str]:
	"""The users with the Accounts Manager role (never Administrator or Guest): the people alerted, with a
	generator's owner, for its held lines (held.py; notify_failing reads the same)."""
	managers = frappe.get_all(
		"Has Role",
		filters={"role": "Accounts Manager", "parenttype": "User"},
		pluck="parent",
		distinct=True,
	)
	return [u for u in managers if u not in ("Administrator", "Guest")]
