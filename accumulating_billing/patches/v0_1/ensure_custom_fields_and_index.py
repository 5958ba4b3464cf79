from accumulating_billing.install import make_custom_fields


def execute():
	"""Idempotent: (re)create the custom fields and the one-invoice-per-occurrence unique index."""
	make_custom_fields()
