"""Server-side data for browser_tests/test_i18n.py (not a test module). Called as

	bench --site SITE execute accumulating_billing.tests.browser_setup_i18n.prepare

it commits and returns the names the tests use: a desk user whose language is German with a generator to
open, and an Arabic-speaking portal user whose customer has a running tab. Fresh records on every call."""

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

PASSWORD = "Ab-Browser-I18n-2026!"


def start() -> tuple:
	"""(today, a fresh run tag) on a site ready for the browser: ERPNext's setup done, the catalogues compiled,
	this year's and next year's fiscal years."""
	if not frappe.is_setup_complete():
		from erpnext.setup.utils import before_tests

		before_tests()
	compile_catalogues()
	today = getdate(nowdate())
	ensure_fiscal_years(today.year, today.year + 1)
	return today, frappe.generate_hash(length=6)


def portal_user_speaking(
	lang: str, email: str, customer_name: str, password: str = PASSWORD
) -> tuple[str, str]:
	"""A portal user whose language is `lang`, of a new customer speaking it: (user, customer)."""
	user = make_user(["Customer"], email, user_type="Website User")
	frappe.db.set_value("User", user, "language", lang)
	update_password(user, password)
	customer = make_customer(customer_name, language=lang)
	doc = frappe.get_doc("Customer", customer)
	doc.append("portal_users", {"user": user})
	doc.save(ignore_permissions=True)
	return user, customer


def prepare() -> dict:
	today, run = start()
	next_month = get_first_day(add_months(today, 1))
	item = make_item(f"_AB I18n Service {run}", price=40)

	desk_user = make_user(["Accounts Manager", "System Manager"], f"ab-i18n-desk-{run.lower()}@example.com")
	frappe.db.set_value("User", desk_user, "language", "de")
	update_password(desk_user, PASSWORD)
	gen = make_generator(
		make_customer(f"_AB I18n Kunde {run}", language="de"),
		first_creation_date=next_month,
		title=f"Wartung {run}",
	)
	add(gen.name, item, qty=2, rate=40, service_date=today, description=f"Sicherung {run}")

	portal_user, customer = portal_user_speaking(
		"ar", f"ab-i18n-portal-{run.lower()}@example.com", f"_AB I18n Arabic {run}"
	)
	portal_gen = make_generator(customer, first_creation_date=next_month, title=f"Maintenance {run}")
	add(portal_gen.name, item, qty=1, rate=25, service_date=today, description=f"Update {run}")
	add(portal_gen.name, item, qty=3, rate=15, service_date=today, description=f"Refresh {run}")
	frappe.db.commit()
	return {
		"run": run,
		"password": PASSWORD,
		"desk_user": desk_user,
		"generator": gen.name,
		"portal_user": portal_user,
		"portal_generator": portal_gen.name,
	}
