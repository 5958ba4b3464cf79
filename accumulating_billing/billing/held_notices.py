"""The notices of lines held on billing day: one message per recipient per billing run, listing the lines it held.

An item disabled across thousands of tabs is held on each of them in one billing run; one message per held line
would flood the inboxes of the people alerted. So the hold only owes its notice: in the occurrence's transaction
each held line gets `hold_notice` Pending (held.py), and after the run one message per recipient lists them.

**A billing run** is one call of a billing entry point: one scheduler billing job (`tasks.process_share`, through
`tasks.process_chunk`), one `tasks.process_due` (the CLI, the demo, tests), one `generation.run_generator` called
on its own, one Generate Now. At its end (`send_notices`, with the generators it ran), each person alerted about
those generators (their owners and the Accounts Managers: generation_log.people_to_alert) gets one Alert, in their
own language, naming every line the run held on a generator of theirs, with ERPNext's reason, and linking to the
item list filtered to those lines (`/app/accumulating-generator-item?hold_notice=<key>`).

**Never lost, never twice.** The notice is owed in the hold's own transaction, so a rollback takes the hold and
what it owes back together. Sending claims the owed lines with a locking read that skips rows another sender holds,
writes the messages and stamps the lines with the notice's key, and commits: a crash before that commit leaves the
lines owed, a second sender finds nothing owed. A run that dies before it sends leaves them owed for the next run
of those generators, or for the hourly sweep (`send_owed_notices`), which takes what has been owed for longer than
a billing job can run, so it never splits a running job's message.
"""

import json
from collections import defaultdict
from urllib.parse import quote

import frappe
from frappe import _
from frappe.translate import print_language
from frappe.utils import add_to_date, escape_html, get_url, now_datetime

from accumulating_billing.billing.by_names import BY_NAMES, BY_PRIMARY_KEY, placeholders
from accumulating_billing.billing.generation_log import people_to_alert
from accumulating_billing.billing.item_status import NOTICE_PENDING, ON_HOLD
from accumulating_billing.doctypes import GENERATOR, ITEM

# the hourly sweep leaves alone what is owed for less than this: a billing job may still be running and send it
SWEEP_AFTER_MINUTES = 60
# a message lists this many lines; the link lists them all
LISTED = 50


def announce(generators) -> list[str]:
	"""The end of a billing run: `send_notices`, which never fails the run (what it could not send stays owed,
	for the next run of those generators or the hourly sweep)."""
	try:
		return send_notices(generators)
	except Exception:
		frappe.db.rollback()
		frappe.log_error(
			title=_("Accumulating Billing: notices of held lines not sent; the hourly sweep will")
		)
		return []


def send_notices(generators) -> list[str]:
	"""At the end of a billing run: one message per recipient for the lines held on `generators` that still owe
	their notice (this run's, and any an earlier run left owed). Returns the notified lines. Commits."""
	wanted = set(generators or ())
	if not wanted:
		return []
	owed = frappe.get_all(ITEM, filters={"hold_notice": NOTICE_PENDING}, fields=["name", "generator"])
	return notify([row.name for row in owed if row.generator in wanted])


def send_owed_notices() -> list[str]:
	"""Hourly: what a run that died before sending left owed (older than any billing job runs)."""
	cutoff = add_to_date(now_datetime(), minutes=-SWEEP_AFTER_MINUTES)
	return notify(
		frappe.get_all(ITEM, filters={"hold_notice": NOTICE_PENDING, "modified": ("<", cutoff)}, pluck="name")
	)


