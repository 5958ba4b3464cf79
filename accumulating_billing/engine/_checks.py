"""Small type checks shared by the engine modules."""

from __future__ import annotations

from datetime import date, datetime

from accumulating_billing.engine.errors import Term, ValidationError, _


def check_date(value: object, label: str) -> date:
	"""Return value if it is a plain date (not a datetime), else raise ValidationError."""
	if not isinstance(value, date) or isinstance(value, datetime):
		raise ValidationError(_("{0} must be a date, got {1}."), Term(label), repr(value))
	return value


def check_int(value: object, label: str) -> int:
	"""Return value if it is an int (not a bool), else raise ValidationError."""
	if not isinstance(value, int) or isinstance(value, bool):
		raise ValidationError(_("{0} must be a whole number, got {1}."), Term(label), repr(value))
	return value
