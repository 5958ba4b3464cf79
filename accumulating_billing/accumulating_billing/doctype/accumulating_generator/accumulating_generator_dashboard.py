from frappe import _


def get_data():
	return {
		"fieldname": "generator",
		"non_standard_fieldnames": {"Sales Invoice": "accumulating_generator"},
		"transactions": [
			{"label": _("Invoices"), "items": ["Sales Invoice"]},
			{
				"label": _("Running Tab"),
				"items": ["Accumulating Generator Item", "Accumulating Generation Log"],
			},
		],
	}
