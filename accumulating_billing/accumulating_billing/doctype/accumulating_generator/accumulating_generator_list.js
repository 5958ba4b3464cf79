// Copyright (c) 2026, Accumulating Billing developers and contributors
// For license information, please see license.txt

const AB_FAILING_AFTER = 5;
const AB_STATUS_COLOURS = {
	Draft: "gray",
	Active: "green",
	Paused: "orange",
	Completed: "blue",
	Archived: "darkgrey",
};

frappe.listview_settings["Accumulating Generator"] = {
	add_fields: [
		"status",
		"consecutive_failures",
		"end_condition",
		"end_after_invoices",
		"end_date",
		"invoices_generated",
		"next_creation_date",
		"lines_on_hold",
	],
	// Archived generators are hidden until the filter is removed
	filters: [["status", "!=", "Archived"]],
	hide_name_column: true,

	get_indicator(doc) {
		if (doc.status === "Active" && cint(doc.consecutive_failures) >= AB_FAILING_AFTER) {
			return [__("Failing"), "red", "consecutive_failures,>=," + AB_FAILING_AFTER];
		}
		if (cint(doc.lines_on_hold) && doc.status !== "Archived") {
			// lines ERPNext refused on a billing day wait for a person: they are not billed until released
			return [__("{0} on hold", [cint(doc.lines_on_hold)]), "orange", "lines_on_hold,>,0"];
		}
		return [__(doc.status), AB_STATUS_COLOURS[doc.status] || "gray", "status,=," + doc.status];
	},

	formatters: {
		end_condition(value, df, doc) {
			if (value === "After N Invoices") {
				return __("{0} of {1}", [cint(doc.invoices_generated), cint(doc.end_after_invoices)]);
			}
			if (value === "On Date" && doc.end_date) {
				return __("Until {0}", [moment(doc.end_date).format("D MMM YYYY")]);
			}
			return __("Never ends");
		},
		next_creation_date(value, df, doc) {
			if (["Completed", "Archived"].includes(doc.status) || !value) return "---";
			return frappe.datetime.str_to_user(value);
		},
	},
};
