"""The generator's count of lines on hold (`lines_on_hold`: the list's "2 on hold", the form's banner).

Below every module that holds, releases, adds or removes tab lines (billing day in `held`, Timesheets and
Delivery Notes in `sources`, late fees, the item form): each counts again the generators whose held lines it
may have changed, in its own transaction. The fault suite's invariants check the count against the items.
"""

from collections.abc import Iterable

import frappe

GENERATOR = "Accumulating Generator"
ITEM = "Accumulating Generator Item"
ON_HOLD = "On Hold"


def update_held_count(generator: str) -> None:
	"""Count `generator`'s lines on hold again."""
	count = frappe.db.count(ITEM, {"generator": generator, "status": ON_HOLD})
	frappe.db.set_value(GENERATOR, generator, "lines_on_hold", count, update_modified=False)


def update_held_counts(generators: Iterable[str]) -> None:
	for generator in sorted({g for g in generators if g}):
		update_held_count(generator)
