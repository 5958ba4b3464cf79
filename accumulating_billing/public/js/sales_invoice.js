// Copyright (c) 2026, Accumulating Billing developers and contributors
// For license information, please see license.txt
// A combined invoice (the tabs of several generators of one payer, billing/combined.py) prints with the app's
// "Accumulating Combined Invoice" by default: each tab's lines under its title. ERPNext defaults a POS invoice and
// a credit note to their own formats the same way (its sales_invoice.js, set_default_print_format); any other
// format, ERPNext's Standard included, stays one click away in the print view.

const AB_COMBINED_FORMAT = "Accumulating Combined Invoice";

frappe.ui.form.on("Sales Invoice", {
	refresh(frm) {
		const tabs = new Set((frm.doc.accumulating_tabs || []).map((row) => row.generator));
		const offered = frappe.meta.get_print_formats(frm.doctype).includes(AB_COMBINED_FORMAT);
		if (tabs.size > 1 && offered) {
			if (frm.meta.default_print_format !== AB_COMBINED_FORMAT) {
				frm.meta._accumulating_default_print_format = frm.meta.default_print_format || "";
				frm.meta.default_print_format = AB_COMBINED_FORMAT;
			}
		} else if (frm.meta._accumulating_default_print_format !== undefined) {
			frm.meta.default_print_format = frm.meta._accumulating_default_print_format;
			delete frm.meta._accumulating_default_print_format;
		}
	},
});
