"""Helpers of the automation tests (issue 13) shared by several test modules: the runs of an invoice, the test
Notifications and Webhooks turned off, and the hourly sweep played in process."""

from unittest.mock import patch

import frappe

from accumulating_billing.billing import automations

RUN = "Accumulating Automation Run"


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


def make_tab_notification(tag: str) -> str:
	"""An email Notification on Accumulating Generator (Event Custom: sent by the Tab Reaches automations that list
	it) whose subject carries `tag` and the generator, and whose message the tab's unbilled total."""
	name = f"_AB Tab Notify {tag}"
	if not frappe.db.exists("Notification", name):
		frappe.get_doc(
			{
				"doctype": "Notification",
				"name": name,
				"subject": f"AB {tag} {{{{ doc.name }}}}",
				"document_type": "Accumulating Generator",
				"event": "Custom",
				"channel": "Email",
				"message": f"AB {tag}: the tab of {{{{ doc.customer }}}} reached {{{{ doc.unbilled_total }}}}",
				"recipients": [{"cc": "ab-notify@example.com"}],
				"enabled": 1,
			}
		).insert(ignore_permissions=True)
	return name


def make_tab_webhook(url: str) -> str:
	"""A Webhook on Accumulating Generator posting the generator's name and unbilled total to `url` (named like the
	tests' other webhooks, so that disable_test_webhooks turns it off)."""
	return (
		frappe.get_doc(
			{
				"doctype": "Webhook",
				"name": f"_AB Hook {frappe.generate_hash(length=8)}",
				"webhook_doctype": "Accumulating Generator",
				"webhook_docevent": "on_trash",
				"request_url": url,
				"request_method": "POST",
				"request_structure": "Form URL-Encoded",
				"timeout": 3,
				"enabled": 1,
				"webhook_data": [
					{"fieldname": "name", "key": "generator"},
					{"fieldname": "unbilled_total", "key": "unbilled_total"},
				],
			}
		)
		.insert(ignore_permissions=True)
		.name
	)
