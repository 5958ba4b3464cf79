from accumulating_billing.billing.kickoff import offered_templates


def get_context(context):
	"""Offer only the enabled templates marked "offered at kickoff" (the server re-checks the choice)."""
	plans = offered_templates()
	for field in context.web_form_doc.get("web_form_fields", []):
		if field.get("fieldname") == "template":
			field["options"] = [{"value": "", "label": ""}, *plans]
	context.no_cache = 1
