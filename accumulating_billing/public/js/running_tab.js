// The running tab on the Accumulating Generator form (loaded with the form: hooks.py doctype_js): a page of its
// lines with Void and Amend, the held lines with Release, the payer and the tabs billed with it, the threshold bar,
// the next invoice and the history. Everything shown is computed on the server (api.get_tab, api.get_tab_items);
// AB_API is the form script's.

function render_tab(frm) {
	frappe.call({
		method: `${AB_API}.get_tab`,
		args: { generator: frm.doc.name },
		callback({ message: tab }) {
			if (!tab) return;
			const esc = frappe.utils.escape_html;
			const money = (v) => format_currency(v, tab.currency);
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
			frm.get_field("tab_html").$wrapper.html(`${threshold_bar(tab)}${payer_block(frm, tab)}${held_table(frm, tab)}
				<table class="table table-sm table-bordered ab-running-tab">
					<thead><tr><th>${__("Service Date")}</th><th>${__("Item")}</th>
						<th class="text-right">${__("Qty")}</th><th class="text-right">${__("Rate")}</th>
						<th class="text-right">${__("Amount")}</th><th></th></tr></thead>
					<tbody class="ab-tab-rows"></tbody>
				</table>
				<div class="ab-tab-pager text-muted small mb-2"></div>
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
				<table class="table table-sm table-bordered ab-history"><tbody>${history}</tbody></table>` : ""}
				${voided_table(tab)}`);
			render_tab_rows(frm, tab, tab.items, tab.page);
		},
	});
}

function threshold_bar(tab) {
	// Bill When Unbilled Reaches: how much of it the tab has used (the lines Generate Now would bill today)
	const threshold = tab.threshold;
	if (!threshold) return "";
	const money = (v) => format_currency(v, tab.currency);
	return `<div class="ab-threshold mb-3" data-percent="${cint(threshold.percent)}">
		<div class="d-flex justify-content-between small">
			<span class="ab-threshold-amount">${__("Bill When Unbilled Reaches {0}", [money(threshold.amount)])}</span>
			<span class="ab-threshold-used">${__("{0} used ({1}%)", [money(threshold.used), cint(threshold.percent)])}</span>
		</div>
		<div class="progress" style="height: 8px;">
			<div class="progress-bar" role="progressbar" style="width: ${cint(threshold.percent)}%;"
				aria-valuenow="${cint(threshold.percent)}" aria-valuemin="0" aria-valuemax="100"></div>
		</div>
	</div>`;
}

function render_tab_rows(frm, tab, rows, page) {
	// one page of the unbilled lines (the tab may hold 100,000): Void and Amend on each, a pager below
	const esc = frappe.utils.escape_html;
	const money = (v) => format_currency(v, tab.currency);
	const can_write = frm.perm[0] && frm.perm[0].write;
	const $wrapper = frm.get_field("tab_html").$wrapper;
	const html = rows
		.map(
			(i) => `<tr data-item="${esc(i.name)}">
				<td>${frappe.datetime.str_to_user(i.service_date)}</td>
				<td>${esc(i.item_name || i.item_code)}
					<div class="text-muted small">${esc(i.description || "")}</div>${source_link(i)}</td>
				<td class="text-right">${i.qty}</td>
				<td class="text-right">${money(i.rate)}</td>
				<td class="text-right">${money(i.amount)}</td>
				<td class="text-nowrap">${
					can_write && accumulating_billing.tab_lines.can_change(i)
						? `<button class="btn btn-xs btn-default ab-void">${__("Void")}</button>
						<button class="btn btn-xs btn-default ab-amend">${__("Amend")}</button>`
						: ""
				}</td>
			</tr>`
		)
		.join("");
	$wrapper
		.find(".ab-tab-rows")
		.html(html || `<tr><td colspan="6" class="text-muted">${__("The tab is empty")}</td></tr>`);
	const by_name = Object.fromEntries(rows.map((i) => [i.name, i]));
	$wrapper.find(".ab-tab-rows .ab-void").on("click", (e) => {
		accumulating_billing.tab_lines.void($(e.currentTarget).closest("tr").attr("data-item"), () =>
			frm.reload_doc()
		);
	});
	$wrapper.find(".ab-tab-rows .ab-amend").on("click", (e) => {
		const line = by_name[$(e.currentTarget).closest("tr").attr("data-item")];
		accumulating_billing.tab_lines.amend(line, tab.currency, () => frm.reload_doc());
	});
	const $pager = $wrapper.find(".ab-tab-pager").empty();
	if (!page || page.count <= page.page_length) return;
	const last = Math.min(page.start + page.page_length, page.count);
	$pager.html(`${__("Lines {0} to {1} of {2}, total {3}", [
		page.start + 1,
		last,
		page.count,
		money(page.amount),
	])}
		<button class="btn btn-xs btn-default ab-previous ml-2" ${page.start ? "" : "disabled"}>${__("Previous")}</button>
		<button class="btn btn-xs btn-default ab-next" ${last < page.count ? "" : "disabled"}>${__("Next")}</button>`);
	const go = (start) =>
		frappe.call({
			method: `${AB_API}.get_tab_items`,
			args: { generator: frm.doc.name, start: Math.max(start, 0), page_length: page.page_length },
			callback: ({ message }) => message && render_tab_rows(frm, tab, message.rows, message),
		});
	$pager.find(".ab-previous").on("click", () => go(page.start - page.page_length));
	$pager.find(".ab-next").on("click", () => go(page.start + page.page_length));
}

function voided_table(tab) {
	// the tab's history of voided and amended lines: reason, who and when, and the replacement
	const esc = frappe.utils.escape_html;
	const rows = (tab.voided || [])
		.map(
			(v) => `<tr>
				<td>${frappe.datetime.str_to_user(v.voided_on)}</td>
				<td><a href="/app/accumulating-generator-item/${encodeURIComponent(v.name)}">${esc(v.name)}</a>
					${esc(v.item_name || v.item_code)}</td>
				<td class="text-right">${v.qty}</td>
				<td class="text-right">${format_currency(v.amount, tab.currency)}</td>
				<td>${esc(v.void_reason || "")}</td>
				<td>${esc(frappe.user.full_name(v.voided_by))}</td>
				<td>${
					v.replaced_by
						? `<a href="/app/accumulating-generator-item/${encodeURIComponent(v.replaced_by)}">${esc(v.replaced_by)}</a>`
						: ""
				}</td>
			</tr>`
		)
		.join("");
	if (!rows) return "";
	return `<h6 class="mt-3">${__("Voided and amended lines")}</h6>
		<table class="table table-sm table-bordered ab-voided">
			<thead><tr><th>${__("Voided On")}</th><th>${__("Line")}</th><th class="text-right">${__("Qty")}</th>
				<th class="text-right">${__("Amount")}</th><th>${__("Reason")}</th><th>${__("Voided By")}</th>
				<th>${__("Replaced By")}</th></tr></thead>
			<tbody>${rows}</tbody>
		</table>`;
}

function payer_block(frm, tab) {
	// one invoice per payer (billing/combined.py): whom the invoices go to, the payer's other tabs it shares them
	// with (or why not), and the tabs the next invoice combines
	const esc = frappe.utils.escape_html;
	const link = (name) =>
		`<a href="/app/accumulating-generator/${encodeURIComponent(name)}">${esc(name)}</a>`;
	// the message outside the template literal: Frappe's extractor (bench generate-pot-file) misses it there
	const payer_link = `<a href="/app/customer/${encodeURIComponent(tab.payer)}">${esc(
		frm.doc.invoice_customer_name || tab.payer
	)}</a>`;
	const made_out_to = __("Invoices are made out to {0}.", [payer_link]);
	const payer =
		tab.payer && tab.payer !== frm.doc.customer ? `<p class="ab-payer">${made_out_to}</p>` : "";
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
				<td class="text-danger small">${esc(i.hold_reason || "")}${question_link(i)}</td>
				<td class="text-nowrap">${
					can_write
						? `<button class="btn btn-xs btn-default ab-release" data-item="${esc(i.name)}">${__("Release", null, "a held line")}</button>
						${accumulating_billing.tab_lines.can_change({ ...i, status: "On Hold" })
							? `<button class="btn btn-xs btn-default ab-held-void" data-item="${esc(i.name)}">${__("Void")}</button>
							<button class="btn btn-xs btn-default ab-held-amend" data-item="${esc(i.name)}">${__("Amend")}</button>`
							: ""}`
						: ""
				}</td>
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
	const held_page = tab.held_page || {};
	const more =
		held_page.count > (tab.held || []).length
			? `<tr><td colspan="6" class="text-muted small">${__("{0} more held line(s): Release All releases every one of them.", [
					held_page.count - (tab.held || []).length,
				])}</td></tr>`
			: "";
	setTimeout(() => {
		const $wrapper = frm.get_field("tab_html").$wrapper;
		const by_name = Object.fromEntries((tab.held || []).map((i) => [i.name, i]));
		$wrapper.find(".ab-release").on("click", (e) => {
			release_held(frm, [$(e.currentTarget).attr("data-item")]);
		});
		// a held line may be voided, or amended into one ERPNext accepts
		$wrapper.find(".ab-held-void").on("click", (e) => {
			accumulating_billing.tab_lines.void($(e.currentTarget).attr("data-item"), () => frm.reload_doc());
		});
		$wrapper.find(".ab-held-amend").on("click", (e) => {
			const line = by_name[$(e.currentTarget).attr("data-item")];
			accumulating_billing.tab_lines.amend(line, tab.currency, () => frm.reload_doc());
		});
	});
	return `<h6 class="text-danger">${__("On Hold: not billed until released")}</h6>
		<table class="table table-sm table-bordered ab-held">
			<thead><tr><th>${__("Service Date")}</th><th>${__("Item")}</th><th class="text-right">${__("Qty")}</th>
				<th class="text-right">${__("Amount")}</th><th>${__("Why ERPNext refuses it")}</th><th></th></tr></thead>
			<tbody>${held}${more}${
				to_hold
					? `<tr><td colspan="6" class="text-muted small">${__("The next invoice will hold these lines unless they are fixed first:")}</td></tr>${to_hold}`
					: ""
			}</tbody>
		</table>`;
}

function question_link(item) {
	// a line the customer questioned in the portal: its Issue (closing it releases the line)
	if (!item.question_issue) return "";
	const route = `/app/issue/${encodeURIComponent(item.question_issue)}`;
	return ` <a class="ab-question-issue" href="${route}">${frappe.utils.escape_html(item.question_issue)}</a>`;
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
