// Copyright (c) 2026, Accumulating Billing developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Accumulating Generator Template", {
	setup(frm) {
		frm.set_query("taxes_and_charges", () => ({ filters: { company: frm.doc.company } }));
		frm.set_query("cost_center", () => ({ filters: { company: frm.doc.company, is_group: 0 } }));
		frm.set_query("selling_price_list", () => ({ filters: { selling: 1, enabled: 1 } }));
	},

	refresh(frm) {
		if (frm.is_new() || !frm.doc.enabled || !frappe.model.can_create("Accumulating Generator")) return;
		frm.add_custom_button(__("Create for several customers"), () =>
			accumulating_billing.create_for_customers(frm, { template: frm.doc.name })
		);
	},
});
