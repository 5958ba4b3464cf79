"""Void and Amend in the desk (issue 30): on a line of the generator's running tab and on the item form; the tab's
history lists the voided lines with reason, who and replacement, and the item form says who voided it and when."""

from ab_desk import close_alerts, field, modal, open_form, rest_doc
from playwright.sync_api import expect

GENERATOR = "Accumulating Generator"
ITEM = "Accumulating Generator Item"


def test_void_and_amend_in_the_running_tab(page, data, screenshot):
	twice, wrong, _form = data["void_lines"]
	open_form(page, GENERATOR, data["void_generator"])
	tab = page.locator("table.ab-running-tab")
	expect(tab.locator("tbody tr")).to_have_count(3)
	screenshot(page, "before")

	tab.locator(f'tr[data-item="{twice}"]').get_by_role("button", name="Void").click()
	dialog = modal(page)
	field(dialog, "reason").fill("Entered twice by mistake")
	dialog.get_by_role("button", name="Void").click()
	history = page.locator("table.ab-voided")
	expect(history).to_contain_text(twice)
	expect(history).to_contain_text("Entered twice by mistake")
	expect(page.locator("table.ab-running-tab tbody tr")).to_have_count(2)

	page.locator(f'table.ab-running-tab tr[data-item="{wrong}"]').get_by_role("button", name="Amend").click()
	dialog = modal(page)
	field(dialog, "qty").fill("3")
	dialog.get_by_role("button", name="Amend").click()
	expect(page.locator("table.ab-voided")).to_contain_text(wrong)
	close_alerts(page)
	replaced = rest_doc(page, ITEM, wrong)
	assert (replaced["status"], replaced["void_reason"].startswith("Amended: replaced by ")) == (
		"Voided",
		True,
	)
	replacement = replaced["void_reason"].rsplit(" ", 1)[1]
	assert rest_doc(page, ITEM, replacement)["amended_from"] == wrong
	assert (rest_doc(page, ITEM, replacement)["qty"], rest_doc(page, ITEM, replacement)["amount"]) == (3, 120)
	expect(page.locator("table.ab-voided")).to_contain_text(replacement)
	expect(page.locator("table.ab-running-tab")).to_contain_text("Wrong quantity")
	assert rest_doc(page, ITEM, twice)["voided_by"] == "Administrator"
	screenshot(page)


def test_void_on_the_item_form(page, data, screenshot):
	line = data["void_lines"][2]
	open_form(page, ITEM, line)
	expect(page.get_by_role("button", name="Amend")).to_be_visible()
	page.get_by_role("button", name="Void", exact=True).click()
	dialog = modal(page)
	field(dialog, "reason").fill("Not our work")
	dialog.get_by_role("button", name="Void").click()
	page.wait_for_function("() => cur_frm.doc.status === 'Voided'")
	expect(page.get_by_text("Voided by You on")).to_contain_text("Not our work")
	expect(page.get_by_role("button", name="Amend")).to_have_count(0)
	# the record of the void: nothing on the form to edit or save
	expect(page.get_by_role("button", name="Save")).to_have_count(0)
	assert rest_doc(page, ITEM, line)["status"] == "Voided"
	screenshot(page)
