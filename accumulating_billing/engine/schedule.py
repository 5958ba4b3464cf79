"""Billing schedule: occurrence k falls on first_date + k x interval, always computed from first_date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from accumulating_billing.engine._checks import check_date, check_int
from accumulating_billing.engine.errors import ValidationError, _

INTERVAL_UNITS = ("Day", "Week", "Month", "Year")

_DAYS_PER_UNIT = {"Day": 1, "Week": 7}
_MONTHS_PER_UNIT = {"Month": 1, "Year": 12}


@dataclass(frozen=True)
class Schedule:
	"""A repeating schedule: every `count` `unit`s starting on `first_date`."""

	first_date: date
	unit: str
	count: int

	def __post_init__(self) -> None:
		"""Validate the schedule settings."""
		check_date(self.first_date, _("The first creation date"))
		if self.unit not in INTERVAL_UNITS:
			raise ValidationError(
				_("Interval unit must be one of {0}, got {1}."), ", ".join(INTERVAL_UNITS), repr(self.unit)
			)
		check_int(self.count, _("The interval"))
		if self.count < 1:
			raise ValidationError(_("The interval must be at least 1, got {0}."), self.count)


def occurrence(schedule: Schedule, k: int) -> date:
	"""Return occurrence k (k >= 0) of the schedule, computed directly from the first date."""
	check_int(k, _("The occurrence index"))
	if k < 0:
		raise ValidationError(_("The occurrence index must not be negative, got {0}."), k)
	step = k * schedule.count
	try:
		if schedule.unit in _DAYS_PER_UNIT:
			return schedule.first_date + timedelta(days=step * _DAYS_PER_UNIT[schedule.unit])
		return schedule.first_date + relativedelta(months=step * _MONTHS_PER_UNIT[schedule.unit])
	except (OverflowError, ValueError):
		raise ValidationError(
			_("Occurrence {0} of this schedule is beyond the supported date range (year 9999)."), k
		) from None


def index_on_or_after(schedule: Schedule, d: date) -> int:
	"""Return the smallest k with occurrence(k) >= d (0 if d is on or before the first date)."""
	check_date(d, _("The date"))
	first = schedule.first_date
	if d <= first:
		return 0
	if schedule.unit in _DAYS_PER_UNIT:
		step_days = schedule.count * _DAYS_PER_UNIT[schedule.unit]
		return -(-(d - first).days // step_days)
	step_months = schedule.count * _MONTHS_PER_UNIT[schedule.unit]
	month_gap = (d.year - first.year) * 12 + (d.month - first.month)
	# occurrence(k) lies in the month first.month + k * step_months (its day may be clamped), so the
	# estimate below is at most one step short and never too far.
	k = month_gap // step_months
	while occurrence(schedule, k) < d:
		k += 1
	while k > 0 and occurrence(schedule, k - 1) >= d:
		k -= 1
	return k


def first_on_or_after(schedule: Schedule, d: date) -> date:
	"""Return the first occurrence on or after d."""
	return occurrence(schedule, index_on_or_after(schedule, d))


def first_after(schedule: Schedule, d: date) -> date:
	"""Return the first occurrence strictly after d."""
	k = index_on_or_after(schedule, d)
	found = occurrence(schedule, k)
	if found == d:
		found = occurrence(schedule, k + 1)
	return found


def occurrences_between(schedule: Schedule, start: date, end: date) -> list[date]:
	"""Return the occurrences o with start <= o < end, in order."""
	check_date(start, _("The start date"))
	check_date(end, _("The end date"))
	result: list[date] = []
	if end <= start:
		return result
	try:
		k = index_on_or_after(schedule, start)
	except ValidationError:
		return result  # no occurrence on or after start before the last representable date
	while True:
		try:
			found = occurrence(schedule, k)
		except ValidationError:
			return result  # the schedule runs past the last representable date
		if found >= end:
			return result
		result.append(found)
		k += 1
