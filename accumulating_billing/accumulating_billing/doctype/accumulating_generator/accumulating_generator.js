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

function render_tab(frm) {
	frappe.call({
		method: `${AB_API}.get_tab`,
		args: { generator: frm.doc.name },
		callback({ message: tab }) {
			if (!tab) return;
			const esc = frappe.utils.escape_html;
			const money = (v) => format_currency(v, tab.currency);
			const rows = tab.items
				.map(
					(i) => `<tr>
						<td>${frappe.datetime.str_to_user(i.service_date)}</td>
						<td>${esc(i.item_name || i.item_code)}
							<div class="text-muted small">${esc(i.description || "")}</div>${source_link(i)}</td>
						<td class="text-right">${i.qty}</td>
						<td class="text-right">${money(i.rate)}</td>
						<td class="text-right">${money(i.amount)}</td>
					</tr>`
				)
				.join("");
			const total_row = (label, value, bold) =>
				`<tr><td colspan="4" class="text-right">${bold ? `<b>${label}</b>` : label}</td>
				<td class="text-right">${bold ? `<b>${money(value)}</b>` : money(value)}</td></tr>`;
			const advance = tab.advance && tab.advance.amount
				? `<div class="text-muted small ab-advance">${__("Paid in advance, not yet used: {0}", [
						format_currency(tab.advance.amount, tab.advance.currency),
					])}</div>`
				: "";
			const next = __("Next invoice on {0}: {1} line(s)", [
				frappe.datetime.str_to_user(tab.posting_date),
				tab.lines,
			]);
			const notes = [
				tab.error ? `<span class="text-danger">${esc(tab.error)}</span>` : "",
				tab.below_minimum
					? `<span class="text-warning">${__("Below the minimum amount: it will carry over.")}</span>`
					: "",
			].join(" ");
			const history = (tab.history || [])
				.map(
					(h) => `<tr><td>${frappe.datetime.str_to_user(h.occurrence_date)}</td>
						<td>${esc(__(h.outcome))}</td><td>${esc(h.reason || "")}</td></tr>`
				)
				.join("");
			frm.get_field("tab_html").$wrapper.html(`${payer_block(frm, tab)}${held_table(frm, tab)}
				<table class="table table-sm table-bordered ab-running-tab">
					<thead><tr><th>${__("Service Date")}</th><th>${__("Item")}</th>
						<th class="text-right">${__("Qty")}</th><th class="text-right">${__("Rate")}</th>
						<th class="text-right">${__("Amount")}</th></tr></thead>
					<tbody>${rows || `<tr><td colspan="5" class="text-muted">${__("The tab is empty")}</td></tr>`}</tbody>
				</table>
				<div class="text-muted small">${next} ${notes}</div>${advance}
				<table class="table table-sm table-bordered ab-next-invoice">
					<tbody>
						${total_row(__("Subtotal"), tab.subtotal)}
						${total_row(__("Discount"), tab.discount)}
						${total_row(__("Net Total"), tab.net_total)}
						${total_row(__("Taxes"), tab.taxes)}
						${total_row(__("Total"), tab.grand_total, true)}
					</tbody>
				</table>
				${history ? `<h6 class="mt-3">${__("Skipped, failed and missed occurrences")}</h6>
				<table class="table table-sm table-bordered ab-history"><tbody>${history}</tbody></table>` : ""}`);
		},
	});
}

