// Copyright (c) 2026, Accumulating Billing developers and contributors
// For license information, please see license.txt

// Accrual Accounts: offer the row's company's ledgers only (the server checks them again on save)
frappe.ui.form.on("Accumulating Billing Settings", {
	setup(frm) {
		frm.set_query("unbilled_revenue_account", "accrual_accounts", (doc, cdt, cdn) => ({
			filters: {
				company: locals[cdt][cdn].company,
				root_type: "Asset",
				is_group: 0,
				disabled: 0,
				account_type: ["not in", ["Receivable", "Payable", "Bank", "Cash", "Stock"]],
			},
		}));
		frm.set_query("cost_center", "accrual_accounts", (doc, cdt, cdn) => ({
			filters: { company: locals[cdt][cdn].company, is_group: 0, disabled: 0 },
		}));
	},
});
