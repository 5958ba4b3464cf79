"""Factories for the tests of unbilled revenue and its month-end accrual: the report run as the desk runs it, exchange
rates, a company of its own for the accrual (its Journal Entries total the whole company), its accounts, and the
cleanup of what those tests commit."""

from contextlib import contextmanager

import frappe
from frappe.utils import getdate

from accumulating_billing.billing.accrual import ACCRUAL_FOR
from accumulating_billing.doctypes import ITEM, SETTINGS
from accumulating_billing.tests.utils import ensure_fiscal_years

REPORT = "Unbilled Revenue"
ACCRUAL_COMPANY = "_AB Accrual Company"
ACCRUAL_ABBR = "ABAC"
YEARS = (2030, 2031, 2032)


def run_report(**filters) -> dict:
	"""The report through Frappe's own endpoint (as the desk and the number card run it)."""
	from frappe.desk.query_report import run

	return run(REPORT, filters=filters, ignore_prepared_report=True)


def report_rows(**filters) -> list[dict]:
	"""The report's rows without the total row Frappe appends (a list; the rows are dicts)."""
	return [row for row in run_report(**filters)["result"] if isinstance(row, dict)]


def selling_rate(from_currency: str, to_currency: str, on: str, rate: float) -> None:
	"""A Currency Exchange for selling dated `on` (once)."""
	filters = {"from_currency": from_currency, "to_currency": to_currency, "date": getdate(on)}
	if not frappe.db.exists("Currency Exchange", filters):
		frappe.get_doc(
			{
				"doctype": "Currency Exchange",
				**filters,
				"exchange_rate": rate,
				"for_selling": 1,
				"for_buying": 1,
			}
		).insert(ignore_permissions=True)


def accrual_company() -> str:
	"""A USD company with ERPNext's standard chart, for the accrual's tests only (made once, committed)."""
	if not frappe.db.exists("Company", ACCRUAL_COMPANY):
		frappe.get_doc(
			{
				"doctype": "Company",
				"company_name": ACCRUAL_COMPANY,
				"abbr": ACCRUAL_ABBR,
				"default_currency": "USD",
				"country": "United States",
				"create_chart_of_accounts_based_on": "Standard Template",
				"chart_of_accounts": "Standard",
			}
		).insert(ignore_permissions=True)
	ensure_fiscal_years(*YEARS)
	for year in YEARS:
		fy = frappe.get_doc("Fiscal Year", {"year_start_date": f"{year}-01-01"})
		if fy.get("companies") and ACCRUAL_COMPANY not in {row.company for row in fy.companies}:
			fy.append("companies", {"company": ACCRUAL_COMPANY})
			fy.save(ignore_permissions=True)
	frappe.db.commit()
	return ACCRUAL_COMPANY


def ledger(name: str, parent_like: str, root_type: str, comp: str | None = None, **kw) -> str:
	"""A ledger account `name` of the company under its group account named like `parent_like`."""
	comp = comp or ACCRUAL_COMPANY
	existing = frappe.db.get_value("Account", {"account_name": name, "company": comp})
	if existing:
		return existing
	parent = frappe.db.get_value(
		"Account",
		{"company": comp, "is_group": 1, "account_name": ("like", parent_like), "root_type": root_type},
	)
	return (
		frappe.get_doc(
			{"doctype": "Account", "account_name": name, "company": comp, "parent_account": parent, **kw}
		)
		.insert(ignore_permissions=True)
		.name
	)


def unbilled_revenue_account(comp: str | None = None) -> str:
	return ledger("_AB Unbilled Revenue", "Current Assets", "Asset", comp)


def set_accrual(rows: list[dict], on: bool = True) -> None:
	"""Accumulating Billing Settings ▸ Accrual Accounts (saved, validated, committed)."""
	settings = frappe.get_single(SETTINGS)
	settings.accrue_unbilled_revenue = 1 if on else 0
	settings.set("accrual_accounts", rows)
	settings.save(ignore_permissions=True)
	frappe.db.commit()


def accrual_entries(comp: str, month_end: str, docstatus: int | None = 1) -> list[dict]:
	"""The company's accrual Journal Entries for the month (the accrual first), with their lines."""
	filters = {"company": comp, ACCRUAL_FOR: getdate(month_end)}
	if docstatus is not None:
		filters["docstatus"] = docstatus
	entries = frappe.get_all(
		"Journal Entry",
		filters=filters,
		fields=["name", "posting_date", "reversal_of", "docstatus", "total_debit"],
		order_by="creation asc",
	)
	for entry in entries:
		entry.lines = {
			(row.account, row.cost_center): (row.debit, row.credit)
			for row in frappe.get_all(
				"Journal Entry Account",
				filters={"parent": entry.name},
				fields=["account", "cost_center", "debit", "credit"],
			)
		}
	return entries


def clear_accruals(comp: str) -> None:
	"""Cancel (reversal first) and delete the company's accrual entries, so each test starts without any."""
	frappe.db.rollback()
	names = frappe.get_all(
		"Journal Entry",
		filters={"company": comp, ACCRUAL_FOR: ("is", "set")},
		pluck="name",
	)
	for name in sorted(names, key=lambda n: not frappe.db.get_value("Journal Entry", n, "reversal_of")):
		doc = frappe.get_doc("Journal Entry", name)
		if doc.docstatus == 1:
			doc.cancel()
	for name in names:
		frappe.delete_doc("Journal Entry", name, force=True, ignore_permissions=True)
	frappe.db.commit()


def forget_tab_lines(generators: list[str]) -> None:
	"""Delete the tab lines of the generators a test made (committed): their unbilled amounts would count in every
	later as-of figure of the company."""
	frappe.db.rollback()
	if generators:
		frappe.db.delete(ITEM, {"generator": ("in", generators)})
		frappe.db.commit()


@contextmanager
def changed(doctype: str, name: str, field: str, value):
	"""`field` of the document set to `value` (committed, its cached document dropped) for the block, then back."""
	before = frappe.db.get_value(doctype, name, field)
	frappe.db.set_value(doctype, name, field, value)
	frappe.clear_document_cache(doctype, name)
	frappe.db.commit()
	try:
		yield
	finally:
		frappe.db.rollback()
		frappe.db.set_value(doctype, name, field, before)
		frappe.clear_document_cache(doctype, name)
		frappe.db.commit()
