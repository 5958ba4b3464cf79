// Copyright (c) 2026, Accumulating Billing developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Accumulating Generator Template", {
	setup(frm) {
		accumulating_billing.set_settings_queries(frm);
	},

	refresh(frm) {
		if (frm.is_new() || !frm.doc.enabled || !frappe.model.can_create("Accumulating Generator")) return;
		frm.add_custom_button(__("Create for several customers"), () =>
			accumulating_billing.create_for_customers(frm, { template: frm.doc.name })
		);
	},
});
