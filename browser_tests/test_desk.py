"""The desk as an accountant uses it: the generator list, the form, its actions and the Customer action."""

import json
import re
from urllib.parse import quote

from ab_desk import (
	click_action,
	close_alerts,
	fill_date,
	fill_link,
	modal,
	open_form,
	rest_doc,
	rest_list,
	status_pill,
	wait_idle,
)
from conftest import bench_execute
from playwright.sync_api import expect

GENERATOR = "Accumulating Generator"


def test_generator_list_indicators(page, data, screenshot):
	"""Status indicators (Draft, Active, Paused, Completed, red Failing), "x of y" and "Until …", "---" once
	Completed; Archived hidden by the default filter."""
	# the list as a user sees it the first time: no saved filters, so the app's default filter applies (the
	# session is shared by the desk tests: once a page has loaded the desk, Frappe checks its CSRF token)
	page.goto("/app")
	wait_idle(page)
	response = page.request.post(
		"/api/method/frappe.model.utils.user_settings.save",
		form={"doctype": GENERATOR, "user_settings": json.dumps({"List": {"filters": None}})},
		headers={"X-Frappe-CSRF-Token": page.evaluate("() => frappe.csrf_token")},
	)
	assert response.ok, response.text()
	page.goto("/app/accumulating-generator")
	page.wait_for_selector(".frappe-list .result")
	wait_idle(page)
	# the default filter hides Archived; narrow the list to this run's customer with the standard filter
	fill_link(page, page, "customer", data["list_customer"])
	rows = page.locator(".list-row-container:visible")
	expect(rows).to_have_count(7)

	def row(key):
		return rows.filter(has_text=re.compile(rf"List {key}\b"))

	expected = {
		"draft": ("Draft", "gray"),
		"active": ("Active", "green"),
		"paused": ("Paused", "orange"),
		"completed": ("Completed", "blue"),
		"failing": ("Failing", "red"),
		"after_n": ("Active", "green"),
		"on_date": ("Active", "green"),
	}
	for key, (label, colour) in expected.items():
		pill = row(key).locator(".indicator-pill").first
		expect(pill).to_have_text(label)
		expect(pill).to_have_class(re.compile(rf"\b{colour}\b"))
	expect(row("after_n")).to_contain_text("1 of 3")
	expect(row("completed")).to_contain_text("2 of 2")
	expect(row("completed")).to_contain_text("---")
	expect(row("on_date")).to_contain_text("Until ")
	expect(row("active")).to_contain_text("Never ends")
	expect(rows.filter(has_text="List archived")).to_have_count(0)
	screenshot(page)


def test_held_line_indicator_and_release(page, data, screenshot):
	"""A line ERPNext refused on a billing day: the list says "1 on hold" (orange), the form lists the line with
	ERPNext's reason, and its Release puts it back on the running tab."""
	page.goto("/app/accumulating-generator")
	page.wait_for_selector(".frappe-list .result")
	wait_idle(page)
	fill_link(page, page, "customer", data["held_customer"])
	rows = page.locator(".list-row-container:visible")
	expect(rows).to_have_count(1)
	pill = rows.first.locator(".indicator-pill").first
	expect(pill).to_have_text("1 on hold")
	expect(pill).to_have_class(re.compile(r"\borange\b"))
	screenshot(page, "list")

	open_form(page, GENERATOR, data["held_generator"])
	held = page.locator("table.ab-held")
	expect(held).to_contain_text("is disabled")
	expect(held).to_contain_text(data["held_line"])
	screenshot(page, "held")
	held.get_by_role("button", name="Release").click()
	expect(page.locator("table.ab-held")).to_have_count(0)
	expect(page.locator("table.ab-running-tab")).to_contain_text("Retired service")
	assert rest_list(
		page,
		"Accumulating Generator Item",
		[["name", "=", data["held_line"]], ["status", "=", "Unbilled"]],
	)
	assert rest_doc(page, GENERATOR, data["held_generator"])["lines_on_hold"] == 0
	screenshot(page)


def test_the_held_line_notice_links_to_its_lines(page, data, screenshot):
	"""The notice of a billing run's held lines links to the item list filtered to exactly those lines (a hidden
	field of the item carries the notice's key; the list takes it from the link)."""
	key = rest_doc(page, "Accumulating Generator Item", data["held_line"])["hold_notice"]
	assert key and key != "Pending", key
	notices = rest_list(page, "Notification Log", [["link", "like", f"%hold_notice={key}%"]], ["link"])
	path = f"/app/accumulating-generator-item?hold_notice={key}"
	assert all(path in notice["link"] for notice in notices), notices
	# as a manager's link, and as an owner's (narrowed to their generators: a JSON filter in the link)
	owners = quote(json.dumps(["in", [data["held_generator"]]], separators=(",", ":")))
	for step, link in (("all", path), ("owner", f"{path}&generator={owners}")):
		page.goto(link)
		page.wait_for_selector(".frappe-list .result")
		wait_idle(page)
		rows = page.locator(".list-row-container:visible")
		expect(rows).to_have_count(1)
		expect(rows.first).to_contain_text(data["held_line"])
		screenshot(page, step)


