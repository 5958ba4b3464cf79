"""Connections added to ERPNext dashboards."""

from frappe import _

UPCOMING = "Upcoming Accumulating Invoices"


def customer_dashboard(data):
	"""The Customer form's Connections show its accumulating generators (its own tabs), and, for a payer, the
	report of the tabs billed to it (*Invoice To*: its own and other customers' tabs, issue 28)."""
	data.setdefault("non_standard_fieldnames", {})
	data.setdefault("transactions", []).append(
		{"label": _("Accumulating Billing"), "items": ["Accumulating Generator"]}
	)
	data.setdefault("reports", []).append({"label": _("Tabs Billed to This Customer"), "items": [UPCOMING]})
	data["non_standard_fieldnames"][UPCOMING] = "invoice_to"
	return data
