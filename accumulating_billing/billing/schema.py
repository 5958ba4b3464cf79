"""The database keys and indexes the app's guarantees rest on, below install, the controllers and billing, which
all name them (docs/architecture.md §3):

- the occurrence key: a unique key on Sales Invoice (`accumulating_generator`, `accumulating_occurrence`), so a
  second invoice for one occurrence of one generator is impossible even when two workers race; a duplicate-key
  error on it means "already invoiced" (generation.run_generator);
- the tab occurrence key: a unique key on the tabs a generated invoice bills (*Accumulating Invoice Tab*, the
  Sales Invoice's `accumulating_tabs`: `generator`, `occurrence`), so that no tab of a combined invoice (one
  invoice for several tabs of one payer, combined.py) is invoiced twice for one occurrence either;
- the hourly tick's selection indexes on Accumulating Generator ((status, next_creation_date) and (status,
  resume_date)): the tick and the billing jobs read only the due rows.
"""

import frappe

from accumulating_billing.doctypes import GENERATOR, INVOICE_TAB

OCCURRENCE_KEY = "accumulating_occurrence_key"
TAB_OCCURRENCE_KEY = "accumulating_tab_occurrence_key"


def add_occurrence_key() -> None:
	"""One invoice per (generator, occurrence). Off-cycle invoices (Generate Now) leave the occurrence empty, and
	NULLs never collide. Idempotent."""
	frappe.db.add_unique(
		"Sales Invoice", ["accumulating_generator", "accumulating_occurrence"], OCCURRENCE_KEY
	)


def drop_occurrence_key() -> None:
	if frappe.db.has_index("tabSales Invoice", OCCURRENCE_KEY):
		frappe.db.sql_ddl(f"ALTER TABLE `tabSales Invoice` DROP INDEX `{OCCURRENCE_KEY}`")


def add_tab_occurrence_key() -> None:
	"""One invoice per (tab, occurrence), over every tab of every generated invoice (a combined invoice lists several).
	Off-cycle invoices and credit notes leave the occurrence empty, and NULLs never collide. Idempotent."""
	frappe.db.add_unique(INVOICE_TAB, ["generator", "occurrence"], TAB_OCCURRENCE_KEY)


def is_occurrence_key(error: Exception) -> bool:
	"""Whether the database refused a write for an occurrence key (a second invoice for one occurrence of a tab)."""
	return isinstance(error, frappe.UniqueValidationError) and any(
		key in str(error.args) for key in (OCCURRENCE_KEY, TAB_OCCURRENCE_KEY)
	)


def add_generator_indexes() -> None:
	"""The tick selects `status = Active and next_creation_date <= today` (and Paused ones whose resume date has
	come) through these. Idempotent: also run on migrate for sites installed before an index was added."""
	frappe.db.add_index(GENERATOR, ["status", "next_creation_date"], "status_next_creation_date_index")
	frappe.db.add_index(GENERATOR, ["status", "resume_date"], "status_resume_date_index")
