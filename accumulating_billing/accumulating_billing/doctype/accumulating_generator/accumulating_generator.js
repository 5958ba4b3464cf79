// Copyright (c) 2026, Accumulating Billing developers and contributors
// For license information, please see license.txt
// Thin form script: every rule, total and status change is decided on the server.

const AB_API = "accumulating_billing.api";

frappe.ui.form.on("Accumulating Generator", {
	setup(frm) {
		frm.set_query("taxes_and_charges", () => ({ filters: { company: frm.doc.company } }));
		frm.set_query("cost_center", () => ({ filters: { company: frm.doc.company, is_group: 0 } }));
		frm.set_query("selling_price_list", () => ({ filters: { selling: 1, enabled: 1 } }));
	},

	refresh(frm) {
		if (frm.is_new()) return;
		render_tab(frm);
		const can_write = frm.perm[0] && frm.perm[0].write;
		const open = !["Completed", "Archived"].includes(frm.doc.status);

		if (open && frappe.model.can_create("Accumulating Generator Item")) {
			frm.add_custom_button(__("Add Item"), () => add_item_dialog(frm));
		}
		if (!can_write) return;
		if (frm.doc.status !== "Archived") {
			frm.add_custom_button(__("Generate Now"), () => generate_now(frm), __("Actions"));
		}
		if (frm.doc.status === "Active") {
			frm.add_custom_button(__("Pause"), () => pause_dialog(frm), __("Actions"));
		}
		if (frm.doc.status === "Paused") {
			frm.add_custom_button(__("Resume"), () => resume_dialog(frm), __("Actions"));
		}
	},
});

function render_tab(frm) {
	frappe.call({
		method: `${AB_API}.get_tab`,
		args: { generator: frm.doc.name },
		callback({ message: tab }) {
			if (!tab) return;
			const money = (v) => format_currency(v, tab.currency);
			const rows = tab.items
				.map(
					(i) => `<tr>
						<td>${frappe.datetime.str_to_user(i.service_date)}</td>
						<td>${frappe.utils.escape_html(i.item_name || i.item_code)}
							<div class="text-muted small">${frappe.utils.escape_html(i.description || "")}</div></td>
						<td class="text-right">${i.qty}</td>
						<td class="text-right">${money(i.rate)}</td>
						<td class="text-right">${money(i.amount)}</td>
					</tr>`
				)
				.join("");
			const next = tab.next_creation_date
				? __("Next invoice on {0}", [frappe.datetime.str_to_user(tab.next_creation_date)])
				: "";
			frm.get_field("tab_html").$wrapper.html(`
				<table class="table table-sm table-bordered ab-running-tab">
					<thead><tr><th>${__("Service Date")}</th><th>${__("Item")}</th>
						<th class="text-right">${__("Qty")}</th><th class="text-right">${__("Rate")}</th>
						<th class="text-right">${__("Amount")}</th></tr></thead>
					<tbody>${rows || `<tr><td colspan="5" class="text-muted">${__("The tab is empty")}</td></tr>`}</tbody>
					<tfoot>
						<tr><td colspan="4" class="text-right">${__("Subtotal")} (${tab.lines})</td><td class="text-right">${money(tab.subtotal)}</td></tr>
						<tr><td colspan="4" class="text-right">${__("Discount")}</td><td class="text-right">${money(tab.discount)}</td></tr>
						<tr><td colspan="4" class="text-right"><b>${__("Net Total")}</b></td><td class="text-right"><b>${money(tab.net_total)}</b></td></tr>
					</tfoot>
				</table>
				<div class="text-muted small">${next}. ${__("Taxes are added by ERPNext on the invoice.")}</div>`);
		},
	});
}

function add_item_dialog(frm) {
	const dialog = new frappe.ui.Dialog({
		title: __("Add Item to {0}", [frm.doc.title || frm.doc.name]),
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
	date_action(frm, "resume", __("Resume"), {
		label: __("Resume Date"),
		reqd: 1,
		default: frappe.datetime.get_today(),
		description: __("The next invoice is the first scheduled date on or after this day."),
	});
}

function date_action(frm, method, title, field) {
	frappe.prompt(
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
