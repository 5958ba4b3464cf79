// Copyright (c) 2026, Accumulating Billing developers and contributors
// For license information, please see license.txt
// Thin form script: which generators a person may add items to is decided on the server; Void and Amend
// (public/js/tab_lines.js), and where a voided or amended line stands.

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

	refresh(frm) {
		if (frm.is_new()) return;
		const lines = accumulating_billing.tab_lines;
		if (lines.can_change(frm.doc)) {
			const reload = () => frm.reload_doc();
			frm.add_custom_button(__("Void"), () => lines.void(frm.doc.name, reload));
			frm.add_custom_button(__("Amend"), () =>
				lines.amend(frm.doc, frm.doc.currency, (replacement) =>
					frappe.set_route("Form", frm.doctype, replacement)
				)
			);
		}
		if (frm.doc.status === "Voided") {
			frm.disable_form(); // the record of the void: the server refuses any edit
			frm.dashboard.set_headline_alert(
				__("Voided by {0} on {1}: {2}", [
					frappe.utils.escape_html(frappe.user.full_name(frm.doc.voided_by)),
					frappe.datetime.str_to_user(frm.doc.voided_on),
					frappe.utils.escape_html(frm.doc.void_reason || ""),
				]),
				"red"
			);
			// an amended line: its replacement names it in amended_from
			frappe.db
				.get_value(frm.doctype, { amended_from: frm.doc.name }, "name")
				.then(({ message }) => {
					if (message && message.name) {
						frm.dashboard.add_comment(
							__("Replaced by {0}", [
								`<a href="/app/${frappe.router.slug(frm.doctype)}/${encodeURIComponent(
									message.name
								)}">${frappe.utils.escape_html(message.name)}</a>`,
							]),
							"blue",
							true
						);
					}
				});
		}
	},
});
