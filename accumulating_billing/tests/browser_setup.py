"""Server-side data for the real-browser tests in `browser_tests/` (not a test module: `bench run-tests`
ignores it). Called as

	bench --site SITE execute accumulating_billing.tests.browser_setup.prepare

it commits and returns (printed as JSON) the names the browser tests use. Every call makes fresh records
(a run tag in their names), so it can run again on a development site.
"""

import frappe
from frappe.utils import add_days, add_months, get_first_day, getdate, nowdate
from frappe.utils.password import update_password

from accumulating_billing import api
from accumulating_billing.billing import generation
from accumulating_billing.billing.payments import make_owed_request, payments_installed
from accumulating_billing.doctypes import CONTRIBUTOR_ROLE, GENERATOR, SETTINGS
from accumulating_billing.tests.ledger import stripe_gateway_account
from accumulating_billing.tests.utils import (
	add,
	company,
	ensure_fiscal_years,
	make_customer,
	make_generator,
	make_item,
	make_template,
	make_user,
)

PORTAL_PASSWORD = "Ab-Browser-Portal-2026!"


def prepare() -> dict:
	if not frappe.is_setup_complete():
		# the desk needs ERPNext's setup wizard done; run-tests does it through this hook
		from erpnext.setup.utils import before_tests

		before_tests()
	today = getdate(nowdate())
	ensure_fiscal_years(today.year, today.year + 1)
	run = frappe.generate_hash(length=6)
	next_month = get_first_day(add_months(today, 1))

	settings = frappe.get_single(SETTINGS)
	settings.kickoff_create_portal_user = 0
	settings.kickoff_limit_per_hour = 1000
	settings.save(ignore_permissions=True)

	item = make_item(f"_AB Browser Service {run}", price=40)
	out = {
		"run": run,
		"today": str(today),
		"company": company(),
		"item": item,
		"desk_customer": make_customer(f"_AB Browser Desk {run}"),
		"assign_customer": make_customer(f"_AB Browser Assign {run}"),
		"kickoff_company": f"_AB Browser Kickoff {run}",
		"kickoff_email": f"ab-browser-kickoff-{run.lower()}@example.com",
	}

	template = make_template(f"_AB Browser Plan {run}", title=f"Browser Plan {run}", offered_at_kickoff=1)
	out["template"] = template.name
	out["template_title"] = template.title

	out["list_customer"] = list_customer = make_customer(f"_AB Browser List {run}")
	out["list"] = list_generators(list_customer, next_month, today)

	pause_gen = make_generator(
		make_customer(f"_AB Browser Pause {run}"), first_creation_date=next_month, status="Active"
	)
	out["pause_generator"] = pause_gen.name

	out.update(portal(run, item, next_month, today))
	out.update(first_hour(run, next_month))
	out.update(held_line(run, today))
	out.update(several_customers(run, template.name))
	out.update(unbilled(run, item, today))
	out.update(markup(run, item, today))
	out.update(void_and_amend(run, item, next_month, today))
	out.update(combined_invoice(run, item, today))
	frappe.db.commit()
	return out


def combined_invoice(run: str, item: str, today) -> dict:
	"""A payer with its own tab and two clinics' tabs billed to it, billed today on one invoice (issue 28)."""
	from accumulating_billing.billing import combined

	payer = make_customer(f"_AB Browser Group {run}")
	values = {"consolidate_invoices": 1, "first_creation_date": today, "generate_as": "Open"}
	tabs = [make_generator(payer, title=f"Head office {run}", **values).name]
	for number in (1, 2):
		clinic = make_customer(f"_AB Browser Clinic {number} {run}")
		tabs.append(
			make_generator(clinic, title=f"Clinic {number} care {run}", invoice_customer=payer, **values).name
		)
	for tab in tabs:
		add(tab, item, qty=1, rate=30, service_date=add_days(today, -1))
	frappe.db.commit()
	invoices = [name for result in combined.run_payer(tabs, today) for name in result.invoices]
	if len(invoices) != 1:
		frappe.throw(f"expected one combined invoice, got {invoices}")
	return {"combined_payer": payer, "combined_tabs": tabs, "combined_invoice": invoices[0]}


