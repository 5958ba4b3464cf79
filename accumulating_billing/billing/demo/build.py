"""What the demo makes, relative to "today": customers, items, a contributor, two templates (one assigned by an
Assignment Rule when a Project is completed), four generators (monthly Open with Timesheets, every two weeks
Draft with a minimum amount, Grouped lines, one that gets paused), three months of tab items added by the
contributor, and a Timesheet with billable logs. Every step finds what an earlier run made and adds nothing.

The billing itself goes through the app's own code: `api.add_item` as the contributor, the Assignment Rule
through the Project's save, Timesheets through `billing/sources/`, and the billing days through
`generation.run_generator` (catch-up) and `lifecycle.pause`."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import frappe
from frappe import _
from frappe.utils import add_days, add_months, add_years, get_first_day, getdate

from accumulating_billing.billing.demo.records import PREFIX, ensure, find_own, is_tagged, tag, tagged
from accumulating_billing.doctypes import CONTRIBUTOR_ROLE, GENERATOR, ITEM, RULE, TEMPLATE

CONTRIBUTOR = "accumulating-demo-contributor@example.com"
CLIENT = "accumulating-demo-client@example.com"

CUSTOMERS = {
	"northwind": f"{PREFIX} Northwind Studio",
	"harbor": f"{PREFIX} Harbor Dental",
	"alpine": f"{PREFIX} Alpine Fitness",
}
# code: (name, rate, UOM wanted, description)
ITEMS = {
	"consulting": (f"{PREFIX} Consulting Hour", 90, "Hour", "Design and development work, by the hour"),
	"support": (f"{PREFIX} Support Ticket", 40, "Nos", "One support request handled"),
	"hosting": (f"{PREFIX} Website Hosting", 25, "Nos", "Managed hosting for a month"),
	"class": (f"{PREFIX} Class Pass", 12, "Nos", "One group fitness class"),
	"towels": (f"{PREFIX} Towel Service", 3, "Nos", "Towel service, per visit"),
}
CARE_TEMPLATE = f"{PREFIX} Website Care"
STARTER_TEMPLATE = f"{PREFIX} Starter Plan"
PROJECT = f"{PREFIX} Website Relaunch"
ACTIVITY = f"{PREFIX} Consulting"
MINIMUM = 300


@dataclass
class Demo:
	"""What the demo has (made now or found from an earlier run), for the catch-up and the tour."""

	today: date
	company: str
	currency: str
	customers: dict[str, str] = field(default_factory=dict)
	items: dict[str, str] = field(default_factory=dict)
	templates: dict[str, str] = field(default_factory=dict)
	rule: str | None = None
	project: str | None = None
	generators: dict[str, str] = field(default_factory=dict)
	timesheet: str | None = None
	client_password: str | None = None  # only when the portal user was made by this run
	# --force beside real data: nothing of the demo is public (no plan offered at kickoff, no portal password)
	beside_real_data: bool = False
	created: list[tuple[str, str]] = field(default_factory=list)  # (doctype, name) made by this run


def made(demo: Demo, doctype: str, name: str, created: bool) -> str:
	if created:
		demo.created.append((doctype, name))
	return name


# ------------------------------------------------------------------------------------------ the steps


def fiscal_years(demo: Demo) -> None:
	"""Invoices are dated up to three months back: the fiscal years they fall in must exist."""
	from erpnext.accounts.utils import get_fiscal_year

	# the first invoice date of the monthly generators is the earliest; the paused one resumes in two weeks
	for day in (get_first_day(add_months(demo.today, -2)), demo.today, add_days(demo.today, 40)):
		if get_fiscal_year(day, company=demo.company, verbose=0, boolean=True):
			continue
		start = fiscal_year_start(getdate(day))
		end = add_days(add_years(start, 1), -1)
		label = f"{PREFIX} {start.year}" if start.month == 1 and start.day == 1 else f"{PREFIX} {start}"
		name, created = ensure(
			"Fiscal Year",
			{"year": label},
			{
				"year_start_date": start,
				"year_end_date": end,
				"companies": [{"company": demo.company}],
			},
		)
		made(demo, "Fiscal Year", name, created)


def fiscal_year_start(day: date) -> date:
	"""The start of the fiscal year holding `day`, with the site's fiscal year start (month and day)."""
	first = frappe.get_all(
		"Fiscal Year", fields=["year_start_date"], order_by="year_start_date desc", limit=1
	)
	start = getdate(first[0].year_start_date) if first else date(day.year, 1, 1)
	this_year = date(day.year, start.month, min(start.day, 28) if start.month == 2 else start.day)
	return this_year if this_year <= day else date(day.year - 1, this_year.month, this_year.day)