def test_create_generator_add_item_generate_now(page, data, screenshot):
	"""Create and activate a generator in the form, add an item through Add Item, see the running tab and
	the next invoice, then Actions ▸ Generate Now lands on the Sales Invoice with that item."""
	page.goto("/app/accumulating-generator/new")
	page.wait_for_function(f"() => window.cur_frm && cur_frm.doctype === '{GENERATOR}' && cur_frm.is_new()")
	wait_idle(page)
	fill_link(page, page, "customer", data["desk_customer"])
	page.locator('.frappe-control[data-fieldname="title"]:visible input').fill(f"Desk tab {data['run']}")
	if not page.evaluate("() => cur_frm.doc.company"):
		fill_link(page, page, "company", data["company"])
	page.locator('.frappe-control[data-fieldname="interval_count"]:visible input').fill("1")
	page.locator('.frappe-control[data-fieldname="interval_unit"]:visible select').select_option("Month")
	first = page.evaluate(
		"() => frappe.datetime.add_months(frappe.datetime.month_start(), 1)"
	)  # the 1st of next month
	fill_date(page, page, "first_creation_date", first)
	page.locator('.frappe-control[data-fieldname="generate_as"]:visible select').select_option("Draft")
	page.locator('.frappe-control[data-fieldname="status"]:visible select').select_option("Active")
	page.keyboard.press("Control+s")
	page.wait_for_url(re.compile(r"/app/accumulating-generator/ACG-\d+$"))
	generator = page.url.rsplit("/", 1)[1]
	open_form(page, GENERATOR, generator)
	expect(status_pill(page)).to_have_text("Active")
	saved = rest_doc(page, GENERATOR, generator)
	assert saved["customer"] == data["desk_customer"]
	assert saved["status"] == "Active"
	assert saved["next_creation_date"] == first

	# Add Item (the rate comes from the price list: 40)
	page.get_by_role("button", name="Add Item", exact=True).click()
	dialog = modal(page)
	fill_link(dialog, page, "item_code", data["item"])
	dialog.locator('.frappe-control[data-fieldname="qty"] input').fill("3")
	dialog.locator('.frappe-control[data-fieldname="description"] textarea').fill("Site backup, desk")
	dialog.get_by_role("button", name="Add", exact=True).click()
	expect(dialog).to_be_hidden()
	tab = page.locator("table.ab-running-tab")
	expect(tab).to_contain_text("Site backup, desk")
	expect(tab.locator("tbody tr")).to_have_count(1)
	summary = page.locator("table.ab-next-invoice")
	expect(summary).to_contain_text("Net Total")
	expect(summary).to_contain_text("120.00")
	wait_idle(page)
	close_alerts(page)
	screenshot(page, "tab")

	# Actions ▸ Generate Now ▸ Yes: the Sales Invoice opens
	click_action(page, "Actions", "Generate Now")
	modal(page).get_by_role("button", name="Yes").click()
	page.wait_for_url(re.compile(r"/app/sales-invoice/[^/]+$"))
	invoice = page.url.rsplit("/", 1)[1]
	page.wait_for_function(
		"(name) => window.cur_frm && cur_frm.doctype === 'Sales Invoice' && cur_frm.docname === name",
		arg=invoice,
	)
	wait_idle(page)
	items = page.locator('.frappe-control[data-fieldname="items"] .grid-body .grid-row')
	expect(items).to_have_count(1)
	expect(items.first).to_contain_text(data["item"][:20])
	doc = rest_doc(page, "Sales Invoice", invoice)
	assert doc["accumulating_generator"] == generator
	assert doc["customer"] == data["desk_customer"]
	assert [(i["item_code"], i["qty"], i["amount"]) for i in doc["items"]] == [(data["item"], 3, 120)]
	assert not rest_list(
		page, "Accumulating Generator Item", [["generator", "=", generator], ["status", "=", "Unbilled"]]
	)
	screenshot(page)


