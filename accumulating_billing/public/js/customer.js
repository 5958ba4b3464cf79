// Copyright (c) 2026, Accumulating Billing developers and contributors
// For license information, please see license.txt
// Customer form: "Assign Accumulating Generator" (the server checks permission and refuses duplicates).

frappe.ui.form.on("Customer", {
	refresh(frm) {
		if (frm.is_new() || !frappe.model.can_create("Accumulating Generator")) return;
		frm.add_custom_button(__("Assign Accumulating Generator"), () => assign_accumulating_template(frm));
	},
});

function assign_accumulating_template(frm) {
	const dialog = new frappe.ui.Dialog({
		title: __("Assign Accumulating Generator"),
		fields: [
			{
				fieldname: "template",
				fieldtype: "Link",
				options: "Accumulating Generator Template",
				label: __("Template"),
				reqd: 1,
				get_query: () => ({ filters: { enabled: 1 } }),
				description: __("Creates an Active generator for {0} with this template's settings.", [
					frappe.utils.escape_html(frm.doc.customer_name || frm.doc.name),
				]),
			},
		],
		primary_action_label: __("Assign"),
		primary_action({ template }) {
			frappe.call({
				method: "accumulating_billing.api.assign_template",
				args: { template, customer: frm.doc.name },
				freeze: true,
				callback({ message: generator }) {
					dialog.hide();
					if (!generator) return;
					frappe.show_alert({
						message: __("Generator {0} created", [
							`<a href="/app/accumulating-generator/${encodeURIComponent(generator)}">${generator}</a>`,
						]),
						indicator: "green",
					});
					frm.reload_doc();
				},
			});
		},
	});
	dialog.show();
}
