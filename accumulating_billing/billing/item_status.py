"""The statuses of a tab item, and the generator's count of lines on hold.

A tab item is **Unbilled** (waiting on the tab), **On Hold** (ERPNext would refuse it on an invoice: not billed
until released), **Billed** (on its invoice) or **Voided** (taken off the tab by a person, kept with the reason, who
and when: never billed, never shown to the customer; an amended item is voided and its replacement names it in
`amended_from`). Unbilled and On Hold items are the ones no invoice bills yet, and the only ones a person may void.

`lines_on_hold` (the list's "2 on hold", the form's banner) is counted again by every module that holds,
releases, adds or removes tab lines (billing day in `held`, Timesheets and Delivery Notes in `sources`, late
fees, the item form), in its own transaction; it is written only when it changed, so a path that touched no held
line takes no lock on the generator row. The fault suite's invariants check the count against the items.
"""

from collections.abc import Iterable

import frappe

from accumulating_billing.doctypes import GENERATOR, ITEM

UNBILLED = "Unbilled"
ON_HOLD = "On Hold"
BILLED = "Billed"
VOIDED = "Voided"
NOT_BILLED = (UNBILLED, ON_HOLD)
# `hold_notice` of a line held on billing day until the notice naming it is sent (held_notices.py)
NOTICE_PENDING = "Pending"
VOIDABLE = NOT_BILLED
STATUSES = (UNBILLED, ON_HOLD, BILLED, VOIDED)
# what a tab line says it is: the item, its text and its amount (read by billing, written by the intake)
LINE_VALUES = ("item_code", "item_name", "description", "qty", "uom", "rate", "discount_percentage", "amount")
# what the desk shows of a line waiting on a tab (the running tab, the held lines)
SHOWN_FIELDS = (
	"name",
	"service_date",
	"item_code",
	"item_name",
	"description",
	"qty",
	"rate",
	"amount",
	"source_doctype",
	"source_name",
)


def update_held_count(generator: str) -> None:
	"""Count `generator`'s lines on hold again; write the count only when it changed."""
	count = frappe.db.count(ITEM, {"generator": generator, "status": ON_HOLD})
	if frappe.db.get_value(GENERATOR, generator, "lines_on_hold") != count:
		frappe.db.set_value(GENERATOR, generator, "lines_on_hold", count, update_modified=False)


def update_held_counts(generators: Iterable[str]) -> None:
	for generator in sorted({g for g in generators if g}):
		update_held_count(generator)
