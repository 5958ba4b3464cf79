// Copyright (c) 2026, Accumulating Billing developers and contributors
// For license information, please see license.txt
// Shared by the Template and Generator forms (added to both through doctype_js): the link filters of their
// billing settings, and "Create for several customers".

window.accumulating_billing = window.accumulating_billing || {};

accumulating_billing.set_settings_queries = function (frm) {
	frm.set_query("taxes_and_charges", () => ({ filters: { company: frm.doc.company } }));
	frm.set_query("cost_center", () => ({ filters: { company: frm.doc.company, is_group: 0 } }));
	frm.set_query("selling_price_list", () => ({ filters: { selling: 1, enabled: 1 } }));
	// time logs are billed as a service: a non-stock sales item
	frm.set_query("timesheet_item", () => ({
		filters: { is_sales_item: 1, is_stock_item: 0, disabled: 0, has_variants: 0 },
	}));
	frm.set_query("late_fee_item", () => ({
		filters: { is_sales_item: 1, is_stock_item: 0, disabled: 0, has_variants: 0 },
	}));
	frm.set_query("dunning_type", () => ({ filters: { company: frm.doc.company } }));
	frm.set_query("payment_gateway_account", () => ({ filters: { currency: frm.doc.currency } }));
	// Generated and Paid fire for a Sales Invoice, Tab Reaches for the generator: only what is made for it
	const fired_for = (cdt, cdn) =>
		locals[cdt][cdn].event === "Tab Reaches" ? "Accumulating Generator" : "Sales Invoice";
	frm.set_query("notification", "automations", (doc, cdt, cdn) => ({
		filters: { document_type: fired_for(cdt, cdn), enabled: 1 },
	}));
	frm.set_query("webhook", "automations", (doc, cdt, cdn) => ({
		filters: { webhook_doctype: fired_for(cdt, cdn), enabled: 1 },
	}));
	frm.set_query("assign_template", "automations", () => ({ filters: { enabled: 1 } }));
};

accumulating_billing.create_for_customers = function (frm, source) {
	new frappe.ui.form.MultiSelectDialog({
		doctype: "Customer",
		target: frm,
		setters: { customer_group: null, territory: null },
		add_filters_group: 1,
		primary_action_label: __("Create Generators"),
		get_query: () => ({ filters: { disabled: 0 } }),
		action(customers) {
			if (!customers || !customers.length) {
				frappe.msgprint(__("Select at least one customer."));
				return;
			}
			this.dialog.hide();
			frappe.call({
				method: "accumulating_billing.api.create_for_customers",
				args: { customers, ...source },
				freeze: true,
				freeze_message: __("Creating {0} generator(s)...", [customers.length]),
				callback: ({ message }) => show_result(message),
			});
		},
	});
};

function show_result({ created, refused }) {
	frappe.hide_progress();
	const esc = frappe.utils.escape_html;
	const links = created
		.map((name) => `<a href="/app/accumulating-generator/${encodeURIComponent(name)}">${esc(name)}</a>`)
		.join(", ");
	const rows = refused
		.map((r) => `<tr><td>${esc(r.customer)}</td><td>${esc(r.reason)}</td></tr>`)
		.join("");
	frappe.msgprint({
		title: __("Generators created"),
		indicator: refused.length ? "orange" : "green",
		message: `<p>${__("Created {0} generator(s)", [created.length])}${links ? ": " + links : ""}</p>
			${rows ? `<p>${__("Refused {0}:", [refused.length])}</p>
			<table class="table table-bordered table-sm ab-refused"><thead><tr>
			<th>${__("Customer")}</th><th>${__("Reason")}</th></tr></thead><tbody>${rows}</tbody></table>` : ""}`,
	});
}
