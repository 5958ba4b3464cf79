"""Unbilled revenue as of a date: the pure arithmetic behind the report, the number card and the month-end
accrual (README, *Unbilled revenue and its accrual*). Which tab lines count as unbilled on a date is decided by
the Frappe side (`billing/unbilled.py`, a query on the item → invoice link); here: aging by service date, the
conversion into the company currency, the months an accrual is for and the lines of its Journal Entry."""

from __future__ import annotations

import calendar
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from accumulating_billing.engine._checks import check_date
from accumulating_billing.engine.amounts import round_money, to_decimal
from accumulating_billing.engine.errors import ValidationError, _

# ERPNext's Accounts Receivable takes its ageing as "30, 60, 90, 120"; the unbilled report's default buckets are
# 0-30, 31-60, 61-90 and over 90 days
DEFAULT_AGE_RANGES = (30, 60, 90)
MAX_AGE_RANGES = 10
_ZERO = Decimal(0)


@dataclass(frozen=True)
class AgeBucket:
	"""Ages from `low` to `high` days (both included; `high` None: no upper end)."""

	key: str
	low: int
	high: int | None


def parse_age_ranges(text: str | None) -> tuple[int, ...]:
	"""The upper ends of the age buckets, as ERPNext's Accounts Receivable writes them ("30, 60, 90"); empty means
	the default. Whole days, increasing, at most ten: anything else is refused (never silently dropped)."""
	text = (text or "").strip()
	if not text:
		return DEFAULT_AGE_RANGES
	parts = [part.strip() for part in text.split(",")]
	if not all(re.fullmatch(r"\d{1,5}", part) for part in parts):
		raise ValidationError(
			_("Ageing Range {0} is not a list of whole days such as 30, 60, 90."), repr(text)
		)
	ranges = tuple(int(part) for part in parts)
	if ranges[0] < 1 or any(b <= a for a, b in itertools.pairwise(ranges)):
		raise ValidationError(_("Ageing Range {0} must list increasing days from 1 on."), repr(text))
	if len(ranges) > MAX_AGE_RANGES:
		raise ValidationError(_("Ageing Range {0} has more than {1} ranges."), repr(text), MAX_AGE_RANGES)
	return ranges


def age_buckets(ranges: Sequence[int]) -> tuple[AgeBucket, ...]:
	"""The buckets of `ranges`, keyed `age_0_30`, `age_31_60`, …, `age_over_90` (the report's fieldnames)."""
	buckets, low = [], 0
	for high in ranges:
		buckets.append(AgeBucket(f"age_{low}_{high}", low, high))
		low = high + 1
	buckets.append(AgeBucket(f"age_over_{ranges[-1]}", low, None))
	return tuple(buckets)


def age_in_days(as_of: date, service_date: date) -> int:
	"""Days from the service date to `as_of` (0 on the day itself); a line dated after `as_of` has no age yet."""
	check_date(as_of, _("As of date"))
	check_date(service_date, _("Service date"))
	if service_date > as_of:
		raise ValidationError(_("A line dated {0} is not delivered as of {1}."), service_date, as_of)
	return (as_of - service_date).days


def bucket_index(age: int, ranges: Sequence[int]) -> int:
	"""The bucket an age falls in: the first range it does not exceed, else the last bucket (as ERPNext ages)."""
	return next((i for i, high in enumerate(ranges) if age <= high), len(ranges))


def aged_amounts(lines: Iterable[tuple[date, Decimal]], as_of: date, ranges: Sequence[int]) -> list[Decimal]:
	"""The sum of the (service date, amount) lines per age bucket as of `as_of` (exact; not rounded)."""
	sums = [_ZERO] * (len(ranges) + 1)
	for service_date, amount in lines:
		sums[bucket_index(age_in_days(as_of, service_date), ranges)] += to_decimal(amount)
	return sums


@dataclass(frozen=True)
class Conversion:
	"""An amount converted into another currency, and its parts converted so that they add up to it."""

	total: Decimal
	parts: tuple[Decimal, ...]


def convert(
	parts: Sequence[Decimal], rate: Decimal, precision: int, rounding: str = "half_even"
) -> Conversion:
	"""Convert the parts of one amount at `rate`. The total is the whole amount converted and rounded once, as
	ERPNext converts an amount (round(amount x rate)); each part is converted and rounded alike, and what the
	parts' roundings leave over (at most half a unit per part) goes to the part of the largest size, so the parts
	always add up to the total: an age bucket, a tab line or an income account never adds a cent to a row."""
	rate = to_decimal(rate, _("Exchange rate"))
	if rate <= 0:
		raise ValidationError(_("Exchange rate must be above zero, got {0}."), rate)
	amounts = [to_decimal(part) for part in parts]
	total = round_money(sum(amounts, _ZERO) * rate, precision, rounding)
	converted = [round_money(amount * rate, precision, rounding) for amount in amounts]
	left = total - sum(converted, _ZERO)
	if left:
		largest = max(range(len(amounts)), key=lambda i: abs(amounts[i]))
		converted[largest] += left
	return Conversion(total, tuple(converted))


# ------------------------------------------------------------------------------------------ months


def month_end(year: int, month: int) -> date:
	return date(year, month, calendar.monthrange(year, month)[1])


def parse_month(text: str | None) -> date:
	"""The last day of the month written YYYY-MM (the accrual command's --month)."""
	match = re.fullmatch(r"\s*(\d{4})-(\d{2})\s*", text or "")
	if not match or not 1 <= int(match.group(2)) <= 12:
		raise ValidationError(_("--month {0} is not a month: write it as YYYY-MM."), repr(text))
	return month_end(int(match.group(1)), int(match.group(2)))


def previous_month_end(today: date) -> date:
	"""The last day of the month before `today`'s: the month the daily run accrues once that day has ended."""
	check_date(today, _("Date"))
	return today.replace(day=1) - timedelta(days=1)


def reversal_date(last_day: date) -> date:
	"""The accrual is reversed on the first day of the next month."""
	return check_date(last_day, _("Date")) + timedelta(days=1)


# ------------------------------------------------------------------------------------------ the Journal Entry


@dataclass(frozen=True)
class JournalLine:
	account: str
	cost_center: str | None
	debit: Decimal
	credit: Decimal


def accrual_lines(
	unbilled_account: str, cost_center: str | None, credits: Mapping[tuple[str, str | None], Decimal]
) -> list[JournalLine]:
	"""The accrual's lines: debit the unbilled revenue account with the total and credit each (income account,
	cost center) with its part. A negative part (returns credited on a tab) is a debit of that account, a negative
	total a credit of the unbilled revenue account; zero lines are left out. Empty when nothing is to be posted."""
	lines = []
	for (account, center), amount in sorted(credits.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
		amount = to_decimal(amount)
		if amount:
			lines.append(JournalLine(account, center, max(-amount, _ZERO), max(amount, _ZERO)))
	if not lines:
		return []
	total = sum((to_decimal(amount) for amount in credits.values()), _ZERO)
	if total:
		lines.insert(0, JournalLine(unbilled_account, cost_center, max(total, _ZERO), max(-total, _ZERO)))
	return lines
