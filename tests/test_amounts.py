"""Tests of engine.amounts: exact Decimal money rounded as ERPNext rounds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accumulating_billing.engine import (
	TabSummary,
	ValidationError,
	line_amount,
	net_total,
	round_money,
	rounding_from_frappe_setting,
	summarize,
)
from tests.strategies import money

D = Decimal
ROUNDINGS = st.sampled_from(["half_even", "half_up"])
PCTS = st.integers(0, 10000).map(lambda n: Decimal(n).scaleb(-2))


@pytest.mark.parametrize(
	("value", "precision", "rounding", "expected"),
	[
		("2.345", 2, "half_even", "2.34"),
		("2.355", 2, "half_even", "2.36"),
		("2.345", 2, "half_up", "2.35"),
		("-2.345", 2, "half_up", "-2.35"),
		("-2.345", 2, "half_even", "-2.34"),
		("0.5", 0, "half_even", "0"),
		("1.5", 0, "half_even", "2"),
		("0.5", 0, "half_up", "1"),
		("10", 3, "half_even", "10.000"),
		("123456789012345678901234.565", 2, "half_up", "123456789012345678901234.57"),
	],
)
def test_round_money(value: str, precision: int, rounding: str, expected: str) -> None:
	"""Banker's rounding rounds ties to even; commercial rounding rounds ties away from zero."""
	result = round_money(D(value), precision, rounding)
	assert result == D(expected)
	assert str(result) == expected


def test_round_money_refuses_floats_and_bad_settings() -> None:
	"""Money is Decimal only; unknown rounding names and precisions are refused."""
	with pytest.raises(ValidationError, match="Decimal"):
		round_money(2.345, 2)  # type: ignore[arg-type]
	with pytest.raises(ValidationError, match="Rounding"):
		round_money(D("1"), 2, "ceiling")
	with pytest.raises(ValidationError, match="precision"):
		round_money(D("1"), -1)
	with pytest.raises(ValidationError):
		round_money(D("NaN"), 2)
	assert round_money(3, 2) == D("3.00")


@pytest.mark.parametrize(
	("name", "expected"),
	[
		("Banker's Rounding", "half_even"),
		("Banker's Rounding (legacy)", "half_even"),
		("Commercial Rounding", "half_up"),
		("", "half_even"),
		(None, "half_even"),
	],
)
def test_rounding_from_frappe_setting(name: str | None, expected: str) -> None:
	"""Frappe's System Settings rounding_method maps to the engine's names."""
	assert rounding_from_frappe_setting(name) == expected


def test_rounding_from_unknown_setting() -> None:
	"""An unknown rounding method is refused."""
	with pytest.raises(ValidationError):
		rounding_from_frappe_setting("Round Down")


def test_line_amount_examples() -> None:
	"""qty x rate less the line discount, rounded once."""
	assert line_amount(D(3), D("19.99"), D(0), 2) == D("59.97")
	assert line_amount(D("1.5"), D("10.00"), D(10), 2) == D("13.50")
	assert line_amount(D(3), D("1.115"), D(0), 2) == D("3.34")
	assert line_amount(D(3), D("1.115"), D(0), 2, "half_up") == D("3.35")
	assert line_amount(D(2), D("5.00"), D(100), 2) == D("0.00")
	assert line_amount(D(1), D(0), D(0), 0) == D(0)


@pytest.mark.parametrize(
	("qty", "rate", "pct"),
	[("0", "1", "0"), ("-1", "1", "0"), ("1", "-0.01", "0"), ("1", "1", "-1"), ("1", "1", "100.01")],
)
def test_line_amount_refuses_bad_input(qty: str, rate: str, pct: str) -> None:
	"""qty <= 0, a negative rate or a discount outside 0..100 is refused."""
	with pytest.raises(ValidationError):
		line_amount(D(qty), D(rate), D(pct), 2)


def test_line_amount_of_a_return() -> None:
	"""A returned delivery is a negative quantity, admitted only when asked for; zero never is."""
	assert line_amount(D(-2), D("12.50"), D(0), 2, allow_return=True) == D("-25.00")
	with pytest.raises(ValidationError):
		line_amount(D(-2), D("12.50"), D(0), 2)
	with pytest.raises(ValidationError):
		line_amount(D(0), D("12.50"), D(0), 2, allow_return=True)


def test_line_amount_refuses_float() -> None:
	"""Floats are refused rather than silently converted."""
	with pytest.raises(ValidationError):
		line_amount(1.0, D(1), D(0), 2)  # type: ignore[arg-type]


AMOUNTS = [D("10.00"), D("5.55"), D("0.01")]


