"""A DocType's row read as one JSON value, decoded to the values Frappe's own read of its document gives
(docs/architecture.md §4: the generator's row and its tab's items, as a billing run locks and reads them).

pymysql parses every column of a result in Python: its description (six strings and a struct each) and its value.
A generator row has 70 columns, and reading them cost about half of the statement that locks and reads it, once per
occurrence (0.6 ms against 0.3 ms for the same row as one `json_object`, measured). The server builds the object,
`json.loads` (C) reads it, and the few columns whose type JSON has no word for (dates, datetimes, times) are
converted with the connection's own converters, so each value is what `frappe.get_doc` would hold: a date a
`datetime.date`, a datetime what Frappe's DATETIME converter gives, a decimal a float, an int an int, NULL None.
"""

import json

from pymysql.constants import FIELD_TYPE

import frappe
from frappe.model import OPTIONAL_FIELDS

# the Frappe field types whose columns JSON gives as text, and the MySQL type whose converter Frappe's connection
# applies to them (frappe.database.mariadb.database.MariaDBConnectionUtil.CONVERSION_MAP)
TEXT_TYPED = {"Date": FIELD_TYPE.DATE, "Datetime": FIELD_TYPE.DATETIME, "Time": FIELD_TYPE.TIME}
# Frappe's standard datetime columns (frappe.model.default_fields)
STANDARD_DATETIMES = ("creation", "modified")


# what per_meta made, by its key: (the DocType's meta it was made from, the value)
MADE: dict = {}


def per_meta(doctype: str, key: tuple, make):
	"""`make()`, made once for as long as Frappe holds the same meta of `doctype` (a statement's text, a decoder):
	a billing run made them again on every occurrence (a tenth of a millisecond). Frappe loads a DocType's meta
	anew when it changes (a custom field added, `clear_cache`), and per site and per job: a new meta is a new
	object, so the value is made again from it. The meta is held with the value, so it is never another's."""
	meta = frappe.get_meta(doctype)
	made = MADE.get((doctype, key))
	if made is None or made[0] is not meta:
		made = MADE[(doctype, key)] = (meta, make())
	return made[1]


def row_object(doctype: str, columns: tuple[str, ...] | None = None) -> str:
	"""The SQL expression of a row of `doctype` as one JSON object of `columns` (the code's own names), or of every
	column of its table that the DocType knows (`document_columns`), for a statement whose FROM is `tab<doctype>`."""
	return per_meta(doctype, ("row_object", columns), lambda: make_row_object(doctype, columns))


def make_row_object(doctype: str, columns: tuple[str, ...] | None) -> str:
	meta = frappe.get_meta(doctype)
	columns = columns or document_columns(doctype)
	# a JSON field's column MariaDB would nest as an object: read as its text, as Frappe reads it
	nested = {df.fieldname for df in meta.fields if df.fieldtype == "JSON"}
	return (
		"json_object("
		+ ", ".join(
			f"'{column}', cast(`{column}` as char)" if column in nested else f"'{column}', `{column}`"
			for column in columns
		)
		+ ")"
	)


def document_columns(doctype: str) -> list[str]:
	"""The columns of `doctype`'s table that its document holds: Frappe's standard and optional columns and its
	fields' (`Meta.get_valid_columns`), each of a type the DocType declares, so `decoder` knows how to read it. A
	column its table keeps from a deleted custom field (Frappe does not drop it) is not read: `SELECT *` would read
	it, but no field of the document is it, and its type is not known. The names come from the table's schema
	(Frappe's cached list of it), so a field whose column does not exist yet is not asked for."""
	meta = frappe.get_meta(doctype)
	known = {*meta.get_valid_columns(), *OPTIONAL_FIELDS}
	return [column for column in frappe.db.get_table_columns(doctype) if column in known]


def decoder(doctype: str, columns: tuple[str, ...] | None = None):
	"""A function that decodes one row `row_object` read to what `frappe.db.sql(..., as_dict=True)` gives for the
	same columns (`columns`, as given to row_object; all of the document's when None). Made once for the rows of
	one statement: which of the columns need a converter is decided once, so a row costs the conversions of its
	own text-typed columns only (a tab's item: its service date, among the 18 columns billing reads)."""
	return per_meta(doctype, ("decoder", columns), lambda: make_decoder(doctype, columns))


def make_decoder(doctype: str, columns: tuple[str, ...] | None):
	conversions = frappe.db.CONVERSION_MAP
	typed = [(column, conversions[FIELD_TYPE.DATETIME]) for column in STANDARD_DATETIMES] + [
		(df.fieldname, conversions[TEXT_TYPED[df.fieldtype]])
		for df in frappe.get_meta(doctype).fields
		if df.fieldtype in TEXT_TYPED
	]
	if columns is not None:
		typed = [(column, convert) for column, convert in typed if column in columns]

	def decode(text: str) -> frappe._dict:
		row = frappe._dict(json.loads(text))
		for column, convert in typed:
			value = row.get(column)
			if value is not None:
				row[column] = convert(value)
		return row

	return decode
