// Copyright (c) 2026, Accumulating Billing developers and contributors
// For license information, please see license.txt
// Thin form script: which generators a person may add items to is decided on the server.

frappe.ui.form.on("Accumulating Generator Item", {
	setup(frm) {
		// the open generators the user may add to (a contributor's tabs only): api.generator_search
		frm.set_query("generator", () => ({ query: "accumulating_billing.api.generator_search" }));
	},

	onload(frm) {
		// a contributor has no permission on generators themselves (billing/permissions.py): the generator is
		// picked from the search above and checked by the server on save, not by Frappe's link check
		if (!frappe.model.can_read("Accumulating Generator") && !frappe.model.can_select("Accumulating Generator")) {
			frm.fields_dict.generator.df.ignore_link_validation = 1;
		}
	},
});
