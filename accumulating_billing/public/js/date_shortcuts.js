// Copyright (c) 2026, Accumulating Billing developers and contributors
// For license information, please see license.txt
// One-click dates (issue 22): below First Creation Date on the generator form and under the Resume dialog's
// date. Computed in the site's (system) time zone, not the browser's; each button shows the date it picks.
// Added to the generator form through doctype_js; the Resume dialog calls attach_to_dialog.

window.accumulating_billing = window.accumulating_billing || {};

accumulating_billing.date_shortcuts = {
	/** The site's today as YYYY-MM-DD (System Settings ▸ Time Zone). */
	site_today() {
		const tz = (frappe.boot.time_zone && frappe.boot.time_zone.system) || frappe.sys_defaults.time_zone;
		return (tz ? moment.tz(tz) : moment()).format("YYYY-MM-DD");
	},

	/** Index (0 = Sunday) of the first day of the week the site uses (System Settings). */
	first_day_of_week() {
		const index = frappe.datetime.get_first_day_of_the_week_index
			? frappe.datetime.get_first_day_of_the_week_index()
			: 1;
		return index >= 0 ? index : 1;
	},

	/** The shortcuts for a given today: [{key, label, date}] (pure date math, no clock). */
	compute(today, first_day_of_week) {
		const day = moment(today, "YYYY-MM-DD");
		const iso = (m) => m.format("YYYY-MM-DD");
		const after = (n) => iso(day.clone().add(n, "days"));
		// the next first day of the week strictly after today (a week from today when today is one)
		const to_next_week = (first_day_of_week - day.day() + 7) % 7 || 7;
		return [
			{ key: "today", label: __("Today"), date: iso(day) },
			{ key: "tomorrow", label: __("Tomorrow"), date: after(1) },
			{ key: "next_week", label: __("Start of Next Week"), date: after(to_next_week) },
			{
				key: "next_month",
				label: __("First of Next Month"),
				date: iso(day.clone().add(1, "months").startOf("month")),
			},
			{ key: "month_end", label: __("Last Day of This Month"), date: iso(day.clone().endOf("month")) },
			{ key: "in_7", label: __("In {0} Days", [7]), date: after(7) },
			{ key: "in_14", label: __("In {0} Days", [14]), date: after(14) },
			{ key: "in_30", label: __("In {0} Days", [30]), date: after(30) },
		];
	},

	/** The buttons, under `$control` (a field's wrapper); `pick(date)` sets the value. */
	render($control, current, pick) {
		$control.find(".ab-date-shortcuts").remove();
		const esc = frappe.utils.escape_html;
		const shortcuts = this.compute(this.site_today(), this.first_day_of_week());
		const buttons = shortcuts
			.map(
				(s) => `<button type="button" class="btn btn-xs btn-default ab-date-shortcut${
					s.date === current ? " active" : ""
				}" data-key="${s.key}" data-date="${s.date}"
					title="${esc(moment(s.date, "YYYY-MM-DD").format("dddd"))}">
					${esc(s.label)} <span class="text-muted">${esc(frappe.datetime.str_to_user(s.date))}</span>
				</button>`
			)
			.join(" ");
		const $box = $(`<div class="ab-date-shortcuts" style="display:flex;flex-wrap:wrap;gap:4px;margin:-4px 0 12px;">
			${buttons}</div>`).appendTo($control);
		$box.on("click", ".ab-date-shortcut", (event) => {
			event.preventDefault();
			pick($(event.currentTarget).attr("data-date"));
		});
		return $box;
	},

	/** Under a form field, while the field can be edited. */
	attach_to_field(frm, fieldname) {
		const field = frm.get_field(fieldname);
		if (!field || !field.$wrapper) return;
		if (field.disp_status !== "Write") {
			field.$wrapper.find(".ab-date-shortcuts").remove();
			return;
		}
		this.render(field.$wrapper, frm.doc[fieldname], (date) => frm.set_value(fieldname, date));
	},

	/** Under a dialog's date field. */
	attach_to_dialog(dialog, fieldname) {
		const field = dialog.get_field(fieldname);
		if (!field) return;
		const show = () =>
			this.render(field.$wrapper, dialog.get_value(fieldname), (date) => {
				dialog.set_value(fieldname, date).then(show);
			});
		show();
	},
};

frappe.ui.form.on("Accumulating Generator", {
	refresh(frm) {
		accumulating_billing.date_shortcuts.attach_to_field(frm, "first_creation_date");
	},
	first_creation_date(frm) {
		accumulating_billing.date_shortcuts.attach_to_field(frm, "first_creation_date");
	},
});
