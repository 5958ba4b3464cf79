"""Money arithmetic: exact Decimal amounts rounded the way ERPNext rounds them."""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from accumulating_billing.engine.errors import Term, ValidationError, _

ROUNDING_MODES = {"half_even": decimal.ROUND_HALF_EVEN, "half_up": decimal.ROUND_HALF_UP}

APPLY_DISCOUNT_ON = ("Grand Total", "Net Total")

_FRAPPE_ROUNDING = {
	"": "half_even",
	"Banker's Rounding": "half_even",
	"Banker's Rounding (legacy)": "half_even",
	"Commercial Rounding": "half_up",
}

# Enough digits for any realistic amount: quantize never fails for lack of precision.
_CONTEXT = decimal.Context(prec=60, traps=[decimal.InvalidOperation, decimal.DivisionByZero])

_HUNDRED = Decimal(100)
_ZERO = Decimal(0)


def to_decimal(value: object, label: str = "Amount") -> Decimal:
	"""Return value as a finite Decimal; ints are accepted, floats and other types are refused."""
	if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
		raise ValidationError(_("{0} must be a Decimal, got {1}."), Term(label), repr(value))
	result = Decimal(value)
	if not result.is_finite():
		raise ValidationError(_("{0} must be a finite number, got {1}."), Term(label), repr(value))
	return result


def _check_precision(precision: object) -> int:
	"""Return precision if it is a whole number of decimal places from 0 to 9."""
	if isinstance(precision, bool) or not isinstance(precision, int) or not 0 <= precision <= 9:
		raise ValidationError(
			_("Currency precision must be a whole number from 0 to 9, got {0}."), repr(precision)
		)
	return precision


def round_money(value: Decimal, precision: int, rounding: str = "half_even") -> Decimal:
	"""Round value to `precision` decimal places, "half_even" (Banker's) or "half_up" (Commercial)."""
	value = to_decimal(value)
	_check_precision(precision)
	if rounding not in ROUNDING_MODES:
		raise ValidationError(_("Rounding must be 'half_even' or 'half_up', got {0}."), repr(rounding))
	return value.quantize(Decimal(1).scaleb(-precision), rounding=ROUNDING_MODES[rounding], context=_CONTEXT)


def rounding_from_frappe_setting(name: str | None) -> str:
	"""Map Frappe's System Settings "rounding_method" to the engine's rounding name."""
	key = name or ""
	if key not in _FRAPPE_ROUNDING:
		raise ValidationError(_("Unknown rounding method {0}."), repr(name))
	return _FRAPPE_ROUNDING[key]


def line_amount(
	qty: Decimal,
	rate: Decimal,
	discount_percentage: Decimal,
	precision: int,
	rounding: str = "half_even",
	allow_return: bool = False,
) -> Decimal:
	"""Return the rounded amount of one line: qty x rate less its discount percentage.

	`allow_return` admits a negative quantity (a returned delivery credited on the tab); never zero."""
	qty = to_decimal(qty, _("Quantity"))
	rate = to_decimal(rate, _("Rate"))
	discount_percentage = to_decimal(discount_percentage, _("Discount percentage"))
	if qty == 0 or (qty < 0 and not allow_return):
		raise ValidationError(_("Quantity must be greater than 0, got {0}."), qty)
	if rate < 0:
		raise ValidationError(_("Rate must not be negative, got {0}."), rate)
	_check_percentage(discount_percentage)
	raw = _CONTEXT.divide(
		_CONTEXT.multiply(_CONTEXT.multiply(qty, rate), _HUNDRED - discount_percentage), _HUNDRED
	)
	return round_money(raw, precision, rounding)


def _check_percentage(value: Decimal) -> None:
	"""Raise unless value is a discount percentage from 0 to 100."""
	if not _ZERO <= value <= _HUNDRED:
		raise ValidationError(_("Discount percentage must be between 0 and 100, got {0}."), value)


