"""What the tests of a generated invoice's rows written a table at a time share (billing/child_rows.py): a stored row
against the one Frappe's db_insert would write, the writes sent, the batches written, a line name that collides."""

import re
from collections import Counter
from contextlib import contextmanager
from decimal import Decimal
from unittest.mock import patch

import frappe

from accumulating_billing.billing import child_rows


def stored_as(value):
	"""A value as written and as read back compare alike: numbers as floats, dates and times as text."""
	if isinstance(value, bool | int | float | Decimal):
		return round(float(value), 9)
	return None if value is None else str(value)


def stored_and_built(row) -> tuple[dict, dict]:
	"""A child row as its table holds it and as Frappe's db_insert would write it (`get_valid_dict`), alike."""
	stored = frappe.db.sql(f"select * from `tab{row.doctype}` where name = %s", row.name, as_dict=True)
	expected = row.get_valid_dict(convert_dates_to_str=True, ignore_virtual=True)
	return (
		{column: stored_as(value) for column, value in stored[0].items() if column in expected},
		{column: stored_as(value) for column, value in expected.items()},
	)


WRITE = re.compile(r"^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+`tab([^`]+)`", re.IGNORECASE)


@contextmanager
def writes():
	"""The INSERT, UPDATE and DELETE statements sent inside the block, counted by (INSERT | UPDATE | DELETE, table):
	yields the Counter."""
	counts: Counter = Counter()
	db = frappe.local.db
	sql = db.sql

	def counting(query, *args, **kwargs):
		found = WRITE.match(str(query))
		if found:
			counts[found.group(1).split()[0].upper(), found.group(2)] += 1
		return sql(query, *args, **kwargs)

	db.sql = counting
	try:
		yield counts
	finally:
		del db.sql  # the class's own method again


@contextmanager
def batch_sizes(rows_per_insert: int):
	"""The batches child_rows writes inside the block, as (child DocType, rows), at most `rows_per_insert` rows to a
	statement: yields the list, filled as they are written."""
	sizes = []
	real = child_rows.insert_rows

	def counting(batch, *args, **kwargs):
		sizes.append((batch[0].doctype, len(batch)))
		return real(batch, *args, **kwargs)

	with (
		patch.object(child_rows, "insert_rows", counting),
		patch.object(child_rows, "ROWS_PER_INSERT", rows_per_insert),
	):
		yield sizes


@contextmanager
def colliding_line_names():
	"""Inside the block, the second line of the first batch of Sales Invoice Items child_rows writes takes the name of
	the first, written just before (a random name that happens to be taken): yields the lines of that batch."""
	rows = []
	real = child_rows.insert_rows

	def collide(batch, *args, **kwargs):
		if batch[0].doctype == "Sales Invoice Item" and not rows:
			real(batch[:1], *args, **kwargs)
			batch[1].name = batch[0].name
			rows.extend(batch)
			batch = batch[1:]
		return real(batch, *args, **kwargs)

	with patch.object(child_rows, "insert_rows", collide):
		yield rows
