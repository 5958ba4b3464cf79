"""The first hour (issue 22): the guided start on the workspace, ticked by what the person really did, and the
date shortcuts under First Creation Date and in the Resume dialog, checked against the site's date."""

import calendar
import re
from datetime import date, timedelta

from ab_desk import click_action, modal, open_form, rest_doc, status_pill, wait_idle
from conftest import bench_execute
from playwright.sync_api import expect

GENERATOR = "Accumulating Generator"
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def expected_shortcuts(today_iso: str, first_day_of_the_week: str) -> dict[str, str]:
	"""What each shortcut must pick, computed here from the site's today (not the browser's clock)."""
	today = date.fromisoformat(today_iso)
	to_next_week = (WEEKDAYS.index(first_day_of_the_week) - today.weekday()) % 7 or 7
	next_month = date(today.year + today.month // 12, today.month % 12 + 1, 1)
	month_end = date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
	days = {
		"today": today,
		"tomorrow": today + timedelta(days=1),
		"next_week": today + timedelta(days=to_next_week),
		"next_month": next_month,
		"month_end": month_end,
		"in_7": today + timedelta(days=7),
		"in_14": today + timedelta(days=14),
		"in_30": today + timedelta(days=30),
	}
	return {key: str(day) for key, day in days.items()}


def shortcut_dates(scope) -> dict[str, str]:
	buttons = scope.locator(".ab-date-shortcuts .ab-date-shortcut")
	expect(buttons).to_have_count(8)
	return {b.get_attribute("data-key"): b.get_attribute("data-date") for b in buttons.all()}


def test_workspace_guided_start(page, data, screenshot):
	"""The workspace opens with the five steps; a real action ticks its step, a click in the widget does not."""
	bench_execute("accumulating_billing.tests.browser_setup.reset_onboarding")
	page.goto("/app/accumulating-billing")
	widget = page.locator(".onboarding-widget-box")
	expect(widget).to_be_visible()
	steps = widget.locator(".onboarding-step")
	expect(steps).to_have_count(5)
	expect(steps.nth(0)).to_contain_text("Create a Generator or a Template")
	expect(steps.nth(3)).to_contain_text("Generate an Invoice Now")
	expect(widget.locator(".onboarding-step.complete")).to_have_count(0)
	wait_idle(page)
	screenshot(page)

	# the widget's own button of a "Go to Page" step does not tick it: Generate Now has not been run
	steps.nth(3).click()
	widget.locator(".onboarding-step-footer .btn").click()
	page.wait_for_url(re.compile(r"/app/accumulating-generator/?$"))
	expect(modal(page)).to_contain_text("Generate Now")
	wait_idle(page)
	screenshot(page, "go-to-page")

	# a real action: a template created through the API ticks "Create a Generator or a Template"
	response = page.request.post(
		"/api/resource/Accumulating Generator Template",
		headers={"X-Frappe-CSRF-Token": page.evaluate("() => frappe.csrf_token")},
		data={
			"template_name": f"_AB Browser Onboarding {data['run']}",
			"company": data["company"],
			"interval_unit": "Month",
			"interval_count": 1,
			"first_date_rule": "Days After Assignment",
			"first_date_days": 0,
			"generate_as": "Draft",
		},
	)
	assert response.ok, response.text()
	page.goto("/app/accumulating-billing")
	page.reload()  # the workspace caches its page data within a session
	widget = page.locator(".onboarding-widget-box")
	expect(widget).to_be_visible()
	steps = widget.locator(".onboarding-step")
	expect(steps.nth(0)).to_have_class(re.compile(r"\bcomplete\b"))
	expect(steps.nth(3)).not_to_have_class(re.compile(r"\bcomplete\b"))
	wait_idle(page)
	screenshot(page, "ticked")


def test_date_shortcuts_on_a_new_generator(page, data, screenshot):
	"""Below First Creation Date: eight shortcuts, each showing and picking the date computed from the site's
	today; a click sets the field."""
	page.goto("/app/accumulating-generator/new")
	page.wait_for_function(f"() => window.cur_frm && cur_frm.doctype === '{GENERATOR}' && cur_frm.is_new()")
	wait_idle(page)
	field = page.locator('.frappe-control[data-fieldname="first_creation_date"]:visible')
	expected = expected_shortcuts(data["today"], data["first_day_of_the_week"])
	assert shortcut_dates(field) == expected
	# each button shows the date it picks, in the user's date format
	tomorrow_shown = page.evaluate("(d) => frappe.datetime.str_to_user(d)", expected["tomorrow"])
	expect(field.locator('.ab-date-shortcut[data-key="tomorrow"]')).to_contain_text(tomorrow_shown)

	field.locator('.ab-date-shortcut[data-key="next_month"]').click()
	page.wait_for_function("(d) => cur_frm.doc.first_creation_date === d", arg=expected["next_month"])
	expect(field.locator('.ab-date-shortcut[data-key="next_month"]')).to_have_class(re.compile(r"\bactive\b"))
	screenshot(page)

	field.locator('.ab-date-shortcut[data-key="in_30"]').click()
	page.wait_for_function("(d) => cur_frm.doc.first_creation_date === d", arg=expected["in_30"])
	shown = page.evaluate("(d) => frappe.datetime.str_to_user(d)", expected["in_30"])
	expect(field.locator("input")).to_have_value(shown)


def test_date_shortcuts_in_the_resume_dialog(page, data, screenshot):
	"""Actions ▸ Resume: the date's shortcuts pick the site's dates; Resume with "In 14 Days" bills from then."""
	generator = data["resume_generator"]
	open_form(page, GENERATOR, generator)
	expect(status_pill(page)).to_have_text("Paused")
	click_action(page, "Actions", "Resume")
	dialog = modal(page)
	expected = expected_shortcuts(data["today"], data["first_day_of_the_week"])
	assert shortcut_dates(dialog) == expected
	dialog.locator('.ab-date-shortcut[data-key="in_14"]').click()
	shown = page.evaluate("(d) => frappe.datetime.str_to_user(d)", expected["in_14"])
	expect(dialog.locator('.frappe-control[data-fieldname="resume_date"] input')).to_have_value(shown)
	expect(dialog.locator('.ab-date-shortcut[data-key="in_14"]')).to_have_class(re.compile(r"\bactive\b"))
	screenshot(page)
	dialog.get_by_role("button", name="Resume", exact=True).click()
	expect(status_pill(page)).to_have_text("Active")
	doc = rest_doc(page, GENERATOR, generator)
	assert doc["status"] == "Active"
	assert doc["next_creation_date"] >= expected["in_14"]
	screenshot(page, "resumed")
