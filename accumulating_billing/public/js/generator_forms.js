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
				callback: ({ message }) => follow_job(message),
			});
		},
	});
};

// The job runs in the background (billing/bulk_create.py): its progress comes in real time (the server's
// publish_progress, shown by Frappe in a dialog with the same title) and so does its end; the job's state is also
// asked for every few seconds, so the result shows even without a realtime connection.
const DONE_EVENT = "accumulating_bulk_create_done";
const POLL_MS = 3000;

function follow_job({ job, total }) {
	const title = __("Creating accumulating generators");
	let finished = false;
	let timer = null;
	const show = (done, description) => {
		if (!finished) frappe.show_progress(title, done, total, description);
	};
	const finish = (state) => {
		if (finished) return;
		finished = true;
		clearInterval(timer);
		frappe.realtime.off(DONE_EVENT, on_done);
		frappe.hide_progress();
		show_result(state);
	};
	const on_done = (state) => state && state.job === job && finish(state);
	const poll = () =>
		frappe.call({
			method: "accumulating_billing.api.create_for_customers_status",
			args: { job },
			callback: ({ message: state }) => {
				if (["Finished", "Failed"].includes(state.status)) finish(state);
				else if (state.status === "Running") show(state.done, __("{0} of {1}", [state.done, total]));
			},
		});
	show(0, __("Waiting for a background worker..."));
	frappe.realtime.on(DONE_EVENT, on_done);
	timer = setInterval(poll, POLL_MS);
}

function show_result({ status, created, refused, error }) {
	const esc = frappe.utils.escape_html;
	const links = created
		.map((name) => `<a href="/app/accumulating-generator/${encodeURIComponent(name)}">${esc(name)}</a>`)
		.join(", ");
	const rows = refused
		.map((r) => `<tr><td>${esc(r.customer)}</td><td>${esc(r.reason)}</td></tr>`)
		.join("");
	const failed = status === "Failed";
	const error_line = failed ? `<p class="ab-job-error">${esc(error || "")}</p>` : "";
	frappe.msgprint({
		title: failed ? __("Creating the generators failed") : __("Generators created"),
		indicator: failed ? "red" : refused.length ? "orange" : "green",
		message: `<p>${__("Created {0} generator(s)", [created.length])}${links ? ": " + links : ""}</p>
			${rows ? `<p>${__("Refused {0}:", [refused.length])}</p>
			<table class="table table-bordered table-sm ab-refused"><thead><tr>
			<th>${__("Customer")}</th><th>${__("Reason")}</th></tr></thead><tbody>${rows}</tbody></table>` : ""}
			${error_line}`,
	});
}
