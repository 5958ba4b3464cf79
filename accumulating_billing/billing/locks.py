"""The generator row lock, the read and the write of a locked generator, a billing run's fresh transaction, and the
database's transient refusals: below every module that bills, cancels or changes a tab (generation, two_step,
review, events, sources), so that none of them imports another for it.

The generator row is the lock of a tab: a billing run, a cancel of a generated invoice, a Timesheet or Delivery
Note cancel and a release all take it before they touch the tab's items, in that order (generator, then items).
"""

import frappe
from frappe.utils import now

from accumulating_billing.billing.json_rows import decoder, per_meta, row_object
from accumulating_billing.doctypes import GENERATOR


def lock_generator(name: str) -> None:
	"""Lock the generator row for this transaction, waiting for whoever holds it (a run, a cancel). Written out:
	`frappe.db.get_value(..., for_update=True)` builds the same statement with frappe.qb on every call, a tenth of
	a millisecond that two-step billing's finalize paid on every invoice."""
	frappe.db.sql(f"select `name` from `tab{GENERATOR}` where `name` = %s for update", name)


def lock_generator_or_skip(name: str) -> bool:
	"""Lock the generator row for this transaction, or return False at once when another worker holds it
	(SKIP LOCKED): two ticks that enqueue overlapping work never wait on each other or count a failure."""
	return bool(
		frappe.db.sql(f"select `name` from `tab{GENERATOR}` where `name` = %s for update skip locked", name)
	)


def load_generator(name: str, probes: dict[str, str] | None = None, along: dict[str, str] | None = None):
	"""The generator's document as `frappe.get_doc(GENERATOR, name)` loads it, in fewer reads (`read_generator`). A
	plain read: after the caller's lock, its snapshot starts after the lock."""
	doc = read_generator(name, lock=False, probes=probes, along=along)
	return doc if doc is not None else frappe.get_doc(GENERATOR, name)  # gone: Frappe's own DoesNotExistError


def lock_and_load_generator_or_skip(
	name: str, probes: dict[str, str] | None = None, along: dict[str, str] | None = None
):
	"""lock_generator_or_skip and load_generator in one statement: the generator's document, its row locked for this
	transaction, or None at once when another worker holds it (or it is gone). The billing run starts so
	(docs/architecture.md §4).

	The locking read returns the row's latest committed values. The probes of its child tables ride in the same
	statement as subqueries, which MariaDB runs as plain reads after the row lock is taken (no lock on the child
	rows, none on their index: tests/test_locks.py pins it), so the transaction's snapshot starts after the lock,
	as a plain read after it would start it."""
	return read_generator(name, lock=True, probes=probes, along=along)


# the column alias of the generator's row as one JSON value (json_rows.py), and of the probe of its k-th child table
# (not field names: fields never start with _)
ROW = "__row"
PROBE = "__has_rows_"
PROBED = "__probed_"  # and of the caller's probe of that name
ALONG = "__along_"  # and of what the caller reads along by that name


def read_generator(
	name: str, lock: bool, probes: dict[str, str] | None = None, along: dict[str, str] | None = None
):
	"""The generator's document, or None when there is no such row (or, `lock`: another worker holds it; the row is
	then read with FOR UPDATE SKIP LOCKED). One statement reads its row and probes which child tables have rows;
	then only those tables are read. A generator's taxes and automations are mostly empty, and reading an empty
	table (`SELECT *`) costs as much as a full one: this was a fiftieth of a generated invoice. The row comes as one
	JSON value (json_rows.py): its 70 columns parsed one by one were half the statement's cost.

	`probes`: more questions the same statement answers, by name: each a query whose only parameter is
	`%(name)s`, the generator, asked whether it finds a row (two-step billing asks whether a reserved invoice of
	the tab waits, two_step.py). The answers are in the document's `flags.probed`.

	`along`: values the same statement reads, by name: each a query of one value whose only parameter is
	`%(name)s`, and which may name the generator's own columns (`tabAccumulating Generator`.`next_creation_date`):
	a billing run reads the candidates of the tab's next occurrence so (tab.candidates_along). The values, as the
	database gives them, are in the document's `flags.along`."""
	tables = frappe.get_meta(GENERATOR).get_table_fields()
	probes, along = probes or {}, along or {}
	asked = (lock, tuple(probes.items()), tuple(along.items()))
	statement = per_meta(GENERATOR, ("read_generator", asked), lambda: read_statement(lock, probes, along))
	values = {
		"name": name,
		"doctype": GENERATOR,
		**{f"field_{k}": df.fieldname for k, df in enumerate(tables)},
	}
	row = frappe.db.sql(statement, values, as_dict=True)
	if not row:
		return None
	doc = {"doctype": GENERATOR, **decoder(GENERATOR)(row[0].pop(ROW)), **row[0]}
	for k, df in enumerate(tables):
		present = doc.pop(f"{PROBE}{k}")
		doc[df.fieldname] = (
			frappe.db.get_values(
				df.options,
				{"parent": name, "parenttype": GENERATOR, "parentfield": df.fieldname},
				"*",
				as_dict=True,
				order_by="idx asc",
			)
			if present
			else []
		)
	probed = {asked: bool(doc.pop(f"{PROBED}{asked}")) for asked in probes}
	read_along = {asked: doc.pop(f"{ALONG}{asked}") for asked in along}
	doc = frappe.get_doc(doc)
	doc.flags.probed = probed
	doc.flags.along = read_along
	return doc