def several_customers(run: str, template: str) -> dict:
	"""Create for several customers: two new customers and one that already has the template (refused)."""
	from accumulating_billing.billing import assignment

	bulk = [make_customer(f"_AB Browser Bulk {key} {run}") for key in ("A", "B", "C")]
	assignment.assign(template, bulk[2])
	return {"bulk_customers": bulk, "bulk_assigned": bulk[2]}


def run_bulk_job(job: str) -> dict:
	"""What an RQ worker does with one queued *Create for several customers* job (`bench serve` runs none): take
	it off the long queue and run it as the user who started it. Returns its final state."""
	from frappe.utils.background_jobs import create_job_id, get_queue

	from accumulating_billing.billing import bulk_create

	queue = get_queue("long")
	rq_job = queue.fetch_job(create_job_id(bulk_create.job_id(job)))
	if rq_job is None:
		raise RuntimeError(f"no queued job {job}")
	queue.remove(rq_job.id)
	frappe.set_user(rq_job.kwargs["user"])
	try:
		return bulk_create.run(**rq_job.kwargs["kwargs"])
	finally:
		frappe.set_user("Administrator")


def unbilled(run: str, item: str, today) -> dict:
	"""A tab with two unbilled lines, 40 and 5 days old (the Unbilled Revenue report and its drill-down)."""
	customer = make_customer(f"_AB Browser Unbilled {run}")
	gen = make_generator(customer, first_creation_date=add_days(today, 20), status="Active")
	add(gen.name, item, qty=2, rate=40, service_date=add_days(today, -40))
	add(gen.name, item, qty=1, rate=40, service_date=add_days(today, -5))
	return {"unbilled_customer": customer, "unbilled_generator": gen.name}


# issue 25: what a contributor or a guest may type, as the browser tests' pages meet it
PAYLOADS = (
	'<img src=x onerror=alert("ab25-img")>',
	"[\"<img src=x onerror=alert('ab25-json')>\"]",
	"<script>alert('ab25-script')</script>",
	"<a href=\"javascript:alert('ab25-link')\">ab25 link</a>",
	'ab25<svg/onload=alert("ab25-svg")>',
	'x<img src=x onerror=alert("ab25-open")//',
	"{{ 7*7 }} ab25 {% for i in range(3) %}loop{% endfor %}",
)
MARKUP_TITLE = "<img src=x onerror=alert('ab25-title')> Markup tab"


