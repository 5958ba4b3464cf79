"""The month-end accrual of unbilled revenue (README, *Unbilled revenue and its accrual*): per company set up under
*Accrual Accounts*, one submitted Journal Entry dated the month's last day that debits the unbilled revenue account
with the *Unbilled Revenue* report's total as of that day and credits the income accounts the invoices will credit,
in the company currency, and its reversal dated the next day (ERPNext's `reversal_of` link). Both are posted in one
transaction or not at all; a second run finds them and posts nothing.

Entry points: `accrue_month` (the command `accrue --month`), `accrue_due` (the daily scheduler event). Lock order:
the Company row, then the company's accrual entries (no generator or item is locked: the tabs are only read)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import frappe
from frappe import _
from frappe.utils import flt, formatdate, getdate, nowdate, strip_html

from accumulating_billing import engine
from accumulating_billing.billing.accrual_accounts import SETTINGS, accrual_rows, check_row
from accumulating_billing.billing.generation_log import alert, people_to_alert
from accumulating_billing.billing.unbilled import GENERATOR, unbilled_as_of

JOURNAL_ENTRY = "Journal Entry"
# the custom field (install.py) that marks an accrual and its reversal with the month end they are for
ACCRUAL_FOR = "accumulating_accrual_for"


@dataclass
class Accrual:
	"""What one run did for one company and month: the entries (posted now or found), or why none."""

	company: str
	month_end: date
	message: str
	accrual: str | None = None
	reversal: str | None = None
	posted: bool = False
	failed: bool = False


def accrue_month(month_end: date, company: str | None = None, today: date | None = None) -> list[Accrual]:
	"""Post the accrual of the month ending `month_end` for each company set up (or only `company`), each in its own
	transaction (committed). A company that fails is rolled back and reported; the others go on."""
	today = getdate(today or nowdate())
	if month_end > today:
		frappe.throw(
			_("{0} has not ended: its accrual can be posted from its last day, {1}, on.").format(
				month_label(month_end), formatdate(month_end)
			),
			title=_("Month not ended"),
		)
	results = []
	for row in accrual_rows(company):
		try:
			results.append(accrue_company(row, month_end))
			frappe.db.commit()
		except frappe.ValidationError as e:
			frappe.db.rollback()
			results.append(Accrual(row.company, month_end, strip_html(str(e)), failed=True))
	return results


def accrue_due(today: date | str | None = None) -> list[Accrual]:
	"""Daily: once a month has ended (the first run on a later day, in the site's time zone), post its accrual dated
	its last day, for each company set up before that day ended. A month whose accrual exists, posted or cancelled
	by a person, is left alone (the command posts a cancelled one again); a failure is logged, its managers alerted
	once, and tried again the next day."""
	if not frappe.db.get_single_value(SETTINGS, "accrue_unbilled_revenue"):
		return []
	month_end = engine.previous_month_end(getdate(today or nowdate()))
	results = []
	for row in accrual_rows():
		if getdate(row.creation) > month_end or accrual_exists(row.company, month_end):
			continue
		try:
			results.append(accrue_company(row, month_end))
			frappe.db.commit()
		except Exception as e:
			frappe.db.rollback()
			report_failure(row.company, month_end, e)
			results.append(Accrual(row.company, month_end, strip_html(str(e)), failed=True))
	return results


def accrue_company(row, month_end: date) -> Accrual:
	"""The accrual of one company (a row of Accrual Accounts) for the month ending `month_end`, and its reversal, in
	the caller's transaction; nothing when both are posted already. Any error takes back what this call posted and
	raises a message that names the company and the month."""
	company = row.company
	frappe.db.get_value("Company", company, "name", for_update=True)  # one accrual of a company at a time
	accrual, reversal = posted_entries(company, month_end)
	if accrual and reversal:
		return Accrual(
			company,
			month_end,
			_("{0}: the accrual of {1} is posted already ({2}, reversed by {3}); nothing posted.").format(
				company, month_label(month_end), accrual, reversal
			),
			accrual,
			reversal,
		)
	if reversal:
		frappe.throw(
			_(
				"{0}: {1} reverses an accrual of {2} that is cancelled. Cancel {1} before the month is accrued again."
			).format(company, reversal, month_label(month_end)),
			title=_("Accrual not posted"),
		)
	savepoint = "accumulating_accrual"
	frappe.db.savepoint(savepoint)
	try:
		check_row(row)
		total = None
		if not accrual:
			data = unbilled_as_of(company, month_end)
			lines = engine.accrual_lines(row.unbilled_revenue_account, cost_center(row), credits(data, row))
			if not lines:
				frappe.db.release_savepoint(savepoint)
				return Accrual(
					company,
					month_end,
					_("{0}: nothing is unbilled as of {1}; nothing posted.").format(
						company, formatdate(month_end)
					),
				)
			accrual = post_accrual(company, month_end, lines).name
			total = data.total
		reversal = post_reversal(accrual, month_end).name
	except Exception as e:
		undo(savepoint)
		frappe.throw(
			_("The accrual of {0} for {1} was not posted: {2}").format(
				company, month_label(month_end), strip_html(str(e)) or e.__class__.__name__
			),
			title=_("Accrual not posted"),
		)
	frappe.db.release_savepoint(savepoint)
	if total is None:  # only the reversal was missing (cancelled by a person): posted again
		message = _("{0}: {1} of {2} was reversed again by {3}.").format(
			company, accrual, month_label(month_end), reversal
		)
	else:
		message = _("{0}: accrued {1} unbilled as of {2} ({3}), reversed on {4} ({5}).").format(
			company,
			frappe.format(flt(total), {"fieldtype": "Currency", "options": currency_of(company)}),
			formatdate(month_end),
			accrual,
			formatdate(engine.reversal_date(month_end)),
			reversal,
		)
	return Accrual(company, month_end, message, accrual, reversal, posted=True)


def undo(savepoint: str) -> None:
	"""Take back what the failed accrual wrote; a database error that ended the transaction took it all back."""
	try:
		frappe.db.rollback(save_point=savepoint)
	except Exception:
		frappe.db.rollback()


def credits(data, row) -> dict[tuple[str, str], Decimal]:
	"""The company-currency amount per (income account, cost center): each tab's amount split by the account each
	line's invoice line will credit, converted as the report converts it, so the debit equals the report's total. A
	generator's own cost center goes on its lines, as on its invoices; else the row's, else the company's."""
	centers = dict(
		frappe.get_all(
			GENERATOR,
			filters={"name": ("in", [tab.generator for tab in data.tabs])},
			fields=["name", "cost_center"],
			as_list=True,
		)
		if data.tabs
		else []
	)
	accounts: dict[tuple[str, bool], str] = {}

	def account_of(line) -> str:
		key = (line.item_code, flt(line.qty) < 0)
		if key not in accounts:
			accounts[key] = income_account(line.item_code, data.company, is_return=key[1])
		return accounts[key]

	out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
	for tab in data.tabs:
		center = centers.get(tab.generator) or cost_center(row)
		for account, amount in data.split(tab, account_of).items():
			out[(account, center)] += amount
	return out


def income_account(item_code: str, company: str, is_return: bool = False) -> str:
	"""The account a Sales Invoice line of the item credits in `company`, as ERPNext picks it (get_item_details):
	the Item's default income account for the company, its Item Group's, its Brand's, else the company's Default
	Income Account; for an item with deferred revenue, its deferred revenue account (a credit note: the income
	account). No account is an error that names the item."""
	from erpnext.setup.doctype.brand.brand import get_brand_defaults
	from erpnext.setup.doctype.item_group.item_group import get_item_group_defaults
	from erpnext.stock.doctype.item.item import get_item_defaults
	from erpnext.stock.get_item_details import get_default_deferred_account, get_default_income_account

	args = frappe._dict(item_code=item_code, company=company)
	item = get_item_defaults(item_code, company)
	account = get_default_income_account(
		args, item, get_item_group_defaults(item_code, company), get_brand_defaults(item_code, company)
	) or frappe.get_cached_value("Company", company, "default_income_account")
	if item.get("enable_deferred_revenue") and not is_return:
		account = get_default_deferred_account(args, item, fieldname="deferred_revenue_account")
	if not account:
		frappe.throw(
			_(
				"Item {0} has no income account for company {1}: set one on the Item (Item Defaults), its Item "
				"Group or Brand, or the company's Default Income Account."
			).format(item_code, company),
			title=_("Income account missing"),
		)
	return account


def cost_center(row) -> str | None:
	return row.cost_center or frappe.get_cached_value("Company", row.company, "cost_center")


def post_accrual(company: str, month_end: date, lines: list) -> "frappe.model.document.Document":
	"""The accrual: a submitted Journal Entry dated the month's last day, in the company currency."""
	je = frappe.new_doc(JOURNAL_ENTRY)
	je.update(
		{
			"voucher_type": "Journal Entry",
			"company": company,
			"posting_date": month_end,
			ACCRUAL_FOR: month_end,
			"multi_currency": 0,
			"user_remark": _(
				"Unbilled revenue of the running tabs as of {0} (the Unbilled Revenue report), accrued at month "
				"end; reversed on {1}."
			).format(formatdate(month_end), formatdate(engine.reversal_date(month_end))),
		}
	)
	for line in lines:
		je.append(
			"accounts",
			{
				"account": line.account,
				"cost_center": line.cost_center,
				"debit_in_account_currency": flt(line.debit),
				"credit_in_account_currency": flt(line.credit),
			},
		)
	je.submit()
	return je


def post_reversal(accrual: str, month_end: date) -> "frappe.model.document.Document":
	"""ERPNext's reversing entry of the accrual (Journal Entry ▸ Reverse: debits and credits swapped, `reversal_of`
	linking it), dated the first day of the next month, submitted."""
	from erpnext.accounts.doctype.journal_entry.journal_entry import make_reverse_journal_entry

	reversal = make_reverse_journal_entry(accrual)
	reversal.posting_date = engine.reversal_date(month_end)
	reversal.set(ACCRUAL_FOR, month_end)
	reversal.user_remark = _("Reversal of {0}: the unbilled revenue accrued as of {1}.").format(
		accrual, formatdate(month_end)
	)
	reversal.submit()
	return reversal


def posted_entries(company: str, month_end: date) -> tuple[str | None, str | None]:
	"""The submitted accrual of the company for the month and its submitted reversal, read with a locking read (the
	latest committed, whatever this transaction read before)."""
	JE = frappe.qb.DocType(JOURNAL_ENTRY)
	rows = (
		frappe.qb.from_(JE)
		.select(JE.name, JE.reversal_of)
		.where((JE.company == company) & (JE[ACCRUAL_FOR] == month_end) & (JE.docstatus == 1))
		.orderby(JE.creation)
		.for_update()
		.run(as_dict=True)
	)
	accrual = next((row.name for row in rows if not row.reversal_of), None)
	# the reversal of that accrual; without a submitted accrual, any reversal still submitted (of a cancelled one)
	reversals = [row.name for row in rows if row.reversal_of and (row.reversal_of == accrual or not accrual)]
	return accrual, reversals[0] if reversals else None


def accrual_exists(company: str, month_end: date) -> bool:
	"""Whether an accrual of the month was ever posted for the company (submitted, or cancelled since)."""
	return bool(
		frappe.db.exists(
			JOURNAL_ENTRY,
			{
				"company": company,
				ACCRUAL_FOR: month_end,
				"docstatus": ("!=", 0),
				"reversal_of": ("is", "not set"),
			},
		)
	)


def report_failure(company: str, month_end: date, error: Exception) -> None:
	"""An Error Log per failed daily run; the Accounts Managers are alerted at the first failure of the month."""
	title = _("Accrual of unbilled revenue failed: {0}, {1}").format(company, month_label(month_end))
	first = not frappe.db.exists("Error Log", {"method": title})
	frappe.log_error(title=title, reference_doctype=SETTINGS, reference_name=SETTINGS)
	if first:
		alert(people_to_alert(), SETTINGS, SETTINGS, f"{title}: {strip_html(str(error))[:300]}")
	frappe.db.commit()


def month_label(month_end: date) -> str:
	return formatdate(month_end, "MMMM yyyy")


def currency_of(company: str) -> str:
	return frappe.get_cached_value("Company", company, "default_currency")
