// Copyright (c) 2026, Accumulating Billing developers and contributors
// For license information, please see license.txt

frappe.listview_settings["Accumulating Generator Item"] = {
	onload(listview) {
		// the Generator filter searches as the item form does: the generators the user may add to (a
		// contributor has no permission on generators themselves; billing/permissions.py)
		const generator = listview.page.fields_dict.generator;
		if (generator) {
			generator.get_query = () => ({ query: "accumulating_billing.api.generator_search" });
		}
	},
};