def items(demo: Demo) -> None:
	group = frappe.db.get_value("Item Group", {"name": "Services", "is_group": 0}) or frappe.db.get_value(
		"Item Group", {"is_group": 0}, "name"
	)
	for key, (code, _rate, uom, description) in ITEMS.items():
		name, created = ensure(
			"Item",
			{"item_code": code},
			{
				"item_name": code,
				"item_group": group,
				"stock_uom": uom if frappe.db.exists("UOM", uom) else "Nos",
				"is_stock_item": 0,
				"is_sales_item": 1,
				"include_item_in_manufacturing": 0,
				"description": description,
			},
		)
		demo.items[key] = made(demo, "Item", name, created)


def customers(demo: Demo) -> None:
	group = frappe.db.get_single_value("Selling Settings", "customer_group") or frappe.db.get_value(
		"Customer Group", {"is_group": 0}, "name"
	)
	territory = frappe.db.get_single_value("Selling Settings", "territory") or frappe.db.get_value(
		"Territory", {"is_group": 0}, "name"
	)
	for key, customer_name in CUSTOMERS.items():
		name, created = ensure(
			"Customer",
			{"customer_name": customer_name},
			{"customer_type": "Company", "customer_group": group, "territory": territory},
		)
		demo.customers[key] = made(demo, "Customer", name, created)


def users(demo: Demo) -> None:
	"""The contributor (adds the items; sees only the demo customers) and a portal user of Northwind."""
	name, created = ensure(
		"User",
		{"email": CONTRIBUTOR},
		{
			"first_name": PREFIX,
			"last_name": "Contributor",
			"send_welcome_email": 0,
			"user_type": "System User",
			"roles": [{"role": CONTRIBUTOR_ROLE}],
		},
	)
	made(demo, "User", name, created)
	for customer in demo.customers.values():
		ensure(
			"User Permission",
			{"user": CONTRIBUTOR, "allow": "Customer", "for_value": customer},
			{"apply_to_all_doctypes": 1},
		)
	name, created = ensure(
		"User",
		{"email": CLIENT},
		{
			"first_name": PREFIX,
			"last_name": "Client",
			"send_welcome_email": 0,
			"user_type": "Website User",
			"roles": [{"role": "Customer"}],
		},
	)
	made(demo, "User", name, created)
	if created:
		if not demo.beside_real_data:
			from frappe.utils.password import update_password

			demo.client_password = frappe.generate_hash(length=12)
			update_password(CLIENT, demo.client_password)
		customer = frappe.get_doc("Customer", demo.customers["northwind"])
		customer.append("portal_users", {"user": CLIENT})
		customer.save(ignore_permissions=True)


def templates_and_rule(demo: Demo) -> None:
	"""Website Care (assigned by the rule when a Demo project is completed) and the Starter Plan (offered on
	the Client Kickoff form)."""
	common = {
		"enabled": 1,
		"company": demo.company,
		"interval_unit": "Month",
		"interval_count": 1,
		"end_condition": "Never",
		"generate_as": "Open",
		"due_days": 14,
	}
	name, created = ensure(
		TEMPLATE,
		{"template_name": CARE_TEMPLATE},
		{
			**common,
			"title": _("Website care"),
			"first_date_rule": "Day Of Month",
			"first_date_day_of_month": 1,
		},
	)
	demo.templates["care"] = made(demo, TEMPLATE, name, created)
	name, created = ensure(
		TEMPLATE,
		{"template_name": STARTER_TEMPLATE},
		{
			**common,
			"title": _("Starter plan"),
			"first_date_rule": "Days After Assignment",
			"first_date_days": 14,
			"offered_at_kickoff": 0 if demo.beside_real_data else 1,
		},
	)
	demo.templates["starter"] = made(demo, TEMPLATE, name, created)
	rule, created = ensure(
		RULE,
		{"template": demo.templates["care"]},
		{
			"enabled": 1,
			"document_type": "Project",
			"event": "Value Change",
			"value_changed": "status",
			"condition": f'doc.status == "Completed" and doc.project_name.startswith("{PREFIX} ")',
			"customer_field": "customer",
		},
	)
	demo.rule = made(demo, RULE, rule, created)