def read_statement(lock: bool, probes: dict[str, str], along: dict[str, str]) -> str:
	"""read_generator's statement (made once per meta of the generator: json_rows.per_meta). The child tables'
	names come from the DocType's meta, the probes' text from the caller's code (frappe.qb), every value is a
	parameter."""
	subqueries = "".join(
		f", (select 1 from `tab{df.options}` where `parent` = %(name)s and `parenttype` = %(doctype)s "
		f"and `parentfield` = %(field_{k})s limit 1) as `{PROBE}{k}`"
		for k, df in enumerate(frappe.get_meta(GENERATOR).get_table_fields())
	)
	subqueries += "".join(f", exists({query}) as `{PROBED}{asked}`" for asked, query in probes.items())
	subqueries += "".join(f", ({query}) as `{ALONG}{asked}`" for asked, query in along.items())
	return (
		f"select {row_object(GENERATOR)} as `{ROW}`{subqueries} from `tab{GENERATOR}` where `name` = %(name)s"
		+ (" for update skip locked" if lock else "")
	)


def update_locked_generator(name: str, values: dict) -> None:
	"""`frappe.db.set_value(GENERATOR, name, values)` for the generator row this transaction holds locked, as one
	parameterized UPDATE: the same columns, `modified` and `modified_by` as set_value writes them, Frappe's cached
	document and value cache of the generator dropped as set_value drops them; without building the statement with
	frappe.qb on every occurrence. The columns must be the DocType's own."""
	meta = frappe.get_meta(GENERATOR)
	unknown = [field for field in values if not meta.has_field(field)]
	if unknown:
		raise ValueError(f"not fields of {GENERATOR}: {unknown}")
	values = {**values, "modified": now(), "modified_by": frappe.session.user}
	assignments = ", ".join(f"`{field}` = %({field})s" for field in values)
	frappe.db.sql(
		f"update `tab{GENERATOR}` set {assignments} where `name` = %(generator_name)s",
		{**values, "generator_name": name},
	)
	frappe.clear_document_cache(GENERATOR, name)
	frappe.db.value_cache.pop(GENERATOR, None)


def fresh_transaction() -> None:
	"""Give the next unit of work a transaction of its own, on a fresh snapshot: commit what the caller has pending,
	unless nothing has run since the last commit or rollback. Frappe opens every transaction with
	`START TRANSACTION`, and InnoDB takes a transaction's snapshot at its first read: when that is still the last
	statement the connection sent, and no commit callback is queued, the transaction has read and written nothing,
	and a commit would only cost two round trips (docs/architecture.md §4)."""
	db = frappe.db
	last = getattr(db, "last_query", None) if db.db_type == "mariadb" else None
	pristine = (
		last is not None
		and str(last).lstrip().upper().startswith("START TRANSACTION")
		and not any(
			getattr(queue, "_functions", True)
			for queue in (db.before_commit, db.after_commit, db.before_rollback, db.after_rollback)
		)
	)
	if not pristine:
		db.commit()


def lock_generators(names) -> None:
	"""Lock several generator rows, in name order (the lock order of docs/architecture.md §6), waiting."""
	for name in sorted(set(names)):
		lock_generator(name)


def lock_generators_or_skip(names) -> bool:
	"""Lock several generator rows in name order, each with SKIP LOCKED; False at the first one another worker
	holds (the rest are not tried: two workers meeting on one payer's tabs never each hold a part and wait)."""
	return all(lock_generator_or_skip(name) for name in sorted(set(names)))


def is_transient(error: Exception) -> bool:
	"""The database gave up on this transaction's locks (deadlock victim, lock wait timeout)."""
	return isinstance(error, frappe.QueryDeadlockError | frappe.QueryTimeoutError)
