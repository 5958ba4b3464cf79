"""Each person in their own language (issue 21): the generator form and its Actions for a German desk user,
the running tab for an Arabic-speaking portal user (right to left), the kickoff form in Spanish."""

import re

import pytest
from ab_desk import open_form, wait_idle
from conftest import bench_execute
from playwright.sync_api import expect


@pytest.fixture(scope="module")
def i18n(base_url):
	return bench_execute("accumulating_billing.tests.browser_setup_i18n.prepare")


@pytest.fixture
def user_page(login_as, i18n):
	"""login(user): a fresh, logged-in session of that user."""
	return lambda user: login_as(user, i18n["password"])


def test_generator_form_and_actions_in_german(user_page, i18n, screenshot):
	"""A desk user whose language is German sees the generator form, its running tab and its Actions menu in
	German: ERPNext's words for ERPNext's things (Aktionen, Artikel), the app's own for the rest."""
	page = user_page(i18n["desk_user"])
	open_form(page, "Accumulating Generator", i18n["generator"])
	assert page.evaluate("frappe.boot.lang") == "de"
	expect(page.locator(".ab-running-tab thead")).to_contain_text("Leistungsdatum")
	expect(page.locator(".ab-running-tab thead")).to_contain_text("Artikel")
	expect(page.locator(".ab-running-tab")).to_contain_text(f"Sicherung {i18n['run']}")
	expect(page.locator(".ab-next-invoice")).to_contain_text("Nettosumme")
	expect(page.locator('.frappe-control[data-fieldname="first_creation_date"] .control-label')).to_have_text(
		"Erstes Erstellungsdatum"
	)
	expect(page.get_by_role("button", name="Artikel hinzufügen", exact=True)).to_be_visible()
	screenshot(page, "form")

	page.get_by_role("button", name="Aktionen", exact=True).click()
	menu = page.locator(".dropdown-menu.show")
	for label in (
		"Jetzt erstellen",
		"Anhalten",
		"Duplizieren",
		"Für mehrere Kunden erstellen",
		"Archivieren",
	):
		expect(menu.locator(".dropdown-item").filter(has_text=label)).to_have_count(1)
	expect(menu).not_to_contain_text("Generate Now")
	screenshot(page, "actions")

	menu.locator(".dropdown-item").filter(has_text="Jetzt erstellen").click()
	dialog = page.locator(".modal.show").last
	expect(dialog).to_contain_text("außerplanmäßige Rechnung")
	screenshot(page, "confirm")
	dialog.get_by_role("button", name="Nein").click()
	wait_idle(page)


def test_running_tab_right_to_left_in_arabic(user_page, i18n, screenshot):
	"""An Arabic-speaking portal user reads the running tab in Arabic, right to left, with Frappe's number
	and date formats."""
	page = user_page(i18n["portal_user"])
	page.goto("/running-tab")
	tab = page.locator(".ab-tab").filter(has_text=f"Maintenance {i18n['run']}")
	expect(tab).to_have_count(1)
	assert page.evaluate("document.documentElement.dir") == "rtl"
	container = page.locator(".ab-running-tab-portal")
	expect(container).to_have_attribute("dir", "rtl")
	assert container.evaluate("el => getComputedStyle(el).direction") == "rtl"
	expect(page.locator(".my-account-header")).to_have_text("الحساب الجاري")
	expect(tab.locator("thead")).to_contain_text("المبلغ")
	expect(tab.locator("tfoot")).to_contain_text("المجموع حتى الآن")
	expect(tab.locator("tfoot")).to_contain_text("70.00")  # 1 x 25 + 3 x 15, in the currency's format
	expect(tab.locator(".ab-next-date")).to_contain_text("الفاتورة التالية في")
	# the amounts column sits on the left in a right-to-left page (its end)
	amount = tab.locator("tfoot td").last
	label = tab.locator("tfoot td").first
	assert amount.bounding_box()["x"] < label.bounding_box()["x"]
	screenshot(page)


def test_kickoff_form_in_spanish(guest_page, base_url, i18n, screenshot):
	"""A visitor who chose Spanish (Frappe's language picker sets the preferred_language cookie) gets the
	kickoff form in Spanish; so does a link with ?_lang=es."""
	page = guest_page
	page.context.add_cookies([{"name": "preferred_language", "value": "es", "url": base_url}])
	page.goto("/client-kickoff/new")
	form = page.locator(".web-form")
	expect(form.locator('.frappe-control[data-fieldname="company_name"] .control-label')).to_have_text(
		"Nombre de la empresa o del cliente"
	)
	expect(page.locator(".web-form-head, .web-form-header").first).to_contain_text("Alta de cliente")
	expect(form.locator('.frappe-control[data-fieldname="customer_type"] select option')).to_contain_text(
		["Compañía", "Individual"]
	)
	expect(page.get_by_role("button", name="Iniciar", exact=True)).to_be_visible()
	expect(page.locator("body")).to_contain_text("Su plan")
	expect(page.locator(".web-form-introduction")).to_contain_text("Díganos quién es y elija su plan.")
	screenshot(page)

	page.context.clear_cookies()
	page.goto("/client-kickoff/new?_lang=es")
	expect(form.locator('.frappe-control[data-fieldname="company_name"] .control-label')).to_have_text(
		"Nombre de la empresa o del cliente"
	)

	# the link a person shares is the form's route: Frappe sends it on to /new, the query string with it
	page.goto("/client-kickoff?_lang=es")
	expect(page).to_have_url(re.compile(r"/client-kickoff/new\?_lang=es$"))
	expect(form.locator('.frappe-control[data-fieldname="company_name"] .control-label')).to_have_text(
		"Nombre de la empresa o del cliente"
	)
	expect(page.locator(".web-form-head, .web-form-header").first).to_contain_text("Alta de cliente")
	screenshot(page, "link")
