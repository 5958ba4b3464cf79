"""Errors raised by the pure billing engine."""


class ValidationError(ValueError):
	"""Bad input or an impossible request; the message is plain English and safe to show to a user."""
