"""Currency precision and rounding as ERPNext uses them, for the engine's exact Decimal arithmetic."""

import frappe
from frappe.model.meta import get_field_precision

from accumulating_billing import engine


def amount_precision(currency: str | None) -> int:
	return _precision("amount", currency)


def rate_precision(currency: str | None) -> int:
	return _precision("rate", currency)


def _precision(fieldname: str, currency: str | None) -> int:
	"""The precision of a Sales Invoice Item field in `currency`, looked up once per request or job (a tab of
	100,000 items asks for it per item)."""
	cache = getattr(frappe.local, "accumulating_precisions", None)
	if cache is None:
		cache = frappe.local.accumulating_precisions = {}
	key = (fieldname, currency)
	if key not in cache:
		field = frappe.get_meta("Sales Invoice Item").get_field(fieldname)
		cache[key] = int(get_field_precision(field, currency=currency) or 2)
	return cache[key]


def rounding() -> str:
	return engine.rounding_from_frappe_setting(frappe.get_system_settings("rounding_method"))