function payer_block(frm, tab) {
	// one invoice per payer (billing/combined.py): whom the invoices go to, the payer's other tabs it shares them
	// with (or why not), and the tabs the next invoice combines
	const esc = frappe.utils.escape_html;
	const link = (name) =>
		`<a href="/app/accumulating-generator/${encodeURIComponent(name)}">${esc(name)}</a>`;
	const payer =
		tab.payer && tab.payer !== frm.doc.customer
			? `<p class="ab-payer">${__("Invoices are made out to {0}.", [
					`<a href="/app/customer/${encodeURIComponent(tab.payer)}">${esc(
						frm.doc.invoice_customer_name || tab.payer
					)}</a>`,
				])}</p>`
			: "";
	const partners = (tab.partners || [])
		.map(
			(p) => `<tr>
				<td>${link(p.name)} ${esc(p.title || "")}</td>
				<td>${esc(p.customer_name || p.customer)}</td>
				<td>${esc(__(p.status))}</td>
				<td>${p.next_creation_date ? frappe.datetime.str_to_user(p.next_creation_date) : ""}</td>
				<td class="${p.together ? "text-success" : "text-warning"} small">${
					p.together
						? __("On one invoice with this tab when both bill on the same day")
						: __("Billed apart: {0} differ", [esc(p.differs.join(", "))])
				}</td>
			</tr>`
		)
		.join("");
	const combined = (tab.tabs || [])
		.map((t) => `${link(t.name)} ${esc(t.title || "")} (${esc(t.customer_name || "")}): ${t.lines}`)
		.join("; ");
	if (!payer && !partners && !combined) return "";
	return `${payer}${
		partners
			? `<h6>${__("The payer's other tabs that combine")}</h6>
		<table class="table table-sm table-bordered ab-partners">
			<thead><tr><th>${__("Generator")}</th><th>${__("Customer")}</th><th>${__("Status")}</th>
				<th>${__("Next Creation Date")}</th><th></th></tr></thead>
			<tbody>${partners}</tbody>
		</table>`
			: ""
	}${
		combined
			? `<p class="text-muted small ab-combined">${__("The next invoice bills these tabs together (lines): {0}", [
					combined,
				])}</p>`
			: ""
	}`;
}

function held_table(frm, tab) {
	// lines a billing day held (ERPNext refused them), and those the next one will hold
	const esc = frappe.utils.escape_html;
	const can_write = frm.perm[0] && frm.perm[0].write;
	const held = (tab.held || [])
		.map(
			(i) => `<tr>
				<td>${frappe.datetime.str_to_user(i.service_date)}</td>
				<td>${esc(i.item_name || i.item_code)} <span class="text-muted small">${esc(i.name)}</span>${source_link(i)}</td>
				<td class="text-right">${i.qty}</td>
				<td class="text-right">${format_currency(i.amount, tab.currency)}</td>
				<td class="text-danger small">${esc(i.hold_reason || "")}</td>
				<td>${can_write ? `<button class="btn btn-xs btn-default ab-release" data-item="${esc(i.name)}">${__("Release", null, "a held line")}</button>` : ""}</td>
			</tr>`
		)
		.join("");
	const to_hold = (tab.to_hold || [])
		.map(
			(i) => `<tr><td colspan="4">${esc(i.item_code)} <span class="text-muted small">${esc(i.name)}</span></td>
				<td class="text-warning small">${esc(i.reason)}</td><td></td></tr>`
		)
		.join("");
	if (!held && !to_hold) return "";
	setTimeout(() => {
		frm.get_field("tab_html").$wrapper.find(".ab-release").on("click", (e) => {
			release_held(frm, [$(e.currentTarget).attr("data-item")]);
		});
	});
	return `<h6 class="text-danger">${__("On Hold: not billed until released")}</h6>
		<table class="table table-sm table-bordered ab-held">
			<thead><tr><th>${__("Service Date")}</th><th>${__("Item")}</th><th class="text-right">${__("Qty")}</th>
				<th class="text-right">${__("Amount")}</th><th>${__("Why ERPNext refuses it")}</th><th></th></tr></thead>
			<tbody>${held}${
				to_hold
					? `<tr><td colspan="6" class="text-muted small">${__("The next invoice will hold these lines unless they are fixed first:")}</td></tr>${to_hold}`
					: ""
			}</tbody>
		</table>`;
}

function release_held(frm, items) {
	frappe.call({
		method: `${AB_API}.release_held`,
		args: { generator: frm.doc.name, items: items ? JSON.stringify(items) : null },
		freeze: true,
		callback({ message: released }) {
			const count = (released || []).length;
			frappe.show_alert({
				// a Completed generator has no next occurrence: Generate Now bills what was released
				message:
					frm.doc.status === "Completed"
						? __("{0} line(s) released: the schedule has ended, so Generate Now bills them.", [count])
						: __("{0} line(s) released: the next invoice bills them.", [count]),
				indicator: count ? "green" : "orange",
			});
			frm.reload_doc();
		},
	});
}

function source_link(item) {
	// where a line came from: the Timesheet or Delivery Note that brought it to the tab
	if (!item.source_doctype) return "";
	const route = `/app/${frappe.router.slug(item.source_doctype)}/${encodeURIComponent(item.source_name)}`;
	return `<div class="small ab-source"><a href="${route}">${__(item.source_doctype)} ${frappe.utils.escape_html(item.source_name)}</a></div>`;
}

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
