"""A watched tab (issue 27): the threshold's progress bar on the generator form and on the portal's running tab,
and the portal's Question dialog, in English and in Arabic (right to left)."""

import re

import pytest
from ab_desk import open_form
from conftest import bench_execute
from playwright.sync_api import expect

MARKUP = "<b>Why</b> twice? <img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def watch(base_url):
	return bench_execute("accumulating_billing.tests.browser_setup_watch.prepare")


@pytest.fixture
def portal_page(login_as, watch):
	"""login(user): a fresh, logged-in portal session of that user."""
	return lambda user: login_as(user, watch["password"])


def bar_of(scope):
	bar = scope.locator(".ab-threshold")
	expect(bar).to_have_count(1)
	return bar


def test_progress_bar_on_the_generator_form(page, watch, screenshot):
	"""The form's running tab shows Bill When Unbilled Reaches and how much of it the tab has used."""
	open_form(page, "Accumulating Generator", watch["en"]["generator"])
	bar = bar_of(page.locator('[data-fieldname="tab_html"]'))
	expect(bar).to_have_attribute("data-percent", "50")
	expect(bar).to_contain_text("Bill When Unbilled Reaches")
	expect(bar).to_contain_text("200.00")
	expect(bar.locator(".ab-threshold-used")).to_contain_text("100.00 used (50%)")
	assert bar.locator(".progress-bar").evaluate("el => el.style.width") == "50%"
	screenshot(page)


def ask(page, row, message: str, screenshot, step: str) -> None:
	row.locator(".ab-question").click()
	dialog = page.locator("#ab-question-dialog")
	expect(dialog).to_be_visible()
	expect(dialog.locator(".ab-question-line")).to_contain_text("_AB Watch Service")  # the line asked about
	dialog.locator(".ab-question-send").click()  # nothing written yet: a message is required
	expect(dialog.locator(".ab-question-error")).not_to_be_empty()
	screenshot(page, f"{step}-required")
	dialog.locator("#ab-question-message").fill(message)
	screenshot(page, step)
	with page.expect_navigation():
		dialog.locator(".ab-question-send").click()
	page.wait_for_load_state("domcontentloaded")


def test_portal_progress_bar_and_question_dialog_in_english(portal_page, watch, screenshot):
	page = portal_page(watch["en"]["user"])
	page.goto("/running-tab")
	tab = page.locator(".ab-tab").filter(has_text=watch["en"]["title"])
	bar = bar_of(tab)
	expect(bar).to_have_attribute("data-percent", "50")
	expect(bar).to_contain_text("Invoiced as soon as it reaches")
	expect(bar).to_contain_text("200.00")
	expect(bar).to_contain_text("(50%)")
	expect(tab.locator("tfoot")).to_contain_text("100.00")
	screenshot(page, "tab")

	row = tab.locator("tr.ab-tab-item").filter(has_text=f"Backup {watch['run']}")
	ask(page, row, MARKUP, screenshot, "dialog")

	tab = page.locator(".ab-tab").filter(has_text=watch["en"]["title"])
	row = tab.locator("tr.ab-tab-item").filter(has_text=f"Backup {watch['run']}")
	expect(row.locator(".ab-questioned-badge")).to_have_text("Questioned")
	expect(row.locator(".ab-question")).to_have_count(0)
	expect(tab.locator("tfoot")).to_contain_text("50.00")  # the questioned 50.00 waits for its answer
	expect(tab.locator(".ab-question")).to_have_count(2)  # the others can still be questioned
	screenshot(page, "questioned")

	# the Issue in ERPNext's own portal: the message as plain text (its words; no markup survives, none runs)
	link = row.locator("a.ab-issue")
	issue = re.search(r"/issues/(.+)$", link.get_attribute("href")).group(1)
	page.goto("/issues")
	expect(page.locator("body")).to_contain_text(f"Question about _AB Watch Service {watch['run']}")
	screenshot(page, "issues")
	page.goto(f"/issues/{issue}")
	page.wait_for_load_state("networkidle")
	expect(page.locator("body")).to_contain_text("Why twice?")
	assert page.locator(".web-form b, .web-form img[src='x']").count() == 0
	screenshot(page, "issue")


def test_portal_progress_bar_and_question_dialog_in_arabic(portal_page, watch, screenshot):
	page = portal_page(watch["ar"]["user"])
	page.goto("/running-tab")
	assert page.evaluate("document.documentElement.dir") == "rtl"
	expect(page.locator(".my-account-header")).to_have_text("الحساب الجاري")
	tab = page.locator(".ab-tab").filter(has_text=watch["ar"]["title"])
	bar = bar_of(tab)
	expect(bar).to_have_attribute("data-percent", "50")
	expect(bar).to_contain_text("(50٪)")  # the Arabic percent sign of the ar catalogue
	# right to left: the bar fills from the right edge of its track
	track = bar.locator(".progress").bounding_box()
	filled = bar.locator(".progress-bar").bounding_box()
	assert abs((track["x"] + track["width"]) - (filled["x"] + filled["width"])) < 2, (track, filled)
	assert abs(filled["width"] - track["width"] / 2) < 3, (track, filled)
	screenshot(page, "tab")

	row = tab.locator("tr.ab-tab-item").filter(has_text=f"Update {watch['run']}")
	row.locator(".ab-question").click()
	dialog = page.locator("#ab-question-dialog")
	expect(dialog).to_be_visible()
	expect(dialog).to_have_attribute("dir", "rtl")
	assert dialog.locator(".modal-content").evaluate("el => getComputedStyle(el).direction") == "rtl"
	dialog.locator("#ab-question-message").fill("لماذا هذا البند؟")
	screenshot(page, "dialog")
	with page.expect_navigation():
		dialog.locator(".ab-question-send").click()
	page.wait_for_load_state("domcontentloaded")
	tab = page.locator(".ab-tab").filter(has_text=watch["ar"]["title"])
	row = tab.locator("tr.ab-tab-item").filter(has_text=f"Update {watch['run']}")
	expect(row.locator(".ab-questioned-badge")).to_have_count(1)
	expect(row.locator("a.ab-issue")).to_have_attribute("href", re.compile(r"^/issues/"))
	expect(tab.locator("tfoot")).to_contain_text("70.00")  # 100.00 less the questioned 30.00
	screenshot(page, "questioned")
