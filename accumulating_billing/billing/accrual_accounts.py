"""The accrual's settings (*Accumulating Billing Settings ▸ Accrual Accounts*): per company, the unbilled revenue
account and an optional cost center; checked when the settings are saved and again before each posting (an
account disabled or moved since is a clear error, and nothing is posted)."""

import frappe
from frappe import _

from accumulating_billing.doctypes import SETTINGS

# accounts that ERPNext books with a party, a bank or stock: an accrual of unbilled revenue belongs on none of them
REFUSED_ACCOUNT_TYPES = ("Receivable", "Payable", "Bank", "Cash", "Stock")


def accrual_rows(company: str | None = None) -> list:
	"""The companies set up for the accrual (one row each), or the one row of `company`."""
	rows = frappe.get_single(SETTINGS).get("accrual_accounts") or []
	if company:
		rows = [row for row in rows if row.company == company]
		if not rows:
			frappe.throw(
				_(
					"Company {0} has no Unbilled Revenue Account: add it under Accumulating Billing Settings ▸ "
					"Accrual Accounts."
				).format(company),
				title=_("Accrual not set up"),
			)
	return rows


def check_settings(settings) -> None:
	"""validate of the settings: one row per company, each account and cost center fit for it."""
	seen = set()
	for row in settings.get("accrual_accounts") or []:
		if row.company in seen:
			frappe.throw(
				_("Row {0}: company {1} has a row of Accrual Accounts already.").format(row.idx, row.company)
			)
		seen.add(row.company)
		check_row(row)
	if settings.get("accrue_unbilled_revenue") and not seen:
		frappe.throw(
			_(
				"Add the company and its Unbilled Revenue Account under Accrual Accounts to accrue at month end."
			)
		)


def check_row(row) -> None:
	"""The unbilled revenue account: an asset ledger (not a group) of the row's company, enabled, in the company
	currency (the accrual is posted in it), of no type that ERPNext books with a party, a bank or stock; the cost
	center: an enabled ledger of the same company."""
	account = frappe.db.get_value(
		"Account",
		row.unbilled_revenue_account,
		["name", "company", "is_group", "disabled", "root_type", "account_type", "account_currency"],
		as_dict=True,
	)
	prefix = _("Row {0}: ").format(row.idx)
	if not account:
		frappe.throw(prefix + _("Account {0} does not exist.").format(row.unbilled_revenue_account))
	if account.company != row.company:
		frappe.throw(
			prefix + _("Account {0} does not belong to company {1}.").format(account.name, row.company)
		)
	if account.is_group or account.disabled:
		frappe.throw(prefix + _("Account {0} is a group or disabled: pick a ledger.").format(account.name))
	if account.root_type != "Asset" or account.account_type in REFUSED_ACCOUNT_TYPES:
		root_type = _(account.root_type) if account.root_type else _("None")
		account_type = _(account.account_type) if account.account_type else _("None")
		frappe.throw(
			prefix
			+ _(
				"The Unbilled Revenue Account must be an asset account that is not a receivable, payable, bank, "
				"cash or stock account; {0} is a {1} account of type {2}."
			).format(account.name, root_type, account_type)
		)
	currency = frappe.get_cached_value("Company", row.company, "default_currency")
	if account.account_currency and account.account_currency != currency:
		frappe.throw(
			prefix
			+ _("Account {0} is in {1}; the accrual is posted in the company currency {2}.").format(
				account.name, account.account_currency, currency
			)
		)
	if row.cost_center:
		check_cost_center(row.cost_center, row.company, prefix)


def check_cost_center(cost_center: str, company: str, prefix: str = "") -> None:
	values = frappe.db.get_value(
		"Cost Center", cost_center, ["company", "is_group", "disabled"], as_dict=True
	)
	if not values or values.company != company:
		frappe.throw(
			prefix + _("Cost Center {0} does not belong to company {1}.").format(cost_center, company)
		)
	if values.is_group or values.disabled:
		frappe.throw(prefix + _("Cost Center {0} is a group or disabled: pick a ledger.").format(cost_center))
