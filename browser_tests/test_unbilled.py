"""Unbilled Revenue in the desk (issue 29): the report as of a date, its drill-down to the tab lines, and the number
card in the company currency."""

import re
from urllib.parse import urlencode

from ab_desk import wait_idle
from playwright.sync_api import expect

REPORT = "Unbilled Revenue"


def test_report_and_its_drill_down(page, data, screenshot):
	filters = {"company": data["company"], "customer": data["unbilled_customer"], "as_of_date": data["today"]}
	page.goto(f"/app/query-report/{REPORT}?{urlencode(filters)}")
	table = page.locator(".dt-scrollable")
	expect(table).to_contain_text(data["unbilled_generator"])
	# one row: 120.00 in all, 80.00 of it 31-60 days old, 40.00 within 30 days
	expect(table).to_contain_text("120.00")
	expect(page.locator(".dt-footer")).to_contain_text("120.00")  # the total row
	expect(page.locator(".chart-container, .frappe-chart").first).to_be_visible()
	wait_idle(page)
	screenshot(page, "by-generator")

	# the row's number of tab lines opens the lines themselves, as of the same date
	table.locator('a[href*="group_by=Tab"]').first.click()
	page.wait_for_function(
		"() => frappe.query_report && frappe.query_report.get_filter_value('group_by') === 'Tab Line'"
	)
	wait_idle(page)
	expect(table.locator(".dt-row:not(.dt-row-header)")).to_have_count(2)
	expect(table).to_contain_text("80.00")
	expect(table).to_contain_text("40.00")
	expect(page).to_have_url(re.compile(r"query-report/Unbilled"))
	screenshot(page, "tab-lines")


def test_the_unbilled_amount_card_is_in_the_company_currency(page, data, screenshot):
	page.goto("/app/accumulating-billing")
	card = page.locator(".number-widget-box").filter(has_text="Unbilled Accumulating Amount")
	expect(card.locator(".widget-content .number")).to_contain_text("$")
	wait_idle(page)
	screenshot(page)
