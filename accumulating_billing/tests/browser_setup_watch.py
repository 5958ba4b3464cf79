"""Server-side data for browser_tests/test_watch.py (not a test module). Called as

	bench --site SITE execute accumulating_billing.tests.browser_setup_watch.prepare

it commits and returns the names the tests use (issue 27): per language (English, Arabic), a portal user whose
customer's running tab is billed early at 200.00 and holds 100.00 of lines dated today (half of the threshold used),
and the generator for the desk's progress bar. Fresh records on every call."""

import frappe
from frappe.utils import add_months, get_first_day

from accumulating_billing.tests.browser_setup_i18n import portal_user_speaking, start
from accumulating_billing.tests.utils import add, make_generator, make_item

PASSWORD = "Ab-Browser-Watch-2026!"


def prepare() -> dict:
	today, run = start()
	item = make_item(f"_AB Watch Service {run}", price=40)
	out = {"run": run, "password": PASSWORD}
	for lang in ("en", "ar"):
		user, customer = portal_user_speaking(
			lang, f"ab-watch-{lang}-{run.lower()}@example.com", f"_AB Watch {lang} {run}", PASSWORD
		)
		gen = make_generator(
			customer,
			first_creation_date=get_first_day(add_months(today, 1)),
			title=f"Watched {lang} {run}",
			bill_when_unbilled_reaches=200,
		)
		for rate, what in ((50, "Backup"), (30, "Update"), (20, "Review")):
			add(gen.name, item, qty=1, rate=rate, service_date=today, description=f"{what} {run}")
		out[lang] = {"user": user, "generator": gen.name, "title": gen.title}
	frappe.db.commit()
	return out
