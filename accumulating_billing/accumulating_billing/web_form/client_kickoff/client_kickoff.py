from frappe import _
from frappe.rate_limiter import rate_limit

from accumulating_billing.billing import kickoff_confirm
from accumulating_billing.billing.kickoff import offered_templates

# the public page queries the offered templates: at most this many views per minute from one IP address
PAGE_LIMIT_PER_MINUTE = 30


@rate_limit(limit=PAGE_LIMIT_PER_MINUTE, seconds=60)
def get_context(context):
	"""Offer only the enabled templates marked "offered at kickoff" (the server re-checks the choice)."""
	plans = offered_templates()
	for field in context.web_form_doc.get("web_form_fields", []):
		if field.get("fieldname") == "template":
			field["options"] = [{"value": "", "label": ""}, *plans]
	context.no_cache = 1
	# Frappe renders a Web Form's introduction as written; the catalogue has it, so the visitor reads it in
	# their language like the rest of the form
	if context.get("introduction_text"):
		context.introduction_text = _(context.introduction_text)
	if kickoff_confirm.confirms_email():
		context.introduction_text = _(
			"Tell us who you are and pick your plan. We send you a link to confirm your email address; your "
			"account and your running tab open when you click it."
		)
