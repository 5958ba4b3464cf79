"""ERPNext's setup for the demo on a brand-new site (README, *The demo*).

`bench new-site S --install-app erpnext --install-app accumulating_billing` leaves ERPNext's setup wizard to be
run: no company, no chart of accounts, no fiscal year. The demo then completes the setup itself, through
Frappe's own setup_complete (frappe.desk.page.setup_wizard.setup_wizard), which runs the stages the wizard runs:
Frappe's settings, then ERPNext's (its presets, the company with its chart of accounts and fiscal year, its
defaults: erpnext.setup.setup_wizard.setup_wizard.get_setup_stages). A site whose setup is done is never touched.

The choices the wizard asks for are the command's options, with the defaults of Frappe's own programmatic setup
(frappe.utils.install.complete_setup_wizard: United States, America/New_York, USD): company "Demo Company", the
country's currency and time zone, ERPNext's *Standard* chart of accounts, and the calendar year for the fiscal
year (the demo adds the fiscal years its own dates need, build.fiscal_years).
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import frappe
from frappe import _
from frappe.geo.country_info import get_country_info

DEFAULT_COMPANY = "Demo Company"
DEFAULT_COUNTRY = "United States"
DEFAULT_TIMEZONE = "America/New_York"  # the default country's, as Frappe's own setup picks it
CHART_OF_ACCOUNTS = "Standard"  # ERPNext offers it for every country
MAX_ABBR = 10  # the wizard's limit on a company's abbreviation


def complete_if_needed(
	company: str | None = None,
	country: str | None = None,
	currency: str | None = None,
	timezone: str | None = None,
	echo=None,
) -> bool:
	"""Complete ERPNext's setup when the site never ran it; returns whether it did. A site whose setup is done
	is left as it is (the options are then unused)."""
	if frappe.is_setup_complete():
		return False
	if has_company():
		frappe.throw(
			_(
				"ERPNext's setup wizard was not finished on this site, yet it has a company: finish the setup "
				"wizard in the desk (/app/setup-wizard), then run the demo."
			),
			title=_("ERPNext is half set up"),
		)
	args = setup_args(company, country, currency, timezone)
	(echo or (lambda _line: None))(
		_(
			"ERPNext's setup was never run on this site: setting it up with company {0} ({1}), country {2}, "
			"currency {3}, time zone {4}, fiscal year {5} to {6}, chart of accounts {7}..."
		).format(
			args.company_name,
			args.company_abbr,
			args.country,
			args.currency,
			args.timezone,
			args.fy_start_date,
			args.fy_end_date,
			args.chart_of_accounts,
		)
	)
	run_setup_wizard(args)
	return True


def has_company() -> bool:
	return frappe.db.a_row_exists("Company")


def setup_args(
	company: str | None = None,
	country: str | None = None,
	currency: str | None = None,
	timezone: str | None = None,
	today: date | None = None,
) -> frappe._dict:
	"""What the wizard would have been given: the options, checked, with their defaults. Refuses (a clear
	message, nothing written) an unknown country, currency or time zone and a company name the wizard refuses."""
	company = (company or DEFAULT_COMPANY).strip()
	if not company or company.lower() == "company":
		frappe.throw(_("Give the company a name (--company), other than 'Company'."), title=_("Company name"))
	country = (country or DEFAULT_COUNTRY).strip()
	if not frappe.db.exists("Country", country):
		frappe.throw(
			_(
				"Country {0} is not known: write it as ERPNext lists it, e.g. Germany or United States."
			).format(country),
			title=_("Unknown country"),
		)
	info = get_country_info(country)
	currency = (currency or info.get("currency") or "").strip().upper()
	if not currency or not frappe.db.exists("Currency", currency):
		frappe.throw(
			_("Currency {0} is not known: give its ISO code, e.g. EUR or USD (--currency).").format(currency),
			title=_("Unknown currency"),
		)
	timezone = (timezone or default_timezone(country, info)).strip()
	try:
		zone = ZoneInfo(timezone)
	except (ValueError, KeyError, OSError):
		zone = None
	if not zone:
		frappe.throw(
			_("Time zone {0} is not known: give its name, e.g. Europe/Berlin (--timezone).").format(timezone),
			title=_("Unknown time zone"),
		)
	year = (today or datetime.now(zone).date()).year
	return frappe._dict(
		language="English",
		country=country,
		timezone=timezone,
		currency=currency,
		company_name=company,
		company_abbr=abbreviation(company),
		chart_of_accounts=CHART_OF_ACCOUNTS,
		fy_start_date=f"{year}-01-01",
		fy_end_date=f"{year}-12-31",
		setup_demo=0,  # ERPNext's own demo data: not this demo
	)


def default_timezone(country: str, info: dict) -> str:
	"""The default country's time zone as Frappe picks it, else the first of the country's time zones (Frappe's
	country list); the command's --timezone picks another."""
	if country == DEFAULT_COUNTRY:
		return DEFAULT_TIMEZONE
	zones = info.get("timezones") or []
	return zones[0] if zones else "UTC"


def abbreviation(company: str) -> str:
	"""The wizard's: the initials of the name's words, upper case, at most 10 characters."""
	return "".join(word[0] for word in company.split() if word).upper()[:MAX_ABBR]


def run_setup_wizard(args: frappe._dict) -> None:
	"""Frappe's setup_complete, in this process: the demo needs the company at once, so a site configured to run
	the wizard in the background (trigger_site_setup_in_background) runs it here all the same."""
	from frappe.desk.page.setup_wizard.setup_wizard import setup_complete

	conf = frappe.local.conf
	background = conf.get("trigger_site_setup_in_background")
	conf["trigger_site_setup_in_background"] = False
	try:
		result = setup_complete(dict(args))
	finally:
		conf["trigger_site_setup_in_background"] = background
	# is_setup_complete() is cached for the request: the setup just changed its answer (this process goes on)
	if hasattr(frappe.local, "request_cache"):
		frappe.local.request_cache.clear()
	if (result or {}).get("status") != "ok" or not frappe.is_setup_complete():
		frappe.throw(
			_("ERPNext's setup did not complete: see the Error Log, or run the setup wizard in the desk."),
			title=_("ERPNext is not set up"),
		)
