"""Calling as another user, and through the bench command, as the fault suite's bad inputs do."""

import threading

import click.testing

import frappe


def as_user(user: str, fn, *args, **kwargs):
	frappe.set_user(user)
	try:
		return fn(*args, **kwargs)
	finally:
		frappe.set_user("Administrator")


def cli_command(site: str, *args: str):
	"""`bench --site SITE accumulating-billing run ARGS`, in its own thread (the command inits and destroys its
	own frappe.local). A non-zero exit raises ValidationError with what the user sees: the printed output, or
	"Traceback" and the exception when the command died of an unhandled one."""
	from accumulating_billing.commands import accumulating_billing

	result = {}

	def target():
		outcome = click.testing.CliRunner().invoke(
			accumulating_billing,
			["run", *args],
			obj=frappe._dict(sites=[site], force=False, profile=False, verbose=False),
		)
		result["exit"] = outcome.exit_code
		result["text"] = outcome.output
		if outcome.exception is not None and not isinstance(outcome.exception, SystemExit):
			result["text"] += (
				f"\nTraceback (unhandled {type(outcome.exception).__name__}): {outcome.exception}"
			)

	thread = threading.Thread(target=target)
	thread.start()
	thread.join(120)
	if result.get("exit"):
		raise frappe.ValidationError(result["text"])
	return result
