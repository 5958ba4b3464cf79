"""A watched running tab (issue 27): when its unbilled total reaches *Bill When Unbilled Reaches* it is billed
early, each *Tab Reaches* alert fires once per tab period, and a threshold invoice may restart the schedule.

The unbilled total is the sum of the amounts of the tab's Unbilled lines dated up to the day (line discounts
applied; before the generator's additional discount and taxes): the lines a *Generate Now* of that day bills.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from accumulating_billing.engine._checks import check_date
from accumulating_billing.engine.amounts import to_decimal
from accumulating_billing.engine.errors import ValidationError, _
from accumulating_billing.engine.schedule import Schedule
from accumulating_billing.engine.state import ACTIVE, END_ON_DATE, GeneratorState, next_run_after

__all__ = [
	"alerts_crossed",
	"restarted_schedule",
	"threshold_reached",
	"used_percent",
	"validate_threshold",
]

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


def validate_threshold(threshold: Decimal, minimum_amount: Decimal) -> None:
	"""Raise ValidationError for a negative threshold, or a minimum amount above it (the tab is billed when it
	reaches the threshold, so it would never reach that minimum)."""
	threshold = to_decimal(threshold, _("Bill When Unbilled Reaches"))
	minimum_amount = to_decimal(minimum_amount, _("Minimum amount"))
	if threshold < 0:
		raise ValidationError(_("Bill When Unbilled Reaches must not be negative, got {0}."), threshold)
	if threshold and minimum_amount > threshold:
		raise ValidationError(
			_(
				"The minimum amount {0} is above Bill When Unbilled Reaches {1}: the tab is billed when it reaches "
				"{1}, so it would never reach the minimum. Lower the minimum amount or raise the threshold."
			),
			minimum_amount,
			threshold,
		)


def threshold_reached(total: Decimal, threshold: Decimal) -> bool:
	"""Whether an unbilled total is billed at the threshold now (a threshold of 0 is off)."""
	threshold = to_decimal(threshold, _("Bill When Unbilled Reaches"))
	return threshold > 0 and to_decimal(total, _("Unbilled total")) >= threshold


def used_percent(total: Decimal, threshold: Decimal) -> int:
	"""How much of the threshold the tab has used, in whole percent from 0 to 100, rounded down: 100 only once
	it is reached (a tab that is owed money, a negative total, has used none). 0 without a threshold."""
	threshold = to_decimal(threshold, _("Bill When Unbilled Reaches"))
	total = to_decimal(total, _("Unbilled total"))
	if threshold <= 0 or total <= 0:
		return 0
	if total >= threshold:
		return 100
	return int((total * _HUNDRED / threshold).to_integral_value(rounding=ROUND_FLOOR))


def alerts_crossed(
	total: Decimal, alerts: Iterable[tuple[str, Decimal]], fired: Collection[str] = ()
) -> list[str]:
	"""The keys of the alerts (key, amount) the total has reached that have not fired yet, lowest amount first.
	An alert of 0 or less never fires."""
	total = to_decimal(total, _("Unbilled total"))
	due = []
	for key, amount in alerts:
		amount = to_decimal(amount, _("Tab Amount"))
		if amount > 0 and total >= amount and key not in fired:
			due.append((amount, key))
	return [key for _amount, key in sorted(due)]


def restarted_schedule(state: GeneratorState, invoice_date: date) -> tuple[date, date] | None:
	"""The schedule restarted by a threshold invoice on `invoice_date`: (the new first creation date, the next
	creation date one interval after it). None when it cannot restart: a generator that is not Active, or an
	*On Date* one whose end has come (its final run is due)."""
	check_date(invoice_date, _("The invoice date"))
	if state.status != ACTIVE:
		return None
	if state.end_condition == END_ON_DATE and (state.end_date is None or invoice_date >= state.end_date):
		return None
	restarted = replace(
		state,
		schedule=Schedule(first_date=invoice_date, unit=state.schedule.unit, count=state.schedule.count),
	)
	following = next_run_after(restarted, invoice_date)
	if following is None:  # pragma: no cover - an On Date end after invoice_date always leaves a next run
		return None
	return invoice_date, following
