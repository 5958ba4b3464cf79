// Copyright (c) 2026, Accumulating Billing developers and contributors
// For license information, please see license.txt
// Thin form script: every rule, total and status change is decided on the server.

const AB_API = "accumulating_billing.api";

frappe.ui.form.on("Accumulating Generator", {
	setup(frm) {
		accumulating_billing.set_settings_queries(frm);
	},

	onload(frm) {
		// a new generator takes the default Payment Gateway Account (payments app) of its currency
		if (!frm.is_new() || frm.doc.payment_gateway_account || !(frappe.boot.versions || {}).payments) return;
		frappe.db
			.get_value("Payment Gateway Account", { is_default: 1 }, ["name", "currency"])
			.then(({ message }) => {
				if (message && message.name && (!frm.doc.currency || message.currency === frm.doc.currency)) {
					frm.set_value("payment_gateway_account", message.name);
				}
			});
	},

	refresh(frm) {
		// Paused, Completed and Archived come from their actions; an edit only chooses Draft or Active
		const editable = ["Draft", "Active"].includes(frm.doc.status);
		frm.set_df_property("status", "options", editable ? ["Draft", "Active"] : [frm.doc.status]);
		frm.set_df_property("status", "read_only", editable ? 0 : 1);
		if (frm.is_new()) return;
		render_tab(frm);
		const can_write = frm.perm[0] && frm.perm[0].write;
		const open = !["Completed", "Archived"].includes(frm.doc.status);
		const archived = frm.doc.status === "Archived";

		if (open && frappe.model.can_create("Accumulating Generator Item")) {
			frm.add_custom_button(__("Add Item"), () => add_item_dialog(frm));
		}
		if (!can_write) return;
		if (!archived) {
			frm.add_custom_button(__("Generate Now"), () => generate_now(frm), __("Actions"));
		}
		if (cint(frm.doc.lines_on_hold)) {
			frm.add_custom_button(__("Release All"), () => release_held(frm, null), __("Actions"));
		}
		if (open && (frm.doc.accumulate_timesheets || frm.doc.accumulate_delivery_notes)) {
			frm.add_custom_button(__("Sync"), () => sync_sources(frm), __("Actions"));
		}
		if (frm.doc.status === "Active") {
			frm.add_custom_button(__("Pause"), () => pause_dialog(frm), __("Actions"));
		}
		if (frm.doc.status === "Paused") {
			frm.add_custom_button(__("Resume"), () => resume_dialog(frm), __("Actions"));
		}
		if (frappe.model.can_create("Accumulating Generator")) {
			frm.add_custom_button(__("Duplicate"), () => frm.copy_doc(), __("Actions"));
			frm.add_custom_button(
				__("Create for several customers"),
				() => accumulating_billing.create_for_customers(frm, { generator: frm.doc.name }),
				__("Actions")
			);
		}
		frm.add_custom_button(
			archived ? __("Restore") : __("Archive"),
			() => archive_or_restore(frm, archived),
			__("Actions")
		);
		if (cint(frm.doc.lines_on_hold)) {
			frm.dashboard.add_comment(
				__("{0} line(s) on hold: ERPNext refused them on a billing day and they were not billed. Fix the cause, then Release.", [
					cint(frm.doc.lines_on_hold),
				]),
				"orange",
				true
			);
		}
		if (frm.doc.status === "Active" && cint(frm.doc.consecutive_failures) >= 5) {
			frm.dashboard.set_headline_alert(
				__("Failing: {0} failures in a row. Last error: {1}", [
					frm.doc.consecutive_failures,
					frappe.utils.escape_html(frm.doc.last_error || ""),
				]),
				"red"
			);
		}
	},
});

function sync_sources(frm) {
	frappe.call({
		method: `${AB_API}.sync_sources`,
		args: { generator: frm.doc.name },
		freeze: true,
		freeze_message: __("Looking for Timesheets and Delivery Notes not on a tab yet"),
		callback({ message: added }) {
			frappe.msgprint(__("{0} item(s) added to the tab.", [(added || []).length]), __("Sync"));
			frm.reload_doc();
		},
	});
}

function add_item_dialog(frm) {
	const dialog = new frappe.ui.Dialog({
		// a dialog title is HTML: the title (a customer's name, which a guest may have typed) is escaped
		title: __("Add Item to {0}", [frappe.utils.escape_html(frm.doc.title || frm.doc.name)]),
		fields: [
			{ fieldname: "item_code", fieldtype: "Link", options: "Item", label: __("Item"), reqd: 1,
				get_query: () => ({ filters: { is_sales_item: 1, disabled: 0, has_variants: 0 } }) },
			{ fieldname: "service_date", fieldtype: "Date", label: __("Service Date"), default: frappe.datetime.get_today(), reqd: 1 },
			{ fieldname: "cb", fieldtype: "Column Break" },
			{ fieldname: "qty", fieldtype: "Float", label: __("Quantity"), default: 1, reqd: 1 },
			{ fieldname: "rate", fieldtype: "Currency", label: __("Rate"), options: frm.doc.currency,
				description: __("Empty = the price list rate") },
			{ fieldname: "sb", fieldtype: "Section Break" },
			{ fieldname: "description", fieldtype: "Small Text", label: __("Description") },
		],
		primary_action_label: __("Add"),
		primary_action(values) {
			frappe.call({
				method: `${AB_API}.add_item`,
				args: { generator: frm.doc.name, ...values },
				freeze: true,
				callback() {
					dialog.hide();
					frappe.show_alert({ message: __("Item added"), indicator: "green" });
					frm.reload_doc();
				},
			});
		},
	});
	dialog.show();
}

function generate_now(frm) {
	frappe.confirm(__("Bill the unbilled items dated up to today now, as an off-cycle invoice?"), () => {
		frappe.call({
			method: `${AB_API}.generate_now`,
			args: { generator: frm.doc.name },
			freeze: true,
			freeze_message: __("Generating invoice..."),
			callback({ message: invoice }) {
				frm.reload_doc();
				if (invoice) frappe.set_route("Form", "Sales Invoice", invoice);
			},
		});
	});
}

function pause_dialog(frm) {
	date_action(frm, "pause", __("Pause"), {
		label: __("Resume automatically on"),
		description: __("Optional. Leave empty to resume by hand."),
	});
}

function resume_dialog(frm) {
	const dialog = date_action(frm, "resume", __("Resume"), {
		label: __("Resume Date"),
		reqd: 1,
		default: frappe.datetime.get_today(),
		description: __("The next invoice is the first scheduled date on or after this day."),
	});
	// one-click dates (Today, Tomorrow, First of Next Month…): public/js/date_shortcuts.js
	accumulating_billing.date_shortcuts.attach_to_dialog(dialog, "resume_date");
}

function date_action(frm, method, title, field) {
	return frappe.prompt(
		[{ fieldname: "resume_date", fieldtype: "Date", ...field }],
		(values) =>
			frappe.call({
				method: `${AB_API}.${method}`,
				args: { generator: frm.doc.name, resume_date: values.resume_date },
				callback: () => frm.reload_doc(),
			}),
		title,
		title
	);
}

function archive_or_restore(frm, archived) {
	const message = archived
		? __("Restore this generator? It comes back Paused; Resume then picks the date to bill again.")
		: __("Archive this generator? It stops billing; its invoices and items are kept.");
	frappe.confirm(message, () =>
		frappe.call({
			method: `${AB_API}.${archived ? "restore" : "archive"}`,
			args: { generator: frm.doc.name },
			callback: () => frm.reload_doc(),
		})
	);
}