def generators(demo: Demo) -> None:
	three_months_back = get_first_day(add_months(demo.today, -2))
	specs = {
		"retainer": (
			"northwind",
			"Monthly retainer",
			{
				"interval_unit": "Month",
				"first_creation_date": three_months_back,
				"generate_as": "Open",
				"due_days": 14,
				"accumulate_timesheets": 1,
				"timesheet_item": demo.items["consulting"],
			},
		),
		"fortnightly": (
			"harbor",
			f"Every two weeks, minimum {MINIMUM}",
			{
				"interval_unit": "Week",
				"interval_count": 2,
				"first_creation_date": add_days(demo.today, -50),
				"generate_as": "Draft",
				"minimum_amount": MINIMUM,
			},
		),
		"grouped": (
			"alpine",
			"Class passes, grouped lines",
			{
				"interval_unit": "Month",
				"first_creation_date": three_months_back,
				"generate_as": "Open",
				"invoice_lines": "Grouped",
				"due_days": 7,
			},
		),
		"paused": (
			"harbor",
			"Website hosting (paused)",
			{
				"interval_unit": "Month",
				"first_creation_date": get_first_day(add_months(demo.today, -1)),
				"generate_as": "Open",
			},
		),
	}
	for key, (customer_key, title, values) in specs.items():
		customer = demo.customers[customer_key]
		full_title = f"{CUSTOMERS[customer_key]} - {title}"
		name = find_own(GENERATOR, {"customer": customer, "title": full_title})
		created = not name
		if not name:
			doc = frappe.get_doc(
				{
					"doctype": GENERATOR,
					"customer": customer,
					"title": full_title,
					"company": demo.company,
					"status": "Active",
					"interval_count": 1,
					"end_condition": "Never",
					**values,
				}
			).insert(ignore_permissions=True)
			name = tag(GENERATOR, doc.name)
		demo.generators[key] = made(demo, GENERATOR, name, created)


def project_completed(demo: Demo) -> None:
	"""A Demo project of Northwind is completed: the Assignment Rule assigns Website Care (a new generator)."""
	name, created = ensure(
		"Project",
		{"project_name": PROJECT},
		{"customer": demo.customers["northwind"], "company": demo.company, "status": "Open"},
	)
	demo.project = made(demo, "Project", name, created)
	project = frappe.get_doc("Project", name)
	if project.status != "Completed":
		project.status = "Completed"
		project.save(ignore_permissions=True)
	from accumulating_billing.billing.assignment import live_generator

	generator = live_generator(demo.customers["northwind"], demo.templates["care"])
	if not generator:
		frappe.throw(
			_(
				"The Assignment Rule {0} did not assign {1}: see the Error Log and the comments on {2}."
			).format(demo.rule, demo.templates["care"], name)
		)
	if not is_tagged(GENERATOR, generator):
		made(demo, GENERATOR, tag(GENERATOR, generator), True)
	demo.generators["care"] = generator


# The demo's content (titles, descriptions) is data in English, like ERPNext's own demo data; what the demo
# says (progress, the tour, errors) is translated.


