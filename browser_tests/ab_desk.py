"""Small helpers for driving Frappe's desk and portal with Playwright."""

import json
import re
from urllib.parse import quote

from playwright.sync_api import Locator, Page, expect


def wait_idle(page: Page) -> None:
	"""No frappe.call in flight (and the desk scripts are loaded)."""
	page.wait_for_function("() => window.frappe && frappe.request && !frappe.request.ajax_count")


def open_form(page: Page, doctype: str, name: str) -> None:
	page.goto(f"/app/{doctype.lower().replace(' ', '-')}/{quote(name)}")
	page.wait_for_function(
		"([doctype, name]) => window.cur_frm && cur_frm.doctype === doctype && cur_frm.docname === name"
		" && !cur_frm.is_dirty()",
		arg=[doctype, name],
	)
	wait_idle(page)


def field(scope: Page | Locator, fieldname: str) -> Locator:
	"""The input of a visible field (form or dialog)."""
	return (
		scope.locator(f'.frappe-control[data-fieldname="{fieldname}"]:visible')
		.locator("input, select, textarea")
		.first
	)


def fill_link(scope: Page | Locator, page: Page, fieldname: str, value: str, pick: str | None = None) -> None:
	"""Type into a Link field and pick the suggestion, as a user does."""
	control = scope.locator(f'.frappe-control[data-fieldname="{fieldname}"]:visible')
	box = control.locator("input").first
	box.click()
	box.fill("")
	box.press_sequentially(value, delay=15)
	# the suggestions open under the input (forms, dialogs) or in the body (list filters)
	option = (
		page.locator(".awesomplete ul[role=listbox]:visible [role=option]")
		.filter(has_text=pick or value)
		.first
	)
	option.wait_for(state="visible")
	option.click()
	wait_idle(page)


def fill_date(page: Page, scope: Page | Locator, fieldname: str, iso: str) -> None:
	"""Type a date in the user's date format and close the date picker."""
	shown = page.evaluate("(iso) => frappe.datetime.str_to_user(iso)", iso)
	box = field(scope, fieldname)
	box.click()
	box.fill(shown)
	box.press("Escape")
	wait_idle(page)
	if scope is page:
		# the form takes the typed date on its (debounced) change: under load Ctrl+S could come first
		page.wait_for_function(
			"([f, v]) => !window.cur_frm || !(f in cur_frm.fields_dict) || cur_frm.doc[f] === v",
			arg=[fieldname, iso],
		)


def click_action(page: Page, group: str, label: str) -> None:
	"""A custom button inside a group (e.g. Actions ▸ Generate Now)."""
	page.get_by_role("button", name=group, exact=True).click()
	page.locator(".dropdown-menu.show .dropdown-item").filter(
		has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")
	).click()


def modal(page: Page) -> Locator:
	"""The dialog on top."""
	dialog = page.locator(".modal.show").last
	expect(dialog).to_be_visible()
	return dialog


def close_alerts(page: Page) -> None:
	"""Dismiss the green toasts (they cover the form in screenshots)."""
	for close in page.locator("#alert-container .alert .close:visible").all():
		close.click()
	expect(page.locator("#alert-container .alert:visible")).to_have_count(0)


def status_pill(page: Page) -> Locator:
	return page.locator(".page-head:visible .indicator-pill").first


def rest_list(page: Page, doctype: str, filters: list, fields: list | None = None) -> list[dict]:
	"""GET /api/resource with the page's session (Administrator in the desk tests)."""
	response = page.request.get(
		f"/api/resource/{quote(doctype)}",
		params={
			"filters": json.dumps(filters),
			"fields": json.dumps(fields or ["name"]),
			"limit_page_length": "0",
		},
	)
	assert response.ok, response.text()
	return response.json()["data"]


def rest_doc(page: Page, doctype: str, name: str) -> dict:
	response = page.request.get(f"/api/resource/{quote(doctype)}/{quote(name)}")
	assert response.ok, response.text()
	return response.json()["data"]


def portal_login(page: Page, data: dict) -> None:
	"""Log in on the website as the portal user `data["portal_user"]`."""
	page.goto("/login")
	page.locator("#login_email").fill(data["portal_user"])
	page.locator("#login_password").fill(data["portal_password"])
	page.locator(".btn-login:visible").click()
	page.wait_for_url(lambda url: "/login" not in url)
