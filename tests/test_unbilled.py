"""Tests of engine.unbilled: aging, the conversion into the company currency, the accrual's months and lines."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accumulating_billing.engine import (
	DEFAULT_AGE_RANGES,
	JournalLine,
	ValidationError,
	accrual_lines,
	age_buckets,
	age_in_days,
	aged_amounts,
	bucket_index,
	convert,
	parse_age_ranges,
	parse_month,
	previous_month_end,
	reversal_date,
	round_money,
)
from tests.strategies import money, plain_dates

D = Decimal
ROUNDINGS = st.sampled_from(["half_even", "half_up"])
RATES = st.integers(1, 10**10).map(lambda n: Decimal(n).scaleb(-9))
SIGNED = money(max_cents=10**9, min_cents=-(10**9))


# ------------------------------------------------------------------------------------------ ageing


def test_default_ranges_give_the_reports_four_buckets() -> None:
	assert parse_age_ranges(None) == parse_age_ranges("  ") == DEFAULT_AGE_RANGES == (30, 60, 90)
	assert [b.key for b in age_buckets(DEFAULT_AGE_RANGES)] == [
		"age_0_30",
		"age_31_60",
		"age_61_90",
		"age_over_90",
	]
	assert [(b.low, b.high) for b in age_buckets((15, 45))] == [(0, 15), (16, 45), (46, None)]
	assert parse_age_ranges("15,45, 120") == (15, 45, 120)


@pytest.mark.parametrize("text", ["30, abc", "60, 30", "30, 30", "0, 30", "-5, 30", "30,,60", "1.5", "30 60"])
def test_bad_ranges_are_refused(text: str) -> None:
	"""ERPNext's Accounts Receivable drops what it cannot read; here the person is told."""
	with pytest.raises(ValidationError, match="Ageing Range"):
		parse_age_ranges(text)


def test_too_many_ranges_are_refused() -> None:
	with pytest.raises(ValidationError, match="more than"):
		parse_age_ranges(", ".join(str(n) for n in range(1, 13)))


@pytest.mark.parametrize(
	("age", "bucket"), [(0, 0), (30, 0), (31, 1), (60, 1), (61, 2), (90, 2), (91, 3), (10_000, 3)]
)
def test_bucket_edges_are_erpnexts(age: int, bucket: int) -> None:
	"""An age equal to a range's upper end falls in that range, as ERPNext's Accounts Receivable ages."""
	assert bucket_index(age, DEFAULT_AGE_RANGES) == bucket


def test_age_counts_days_and_refuses_lines_not_delivered_yet() -> None:
	assert age_in_days(date(2031, 1, 31), date(2031, 1, 31)) == 0
	assert age_in_days(date(2031, 1, 31), date(2030, 12, 1)) == 61
	with pytest.raises(ValidationError, match="not delivered"):
		age_in_days(date(2031, 1, 31), date(2031, 2, 1))


def test_aged_amounts_of_december_january_and_february_as_of_january_31() -> None:
	"""The issue's tab: items in December, January and February; as of 31 January February's are not there yet
	(the caller leaves them out); 1 December is 61 days old, 31 December 31."""
	lines = [
		(date(2030, 12, 1), D("100.00")),
		(date(2030, 12, 31), D("50.00")),
		(date(2031, 1, 15), D("25.50")),
	]
	assert aged_amounts(lines, date(2031, 1, 31), DEFAULT_AGE_RANGES) == [
		D("25.50"),
		D("50.00"),
		D("100.00"),
		D("0"),
	]


@given(
	st.lists(st.tuples(st.integers(0, 400), SIGNED), max_size=30),
	st.sampled_from([(30, 60, 90), (7,), (1, 2)]),
)
def test_aged_amounts_add_up_to_the_whole(lines, ranges) -> None:
	as_of = date(2031, 1, 31)
	dated = [(as_of - timedelta(days=age), amount) for age, amount in lines]
	sums = aged_amounts(dated, as_of, ranges)
	assert len(sums) == len(ranges) + 1
	assert sum(sums, D(0)) == sum((amount for _age, amount in lines), D(0))


# ------------------------------------------------------------------------------------------ conversion


def test_conversion_of_a_euro_tab_at_the_days_rate() -> None:
	# 133.33 x 1.234567 = 164.6048... -> 164.60; the parts round to 123.46 (123.4567) and 41.15 (41.1481...), a
	# cent more than the whole: the largest part gives it back
	result = convert([D("100.00"), D("33.33")], D("1.234567"), 2)
	assert (result.total, result.parts) == (D("164.60"), (D("123.45"), D("41.15")))


def test_leftover_of_the_parts_roundings_goes_to_the_largest_part() -> None:
	"""Three parts of 0.005 at rate 1 round (half even) to 0.00 each, the whole (0.015) to 0.02: the largest part
	(the first of equal size) takes the two cents."""
	result = convert([D("0.005"), D("0.005"), D("0.005")], D(1), 2)
	assert result == type(result)(D("0.02"), (D("0.02"), D("0.00"), D("0.00")))