def test_net_total_grand_total_discount_leaves_net_unchanged() -> None:
	"""A discount on Grand Total is applied by ERPNext after taxes: the net total is the plain sum."""
	assert net_total(AMOUNTS, D(10), D("3.00"), "Grand Total", 2, "half_even") == D("15.56")
	assert net_total(AMOUNTS, D(10), D(0), "", 2, "half_even") == D("15.56")


def test_net_total_percentage_on_net_total() -> None:
	"""10 % of 15.56 = 1.556 -> 1.56 (rounded like ERPNext) -> 14.00."""
	assert net_total(AMOUNTS, D(10), D(0), "Net Total", 2, "half_even") == D("14.00")


def test_net_total_percentage_wins_over_amount() -> None:
	"""As ERPNext: when both are set, the percentage decides the discount (the form refuses both)."""
	assert net_total(AMOUNTS, D(50), D("1.00"), "Net Total", 2, "half_even") == D("7.78")


def test_net_total_never_negative() -> None:
	"""A discount larger than the subtotal gives 0, not a negative total."""
	assert net_total(AMOUNTS, D(0), D("100.00"), "Net Total", 2, "half_even") == D("0.00")
	assert net_total([], D(0), D(0), "Net Total", 2, "half_even") == D("0.00")


@pytest.mark.parametrize(
	("pct", "amount", "on"),
	[("-1", "0", "Net Total"), ("101", "0", "Net Total"), ("0", "-1", "Net Total"), ("0", "0", "Total")],
)
def test_net_total_refuses_bad_discount(pct: str, amount: str, on: str) -> None:
	"""Bad discount settings are refused."""
	with pytest.raises(ValidationError):
		net_total(AMOUNTS, D(pct), D(amount), on, 2, "half_even")


def test_summarize_examples() -> None:
	"""The preview shows the discount for Net Total and Grand Total alike."""
	assert summarize(AMOUNTS, D(10), D(0), "Net Total", 2, "half_even") == TabSummary(
		lines=3, subtotal=D("15.56"), discount=D("1.56"), net_total=D("14.00")
	)
	assert summarize(AMOUNTS, D(10), D(0), "Grand Total", 2, "half_even") == TabSummary(
		lines=3, subtotal=D("15.56"), discount=D("1.56"), net_total=D("15.56")
	)
	assert summarize(AMOUNTS, D(0), D("2.00"), "Grand Total", 2, "half_even") == TabSummary(
		lines=3, subtotal=D("15.56"), discount=D("2.00"), net_total=D("15.56")
	)
	assert summarize(AMOUNTS, D(10), D("2.00"), "Grand Total", 2, "half_even").discount == D("1.56")
	assert summarize([], D(0), D(0), "Grand Total", 2, "half_even") == TabSummary(
		lines=0, subtotal=D("0.00"), discount=D("0.00"), net_total=D("0.00")
	)
	# A fixed discount larger than the tab: only what the tab holds is discounted.
	assert summarize(AMOUNTS, D(0), D("20.00"), "Net Total", 2, "half_even").discount == D("15.56")


@settings(max_examples=300, deadline=None)
@given(st.decimals(min_value=-(10**12), max_value=10**12, places=6), st.integers(0, 6), ROUNDINGS)
def test_round_money_is_within_half_a_unit(value: Decimal, precision: int, rounding: str) -> None:
	"""The rounded value has `precision` places and differs by at most half a unit."""
	result = round_money(value, precision, rounding)
	unit = D(1).scaleb(-precision)
	assert abs(result - value) <= unit / 2
	assert result.as_tuple().exponent == -precision


@settings(max_examples=300, deadline=None)
@given(money(10**6, 1), money(10**5), PCTS, ROUNDINGS)
def test_line_amount_bounds(qty: Decimal, rate: Decimal, pct: Decimal, rounding: str) -> None:
	"""A line amount is never negative and never above qty x rate (plus rounding)."""
	result = line_amount(qty, rate, pct, 2, rounding)
	assert D(0) <= result <= qty * rate + D("0.005")


@settings(max_examples=300, deadline=None)
@given(
	st.lists(money(), max_size=20),
	PCTS,
	st.one_of(st.just(D(0)), money(10**6)),
	st.sampled_from(["Net Total", "Grand Total"]),
	ROUNDINGS,
)
def test_summary_consistent_with_net_total(
	amounts: list[Decimal], pct: Decimal, fixed: Decimal, on: str, rounding: str
) -> None:
	"""summarize().net_total equals net_total(); for Net Total, subtotal - discount == net total."""
	summary = summarize(amounts, pct, fixed, on, 2, rounding)
	assert summary.lines == len(amounts)
	assert summary.subtotal == sum(amounts, D(0))
	assert summary.net_total == net_total(amounts, pct, fixed, on, 2, rounding)
	assert D(0) <= summary.net_total <= summary.subtotal
	if on == "Net Total":
		assert summary.subtotal - summary.discount == summary.net_total
	else:
		assert summary.net_total == summary.subtotal
