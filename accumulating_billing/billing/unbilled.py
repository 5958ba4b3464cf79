"""Unbilled revenue as of a date (README, *Unbilled revenue and its accrual*): the tab lines delivered and not
invoiced on a given day, per running tab, in the tab's currency and the company's. The one home of the as-of
rule, for the report *Unbilled Revenue*, its number card and the month-end accrual (`accrual.py`).

The rule is read from the item → invoice link and the invoice's own posting date and docstatus, never from the
item's status today: a line counts as of D when its service date is on or before D and, as of D, it was on no
submitted invoice posted on or before D. So a past month-end's figure does not change when the tab is billed
later. Each case (cancelled invoices, drafts, reserved and kept drafts, credit notes, held lines, hand-made
invoices, grouped lines, late fees) is listed in the README."""

from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import frappe
from frappe import _
from frappe.query_builder import Order
from frappe.utils import flt, formatdate, getdate

from accumulating_billing import engine
from accumulating_billing.billing.money import amount_precision, rounding
from accumulating_billing.billing.state import to_decimal
from accumulating_billing.doctypes import GENERATOR, ITEM

INVOICE = "Sales Invoice"
# Sales Invoice's conversion_rate is stored with 9 decimals
RATE_PRECISION = 9


def as_of_condition(Item, Invoice, as_of: date):
	"""The tab lines unbilled as of `as_of`, over `Item` left-joined to the `Invoice` its `sales_invoice` names:
	delivered by then (service date on or before it) and on no invoice that was submitted and posted by then.
	An invoice that is a draft (generated as Draft, reserved in two-step billing, kept for review), was cancelled
	since (its lines went back to the tab: it counts as never posted) or is posted after the date does not bill
	the line as of the date; an invoice deleted since left no link.

	Each rule is one clause of this condition, whatever the item's status today. A voided line counts until the
	day it was voided (`voided_on`, in the site's time zone); an amended line's replacement stands in for it from
	the amendment on (its creation: before that day the original counts, never both)."""
	next_day = datetime.combine(as_of + timedelta(days=1), time.min)
	delivered = Item.service_date <= as_of
	not_invoiced = Invoice.name.isnull() | (Invoice.docstatus != 1) | (Invoice.posting_date > as_of)
	not_voided = Item.voided_on.isnull() | (Item.voided_on >= next_day)
	in_place = Item.amended_from.isnull() | (Item.creation < next_day)
	return delivered & not_invoiced & not_voided & in_place


def lines_as_of(
	company: str,
	as_of: date,
	customer: str | None = None,
	generator: str | None = None,
	generators: list[str] | None = None,
) -> list:
	"""The tab lines unbilled as of `as_of` of the company's generators (the company that invoices them; optionally
	of one customer, one generator, or only the `generators` a user may read), by generator and service date."""
	Item, Invoice, Generator = (
		frappe.qb.DocType(ITEM),
		frappe.qb.DocType(INVOICE),
		frappe.qb.DocType(GENERATOR),
	)
	query = (
		frappe.qb.from_(Item)
		.join(Generator)
		.on(Generator.name == Item.generator)
		.left_join(Invoice)
		.on(Invoice.name == Item.sales_invoice)
		.select(
			Item.name,
			Item.generator,
			Item.customer,
			Item.currency,
			Item.service_date,
			Item.item_code,
			Item.item_name,
			Item.description,
			Item.qty,
			Item.amount,
			Item.status,
			Item.sales_invoice,
			Invoice.posting_date.as_("invoice_date"),
			Invoice.docstatus.as_("invoice_docstatus"),
		)
		.where((Generator.company == company) & as_of_condition(Item, Invoice, as_of))
		.orderby(Item.generator)
		.orderby(Item.service_date, order=Order.asc)
		.orderby(Item.name)
	)
	if customer:
		query = query.where(Item.customer == customer)
	if generator:
		query = query.where(Item.generator == generator)
	if generators is not None:
		if not generators:
			return []
		query = query.where(Item.generator.isin(generators))
	return query.run(as_dict=True)