def test_conversion_refuses_a_missing_rate() -> None:
	"""Never 1.0 for want of a rate: zero or negative is refused."""
	for rate in (D(0), D(-1)):
		with pytest.raises(ValidationError, match="Exchange rate"):
			convert([D(1)], rate, 2)
	with pytest.raises(ValidationError):
		convert([D(1)], 1.1, 2)  # type: ignore[arg-type]


@given(st.lists(SIGNED, max_size=25), RATES, st.integers(0, 3), ROUNDINGS)
def test_parts_always_add_up_to_the_converted_total(parts, rate, precision, rounding) -> None:
	result = convert(parts, rate, precision, rounding)
	assert result.total == round_money(sum(parts, D(0)) * rate, precision, rounding)
	assert sum(result.parts, D(0)) == result.total
	unit = D(1).scaleb(-precision)
	exact = [part * rate for part in parts]
	# every part is its own rounding, but for one that also took the leftover of all the roundings
	off = [
		i for i, (got, want) in enumerate(zip(result.parts, exact, strict=True)) if abs(got - want) > unit / 2
	]
	assert len(off) <= 1
	for i in off:
		assert abs(result.parts[i] - exact[i]) <= unit * (len(parts) + 2) / 2


@given(st.lists(SIGNED, min_size=1, max_size=10), RATES)
def test_converting_one_part_is_converting_the_whole(parts, rate) -> None:
	"""Any split of an amount converts to the same total: the report's age buckets, its tab lines and the
	accrual's income accounts all add up to the row."""
	whole = convert([sum(parts, D(0))], rate, 2).total
	assert convert(parts, rate, 2).total == whole
	assert convert(list(reversed(parts)), rate, 2).total == whole


# ------------------------------------------------------------------------------------------ months


@pytest.mark.parametrize(
	("text", "end"),
	[
		("2031-01", date(2031, 1, 31)),
		("2028-02", date(2028, 2, 29)),
		("2031-02", date(2031, 2, 28)),
		(" 2031-12 ", date(2031, 12, 31)),
	],
)
def test_parse_month(text: str, end: date) -> None:
	assert parse_month(text) == end


@pytest.mark.parametrize(
	"text", [None, "", "2031-13", "2031-00", "2031-1", "31-01-2031", "January", "2031-01-31"]
)
def test_bad_months_are_refused(text) -> None:
	with pytest.raises(ValidationError, match="YYYY-MM"):
		parse_month(text)


@given(plain_dates)
def test_previous_month_end_and_reversal(today: date) -> None:
	end = previous_month_end(today)
	assert end < today.replace(day=1) == reversal_date(end)
	assert (end + timedelta(days=1)).day == 1
	assert end.month != today.month or end.year != today.year


def test_previous_month_end_examples() -> None:
	assert previous_month_end(date(2031, 2, 1)) == date(2031, 1, 31)
	assert previous_month_end(date(2031, 2, 28)) == date(2031, 1, 31)
	assert previous_month_end(date(2031, 1, 1)) == date(2030, 12, 31)
	assert reversal_date(date(2028, 2, 29)) == date(2028, 3, 1)


# ------------------------------------------------------------------------------------------ journal lines


def test_accrual_debits_the_unbilled_account_and_credits_each_income_account() -> None:
	lines = accrual_lines(
		"Unbilled - WP",
		"Main - WP",
		{("Sales - WP", "Main - WP"): D("150.00"), ("Service - WP", "Ops - WP"): D("25.50")},
	)
	assert lines == [
		JournalLine("Unbilled - WP", "Main - WP", D("175.50"), D(0)),
		JournalLine("Sales - WP", "Main - WP", D(0), D("150.00")),
		JournalLine("Service - WP", "Ops - WP", D(0), D("25.50")),
	]


def test_returns_are_debits_and_a_negative_total_credits_the_unbilled_account() -> None:
	lines = accrual_lines("Unbilled", None, {("Sales", None): D("-40.00"), ("Service", None): D("10.00")})
	assert lines == [
		JournalLine("Unbilled", None, D(0), D("30.00")),
		JournalLine("Sales", None, D("40.00"), D(0)),
		JournalLine("Service", None, D(0), D("10.00")),
	]


def test_nothing_to_post() -> None:
	assert accrual_lines("Unbilled", None, {}) == []
	assert accrual_lines("Unbilled", None, {("Sales", None): D(0)}) == []
	# a charge and a return that cancel out: the income accounts move, the unbilled account does not
	assert accrual_lines("Unbilled", None, {("A", None): D(5), ("B", None): D(-5)}) == [
		JournalLine("A", None, D(0), D(5)),
		JournalLine("B", None, D(5), D(0)),
	]


@given(
	st.dictionaries(
		st.tuples(st.sampled_from("ABCDE"), st.sampled_from([None, "X", "Y"])), SIGNED, max_size=8
	)
)
def test_journal_lines_always_balance(credits) -> None:
	lines = accrual_lines("Unbilled", "X", credits)
	assert sum((line.debit for line in lines), D(0)) == sum((line.credit for line in lines), D(0))
	assert all(
		line.debit >= 0 and line.credit >= 0 and (line.debit == 0) != (line.credit == 0) for line in lines
	)
	debit = next((line for line in lines if line.account == "Unbilled"), None)
	total = sum(credits.values(), D(0))
	assert (debit.debit - debit.credit if debit else D(0)) == total