def _check_discount(
	discount_percentage: Decimal, discount_amount: Decimal, apply_discount_on: str | None
) -> str:
	"""Validate the generator-level discount settings; return apply_discount_on ("" means Grand Total)."""
	_check_percentage(to_decimal(discount_percentage, _("Additional discount percentage")))
	if to_decimal(discount_amount, _("Discount amount")) < 0:
		raise ValidationError(_("Discount amount must not be negative, got {0}."), discount_amount)
	target = apply_discount_on or "Grand Total"
	if target not in APPLY_DISCOUNT_ON:
		raise ValidationError(
			_("Apply discount on must be 'Grand Total' or 'Net Total', got {0}."), repr(apply_discount_on)
		)
	return target


def _subtotal(amounts: Iterable[Decimal]) -> tuple[int, Decimal]:
	"""Return the number of amounts and their exact sum."""
	count = 0
	total = _ZERO
	for amount in amounts:
		total = _CONTEXT.add(total, to_decimal(amount, _("Line amount")))
		count += 1
	return count, total


def _percentage_of(total: Decimal, pct: Decimal, precision: int, rounding: str) -> Decimal:
	"""Return pct % of total, rounded to the currency precision."""
	return round_money(_CONTEXT.divide(_CONTEXT.multiply(total, pct), _HUNDRED), precision, rounding)


def _net_from_subtotal(
	subtotal: Decimal,
	discount_percentage: Decimal,
	discount_amount: Decimal,
	target: str,
	precision: int,
	rounding: str,
) -> Decimal:
	"""Apply a Net Total discount to subtotal (no change for Grand Total); a discount never takes it below 0.

	A negative subtotal (returns outweigh the rest) is a credit: no discount applies to it."""
	if subtotal < 0:
		return round_money(subtotal, precision, rounding)
	net = subtotal
	if target == "Net Total":
		# as ERPNext: a percentage, when set, decides the amount
		if discount_percentage != 0:
			net = subtotal - _percentage_of(subtotal, discount_percentage, precision, rounding)
		else:
			net = subtotal - discount_amount
	return max(round_money(net, precision, rounding), _ZERO)


def net_total(
	amounts: Iterable[Decimal],
	discount_percentage: Decimal,
	discount_amount: Decimal,
	apply_discount_on: str,
	precision: int,
	rounding: str,
) -> Decimal:
	"""Return the invoice net total (before taxes) of the given line amounts after a Net Total discount."""
	target = _check_discount(discount_percentage, discount_amount, apply_discount_on)
	_, subtotal = _subtotal(amounts)
	subtotal = round_money(subtotal, precision, rounding)
	return _net_from_subtotal(
		subtotal, Decimal(discount_percentage), Decimal(discount_amount), target, precision, rounding
	)


@dataclass(frozen=True)
class TabSummary:
	"""Totals of a running tab for previews: taxes are ERPNext's and not included."""

	lines: int
	subtotal: Decimal
	discount: Decimal
	net_total: Decimal


def summarize(
	amounts: Iterable[Decimal],
	discount_percentage: Decimal,
	discount_amount: Decimal,
	apply_discount_on: str,
	precision: int,
	rounding: str,
) -> TabSummary:
	"""Summarize line amounts: count, subtotal, generator-level discount and net total."""
	target = _check_discount(discount_percentage, discount_amount, apply_discount_on)
	pct = Decimal(discount_percentage)
	fixed = Decimal(discount_amount)
	lines, subtotal = _subtotal(amounts)
	subtotal = round_money(subtotal, precision, rounding)
	net = _net_from_subtotal(subtotal, pct, fixed, target, precision, rounding)
	if target == "Net Total":
		discount = subtotal - net
	elif pct != 0:
		discount = _percentage_of(subtotal, pct, precision, rounding)
	else:
		discount = round_money(fixed, precision, rounding)
	return TabSummary(lines=lines, subtotal=subtotal, discount=discount, net_total=net)
