// Copyright (c) 2026, Accumulating Billing developers and contributors
// For license information, please see license.txt

frappe.query_reports["Upcoming Accumulating Invoices"] = {
	filters: [
		{
			fieldname: "company",
			label: __("Company"),
			fieldtype: "Link",
			options: "Company",
			default: frappe.defaults.get_user_default("Company"),
		},
		{ fieldname: "customer", label: __("Customer"), fieldtype: "Link", options: "Customer" },
		{ fieldname: "invoice_to", label: __("Invoice To"), fieldtype: "Link", options: "Customer" },
		{ fieldname: "from_date", label: __("From Date"), fieldtype: "Date", default: frappe.datetime.get_today() },
		{
			fieldname: "to_date",
			label: __("To Date"),
			fieldtype: "Date",
			default: frappe.datetime.add_days(frappe.datetime.get_today(), 30),
		},
	],
	onload(report) {
		// opened from a Customer's Connections (Tabs Billed to This Customer): every live tab billed to it,
		// whatever its next date
		if (report.get_filter_value("invoice_to")) {
			report.set_filter_value({ from_date: "", to_date: "" });
		}
	},
};
