"""Helpers of the two-step billing tests (issue 15) shared by several test modules: the setting, the billed marks
of a tab, and Sales Invoice submits refused on purpose."""

from unittest.mock import patch

import frappe
from frappe.model.base_document import get_controller

from accumulating_billing.billing import two_step
from accumulating_billing.doctypes import ITEM, LOG, RUN, SETTINGS
from accumulating_billing.tests.ledger import make_notification


def set_two_step(on: bool) -> None:
	frappe.db.set_single_value(SETTINGS, "two_step_billing", 1 if on else 0)
	frappe.clear_document_cache(SETTINGS, SETTINGS)
	frappe.db.commit()


def stopped_after_reserve():
	"""A billing run that stops after its reserve's commit (the process died, or the run ended there): the reserved
	draft waits for its submit, by the next run or the hourly sweep (two_step.finalize not called)."""
	return patch.object(two_step, "finalize", return_value=None)


def billed_on(generator: str) -> list[tuple]:
	return sorted(
		(row.name, row.status, row.sales_invoice)
		for row in frappe.get_all(
			ITEM, filters={"generator": generator}, fields=["name", "status", "sales_invoice"]
		)
	)


def listened(gen):
	"""The generator's invoices owe a Generated run (an automation listens to it)."""
	gen.append("automations", {"event": "Generated", "notification": make_notification("two-step")})
	gen.save(ignore_permissions=True)
	frappe.db.commit()
	return gen


def failing_submit(times: int):
	"""Sales Invoice submit refused `times` times (in its on_submit, where ERPNext refuses one over a credit limit,
	whichever way it is submitted: a reserved draft inserted submitted or a saved draft's submit), then allowed."""
	controller = get_controller("Sales Invoice")
	real = controller.on_submit
	calls = {"n": 0}

	def on_submit(self, *args, **kwargs):
		if self.get("accumulating_generator") and calls["n"] < times:
			calls["n"] += 1
			frappe.throw("credit limit crossed")
		return real(self, *args, **kwargs)

	return patch.object(controller, "on_submit", on_submit)


def refused_submit(message: str, method: str = "on_submit"):
	"""The Sales Invoice `method` (on_submit: ERPNext's own refusal, a closed period, a frozen account, whichever
	way the invoice is submitted) of a generated invoice always refused with `message`."""
	controller = get_controller("Sales Invoice")
	real = getattr(controller, method)

	def refusing(self, *args, **kwargs):
		if self.get("accumulating_generator"):
			frappe.throw(message)
		return real(self, *args, **kwargs)

	return patch.object(controller, method, refusing)
