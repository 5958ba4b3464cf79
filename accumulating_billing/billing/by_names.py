"""Statements on rows named in a list (docs/architecture.md §6): a billing run's locking read and billed mark of its
tab's items, the claim and stamp of held lines' notices, a question's held lines.

Such a statement reaches each named row by primary key and no other row, whatever share of the table the names are,
so that it locks only those rows: adders of new items and runs of other tabs never wait on it. MariaDB turns an IN
list of `in_predicate_conversion_threshold` (1,000) values or more into a join with a table of them, and with a long
list, or one that is a large share of the table, its optimizer scans the whole table instead; a locking read or an
update that scans locks every row it reads and the gaps between them. Billing a tab that was 5,000 of a site's 7,400
items held every other tab's items and blocked every insert until its commit
(accumulating_billing/tests/test_tab_locks.py). Without the conversion (`BY_NAMES`, before a SELECT) and with the
primary key forced (`BY_PRIMARY_KEY`, after the table), it is a range read of the names on the primary key.
"""

BY_NAMES = "set statement in_predicate_conversion_threshold = 0 for "
BY_PRIMARY_KEY = "force index (primary)"


def placeholders(values: list) -> str:
	"""`%s, %s, …` for a list of values passed as parameters: a tab's thousands of names in an IN list, which
	frappe.qb would render value by value in Python (seconds for 100,000 names)."""
	return ", ".join(["%s"] * len(values))
