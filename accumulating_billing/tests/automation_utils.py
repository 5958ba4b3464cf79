"""Helpers of the automation tests (issue 13) shared by several test modules: the runs of an invoice, the test
Notifications and Webhooks turned off, and the hourly sweep played in process."""

from unittest.mock import patch

import frappe

from accumulating_billing.billing import automations
from accumulating_billing.doctypes import RUN


def runs_of(invoice: str, event: str | None = None) -> list:
	filters = {"sales_invoice": invoice}
	if event:
		filters["event"] = event
	return frappe.get_all(
		RUN,
		filters=filters,
		fields=["name", "event", "transition", "status", "error"],
		order_by="creation asc",
	)


def disable_notification(name: str) -> None:
	"""Through the document, so Frappe's cache of the site's notifications forgets it."""
	notification = frappe.get_doc("Notification", name)
	notification.enabled = 0
	notification.save(ignore_permissions=True)
	frappe.db.commit()


def disable_test_webhooks() -> None:
	"""The tests' Webhooks are Frappe Webhooks on Sales Invoice (on_trash): left enabled, every later deletion of
	an invoice on the site would post to a closed receiver and wait for its timeout."""
	for name in frappe.get_all(
		"Webhook", filters={"name": ("like", "_AB Hook %"), "enabled": 1}, pluck="name"
	):
		hook = frappe.get_doc("Webhook", name)
		hook.enabled = 0
		hook.save(ignore_permissions=True)
	frappe.db.commit()


def fire_owed() -> list[str]:
	"""Play the hourly sweep and the short-queue worker: settle and fire every owed run."""
	with patch.object(automations, "enqueue_run", lambda run: None):
		owed = automations.enqueue_owed_runs()
	return [automations.fire(run) for run in owed]
