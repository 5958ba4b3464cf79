"""The page after the Client Kickoff form: "check your inbox" while submissions wait for the email's
confirmation (billing/kickoff_confirm.py), "your account is ready" once it is confirmed (or without it)."""

import frappe

from accumulating_billing.billing import kickoff_confirm

no_cache = 1


def get_context(context):
	context.no_cache = 1
	context.awaiting_confirmation = kickoff_confirm.confirms_email() and not frappe.form_dict.get("confirmed")
	return context
