"""Notifications fired by automations (issue 19 §4): a failing one counts, and the channels no transaction can take
back are sent after the run's commit, never twice.

Frappe's `Notification.send` catches every error of its channels and only writes an Error Log (and Frappe's Slack
sender logs a refused message without raising at all), so a Notification that sent nothing looked fired. Here an
error Frappe logs while the Notification is sent is that Notification's failure: the automation run ends Failed
with it, like any other failing automation (automations.py).

An email (Email Queue) and a system notification (Notification Log) are rows of the run's transaction: they go
with it, or not at all. A Slack message or an SMS leaves the site the moment it is sent: those Notifications (the
generator's own and the site-wide ones on the event's method) are sent after the commit that marks the run fired,
each recorded on the run and committed right after, so a run fired again after a crash skips them.
"""

import json
import sys
from contextlib import contextmanager

import frappe
from frappe import _
from frappe.utils import strip_html

NOTIFICATION = "Notification"
# channels whose message leaves the site when sent (HTTP), which no rollback takes back
IRREVERSIBLE = ("Slack", "SMS")


class NotificationFailed(frappe.ValidationError):
	pass


@contextmanager
def errors_logged():
	"""The errors Frappe logs (`frappe.log_error`) in this thread while the block runs: a list of messages.

	The recorder is installed on `frappe.log_error` once per process and never taken off, so threads that overlap
	cannot leave a wrapper behind or miss one; outside such a block (a thread-local list) it only passes through."""
	install_recorder()
	logged: list[str] = []
	outer = getattr(frappe.local, "accumulating_logged_errors", None)
	frappe.local.accumulating_logged_errors = logged
	try:
		yield logged
	finally:
		frappe.local.accumulating_logged_errors = outer


def install_recorder() -> None:
	if not getattr(frappe.log_error, "accumulating_recorder", False):
		frappe.log_error = recording(frappe.log_error)


def recording(real):
	def log_error(title=None, message=None, *args, **kwargs):
		logged = getattr(frappe.local, "accumulating_logged_errors", None)
		if logged is not None:
			error = sys.exc_info()[1]  # Notification.send logs inside its except: the error itself
			logged.append(strip_html(str(error)) if error else strip_html(str(title or message or "")))
		return real(title, message, *args, **kwargs)

	log_error.accumulating_recorder = True
	return log_error


def send(invoice, notification: str) -> None:
	"""Send one Notification for the invoice now, as Frappe does (its condition, its channel), and raise what
	Frappe only logged."""
	from frappe.email.doctype.notification.notification import get_context

	alert = frappe.get_doc(NOTIFICATION, notification)
	if not alert.enabled:
		frappe.throw(_("Notification {0} is disabled.").format(notification))
	if alert.condition and not frappe.safe_eval(alert.condition, None, get_context(invoice)):
		return
	if alert.channel == "SMS" and not frappe.db.get_single_value("SMS Settings", "sms_gateway_url"):
		# Frappe only shows a message then: nothing is sent
		raise NotificationFailed(_("SMS Settings have no SMS Gateway URL: nothing was sent."))
	with errors_logged() as logged:
		alert.send(invoice)
	if logged:
		raise NotificationFailed("; ".join(dict.fromkeys(logged)))


def irreversible(notification: str) -> bool:
	return frappe.db.get_value(NOTIFICATION, notification, "channel") in IRREVERSIBLE


def site_wide_irreversible(method: str) -> list[str]:
	"""The enabled Slack and SMS Notifications on Sales Invoice with Event = Method on `method`."""
	return frappe.get_all(
		NOTIFICATION,
		filters={
			"enabled": 1,
			"document_type": "Sales Invoice",
			"event": "Method",
			"method": method,
			"channel": ("in", IRREVERSIBLE),
		},
		pluck="name",
		order_by="name asc",
	)


def send_once(run, invoice, notification: str, failures: list[str]) -> None:
	"""After the run's commit: send a Slack or SMS Notification unless this run sent (or tried) it already. The
	attempt is recorded on the run and committed *before* the send, so that a run fired again after a crash at
	any point never sends it twice (at most once: a worker dying mid-send loses that one message, never
	repeats it); the failures so far are committed with the outcome. A failure is added to `failures`."""
	sent = json.loads(run.get("sent_notifications") or "[]")
	if notification in sent:
		return
	run.db_set({"sent_notifications": json.dumps([*sent, notification])})
	frappe.db.commit()
	savepoint = "accumulating_notification"
	frappe.db.savepoint(savepoint)
	try:
		send(invoice, notification)
	except Exception as e:
		frappe.db.rollback(save_point=savepoint)
		frappe.clear_last_message()
		failures.append(
			_("Notification {0}: {1}").format(notification, strip_html(str(e)) or type(e).__name__)
		)
		frappe.log_error(title=_("Accumulating automation failed: Notification {0}").format(notification))
	run.db_set({"error": json.dumps(failures)})
	frappe.db.commit()