def notify(names: list[str]) -> list[str]:
	"""Claim `names` that still owe their notice, send one message per recipient, stamp them; commit. Lines a
	concurrent sender holds are skipped (it sends them); lines released meanwhile are stamped, not named."""
	if not names:
		return []
	frappe.db.commit()  # nothing of the caller is pending: the claim is this transaction's alone
	# by primary key, locking only the named lines (by_names.py)
	rows = frappe.db.sql(
		f"{BY_NAMES}select `name`, `generator`, `item_code`, `hold_reason`, `status` from `tab{ITEM}` "
		f"{BY_PRIMARY_KEY} where `name` in ({placeholders(names)}) and `hold_notice` = %s "
		"order by `generator`, `name` for update skip locked",
		[*names, NOTICE_PENDING],
		as_dict=True,
	)
	if not rows:
		frappe.db.rollback()
		return []
	key = f"{now_datetime():%Y%m%d%H%M%S}-{frappe.generate_hash(length=6)}"
	held = [row for row in rows if row.status == ON_HOLD]
	if held:
		send(key, held)
	frappe.db.sql(
		f"update `tab{ITEM}` {BY_PRIMARY_KEY} set `hold_notice` = %(key)s "
		"where `name` in %(names)s and `hold_notice` = %(pending)s",
		{"key": key, "names": tuple(row.name for row in rows), "pending": NOTICE_PENDING},
	)
	frappe.db.commit()
	return [row.name for row in held]


def send(key: str, held: list) -> None:
	"""One Alert per recipient, about the held lines of the generators they are alerted about."""
	from frappe.desk.doctype.notification_settings.notification_settings import is_notifications_enabled

	generators = {
		g.name: g
		for g in frappe.get_all(
			GENERATOR,
			filters={"name": ("in", sorted({row.generator for row in held}))},
			fields=["name", "customer", "owner"],
		)
	}
	lines_of = defaultdict(list)  # recipient -> their lines
	for owner in sorted({g.owner for g in generators.values()}):
		users = [user for user in people_to_alert(owner) if is_notifications_enabled(user)]
		for row in held:
			if generators[row.generator].owner == owner:
				for user in users:
					lines_of[user].append(row)
	if not lines_of:
		return
	languages = dict(
		frappe.get_all(
			"User", filters={"name": ("in", list(lines_of))}, fields=["name", "language"], as_list=1
		)
	)
	everything = len(held)
	for user, lines in lines_of.items():
		with print_language(languages.get(user) or None):
			message = compose(lines, generators)
		log = frappe.new_doc("Notification Log")
		log.update(
			{
				"type": "Alert",
				"for_user": user,
				"document_type": ITEM,
				"subject": message["subject"],
				"email_content": message["content"],
				"link": list_link(key, None if len(lines) == everything else lines),
			}
		)
		log.insert(ignore_permissions=True)


def compose(lines: list, generators: dict) -> dict:
	"""The subject and the listing of one recipient's lines, in the current language."""
	if len(lines) == 1:
		row = lines[0]
		generator = generators[row.generator]
		subject = _(
			"Accumulating Generator {0} ({1}): line {2} ({3}) is on hold and was not billed: {4}"
		).format(generator.name, generator.customer, row.name, row.item_code, (row.hold_reason or "")[:300])
	else:
		subject = _(
			"{0} lines on {1} Accumulating Generators are on hold and were not billed: ERPNext refuses them."
		).format(len(lines), len({row.generator for row in lines}))
	by_generator = defaultdict(list)
	for row in lines[:LISTED]:
		by_generator[row.generator].append(row)
	parts = []
	for name, rows in by_generator.items():
		generator = generators[name]
		heading = _("Accumulating Generator {0} ({1})").format(generator.name, generator.customer)
		items = "".join(
			"<li>{}</li>".format(
				escape_html(
					_("line {0} ({1}): {2}").format(row.name, row.item_code, (row.hold_reason or "")[:300])
				)
			)
			for row in rows
		)
		parts.append(f"<p>{escape_html(heading)}</p><ul>{items}</ul>")
	if len(lines) > LISTED:
		parts.append(
			"<p>{}</p>".format(
				escape_html(_("and {0} more: the link lists them all.").format(len(lines) - LISTED))
			)
		)
	parts.append(
		"<p>{}</p>".format(
			escape_html(_("Correct the cause, then release the lines on their generator (Release)."))
		)
	)
	return {"subject": subject, "content": "".join(parts)}


def list_link(key: str, lines: list | None) -> str:
	"""The item list filtered to the lines of this notice (to a recipient's own generators when they are not
	alerted about all of them)."""
	url = f"/app/accumulating-generator-item?hold_notice={quote(key)}"
	if lines is not None:
		generators = sorted({row.generator for row in lines})
		url += "&generator=" + quote(json.dumps(["in", generators], separators=(",", ":")))
	return get_url(url)
