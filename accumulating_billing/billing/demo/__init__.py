"""`bench --site SITE accumulating-billing demo [--remove] [--force]`: a small, realistic demo in one command.

make(today) builds the demo (build.py) with the site's default company, runs the billing days up to `today`
(catch-up, through the app's own generation code), pauses one generator and returns what a person should look
at; tour() words it. Everything is idempotent: a second run adds nothing. remove() deletes what it made.

"Where it would mix with real data" (refused without force): the site has Accumulating Generators, Templates
or Assignment Rules the demo did not make, or Sales Invoices (draft or submitted) of customers that are not the
demo's. A site whose ERPNext setup was never run gets it done first (setup.py); one half set up (a company,
the wizard not finished) is refused even with force."""

from datetime import date
from urllib.parse import quote

import frappe
from frappe import _
from frappe.utils import add_days, get_url, getdate, nowdate

from accumulating_billing.billing.demo import build
from accumulating_billing.billing.demo import setup as demo_setup
from accumulating_billing.billing.demo.records import TAG, tagged
from accumulating_billing.billing.demo.remove import remove as remove  # the command calls demo.remove
from accumulating_billing.doctypes import GENERATOR, ITEM, LOG

DEMO_LIKE = '["like","Demo %"]'  # a list filter on the customer name: the demo's invoices
BILLED_DOCTYPES = (GENERATOR, "Accumulating Generator Template", "Accumulating Assignment Rule")


class RealDataError(frappe.ValidationError):
	"""The site holds billing data the demo did not make."""


def default_company() -> str:
	company = frappe.db.get_single_value(
		"Global Defaults", "default_company"
	) or frappe.defaults.get_defaults().get("company")
	if not company or not frappe.db.exists("Company", company):
		frappe.throw(
			_("The site has no default company: finish ERPNext's setup wizard first, then run the demo."),
			title=_("ERPNext is not set up"),
		)
	return company


def real_data() -> list[str]:
	"""What on the site the demo did not make and would be mixed with, in words (empty: nothing)."""
	found = []
	for doctype in BILLED_DOCTYPES:
		own = tagged(doctype)
		count = frappe.db.count(doctype, {"name": ("not in", own)} if own else None)
		if count:
			found.append(_("{0} {1}").format(count, _(doctype)))
	customers = tagged("Customer")
	invoices = frappe.db.count(
		"Sales Invoice",
		{"docstatus": ("<", 2), **({"customer": ("not in", customers)} if customers else {})},
	)
	if invoices:
		found.append(_("{0} {1}").format(invoices, _("Sales Invoice")))
	return found


def check_site(force: bool) -> bool:
	"""Refuse a site with real data unless forced; returns whether the demo runs beside real data."""
	found = real_data()
	if found and not force:
		frappe.throw(
			_(
				"This site already has {0} that the demo did not make: the demo's customers, invoices and "
				"running tabs would be mixed with them in every list and report. Run the demo on a fresh site, "
				"or add --force to run it here anyway (demo --remove deletes only what the demo made)."
			).format(", ".join(found)),
			RealDataError,
			title=_("Real data on this site"),
		)
	return bool(found)


def make(
	today: date | str | None = None,
	force: bool = False,
	echo=None,
	progress=None,
	setup: dict | None = None,
) -> dict:
	"""Make the demo (or find it) and bill it up to `today` (default: today in the site's time zone).
	`echo(line)` prints, `progress(title, done, total)` draws a progress bar. On a site whose ERPNext setup was
	never run, the setup is completed first with `setup` (company, country, currency, timezone: setup.py).
	Returns the summary."""
	echo = echo or (lambda _line: None)
	if demo_setup.complete_if_needed(**(setup or {}), echo=echo):
		frappe.db.commit()
	today = getdate(today or nowdate())
	company = default_company()
	beside_real_data = check_site(force)
	demo = build.Demo(
		today=today,
		company=company,
		currency=frappe.get_cached_value("Company", company, "default_currency"),
		beside_real_data=beside_real_data,
	)
	frappe.flags.accumulating_demo = True  # the demo is not the person's onboarding (billing/onboarding.py)
	try:
		steps = (
			build.fiscal_years,
			build.items,
			build.customers,
			build.users,  # the contributor and a portal user
			build.templates_and_rule,
			build.generators,
			build.project_completed,  # the Assignment Rule assigns a template
		)
		for done, step in enumerate(steps):
			step(demo)
			if progress:
				progress(_("Making the demo"), done, len(steps))
		frappe.db.commit()
		build.add_tab_items(demo, progress)
		frappe.db.commit()
		build.timesheet(demo)
		frappe.db.commit()
		catch_up(demo, progress)
		pause(demo)
		frappe.db.commit()
	except Exception:
		frappe.db.rollback()  # what this step made; earlier steps are committed and a new run goes on from them
		raise
	finally:
		frappe.flags.accumulating_demo = False
	return summary(demo)


