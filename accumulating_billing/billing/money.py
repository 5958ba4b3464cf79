"""Currency precision and rounding as ERPNext uses them, for the engine's exact Decimal arithmetic."""

import frappe
from frappe.model.meta import get_field_precision

from accumulating_billing import engine


def amount_precision(currency: str | None) -> int:
	return _precision("amount", currency)


def rate_precision(currency: str | None) -> int:
	return _precision("rate", currency)


def _precision(fieldname: str, currency: str | None) -> int:
	field = frappe.get_meta("Sales Invoice Item").get_field(fieldname)
	return int(get_field_precision(field, currency=currency) or 2)


def rounding() -> str:
	return engine.rounding_from_frappe_setting(frappe.get_system_settings("rounding_method"))
