"""Issue 25: no markup a contributor or a guest wrote runs in a real browser. Every page listens for JavaScript
dialogs (alert, confirm, prompt) and none may open: the invoice's print view, the invoice's desk form (its
timeline shows the email that was sent), the generator's desk form (its running tab and the Add Item dialog,
whose title holds raw markup staff typed), an item's form, the portal's running tab, the kickoff confirmation
page, and both emails as a mail client shows them. The data: browser_setup.markup (tab items added by a
contributor with the payloads of browser_setup.PAYLOADS, an invoice billed Open and Emailed)."""

from urllib.parse import quote

from ab_desk import open_form, portal_login, wait_idle
from conftest import bench_execute
from playwright.sync_api import expect

SETTLE_MS = 1500  # a broken image's onerror and an svg's onload fire right after the load


def watch_dialogs(page) -> list[str]:
	fired: list[str] = []

	def on_dialog(dialog):
		fired.append(f"{dialog.type}: {dialog.message}")
		dialog.dismiss()

	page.on("dialog", on_dialog)
	return fired


def settle(page) -> None:
	page.wait_for_load_state("load")
	page.wait_for_timeout(SETTLE_MS)


def test_invoice_print_view_and_form(page, data, screenshot):
	fired = watch_dialogs(page)
	page.goto(f"/printview?doctype=Sales%20Invoice&name={quote(data['markup_invoice'])}")
	settle(page)
	expect(page.locator("body")).to_contain_text("ab25 link")  # the payloads' words, as text
	expect(page.locator("body")).to_contain_text("{{ 7*7 }}")
	screenshot(page, "print")
	open_form(page, "Sales Invoice", data["markup_invoice"])
	settle(page)
	screenshot(page, "form")
	assert fired == []


def test_generator_form_running_tab_and_add_item_dialog(page, data, screenshot):
	fired = watch_dialogs(page)
	open_form(page, "Accumulating Generator", data["markup_generator"])
	settle(page)
	expect(page.locator('[data-fieldname="tab_html"]')).to_contain_text("ab25 link")
	screenshot(page, "form")
	page.get_by_role("button", name="Add Item").click()
	title = page.locator(".modal.show .modal-title")
	expect(title).to_contain_text("onerror=alert('ab25-title')")  # raw markup, shown as text
	settle(page)
	screenshot(page, "dialog")
	page.keyboard.press("Escape")
	open_form(page, "Accumulating Generator Item", data["markup_item"])
	settle(page)
	wait_idle(page)
	screenshot(page, "item")
	assert fired == []


def test_portal_running_tab(guest_page, data, screenshot):
	page = guest_page
	fired = watch_dialogs(page)
	portal_login(page, {**data, "portal_user": data["markup_user"]})
	page.goto("/running-tab")
	settle(page)
	expect(page.locator("body")).to_contain_text("ab25 link")
	screenshot(page)
	assert fired == []


def test_kickoff_confirmation_page_and_emails(guest_page, data, screenshot):
	page = guest_page
	fired = watch_dialogs(page)
	page.goto(
		bench_execute("accumulating_billing.tests.browser_setup.confirmation_link", data["markup_request"])
	)
	settle(page)
	expect(page.locator(".ab-kickoff-confirm")).to_contain_text("Acme")
	screenshot(page, "page")
	emails = bench_execute(
		"accumulating_billing.tests.browser_setup.emails", data["markup_request"], data["markup_invoice"]
	)
	assert len(emails) == 2, emails
	for index, html in enumerate(emails):
		page.set_content(html)
		settle(page)
		screenshot(page, f"email-{index}")
	assert fired == []
