"""Errors raised by the pure billing engine.

The engine translates nothing (it imports no Frappe), but its messages reach people: each is a catalogue
message marked with `_()` below (so `bench generate-pot-file` collects it) and its values are kept apart, so
the Frappe side shows it in the reader's language (`accumulating_billing.i18n.engine_message`)."""


def _(message: str) -> str:
	"""Mark `message` for the translation catalogue; the Frappe side translates it when it is shown."""
	return message


class Term(str):
	"""A value of a message that is itself a catalogue message (the name of a setting): translated with it."""


class ValidationError(ValueError):
	"""Bad input or an impossible request. `message` is a catalogue message with positional placeholders ({0})
	and `values` fill them; str(error) is the English text."""

	def __init__(self, message: str, *values: object):
		super().__init__(message.format(*values) if values else message)
		self.message = message
		self.values = values
