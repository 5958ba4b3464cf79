"""Server-side data for browser_tests/test_watch.py (not a test module). Called as

	bench --site SITE execute accumulating_billing.tests.browser_setup_watch.prepare

it commits and returns the names the tests use (issue 27): per language (English, Arabic), a portal user whose
customer's running tab is billed early at 200.00 and holds 100.00 of lines dated today (half of the threshold used),
and the generator for the desk's progress bar. Fresh records on every call."""

import frappe
from frappe.utils import add_months, get_first_day, getdate, nowdate
from frappe.utils.password import update_password

from accumulating_billing.i18n import compile_catalogues
from accumulating_billing.tests.utils import (
	add,
	ensure_fiscal_years,
	make_customer,
	make_generator,
	make_item,
	make_user,
)

PASSWORD = "Ab-Browser-Watch-2026!"


def prepare() -> dict:
	if not frappe.is_setup_complete():
		from erpnext.setup.utils import before_tests

		before_tests()
	compile_catalogues()
	today = getdate(nowdate())
	ensure_fiscal_years(today.year, today.year + 1)
	run = frappe.generate_hash(length=6)
	item = make_item(f"_AB Watch Service {run}", price=40)
	out = {"run": run, "password": PASSWORD}
	for lang in ("en", "ar"):
		user = make_user(["Customer"], f"ab-watch-{lang}-{run.lower()}@example.com", user_type="Website User")
		frappe.db.set_value("User", user, "language", lang)
		update_password(user, PASSWORD)
		customer = make_customer(f"_AB Watch {lang} {run}", language=lang)
		doc = frappe.get_doc("Customer", customer)
		doc.append("portal_users", {"user": user})
		doc.save(ignore_permissions=True)
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