def markup(run: str, item: str, today) -> dict:
	"""A tab whose items a contributor wrote with markup (stored as plain text by the app), billed Open and
	Emailed into an invoice (its email queued, its Communication on the invoice), more such items on the tab,
	a portal user of its customer, and a kickoff request with markup awaiting confirmation. The generator's
	title holds raw markup (a title staff typed): the Add Item dialog shows it."""
	from accumulating_billing.billing import email
	from accumulating_billing.tests.utils import ensure_outgoing_email_account, make_billing_contact

	ensure_outgoing_email_account()
	customer = make_customer(f"_AB Browser Markup {run}")
	make_billing_contact(customer)
	user = make_user(["Customer"], f"ab-browser-markup-{run.lower()}@example.com", user_type="Website User")
	update_password(user, PORTAL_PASSWORD)
	doc = frappe.get_doc("Customer", customer)
	doc.append("portal_users", {"user": user})
	doc.save(ignore_permissions=True)
	gen = make_generator(customer, first_creation_date=today, generate_as="Open and Email")
	contributor = make_user([CONTRIBUTOR_ROLE])
	frappe.get_doc(
		{"doctype": "User Permission", "user": contributor, "allow": "Customer", "for_value": customer}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	frappe.set_user(contributor)
	for payload in PAYLOADS:
		api.add_item(gen.name, item, rate=3, service_date=add_days(today, -1), description=payload)
	frappe.set_user("Administrator")
	frappe.db.commit()
	invoice, message = generation.generate_now(gen.name)
	if not invoice:
		frappe.throw(message)
	frappe.db.commit()
	email.send_invoice_email(invoice)
	frappe.set_user(contributor)
	items = [
		api.add_item(gen.name, item, rate=4, service_date=add_days(today, 1), description=payload)
		for payload in PAYLOADS
	]
	frappe.set_user("Administrator")
	frappe.db.set_value(GENERATOR, gen.name, "title", MARKUP_TITLE)
	return {
		"markup_generator": gen.name,
		"markup_item": items[0],
		"markup_invoice": invoice,
		"markup_user": user,
		"markup_request": kickoff_with_markup(run),
	}


def kickoff_with_markup(run: str) -> str:
	"""A kickoff request a guest filled with markup, awaiting its email's confirmation."""
	template = make_template(f"_AB Browser Markup Plan {run}", title="Markup plan", offered_at_kickoff=1)
	settings = frappe.get_single(SETTINGS)
	settings.kickoff_confirm_email = 1
	settings.save(ignore_permissions=True)
	frappe.set_user("Guest")
	request = frappe.get_doc(
		{
			"doctype": "Accumulating Kickoff Request",
			"company_name": f"Acme {run} {PAYLOADS[0]} {PAYLOADS[-1]}",
			"first_name": f"Ada {PAYLOADS[3]}",
			"email_id": f"ab-browser-markup-kickoff-{run.lower()}@example.com",
			"template": template.name,
		}
	).insert(ignore_permissions=True)
	frappe.set_user("Administrator")
	return request.name


def emails(request: str, invoice: str) -> list[str]:
	"""The HTML of the kickoff request's confirmation email and of the invoice's email, as queued (for the
	browser to show as a mail client does)."""
	from accumulating_billing.tests.utils import queued_emails

	return queued_emails("Accumulating Kickoff Request", request) + queued_emails("Sales Invoice", invoice)


def confirmation_link(request: str) -> str:
	"""The path of a kickoff request's confirmation link, from its queued email."""
	from accumulating_billing.tests.utils import confirmation_key

	return f"/client-kickoff-confirm?key={confirmation_key(request)}"


def kickoff_request_of(email: str) -> str | None:
	return frappe.db.get_value("Accumulating Kickoff Request", {"email_id": email})


def void_and_amend(run: str, item: str, first_date, today) -> dict:
	"""Issue 30: a tab of three lines, to void and amend from the running tab and from the item form."""
	gen = make_generator(
		make_customer(f"_AB Browser Void {run}"), first_creation_date=first_date, title=f"Void {run}"
	)
	lines = [
		add(gen.name, item, qty=qty, rate=40, service_date=add_days(today, -1), description=text).name
		for qty, text in ((1, "Entered twice"), (2, "Wrong quantity"), (1, "Corrected on its form"))
	]
	return {"void_generator": gen.name, "void_lines": lines}


def first_hour(run: str, first_date) -> dict:
	"""Issue 22: a Paused generator for the Resume dialog's date shortcuts, and the week start the shortcuts
	use (System Settings, as the desk reads it)."""
	from accumulating_billing.billing import lifecycle

	gen = make_generator(
		make_customer(f"_AB Browser Shortcuts {run}"), first_creation_date=first_date, status="Active"
	)
	lifecycle.pause(gen.name)
	return {
		"resume_generator": gen.name,
		"first_day_of_the_week": frappe.defaults.get_defaults().get("first_day_of_the_week") or "Sunday",
	}


def reset_onboarding() -> None:
	"""The guided start from its beginning (every step pending), as a new site shows it."""
	from accumulating_billing.billing import onboarding

	for step in onboarding.STEPS:
		frappe.db.set_value(
			"Onboarding Step", step, {"is_complete": 0, "is_skipped": 0}, update_modified=False
		)
	frappe.db.set_value("Module Onboarding", onboarding.ONBOARDING, "is_complete", 0, update_modified=False)
	frappe.db.set_single_value("System Settings", "enable_onboarding", 1)
	frappe.db.commit()
	onboarding.forget_ticks()


def held_line(run: str, today) -> dict:
	"""A generator whose billing day held a line (its item was disabled after it was added), the item enabled
	again since: its list indicator says "1 on hold", and the form's Release puts the line back on the tab."""
	customer = make_customer(f"_AB Browser Held {run}")
	gen = make_generator(customer, first_creation_date=today, title=f"Held {run}", generate_as="Draft")
	code = make_item(f"_AB Browser Retired {run}")
	line = add(
		gen.name, code, qty=1, rate=25, service_date=add_days(today, -3), description="Retired service"
	)
	item = frappe.get_doc("Item", code)
	item.disabled = 1
	item.save(ignore_permissions=True)
	frappe.db.commit()
	generation.run_generator(gen.name, today)
	item.reload()
	item.disabled = 0
	item.save(ignore_permissions=True)
	return {"held_customer": customer, "held_generator": gen.name, "held_line": line.name}


def list_generators(customer: str, first_date, today) -> dict:
	"""One generator per list indicator: Draft, Active ("Never ends"), Paused, Completed ("2 of 2"), Failing,
	Active After N ("1 of 3"), Active On Date ("Until …") and an Archived one the default filter hides."""
	made = {}

	def gen(key, state=None, **kw):
		doc = make_generator(customer, first_creation_date=first_date, title=f"List {key}", **kw)
		if state:
			frappe.db.set_value(GENERATOR, doc.name, state)
		made[key] = doc.name

	gen("draft", status="Draft")
	gen("active", status="Active")
	gen("paused", {"status": "Paused", "resume_date": add_days(first_date, 40)}, status="Active")
	gen(
		"completed",
		{"status": "Completed", "invoices_generated": 2, "last_creation_date": today},
		status="Active",
		end_condition="After N Invoices",
		end_after_invoices=2,
	)
	gen(
		"failing",
		{"consecutive_failures": 5, "last_error": "Browser test: the posting date is closed"},
		status="Active",
	)
	gen(
		"after_n",
		{"invoices_generated": 1},
		status="Active",
		end_condition="After N Invoices",
		end_after_invoices=3,
	)
	gen("on_date", status="Active", end_condition="On Date", end_date=add_months(first_date, 6))
	gen("archived", {"status": "Archived"}, status="Active")
	return made


def portal(run: str, item: str, first_date, today) -> dict:
	"""A customer with a portal user, one submitted invoice and unbilled items on its running tab."""
	customer = make_customer(f"_AB Browser Portal {run}")
	user = make_user(["Customer"], f"ab-browser-portal-{run.lower()}@example.com", user_type="Website User")
	update_password(user, PORTAL_PASSWORD)
	doc = frappe.get_doc("Customer", customer)
	doc.append("portal_users", {"user": user})
	doc.save(ignore_permissions=True)

	# with the payments app: the invoice gets a Payment Request, and the portal shows ERPNext's Pay button
	pay = payments_installed()
	gateway = stripe_gateway_account() if pay else None
	if pay:
		frappe.db.set_single_value("Buying Settings", "show_pay_button", 1)
		frappe.db.set_value("Payment Gateway Account", gateway, "is_default", 1)
	gen = make_generator(
		customer,
		first_creation_date=first_date,
		generate_as="Open",
		title=f"Website care {run}",
		payment_gateway_account=gateway,
	)
	add(gen.name, item, qty=2, rate=None, service_date=today, description="Monthly backup")
	frappe.db.commit()
	invoice, message = generation.generate_now(gen.name)
	if not invoice:
		frappe.throw(message)
	make_owed_request(invoice)  # the job the invoice's commit enqueued: its Payment Request, when it owes one
	unbilled = [
		add(gen.name, item, qty=1, rate=25, service_date=today, description=f"Product update {run}").name,
		add(gen.name, item, qty=3, rate=15, service_date=today, description=f"Listing refresh {run}").name,
	]
	return {
		"portal_customer": customer,
		"portal_user": user,
		"portal_password": PORTAL_PASSWORD,
		"portal_generator": gen.name,
		"portal_invoice": invoice,
		"portal_unbilled": unbilled,
		"portal_pay": pay,
	}
