"""One invoice per payer (issue 28) in the desk: a clinic's tab names its payer and the tabs it is billed with, and
a combined invoice opens its print view in the app's format, each tab's lines under its title."""

from ab_desk import open_form, wait_idle
from playwright.sync_api import expect

GENERATOR = "Accumulating Generator"


def test_a_tab_shows_its_payer_and_the_tabs_it_is_combined_with(page, data, screenshot):
	open_form(page, GENERATOR, data["combined_tabs"][1])
	tab = page.locator('.frappe-control[data-fieldname="tab_html"]')
	expect(tab.locator(".ab-payer")).to_contain_text(data["combined_payer"])
	partners = tab.locator(".ab-partners tbody tr")
	expect(partners).to_have_count(2)
	for name in (data["combined_tabs"][0], data["combined_tabs"][2]):
		expect(partners.filter(has_text=name)).to_have_count(1)
	expect(partners.filter(has_text="On one invoice with this tab")).to_have_count(2)
	screenshot(page)


def test_a_combined_invoice_prints_each_tab_under_its_title_by_default(page, data, screenshot):
	invoice = data["combined_invoice"]
	open_form(page, "Sales Invoice", invoice)
	tabs = page.locator('.frappe-control[data-fieldname="accumulating_tabs"]')
	expect(tabs).to_be_visible()
	expect(tabs.locator(".grid-body .rows .grid-row")).to_have_count(3)
	page.evaluate("() => cur_frm.print_doc()")  # the form's Print button
	selector = page.locator('.print-preview-sidebar [data-fieldname="print_format"] input')
	expect(selector).to_have_value("Accumulating Combined Invoice")
	wait_idle(page)
	frame = page.frame_locator(".print-preview-wrapper iframe")
	expect(frame.locator(".ab-tab")).to_have_count(3)
	for number in (1, 2):
		expect(frame.locator(".ab-tab-title").filter(has_text=f"Clinic {number} care")).to_have_count(1)
	screenshot(page)
