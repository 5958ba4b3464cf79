"""Connections added to ERPNext dashboards."""

from frappe import _


def customer_dashboard(data):
	"""The Customer form's Connections show its accumulating generators."""
	data.setdefault("non_standard_fieldnames", {})
	data.setdefault("transactions", []).append(
		{"label": _("Accumulating Billing"), "items": ["Accumulating Generator"]}
	)
	return data
