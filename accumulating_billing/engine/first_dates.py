"""First creation date of a generator made from a template, relative to the assignment date."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from accumulating_billing.engine._checks import check_date, check_int
from accumulating_billing.engine.errors import ValidationError, _

RULE_DAYS_AFTER, RULE_DAY_OF_MONTH = "Days After Assignment", "Day Of Month"
FIRST_DATE_RULES = (RULE_DAYS_AFTER, RULE_DAY_OF_MONTH)


def days_after(assignment_date: date, n: int) -> date:
	"""Return the date n days (n >= 0) after the assignment date."""
	check_date(assignment_date, _("The assignment date"))
	check_int(n, _("The number of days after assignment"))
	if n < 0:
		raise ValidationError(_("The number of days after assignment must not be negative, got {0}."), n)
	try:
		return assignment_date + timedelta(days=n)
	except OverflowError:
		raise ValidationError(
			_("{0} days after {1} is beyond year 9999."), n, assignment_date.isoformat()
		) from None


def _clamped(year: int, month: int, day: int) -> date:
	"""Return day `day` of the month, or the month's last day if the month is shorter."""
	return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def day_of_month(assignment_date: date, day: int) -> date:
	"""Return the next date on or after assignment_date falling on `day` (or the last day of a shorter month)."""
	check_date(assignment_date, _("The assignment date"))
	check_int(day, _("The day of the month"))
	if not 1 <= day <= 31:
		raise ValidationError(_("The day of the month must be from 1 to 31, got {0}."), day)
	candidate = _clamped(assignment_date.year, assignment_date.month, day)
	if candidate >= assignment_date:
		return candidate
	if assignment_date.month == 12:
		if assignment_date.year == date.max.year:
			raise ValidationError(
				_("Day {0} after {1} is beyond year 9999."), day, assignment_date.isoformat()
			)
		return _clamped(assignment_date.year + 1, 1, day)
	return _clamped(assignment_date.year, assignment_date.month + 1, day)


_day_of_month = day_of_month  # first_creation_date's parameter shadows the function name


def first_creation_date(rule: str, assignment_date: date, days: int = 0, day_of_month: int = 1) -> date:
	"""Return a template's first creation date for an assignment on assignment_date."""
	if rule == RULE_DAYS_AFTER:
		return days_after(assignment_date, days)
	if rule == RULE_DAY_OF_MONTH:
		return _day_of_month(assignment_date, day_of_month)
	raise ValidationError(
		_("First date rule must be one of {0}, got {1}."), ", ".join(FIRST_DATE_RULES), repr(rule)
	)
