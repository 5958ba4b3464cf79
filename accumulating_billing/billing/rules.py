"""Accumulating Assignment Rules (docs/architecture.md §12): "when a <DocType> matches <condition>, assign <Template> to its
customer". Evaluated like Frappe Notifications: the same events, `frappe.safe_eval` over `doc`.

The hook runs on every document event of the site, so the lookup is one cached dict; only doctypes with an
enabled rule go further. A rule never breaks the user's save: a failed assignment is rolled back to a
savepoint, written to the Error Log and noted on the document.
"""

import frappe
from frappe import _

from accumulating_billing.doctypes import RULE

CACHE_KEY = "accumulating_assignment_rules"

# document method -> rule event, as Notifications map them
EVENTS = {"after_insert": "New", "on_update": "Save", "on_submit": "Submit", "on_change": "Value Change"}


def enabled_rules() -> dict[str, list[dict]]:
	"""{document_type: [rule, ...]} of the enabled rules, cached until a rule changes."""
	return frappe.cache.get_value(CACHE_KEY, generator=load_rules)


def load_rules() -> dict[str, list[dict]]:
	if not frappe.db.table_exists(RULE):
		return {}
	rules: dict[str, list[dict]] = {}
	for rule in frappe.get_all(
		RULE,
		filters={"enabled": 1},
		fields=["name", "document_type", "event", "value_changed", "condition", "customer_field", "template"],
		order_by="creation asc",
	):
		rules.setdefault(rule.document_type, []).append(rule)
	return rules


def clear_rules_cache(*args, **kwargs) -> None:
	frappe.cache.delete_value(CACHE_KEY)


def on_document_event(doc, method=None) -> None:
	"""doc_events["*"] hook for after_insert / on_update / on_submit / on_change."""
	if frappe.flags.in_install or frappe.flags.in_migrate or frappe.flags.in_patch:
		return
	rules = enabled_rules().get(doc.doctype)
	if not rules:
		return
	event = EVENTS.get(method)
	for rule in rules:
		if rule.event != event or not fires(rule, doc):
			continue
		apply(rule, doc)


def fires(rule, doc) -> bool:
	"""Whether the rule's event conditions hold for this document event."""
	if rule.event == "Value Change":
		if doc.flags.in_insert:
			return False
		before = doc.get_doc_before_save()
		if not before or str(before.get(rule.value_changed) or "") == str(doc.get(rule.value_changed) or ""):
			return False
	if rule.condition:
		return bool(frappe.safe_eval(rule.condition, None, condition_context(doc)))
	return True


def condition_context(doc) -> dict:
	from frappe.email.doctype.notification.notification import get_context

	return get_context(doc)


def customer_of(rule, doc) -> str | None:
	if rule.customer_field == "name" and doc.doctype == "Customer":
		return doc.name
	return doc.get(rule.customer_field)


def apply(rule, doc) -> str | None:
	"""Assign the rule's template to the document's customer; never raises into the user's save."""
	from accumulating_billing.billing.assignment import assign_quietly

	customer = customer_of(rule, doc)
	if not customer:
		return None
	savepoint = "ab_assignment_rule"
	frappe.db.savepoint(savepoint)
	try:
		name = assign_quietly(rule.template, customer, doc)
	except Exception as e:
		frappe.db.rollback(save_point=savepoint)
		frappe.clear_last_message()
		frappe.log_error(
			title=_("Accumulating Assignment Rule {0} failed").format(rule.name),
			reference_doctype=doc.doctype,
			reference_name=doc.name,
		)
		doc.add_comment(
			"Info",
			_("Accumulating template {0} could not be assigned to {1}: {2}").format(
				rule.template, customer, frappe.utils.strip_html(str(e))
			),
		)
		return None
	if name:
		doc.add_comment(
			"Info",
			_("Accumulating Assignment Rule {0} assigned template {1} to {2}: generator {3}").format(
				rule.name, rule.template, customer, name
			),
		)
	return name
