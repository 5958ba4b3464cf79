"""A generated invoice's rows written a table at a time: one INSERT for up to ROWS_PER_INSERT rows of one
child DocType, where Frappe's `Document.insert` sends one INSERT per row (docs/architecture.md §4).

Two writers use it, below both of them:

- the reserve of two-step billing stores its draft's rows so (`store_children`, from two_step.store_reserved);
- an invoice a billing run inserts submitted in one pass (one-step billing, and the second step's `submit_stored`)
  goes through Frappe's whole insert, validation and hooks included, and only the last part of it, the writing of
  its rows, is done a table at a time (`write_together`, its before_submit): the same rows with the same values,
  at the same moment (right after the invoice's own row): a 5-line invoice's lines in one statement instead of
  five, a 5,000-line one's in fifty instead of 5,000.

The second step inserts its invoice over the draft the reserve stored (`written_over`, docs/architecture.md §7):
each row under a name the reserve stored is written over its stored row in the same one statement
(`INSERT ... ON DUPLICATE KEY UPDATE`), the invoice's own row too, and a stored row the invoice no longer lists is
deleted: no statement deletes the draft first.
"""

import frappe
from frappe.model.naming import set_new_name

# a line is about 3 KB of a statement: far below any max_allowed_packet even for a 5,000-line tab
ROWS_PER_INSERT = 100
# the instance attribute that stands in for a row's db_insert while its invoice is inserted (write_together)
STAND_IN = "db_insert"


def insert_rows(rows: list, over: bool = False) -> None:
	"""`db_insert` of new rows of one DocType, in one INSERT: the same columns and values Frappe's db_insert
	writes for each (`get_valid_dict`), one round trip for all of them. A key that refuses a row fails the whole
	statement, which wrote nothing: the rows then go one by one, through db_insert, which answers as Frappe does. A
	row name that collides (a random hash) is drawn again; a unique key (the occurrence key of a tab's row,
	schema.py) is Frappe's UniqueValidationError, as a run expects it.

	`over`: every row is stored already under its name (the reserve's draft of this invoice, whose row the caller
	holds locked) and is written over it, every column, in the same statement. The row found is the one of that
	name (the primary key is the first key MariaDB checks); a write that would give it a unique key another row
	has fails, as an UPDATE would."""
	for row in rows:
		if not row.name:
			set_new_name(row)
	values = [row.get_valid_dict(convert_dates_to_str=True, ignore_virtual=True) for row in rows]
	columns = list(values[0])  # every row of one DocType has the same valid columns (its meta's)
	placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
	# the table and column names come from the DocType's meta; every value is a parameter
	query = (
		f"INSERT INTO `tab{rows[0].doctype}` ({', '.join(f'`{column}`' for column in columns)}) "
		f"VALUES {', '.join([placeholders] * len(rows))}"
	)
	if over:
		query += " ON DUPLICATE KEY UPDATE " + ", ".join(
			f"`{column}` = VALUES(`{column}`)" for column in columns if column != "name"
		)
	try:
		frappe.db.sql(query, [row_values[column] for row_values in values for column in columns])
	except Exception as e:
		if not (frappe.db.is_primary_key_violation(e) or frappe.db.is_unique_key_violation(e)):
			raise
		for row in rows:
			type(row).db_insert(row)  # the class's own, whatever stands in for it on the row
		return
	for row in rows:
		row.set("__islocal", False)  # stored, as db_insert leaves a row


def store_children(rows: list, stored: dict[str, set[str]] | None = None) -> None:
	"""`rows` (child rows of one document, of any tables) written ROWS_PER_INSERT to a statement, table by table;
	those named in `stored` ({child DocType: names}, the rows a reserve stored) over their stored rows."""
	stored = stored or {}
	tables: dict[tuple[str, bool], list] = {}
	for row in rows:
		tables.setdefault((row.doctype, row.name in stored.get(row.doctype, ())), []).append(row)
	for (_doctype, over), table_rows in tables.items():
		for start in range(0, len(table_rows), ROWS_PER_INSERT):
			insert_rows(table_rows[start : start + ROWS_PER_INSERT], over=over)


def stored_rows(doc) -> dict[str, set[str]]:
	"""The names of `doc`'s child rows, by child DocType."""
	stored: dict[str, set[str]] = {}
	for row in doc.get_all_children():
		stored.setdefault(row.doctype, set()).add(row.name)
	return stored


def written_over(doc) -> None:
	"""Insert `doc` (next: Frappe's insert) over the rows stored under its name: the draft the reserve stored, as
	`doc` is now (its row locked by the caller; its child rows `stored_rows(doc)`). Its own row is written over
	the stored one (a stand-in for its db_insert, as `write_together` puts on its rows), and so is each child row
	of a stored name (write_together, which writes the rows of an invoice so marked whatever their number); a stored
	row the invoice no longer lists when its row is written (a tax row ERPNext's validation replaced) is deleted
	then, one statement per table that lost rows."""
	stored = doc.flags.accumulating_stored_rows = stored_rows(doc)

	def stand_in(*args, **kwargs) -> None:
		doc.__dict__.pop(STAND_IN, None)
		insert_rows([doc], over=True)
		kept = stored_rows(doc)
		for doctype, names in stored.items():
			gone = sorted(names - kept.get(doctype, set()))
			if gone:
				frappe.db.sql(
					f"delete from `tab{doctype}` where `parent` = %(parent)s and `name` in %(names)s",
					{"parent": doc.name, "names": gone},
				)

	doc.__dict__[STAND_IN] = stand_in


def write_together(doc, method=None) -> None:
	"""before_submit of a Sales Invoice: an invoice a billing run inserts submitted in one pass (new, and flagged
	`accumulating_generated` by generation.save_generated or two_step.submit_stored) has its rows written a table
	at a time. Frappe's insert writes the invoice's row, then calls each child row's `db_insert`; on each row present
	now, a stand-in takes that call: the first one writes every row that still carries a stand-in, as the rows are
	then (`store_children`), and each one removes itself when called, so that once the insert is done every row has
	its class's db_insert again. A row another hook adds after this one is written by Frappe, as always. Any other
	Sales Invoice is left to Frappe."""
	if not (doc.is_new() and doc.flags.accumulating_generated):
		return
	rows = doc.get_all_children()
	stored = doc.flags.accumulating_stored_rows  # written over a stored draft (written_over): every row here
	if len(rows) < 2 and not stored:
		return  # one row is one INSERT either way
	written = False

	def stand_in(row, *args, **kwargs) -> None:
		nonlocal written
		if not written:
			written = True
			store_children([child for child in doc.get_all_children() if STAND_IN in child.__dict__], stored)
		row.__dict__.pop(STAND_IN, None)

	for row in rows:
		row.__dict__[STAND_IN] = lambda *args, row=row, **kwargs: stand_in(row, *args, **kwargs)
