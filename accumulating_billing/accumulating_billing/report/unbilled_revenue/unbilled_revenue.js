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
		{
			fieldname: "range",
			label: __("Ageing Range"),
			fieldtype: "Data",
			default: "30, 60, 90",
		},
	],

	// drill-down: a row's number of tab lines shows the lines themselves, as of the same date (a plain click
	// regroups this report; the link opens it anew elsewhere)
	formatter(value, row, column, data, default_formatter) {
		// the total row leaves out what has no total (amounts in several tab currencies, rates, ages)
		if (column.disable_total && value === "") return "";
		const formatted = default_formatter(value, row, column, data);
		if (
			column.fieldname !== "lines" ||
			!data ||
			!value ||
			!(data.generator || data.customer)
		) {
			return formatted;
		}
		const filters = frappe.query_report.get_filter_values();
		const params = new URLSearchParams({
			company: filters.company,
			as_of_date: filters.as_of_date,
			range: filters.range || "",
			group_by: "Tab Line",
		});
		params.set(data.generator ? "generator" : "customer", data.generator || data.customer);
		const href = `/app/query-report/${encodeURIComponent("Unbilled Revenue")}?${params}`;
		// outside the template literal: Frappe's extractor does not read a message inside one
		const title = __("Show the tab lines");
		return `<a class="ab-tab-lines" href="${href}" data-generator="${frappe.utils.escape_html(
			data.generator || ""
		)}" data-customer="${frappe.utils.escape_html(data.customer || "")}" title="${title}">${formatted}</a>`;
	},

	onload(report) {
		report.page.wrapper
			.off("click.ab-tab-lines")
			.on("click.ab-tab-lines", "a.ab-tab-lines", (event) => {
				if (event.ctrlKey || event.metaKey || event.shiftKey) return; // a new tab follows the link
				event.preventDefault();
				event.stopPropagation();
				const link = $(event.currentTarget);
				const generator = link.attr("data-generator") || "";
				// the Select last: it refreshes the report once the Links are set (Frappe refreshes on the last
				// value set; a Link set last would refresh it a second time while the first still draws)
				const values = generator
					? { generator }
					: { generator: "", customer: link.attr("data-customer") };
				values.group_by = "Tab Line";
				// Frappe draws the refreshed chart into the same element without stopping the old chart's
				// resize observer, which then redraws a chart no longer on the page (an error in the console)
				report.chart?.destroy?.();
				report.set_filter_value(values);
			});
	},
};