@dataclass
class Tab:
	"""One running tab's unbilled lines as of a date, converted into the company currency at the date's rate (the
	lines of one currency: a tab whose currency was changed while lines waited has one Tab per currency)."""

	generator: str
	customer: str
	currency: str
	exchange_rate: Decimal
	lines: list = field(default_factory=list)
	amount: Decimal = Decimal(0)
	amount_in_company_currency: Decimal = Decimal(0)

	def split(self, key: Callable, precision: int, rounding_mode: str) -> dict[Hashable, Decimal]:
		"""The company-currency amount split by `key(line)` (an age bucket, a line, an income account): each part
		converted as the whole is, so the parts add up to `amount_in_company_currency` exactly."""
		sums: dict[Hashable, Decimal] = defaultdict(Decimal)
		for line in self.lines:
			sums[key(line)] += line.exact_amount
		keys = list(sums)
		converted = engine.convert([sums[k] for k in keys], self.exchange_rate, precision, rounding_mode)
		return dict(zip(keys, converted.parts, strict=True))


@dataclass
class Unbilled:
	"""A company's unbilled tabs as of a date, with what converting and rounding them takes."""

	company: str
	as_of: date
	company_currency: str
	precision: int
	rounding: str
	tabs: list[Tab]

	@property
	def total(self) -> Decimal:
		return sum((tab.amount_in_company_currency for tab in self.tabs), Decimal(0))

	def split(self, tab: Tab, key: Callable) -> dict[Hashable, Decimal]:
		return tab.split(key, self.precision, self.rounding)


def unbilled_as_of(
	company: str,
	as_of: date,
	customer: str | None = None,
	generator: str | None = None,
	generators: list[str] | None = None,
) -> Unbilled:
	"""The company's unbilled tabs as of `as_of`, each converted at ERPNext's selling rate of that date; a
	missing rate is an error that names the pair."""
	as_of = getdate(as_of)
	company_currency = frappe.get_cached_value("Company", company, "default_currency")
	precision = amount_precision(company_currency)
	tabs: dict[tuple[str, str], Tab] = {}
	rates: dict[str, Decimal] = {}
	for line in lines_as_of(company, as_of, customer, generator, generators):
		line.exact_amount = to_decimal(line.amount)
		line.service_date = getdate(line.service_date)
		tab = tabs.get((line.generator, line.currency))
		if tab is None:
			if line.currency not in rates:
				rates[line.currency] = exchange_rate(line.currency, company_currency, as_of)
			tab = tabs[(line.generator, line.currency)] = Tab(
				line.generator, line.customer, line.currency, rates[line.currency]
			)
		tab.lines.append(line)
		tab.amount += line.exact_amount
	mode = rounding()
	for tab in tabs.values():
		tab.amount_in_company_currency = engine.convert(
			[tab.amount], tab.exchange_rate, precision, mode
		).total
	return Unbilled(company, as_of, company_currency, precision, mode, list(tabs.values()))


def exchange_rate(from_currency: str, to_currency: str, on: date) -> Decimal:
	"""ERPNext's exchange rate from `from_currency` to `to_currency` on `on`, as a Sales Invoice takes it for
	selling (Currency Exchange, the latest dated on or before the day, within *Stale Days* unless stale rates are
	allowed, else ERPNext's exchange rate service). Never 1.0 for want of a rate: a missing one is an error."""
	if from_currency == to_currency:
		return Decimal(1)
	from erpnext.setup.utils import get_exchange_rate

	rate = flt(get_exchange_rate(from_currency, to_currency, on, args="for_selling"), RATE_PRECISION)
	if rate <= 0:
		frappe.throw(
			_(
				"No exchange rate from {0} to {1} on {2}: add a Currency Exchange from {0} to {1} for selling, "
				"dated on or before that day."
			).format(from_currency, to_currency, formatdate(on)),
			title=_("Exchange rate missing"),
		)
	return Decimal(str(rate))
