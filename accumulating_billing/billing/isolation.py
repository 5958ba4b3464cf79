"""The session's transaction isolation level, switched to READ COMMITTED for two-step billing's finalize
(docs/architecture.md §7) and back, at the cost of one statement each way on a billing run.

MariaDB applies `SET SESSION TRANSACTION ISOLATION LEVEL` issued inside a transaction from the next transaction
on: the current one keeps its level. Frappe starts the next transaction in every commit and rollback, so a level set
before a commit is the level of the transaction after it. A billing run therefore sets READ COMMITTED just before
the commit of an occurrence whose invoice it submits next (`commit_into_read_committed`), and the finalize sets the
session's own level back just before its own commit (`read_committed`). Without that, each switch costs a commit
of its own, and the session's level a read: seven statements per reserved invoice where two now do.

The level each connection's session is at is kept here, per connection, so that it is read once per connection
and a finalize knows whether the run switched already. Nothing else on the site sets it (Frappe, ERPNext and
payments never do)."""

from contextlib import contextmanager
from weakref import WeakKeyDictionary

import frappe

READ_COMMITTED = "READ COMMITTED"

# MariaDB's spelling of a level (@@tx_isolation) -> the words SET TRANSACTION takes
LEVELS = {
	"READ-UNCOMMITTED": "READ UNCOMMITTED",
	"READ-COMMITTED": READ_COMMITTED,
	"REPEATABLE-READ": "REPEATABLE READ",
	"SERIALIZABLE": "SERIALIZABLE",
}

# connection -> {"own": the session's level before any switch, "now": the level its next transaction runs at}
SESSIONS: WeakKeyDictionary = WeakKeyDictionary()


def applies() -> bool:
	return frappe.db.db_type == "mariadb"


def session() -> dict:
	"""This connection's levels, its own level read once."""
	if frappe.db._conn is None:
		frappe.db.connect()  # as Frappe's first statement would: the session is the connection's
	known = SESSIONS.get(frappe.db._conn)
	if known is None:
		own = LEVELS.get(read_session_level(), "REPEATABLE READ")
		known = SESSIONS[frappe.db._conn] = {"own": own, "now": own}
	return known


def read_session_level() -> str:
	try:
		return frappe.db.sql("SELECT @@session.tx_isolation")[0][0]
	except Exception:  # a MariaDB that has dropped the old name
		return frappe.db.sql("SELECT @@session.transaction_isolation")[0][0]


def set_from_next_transaction(level: str) -> None:
	"""The session's level, from the transaction after the current one on (inside an open transaction, which
	Frappe's connection always has, MariaDB keeps the current transaction's level)."""
	if level not in LEVELS.values():
		raise ValueError(f"not an isolation level: {level}")
	state = session()
	if state["now"] != level:
		frappe.db.sql(f"SET SESSION TRANSACTION ISOLATION LEVEL {level}")
		state["now"] = level


def restore() -> None:
	"""The session's own level back, from the next transaction on."""
	set_from_next_transaction(session()["own"])


def commit_into_read_committed() -> None:
	"""Commit the current transaction so that the next one (a finalize) runs at READ COMMITTED: one statement more
	than the commit. A failed commit leaves the session's level as it was."""
	if not applies():
		frappe.db.commit()
		return
	set_from_next_transaction(READ_COMMITTED)
	try:
		frappe.db.commit()
	except BaseException:
		restore()
		raise


@contextmanager
def read_committed():
	"""Run the body in a transaction at READ COMMITTED. When the body commits, the transaction after that commit
	runs at the session's own level again (the switch back is queued before the commit). A rollback in the body
	drops the queued switch: what the body does after it (a failure recorded, a draft computed) still runs at READ
	COMMITTED, and the session is set back when the body ends. Entered right after `commit_into_read_committed`, it
	switches nothing; else the switch costs a commit. However the body or the switch ends, the session leaves at its
	own level."""
	if not applies():
		yield
		return
	state = session()
	try:
		if state["now"] != READ_COMMITTED:
			set_from_next_transaction(READ_COMMITTED)
			frappe.db.commit()  # the next transaction, the body's, starts at the session's new level
		# set inside the body's transaction, the switch back applies from the one after it
		frappe.db.before_commit.add(restore)
		yield
	finally:
		leave()


def leave() -> None:
	"""The session back at its own level now, when it is not (a finalize that ended in a rollback, a run whose
	finalize did not run): a rollback of the transaction that is open, which the caller has nothing pending in.
	Costs nothing when the session is at its own level, as after every finalize that committed."""
	if not applies() or frappe.db._conn is None:
		return
	state = SESSIONS.get(frappe.db._conn)
	if state is None or state["now"] == state["own"]:
		return
	try:
		restore()
		frappe.db.rollback()  # the next transaction starts at the session's own level
	except Exception:
		pass  # the connection is gone (the process is dying): its session, and its level, went with it