def test_pause_and_resume(page, data, screenshot):
	"""Actions ▸ Pause (optional resume date) makes it Paused; Actions ▸ Resume asks a date and makes it
	Active again."""
	generator = data["pause_generator"]
	open_form(page, GENERATOR, generator)
	expect(status_pill(page)).to_have_text("Active")

	click_action(page, "Actions", "Pause")
	dialog = modal(page)
	expect(dialog).to_contain_text("Resume automatically on")
	dialog.get_by_role("button", name="Pause", exact=True).click()
	expect(status_pill(page)).to_have_text("Paused")
	assert rest_doc(page, GENERATOR, generator)["status"] == "Paused"
	screenshot(page, "paused")

	click_action(page, "Actions", "Resume")
	dialog = modal(page)
	expect(dialog).to_contain_text("Resume Date")
	resume_box = dialog.locator('.frappe-control[data-fieldname="resume_date"] input')
	expect(resume_box).not_to_have_value("")  # defaults to today
	dialog.get_by_role("button", name="Resume", exact=True).click()
	expect(status_pill(page)).to_have_text("Active")
	doc = rest_doc(page, GENERATOR, generator)
	assert doc["status"] == "Active"
	assert doc["next_creation_date"] >= data["today"]
	screenshot(page)


def test_assign_template_from_customer(page, data, screenshot):
	"""Customer ▸ Assign Accumulating Generator: pick a template, a generator is created for the customer."""
	customer = data["assign_customer"]
	open_form(page, "Customer", customer)
	page.get_by_role("button", name="Assign Accumulating Generator").click()
	dialog = modal(page)
	fill_link(dialog, page, "template", data["template"], pick=data["template"])
	dialog.get_by_role("button", name="Assign", exact=True).click()
	alert = page.locator("#alert-container .alert").filter(has_text="created")
	expect(alert).to_be_visible()
	made = rest_list(page, GENERATOR, [["customer", "=", customer]], ["name", "status", "template"])
	assert len(made) == 1, made
	assert made[0]["status"] == "Active" and made[0]["template"] == data["template"]
	expect(alert).to_contain_text(made[0]["name"])
	screenshot(page)

	# the customer's connections list it under Accumulating Billing
	wait_idle(page)
	page.locator(".form-tabs .nav-link:visible").filter(
		has_text=re.compile(r"^\s*(Connections|Dashboard)\s*$")
	).click()
	link = page.locator('.form-dashboard .document-link[data-doctype="Accumulating Generator"]:visible')
	expect(link).to_be_visible()
	expect(link.locator(".count")).to_have_text("1")
	screenshot(page, "connections")


def test_create_for_several_customers(page, data, screenshot):
	"""Template ▸ Create for several customers: the customers are picked in the dialog; a background job makes the
	generators while a progress dialog waits for it, then the result links the generators made and lists the
	refused customer with the reason."""
	open_form(page, "Accumulating Generator Template", data["template"])
	page.get_by_role("button", name="Create for several customers").click()
	dialog = modal(page)
	dialog.locator('.frappe-control[data-fieldname="search_term"] input').fill(data["run"])
	for customer in data["bulk_customers"]:
		dialog.locator(f'.list-item-container[data-item-name="{customer}"] .list-row-check').check()
	with page.expect_response(lambda r: "accumulating_billing.api.create_for_customers" in r.url) as started:
		dialog.get_by_role("button", name="Create Generators").click()
	job = started.value.json()["message"]["job"]
	progress = page.locator(".modal.show").filter(has_text="Creating accumulating generators")
	expect(progress).to_contain_text("Waiting for a background worker")
	screenshot(page, "waiting")

	# a worker takes the job (the browser tests run none: it runs here as the worker would)
	state = bench_execute("accumulating_billing.tests.browser_setup.run_bulk_job", job)
	assert state["status"] == "Finished" and len(state["created"]) == 2, state
	result = page.locator(".modal.show").filter(has_text="Generators created")
	expect(result).to_be_visible()
	expect(progress).to_be_hidden()
	expect(result).to_contain_text("Created 2 generator(s)")
	for name in state["created"]:
		expect(result.locator(f'a[href="/app/accumulating-generator/{name}"]')).to_be_visible()
	refused = result.locator("table.ab-refused tbody tr")
	expect(refused).to_have_count(1)
	expect(refused).to_contain_text(data["bulk_assigned"])
	expect(refused).to_contain_text("already has generator")
	# one generator each: the two made now, and the one the refused customer already had
	made = rest_list(
		page,
		GENERATOR,
		[["template", "=", data["template"]], ["customer", "in", data["bulk_customers"]]],
		["customer"],
	)
	assert sorted(g["customer"] for g in made) == sorted(data["bulk_customers"]), made
	screenshot(page)