def tab_items(demo: Demo) -> list[tuple]:
	"""(generator key, item key, days before today, qty, rate, description) of the items the contributor adds.

	Every two weeks, minimum 300 (first date today-50, runs at -50, -36, -22, -8): 80 at -50 is below the
	minimum and carries over, 170 at -36 too, 350 at -22 is billed (three lines), 40 at -8 carries over again,
	and 170 is on the tab now."""
	rows = []
	for back in (85, 70, 55, 40, 25, 10, 3):
		rows.append(("retainer", "support", back, 1, None, "Support request"))
	for back in (80, 50, 20):
		rows.append(("retainer", "hosting", back, 1, None, "Hosting for the month"))
	rows += [
		("fortnightly", "support", 58, 2, None, "Two support requests"),
		("fortnightly", "consulting", 45, 1, None, "Booking page fix"),
		("fortnightly", "consulting", 30, 2, None, "Patient portal update"),
		("fortnightly", "support", 15, 1, None, "Support request"),
		("fortnightly", "consulting", 5, 1, None, "New opening hours"),
		("fortnightly", "support", 1, 1, None, "Support request"),
	]
	for back in range(88, 0, -3):
		rows.append(("grouped", "class", back, 1, None, "Class visit"))
	for back in range(86, 0, -7):
		rows.append(("grouped", "towels", back, 2, None, "Towels"))
	for back in (55, 25, 4):
		rows.append(("paused", "hosting", back, 1, None, "Hosting for the month"))
	for back in (6, 2):
		rows.append(("care", "support", back, 1, None, "Plugin updates"))
	return rows


def add_tab_items(demo: Demo, progress=None) -> int:
	"""The contributor adds the items through the API (the same `client_ref` is never added twice)."""
	from accumulating_billing import api

	rows = tab_items(demo)
	added = 0
	user = frappe.session.user
	frappe.set_user(CONTRIBUTOR)
	try:
		for done, (gen_key, item_key, back, qty, rate, description) in enumerate(rows):
			generator = demo.generators[gen_key]
			client_ref = f"demo-{gen_key}-{item_key}-{back}"
			if not frappe.db.exists(ITEM, {"generator": generator, "client_ref": client_ref}):
				api.add_item(
					generator,
					demo.items[item_key],
					qty=qty,
					rate=rate if rate is not None else ITEMS[item_key][1],
					description=description,
					service_date=str(add_days(demo.today, -back)),
					client_ref=client_ref,
				)
				added += 1
			if progress:
				progress(_("Adding tab items"), done, len(rows))
	finally:
		frappe.set_user(user)
	return added


def timesheet(demo: Demo) -> None:
	"""A submitted Timesheet of Northwind: its billable logs join the retainer's tab (billing/sources/)."""
	name, created = ensure(
		"Activity Type", {"activity_type": ACTIVITY}, {"billing_rate": ITEMS["consulting"][1]}
	)
	made(demo, "Activity Type", name, created)
	existing = [ts for ts in tagged("Timesheet") if frappe.db.get_value("Timesheet", ts, "docstatus") == 1]
	if existing:
		demo.timesheet = existing[0]
		return
	ts = frappe.get_doc(
		{
			"doctype": "Timesheet",
			"company": demo.company,
			"customer": demo.customers["northwind"],
			"note": f"{PREFIX}: design and development hours",
		}
	)
	logs = [
		(60, 3, 1, "Homepage wireframes"),
		(35, 2.5, 1, "Checkout redesign"),
		(33, 1, 0, "Internal planning (not billable)"),
		(12, 4, 1, "Performance tuning"),
		(2, 1.5, 1, "Launch checklist"),
	]
	for back, hours, billable, description in logs:
		start = datetime.combine(add_days(demo.today, -back), time(9, 0))
		rate = ITEMS["consulting"][1] if billable else 0
		ts.append(
			"time_logs",
			{
				"activity_type": ACTIVITY,
				"from_time": start,
				"to_time": start + timedelta(hours=hours),
				"hours": hours,
				"is_billable": billable,
				"billing_hours": hours if billable else 0,
				"billing_rate": rate,
				"billing_amount": rate * hours,
				"description": description,
			},
		)
	ts.insert(ignore_permissions=True)
	ts.submit()
	tag("Timesheet", ts.name)
	demo.timesheet = made(demo, "Timesheet", ts.name, True)
