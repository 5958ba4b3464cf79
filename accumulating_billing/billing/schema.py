"""The database keys and indexes the app's guarantees rest on, below install, the controllers and billing, which
all name them (docs/architecture.md §3):

- the occurrence key: a unique key on Sales Invoice (`accumulating_generator`, `accumulating_occurrence`), so a
  second invoice for one occurrence of one generator is impossible even when two workers race; a duplicate-key
  error on it means "already invoiced" (generation.run_generator);
- the hourly tick's selection indexes on Accumulating Generator ((status, next_creation_date) and (status,
  resume_date)): the tick and the billing jobs read only the due rows.
"""

import frappe

OCCURRENCE_KEY = "accumulating_occurrence_key"
GENERATOR = "Accumulating Generator"


def add_occurrence_key() -> None:
	"""One invoice per (generator, occurrence). Off-cycle invoices (Generate Now) leave the occurrence empty, and
	NULLs never collide. Idempotent."""
	frappe.db.add_unique(
		"Sales Invoice", ["accumulating_generator", "accumulating_occurrence"], OCCURRENCE_KEY
	)


def drop_occurrence_key() -> None:
	if frappe.db.has_index("tabSales Invoice", OCCURRENCE_KEY):
		frappe.db.sql_ddl(f"ALTER TABLE `tabSales Invoice` DROP INDEX `{OCCURRENCE_KEY}`")


def is_occurrence_key(error: Exception) -> bool:
	"""Whether the database refused a write for the occurrence key (a second invoice for one occurrence)."""
	return isinstance(error, frappe.UniqueValidationError) and OCCURRENCE_KEY in str(error.args)


def add_generator_indexes() -> None:
	"""The tick selects `status = Active and next_creation_date <= today` (and Paused ones whose resume date has
	come) through these. Idempotent: also run on migrate for sites installed before an index was added."""
	frappe.db.add_index(GENERATOR, ["status", "next_creation_date"], "status_next_creation_date_index")
	frappe.db.add_index(GENERATOR, ["status", "resume_date"], "status_resume_date_index")
