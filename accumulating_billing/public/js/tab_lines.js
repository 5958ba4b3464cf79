// Copyright (c) 2026, Accumulating Billing developers and contributors
// For license information, please see license.txt
// Void and Amend of a tab line (issue 30), shared by the item form and the generator's running tab (added to both
// through doctype_js). Who may void or amend what is decided on the server (billing/voiding.py).

window.accumulating_billing = window.accumulating_billing || {};

accumulating_billing.tab_lines = {
	// an unbilled or held line a person entered (a Timesheet, Delivery Note or late fee line follows its document)
	can_change(line) {
		return ["Unbilled", "On Hold"].includes(line.status || "Unbilled") && !line.source_doctype;
	},

	void(name, after) {
		frappe.prompt(
			[
				{
					fieldname: "reason",
					fieldtype: "Small Text",
					label: __("Reason"),
					reqd: 1,
					description: __("Kept with the line, who voided it and when. The line is never billed."),
				},
			],
			(values) =>
				frappe.call({
					method: "accumulating_billing.api.void_item",
					args: { item: name, reason: values.reason },
					freeze: true,
					callback() {
						frappe.show_alert({ message: __("Line {0} voided", [name]), indicator: "green" });
						after && after();
					},
				}),
			__("Void Line {0}", [name]),
			__("Void")
		);
	},

	amend(line, currency, after) {
		const dialog = new frappe.ui.Dialog({
			title: __("Amend Line {0}", [line.name]),
			fields: [
				{
					fieldname: "note",
					fieldtype: "HTML",
					options: `<p class="text-muted small">${__(
						"The line is voided and a corrected copy takes its place on the tab; both stay in its history."
					)}</p>`,
				},
				{ fieldname: "qty", fieldtype: "Float", label: __("Quantity"), default: line.qty, reqd: 1 },
				{ fieldname: "rate", fieldtype: "Currency", label: __("Rate"), options: currency, default: line.rate },
				{ fieldname: "cb", fieldtype: "Column Break" },
				{ fieldname: "service_date", fieldtype: "Date", label: __("Service Date"), default: line.service_date, reqd: 1 },
				{ fieldname: "sb", fieldtype: "Section Break" },
				{ fieldname: "description", fieldtype: "Small Text", label: __("Description"), default: line.description },
			],
			primary_action_label: __("Amend"),
			primary_action(values) {
				// only what was changed is sent: the rest is kept from the line
				const changes = {};
				for (const field of ["qty", "rate", "service_date", "description"]) {
					if ((values[field] || "") !== (line[field] || "")) changes[field] = values[field];
				}
				frappe.call({
					method: "accumulating_billing.api.amend_item",
					args: { item: line.name, ...changes },
					freeze: true,
					callback({ message: replacement }) {
						dialog.hide();
						frappe.show_alert({
							message: __("Line {0} replaced by {1}", [line.name, replacement]),
							indicator: "green",
						});
						after && after(replacement);
					},
				});
			},
		});
		dialog.show();
	},
};