def catch_up(demo: build.Demo, progress=None) -> list[str]:
	"""The billing days up to today of the demo's generators only (nothing else on the site is billed)."""
	from accumulating_billing.billing.tasks import run_isolated

	invoices = []
	names = list(demo.generators.values())
	for done, name in enumerate(names):
		if frappe.db.get_value(GENERATOR, name, "status") == "Active":
			result = run_isolated(name, demo.today)
			if result.error:
				frappe.throw(_("The demo could not bill {0}: {1}").format(name, result.error))
			invoices += result.invoices
		if progress:
			progress(_("Running the billing days"), done, len(names))
	return invoices


def pause(demo: build.Demo) -> None:
	from accumulating_billing.billing import lifecycle

	name = demo.generators["paused"]
	if frappe.db.get_value(GENERATOR, name, "status") == "Active":
		lifecycle.pause(name, add_days(demo.today, 14))


def summary(demo: build.Demo) -> dict:
	gens = list(demo.generators.values())
	invoices = frappe.get_all(
		"Sales Invoice",
		filters={"accumulating_generator": ("in", gens)},
		fields=["name", "docstatus", "accumulating_generator"],
	)
	skipped = frappe.db.count(LOG, {"generator": ("in", gens), "outcome": "Skipped"})
	return {
		"today": str(demo.today),
		"company": demo.company,
		"customers": demo.customers,
		"templates": demo.templates,
		"rule": demo.rule,
		"project": demo.project,
		"generators": demo.generators,
		"timesheet": demo.timesheet,
		"invoices": [i.name for i in invoices],
		"draft_invoices": [i.name for i in invoices if i.docstatus == 0],
		"skipped": skipped,
		"unbilled_items": frappe.db.count(ITEM, {"generator": ("in", gens), "status": "Unbilled"}),
		"contributor": build.CONTRIBUTOR,
		"client": build.CLIENT,
		"client_password": demo.client_password,
		"created": demo.created,
	}


def tour(result: dict) -> list[str]:
	"""What to look at, with the desk and portal URLs."""
	gens = result["generators"]

	def url(path: str) -> str:
		return get_url(path)

	def link(words: str, path: str) -> str:
		return f"  {words:<44} {url(path)}"

	def gen_line(key: str, words: str) -> str:
		return link(words, "/app/accumulating-generator/" + gens[key])

	lines = [
		_("Accumulating Billing demo (company {0}, billed up to {1})").format(
			result["company"], result["today"]
		),
		_("Made by this run: {0}").format(
			made_words(result["created"]) or _("nothing new (the demo was there)")
		),
		_(
			"{0} invoices ({1} draft), {2} occurrences skipped below the minimum, {3} items on running tabs."
		).format(
			len(result["invoices"]),
			len(result["draft_invoices"]),
			result["skipped"],
			result["unbilled_items"],
		),
		"",
		_("Open in the desk:"),
		link(_("Workspace (guided start, number cards)"), "/app/accumulating-billing"),
		gen_line("retainer", _("Monthly, Open, with a Timesheet")),
		gen_line("fortnightly", _("Every 2 weeks, Draft, minimum (skips)")),
		gen_line("grouped", _("Grouped lines")),
		gen_line("paused", _("Paused (Resume shows the date shortcuts)")),
		gen_line("care", _("Assigned by the Assignment Rule")),
		link(_("Invoices of the demo"), "/app/sales-invoice?customer_name=" + quote(DEMO_LIKE)),
		link(
			_("Upcoming Accumulating Invoices"),
			"/app/query-report/" + quote("Upcoming Accumulating Invoices"),  # i18n: not shown to people
		),
		link(_("Assignment Rule"), "/app/accumulating-assignment-rule/" + result["rule"]),
		"",
		_("Open in the portal:"),
		link(_("Client Kickoff (offers the Starter plan)"), "/client-kickoff"),
		link(_("Running tab of Demo Northwind Studio"), "/running-tab"),
		"    "
		+ (
			_("log in as {0} with the password {1}").format(result["client"], result["client_password"])
			if result["client_password"]
			else _(
				"log in as {0} (its password was printed when the demo was made; beside real data none is set:"
				" set one in the desk first)"
			).format(result["client"])
		),
		"",
		_("The items were added by {0} (role Accumulating Billing Contributor).").format(
			result["contributor"]
		),
		_(
			"Every record is tagged {0}. Remove it all with: bench --site {1} accumulating-billing demo --remove"
		).format(TAG, frappe.local.site),
	]
	return lines


def made_words(created: list[tuple[str, str]]) -> str:
	"""'3 Customer, 5 Item, …' of what a run made."""
	counts: dict[str, int] = {}
	for doctype, _name in created:
		counts[doctype] = counts.get(doctype, 0) + 1
	return ", ".join(f"{count} {_(doctype)}" for doctype, count in counts.items())
