// Copyright (c) 2026, Accumulating Billing developers and contributors
// For license information, please see license.txt

frappe.query_reports["Unbilled Revenue"] = {
	filters: [
		{
			fieldname: "company",
			label: __("Company"),
			fieldtype: "Link",
			options: "Company",
			reqd: 1,
			default: frappe.defaults.get_user_default("Company"),
		},
		{
			fieldname: "as_of_date",
			label: __("As of Date"),
			fieldtype: "Date",
			reqd: 1,
			default: frappe.datetime.get_today(),
		},
		{ fieldname: "customer", label: __("Customer"), fieldtype: "Link", options: "Customer" },
		{
			fieldname: "generator",
			label: __("Generator"),
			fieldtype: "Link",
			options: "Accumulating Generator",
			get_query: () => {
				const filters = { company: frappe.query_report.get_filter_value("company") };
				const customer = frappe.query_report.get_filter_value("customer");
				if (customer) filters.customer = customer;
				return { filters };
			},
		},
		{
			fieldname: "group_by",
			label: __("Group By"),
			fieldtype: "Select",
			options: [
				{ value: "Generator", label: __("Generator") },
				{ value: "Customer", label: __("Customer") },
				{ value: "Tab Line", label: __("Tab Line") },
			],
			default: "Generator",
		},
		{ fieldname: "range", label: __("Ageing Range"), fieldtype: "Data", default: "30, 60, 90" },
	],

	// drill-down: a row's number of tab lines opens the lines themselves, as of the same date
	formatter(value, row, column, data, default_formatter) {
		const formatted = default_formatter(value, row, column, data);
		if (column.fieldname !== "lines" || !data || !value) return formatted;
		const filters = frappe.query_report.get_filter_values();
		const params = new URLSearchParams({
			company: filters.company,
			as_of_date: filters.as_of_date,
			range: filters.range || "",
			group_by: "Tab Line",
		});
		if (data.generator) params.set("generator", data.generator);
		else if (data.customer) params.set("customer", data.customer);
		const href = `/app/query-report/${encodeURIComponent("Unbilled Revenue")}?${params}`;
		return `<a href="${href}" title="${__("Show the tab lines")}">${formatted}</a>`;
	},
};
