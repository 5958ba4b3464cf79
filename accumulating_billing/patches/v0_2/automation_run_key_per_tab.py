import frappe

from accumulating_billing.accumulating_billing.doctype.accumulating_automation_run.accumulating_automation_run import (
	OLD_RUN_KEY,
	on_doctype_update,
)

RUN_TABLE = "tabAccumulating Automation Run"


def execute():
	"""A combined invoice owes its Generated and Paid runs once per tab: the run's unique key takes the generator
	(invoice, generator, event, transition), and the old one (invoice, event, transition) goes. Idempotent."""
	on_doctype_update()
	if frappe.db.has_index(RUN_TABLE, OLD_RUN_KEY):
		frappe.db.sql_ddl(f"ALTER TABLE `{RUN_TABLE}` DROP INDEX `{OLD_RUN_KEY}`")
