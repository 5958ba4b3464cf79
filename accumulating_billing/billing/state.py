"""Translate between an Accumulating Generator document and the engine's plain state."""

from decimal import Decimal

from frappe.utils import cint, flt, getdate

from accumulating_billing.engine import GeneratorState, Schedule


def to_decimal(value) -> Decimal:
	"""Exact Decimal of a Frappe number (floats go through their shortest repr, never binary noise)."""
	return Decimal(str(flt(value)))


def schedule_of(doc) -> Schedule:
	return Schedule(
		first_date=getdate(doc.first_creation_date), unit=doc.interval_unit, count=cint(doc.interval_count)
	)


def state_of(doc) -> GeneratorState:
	return GeneratorState(
		status=doc.status,
		schedule=schedule_of(doc),
		end_condition=doc.end_condition or "Never",
		end_after_invoices=cint(doc.end_after_invoices),
		end_date=getdate(doc.end_date) if doc.end_date else None,
		minimum_amount=to_decimal(doc.minimum_amount),
		invoices_generated=cint(doc.invoices_generated),
		next_creation_date=getdate(doc.next_creation_date) if doc.next_creation_date else None,
		resume_date=getdate(doc.resume_date) if doc.resume_date else None,
	)
