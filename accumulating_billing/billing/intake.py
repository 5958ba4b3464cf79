"""Batch intake (issue 30): `api.add_items`, items by the thousand in one call, as other systems send them
(metered hosting, API calls, backups, support minutes). README: Usage at scale ▸ Batch intake.

Each item of a batch is what `api.add_item` takes and gets what `add_item` would answer, in the same order: its
name when it is on the tab, or the message `add_item` would refuse it with. A bad item never blocks the good ones.

- **The same checks, each read once.** Permission per distinct generator (`permitted_generator`: an unknown and a
  forbidden generator get the same answer), then the items' own checks, which are the item form's
  (`items.check_lines`: one order of checks, one message each), reading each distinct generator, UOM and price
  once and running ERPNext's per-line rules once for the batch.
- **Idempotent.** An item whose `client_ref` is already on that tab answers the existing item (whatever its
  status: a voided item is not brought back by a retry), and so does a repeat of a `client_ref` within the batch
  after its first good item; a retried batch writes nothing. Two callers sending the same `client_ref` at once:
  the database's unique key (generator, client_ref) lets one row in, the other caller answers that row.
- **Rows written in bulk**, one multi-row INSERT IGNORE, with everything the item controller sets (name, owner,
  creation, added_by, status, customer, company, currency, amount, docstatus, idx…); then `after_items_added`
  once for the generators that received items, as the controller's after_insert does for one. Names are
  Frappe's own random names for this DocType (autoname "hash": its time prefix and 7 random base32 characters,
  `new_names`), made in Python for the whole batch at once: no counter row, so parallel batches never wait on each
  other for names (a name collision is retried with fresh names).
- **A site that hooks item inserts** (a Server Script, Notification, Webhook, Workflow, Frappe Assignment
  Rule, Energy Point Rule, Milestone Tracker or Service Level Agreement on Accumulating Generator Item, an
  Accumulating Assignment Rule on it, or another app's doc_events on it) gets every hook run: the batch then
  inserts its good items through the document API, one by one, after the same checks.
"""

import inspect
import json
from base64 import b32hexencode
from datetime import timedelta
from secrets import token_bytes

import frappe
from frappe import _
from frappe.model.naming import _get_timestamp_prefix
from frappe.utils import now_datetime

from accumulating_billing.billing import items as item_rules
from accumulating_billing.billing import rules
from accumulating_billing.billing.item_status import LINE_VALUES, UNBILLED
from accumulating_billing.billing.permissions import permitted_generator
from accumulating_billing.doctypes import ITEM

MAX_ITEMS = 1000
SAVEPOINT = "accumulating_add_items"
INSERT_ATTEMPTS = 4


def item_arguments(
	generator: str,
	item_code: str,
	qty: float = 1,
	rate: float | None = None,
	description: str | None = None,
	service_date: str | None = None,
	client_ref: str | None = None,
	discount_percentage: float | None = None,
	uom: str | None = None,
) -> None:
	"""The arguments of one item of a batch: `api.add_item`'s, with the same types (a test compares them).
	Frappe's own type check of whitelisted arguments runs on it, so a wrong type gets add_item's answer."""


ARGUMENTS = inspect.signature(item_arguments).parameters
TEXT = frozenset(("generator", "item_code", "description", "service_date", "client_ref", "uom"))
REQUIRED = frozenset(("generator", "item_code"))
# the fields of a new item a batch writes, from its line (the others are empty, as on a new item the form saves)
LINE_FIELDS = ("generator", "customer", "company", "currency", "service_date", *LINE_VALUES, "client_ref")
# and the same for every item of a call: status, docstatus, idx, and the user (owner, modified_by, added_by)
CONSTANT_FIELDS = ("status", "docstatus", "idx", "owner", "modified_by", "added_by")


def add_items(entries: list) -> list[dict]:
	"""Add `entries` (at most MAX_ITEMS dicts of add_item's arguments) to their tabs. Returns, in their order,
	{"client_ref", "name"} for each item on its tab and {"client_ref", "error"} for each refused one."""
	if len(entries) > MAX_ITEMS:
		frappe.throw(
			_("At most {0} items per call; this call has {1}. Send them in several calls.").format(
				MAX_ITEMS, len(entries)
			),
			title=_("Too many items"),
		)
	answers: list[dict] = [{"client_ref": client_ref_of(entry)} for entry in entries]
	lines: dict[int, frappe._dict] = {}
	for position, entry in enumerate(entries):
		error = None
		try:
			lines[position] = line_of(entry)
		except (frappe.ValidationError, frappe.FrappeTypeError) as e:
			error = str(e)
		if error:
			answers[position]["error"] = error
	refuse_forbidden(lines, answers)
	existing = existing_refs(lines.values())
	candidates = [p for p, line in lines.items() if (line.generator, line.client_ref) not in existing]
	refused = item_rules.check_lines([lines[p] for p in candidates], item_rules.Lookups())
	refused = {candidates[k]: message for k, message in refused.items()}
	to_write, repeats = resolve(lines, existing, refused, answers)
	if to_write:
		write(to_write, answers)
	for position, first in repeats.items():  # a repeated reference answers what its first item got
		answers[position]["name"] = answers[first]["name"]
	frappe.clear_messages()  # every refusal is in its answer; nothing of it goes to the caller as a message
	return answers


def client_ref_of(entry) -> str | None:
	ref = entry.get("client_ref") if isinstance(entry, dict) else None
	return (ref.strip() or None) if isinstance(ref, str) else None


def line_of(entry) -> frappe._dict:
	"""The item's arguments, typed as add_item's are (Frappe's own check, so the same refusal), as a line."""
	if not isinstance(entry, dict):
		frappe.throw(
			_("Each item must be an object with the fields add_item takes (generator, item_code, qty…).")
		)
	values = {key: entry[key] for key in ARGUMENTS if key in entry}
	if not all(typed_already(key, value) for key, value in values.items()) or REQUIRED - set(values):
		from frappe.utils.typing_validations import transform_parameter_types

		missing = sorted(REQUIRED - set(values))
		if missing:
			frappe.throw(_("Missing argument(s): {0}").format(", ".join(missing)))
		_args, values = transform_parameter_types(item_arguments, (), values)
	return frappe._dict(
		generator=values["generator"],
		item_code=values["item_code"],
		qty=values.get("qty", ARGUMENTS["qty"].default),
		rate=values.get("rate"),
		description=values.get("description"),
		service_date=values.get("service_date"),
		client_ref=(values.get("client_ref") or "").strip() or None,
		discount_percentage=values.get("discount_percentage") or 0,
		uom=values.get("uom"),
	)


def typed_already(key: str, value) -> bool:
	"""The value already has its argument's type (the common case, checked without pydantic)."""
	if value is None:
		return key not in REQUIRED and key != "qty"
	if key in TEXT:
		return isinstance(value, str)
	return isinstance(value, int | float) and not isinstance(value, bool)


def refuse_forbidden(lines: dict, answers: list) -> None:
	"""Permission per distinct generator: the user may select or read it (add_item's check); an unknown generator
	is refused like a forbidden one (permitted_generator). Refused lines leave `lines` with add_item's message."""
	verdicts: dict[str, tuple] = {}
	for position in list(lines):
		name = lines[position].generator
		key = name.lower() if isinstance(name, str) else name
		if key not in verdicts:
			before = len(frappe.local.message_log)
			try:
				verdicts[key] = (permitted_generator(name, "select", "read"), None)
			except (frappe.PermissionError, frappe.ValidationError) as e:
				verdicts[key] = (None, str(e))
			del frappe.local.message_log[before:]
		stored, error = verdicts[key]
		if error:
			answers[position]["error"] = error
			del lines[position]
		else:
			lines[position].generator = stored


def existing_refs(lines, latest: bool = False) -> dict[tuple, str]:
	"""{(generator, client_ref): item name} of the lines' references already on their tabs (the unique key's
	index). `latest`: a shared locking read, which sees what other transactions committed since this one began
	(shared: an INSERT IGNORE that met those rows holds shared locks on them too, and so may another caller's)."""
	pairs = {(line.generator, line.client_ref) for line in lines if line.client_ref}
	if not pairs:
		return {}
	# the unique key's index, looked up once per pair (eq_ref); the pairs as one JSON parameter, as insert_many
	# passes its rows (a thousand references escaped one by one cost a twentieth of the call)
	rows = frappe.db.sql(
		"select i.`generator`, i.`client_ref`, i.`name` from JSON_TABLE(%s, '$[*]' COLUMNS("
		"`g` varchar(140) PATH '$[0]', `r` varchar(140) PATH '$[1]')) AS j "
		f"straight_join `tab{ITEM}` i on i.`generator` = j.`g` and i.`client_ref` = j.`r`"
		+ (" lock in share mode" if latest else ""),
		[json.dumps(sorted(pairs), ensure_ascii=False, separators=(",", ":"))],
	)
	found = {}
	# the database compares references as its collation does (case and trailing spaces aside): so does this
	by_key = {(g.lower(), r.lower()): (g, r) for g, r in pairs}
	for generator, ref, name in rows:
		pair = by_key.get((generator.lower(), ref.lower()))
		if pair:
			found[pair] = name
	return found


def resolve(lines: dict, existing: dict, refused: dict, answers: list) -> tuple[dict, dict]:
	"""In the items' order, as successive add_item calls would answer: an existing reference answers its item;
	a reference repeated after its first good item answers that item; a refused item its message; every other
	item is written. Returns ({position: line to write, with its new name}, {position of a repeat: position of
	its first}): the first may still change its name when it is written (write)."""
	to_write, repeats = {}, {}
	firsts: dict[tuple, int] = {}
	names = new_names(len(lines))
	for position, line in lines.items():
		key = (line.generator.lower(), line.client_ref.lower()) if line.client_ref else None
		pair = (line.generator, line.client_ref)
		if line.client_ref and pair in existing:
			answers[position]["name"] = existing[pair]
		elif key and key in firsts:
			repeats[position] = firsts[key]
		elif position in refused:
			answers[position]["error"] = refused[position]
		else:
			line.name = answers[position]["name"] = next(names)
			if key:
				firsts[key] = position
			to_write[position] = line
	return to_write, repeats


def new_names(count: int):
	"""`count` names as Frappe's autoname "hash" makes them one by one (frappe.model.naming.make_autoname: a time
	and request prefix of 4 characters, then 7 random base32hex characters), from one read of random bytes: 5
	random bytes are 8 base32 characters, of which the first 7 are taken."""
	prefix = _get_timestamp_prefix()
	chars = b32hexencode(token_bytes(5 * count)).decode().lower()
	return iter([(prefix + chars[k : k + 7])[:10] for k in range(0, 8 * count, 8)])


def write(to_write: dict, answers: list) -> None:
	"""Insert the lines (bulk, or one by one through the document API on a site that hooks item inserts), then
	what follows new items, once per generator."""
	if inserts_are_hooked():
		added = insert_documents(to_write, answers)
	else:
		added = insert_rows(to_write, answers)
	if not added:
		return
	item_rules.after_items_added(
		dict.fromkeys(line.generator for line in added)
	)  # values not at hand: looked up
	# the desk's open lists of items refresh once for the batch, as they do for an item saved in a form
	frappe.publish_realtime(
		"list_update",
		{"doctype": ITEM, "name": added[-1].name, "user": frappe.session.user},
		after_commit=True,
	)


def insert_rows(to_write: dict, answers: list) -> list[frappe._dict]:
	"""One multi-row INSERT IGNORE of the lines. A row the database skips as a duplicate is a client_ref another
	caller wrote meanwhile (the insert waits for that caller's commit), or a random name that collided: the
	skipped rows' references are read with a locking read (the latest committed; only rows that exist, so no gap
	is locked), those found answer the existing item, and the rest is inserted again under fresh names. Nothing is
	rolled back, so parallel callers never lose work to each other. (IGNORE also turns bad values into warnings:
	the checks above let none through, and rows_of writes nothing unchecked.)"""
	now, user = now_datetime(), frappe.session.user
	pending = dict(to_write)
	added: list[frappe._dict] = []
	for _attempt in range(INSERT_ATTEMPTS):
		rows = rows_of(pending, now)
		insert_many(rows, user)
		if frappe.db._cursor.rowcount == len(rows):
			return added + list(pending.values())
		# which rows are ours: a name that collided names another row, created at another time
		created = {row[0]: row[1] for row in rows}
		ours = {
			name
			for name, creation in frappe.db.sql(
				f"select `name`, `creation` from `tab{ITEM}` where `name` in %s", [tuple(created)]
			)
			if creation == created[name]
		}
		skipped = {position: line for position, line in pending.items() if line.name not in ours}
		added += [line for line in pending.values() if line.name in ours]
		taken = existing_refs(skipped.values(), latest=True)
		pending = {}
		names = new_names(len(skipped))
		for position, line in skipped.items():
			pair = (line.generator, line.client_ref)
			if line.client_ref and pair in taken:
				answers[position]["name"] = taken[pair]
			else:
				line.name = answers[position]["name"] = next(names)
				pending[position] = line
		if not pending:
			return added
	frappe.throw(_("The items could not be written: try again."))


def rows_of(lines: dict, now) -> list[tuple]:
	"""The rows of the lines as the item form saves a new item: (name, creation, *LINE_FIELDS; modified is creation): the
	values the checks completed, text sanitized as Frappe sanitizes it on save. Creation follows the items' order
	(a microsecond apart) so that lists sorted by creation show them as sent; inserted in (generator, client_ref)
	order, so that two callers sending the same references lock them in the same order."""
	rows = []
	description, ref = LINE_FIELDS.index("description"), LINE_FIELDS.index("client_ref")
	for position, line in lines.items():
		created = now + timedelta(microseconds=position)
		values = [line.get(field) for field in LINE_FIELDS]
		values[description] = as_frappe_saves(values[description])
		values[ref] = as_frappe_saves(values[ref])
		rows.append((line.name, created, *values))
	generator, ref = 2 + LINE_FIELDS.index("generator"), 2 + ref
	return sorted(rows, key=lambda row: (row[ref] is None, (row[generator] or "").lower(), row[ref] or ""))


def insert_many(rows: list[tuple], user: str) -> None:
	"""One INSERT IGNORE of all the rows, read by the database from one JSON parameter (JSON_TABLE, MariaDB 10.6
	as Frappe v15 requires), its columns typed as the table's; what every row shares, its status and user, is
	written once. Passing the values one by one costs half the call in escaping (23,000 of them for 1,000 items);
	frappe.db.bulk_insert builds that statement through pypika, at a tenth of the speed."""
	columns = ("name", "creation", "modified", *LINE_FIELDS, *CONSTANT_FIELDS)
	values = ("j.`name`", "j.`creation`", "j.`creation`", *(f"j.`{field}`" for field in LINE_FIELDS))
	user = frappe.db.escape(user)
	constants = (frappe.db.escape(UNBILLED), "0", "0", user, user, user)
	frappe.db.sql(
		f"INSERT IGNORE INTO `tab{ITEM}` ({', '.join(f'`{c}`' for c in columns)}) "
		f"SELECT {', '.join((*values, *constants))} FROM JSON_TABLE(%s, '$[*]' COLUMNS({json_columns()})) AS j",
		[json.dumps(rows, ensure_ascii=False, default=str, separators=(",", ":"))],
	)


def json_columns() -> str:
	"""The JSON_TABLE columns of a row of rows_of: the position in the row, typed as the table's column."""
	meta = frappe.get_meta(ITEM)
	columns = ["`name` varchar(140) PATH '$[0]'", "`creation` datetime(6) PATH '$[1]'"]
	for position, field in enumerate(LINE_FIELDS, 2):
		kind, size = frappe.db.type_map[meta.get_field(field).fieldtype]
		columns.append(f"`{field}` {kind}{f'({size})' if size else ''} PATH '$[{position}]'")
	return ", ".join(columns)


def as_frappe_saves(value):
	"""A text value as Frappe's save stores it (BaseDocument._sanitize_content): HTML sanitized against XSS."""
	if not value or not isinstance(value, str) or ("<" not in value and ">" not in value):
		return value
	if "<!-- markdown -->" in value:
		from bs4 import BeautifulSoup

		if not BeautifulSoup(value, "html.parser").find():
			return value
	from frappe.utils.html_utils import sanitize_html

	return sanitize_html(value, linkify=False)


def insert_documents(to_write: dict, answers: list) -> list[frappe._dict]:
	"""The lines through the document API, each in a savepoint of its own: every hook of the site runs."""
	added = []
	generators = {line.generator: item_rules.generator_values(line.generator) for line in to_write.values()}
	for position, line in to_write.items():
		doc = frappe.get_doc(
			{
				"doctype": ITEM,
				**{field: line.get(field) for field in LINE_FIELDS},
			}
		)
		doc.flags.generator_values = generators[line.generator]
		doc.flags.ignore_links = True  # the checks above checked every link
		frappe.db.savepoint(SAVEPOINT)
		before = len(frappe.local.message_log)
		try:
			doc.insert()
		except (frappe.ValidationError, frappe.PermissionError) as e:
			frappe.db.rollback(save_point=SAVEPOINT)
			del frappe.local.message_log[before:]
			existing = existing_refs([line], latest=True) if line.client_ref else {}
			if existing:
				answers[position]["name"] = next(iter(existing.values()))
			else:
				answers[position].pop("name", None)
				answers[position]["error"] = str(e)
			continue
		frappe.db.release_savepoint(SAVEPOINT)
		answers[position]["name"] = line.name = doc.name
		added.append(line)
	return added


# ------------------------------------------------------------------------------------------ hooked inserts

# doc_events of every document (frappe's, erpnext's, this app's) that act only through the records checked in
# inserts_are_hooked (a Workflow, an Assignment Rule, an Energy Point Rule…) or do nothing for a new tab item
KNOWN_GENERIC_HOOKS = frozenset(
	(
		"frappe.desk.notifications.clear_doctype_notifications",
		"frappe.workflow.doctype.workflow_action.workflow_action.process_workflow_actions",
		"frappe.core.doctype.file.utils.attach_files_to_document",
		"frappe.automation.doctype.assignment_rule.assignment_rule.apply",
		"frappe.automation.doctype.assignment_rule.assignment_rule.update_due_date",
		"frappe.core.doctype.user_type.user_type.apply_permissions_for_non_standard_user_type",
		"frappe.social.doctype.energy_point_rule.energy_point_rule.process_energy_points",
		"frappe.automation.doctype.milestone_tracker.milestone_tracker.evaluate_milestone",
		"erpnext.support.doctype.service_level_agreement.service_level_agreement.apply",
		"erpnext.setup.doctype.transaction_deletion_record.transaction_deletion_record.check_for_running_deletion_job",
		"accumulating_billing.billing.rules.on_document_event",
	)
)
INSERT_EVENTS = ("before_insert", "validate", "before_save", "after_insert", "on_update", "on_change")
# a record of one of these DocTypes on the item DocType hooks its inserts: (DocType, its field naming the DocType)
HOOKING_RECORDS = (
	("Server Script", "reference_doctype", {"disabled": 0, "script_type": "DocType Event"}),
	("Notification", "document_type", {"enabled": 1}),
	("Webhook", "webhook_doctype", {"enabled": 1}),
	("Workflow", "document_type", {"is_active": 1}),
	("Assignment Rule", "document_type", {"disabled": 0}),
	("Energy Point Rule", "reference_doctype", {"enabled": 1}),
	("Milestone Tracker", "document_type", {"disabled": 0}),
	("Service Level Agreement", "document_type", {"enabled": 1}),
)


def inserts_are_hooked() -> bool:
	"""Whether anything on the site runs when an item is inserted, besides what `write` does itself (one query for
	the records that would hook it)."""
	hooks = frappe.get_hooks("doc_events")
	for doctype in ("*", ITEM):
		for event in INSERT_EVENTS:
			if set(hooks.get(doctype, {}).get(event, [])) - KNOWN_GENERIC_HOOKS:
				return True
	if rules.enabled_rules().get(ITEM):
		return True
	checks, values = [], []
	for doctype, field, conditions in HOOKING_RECORDS:
		where = " and ".join(f"`{column}` = %s" for column in (field, *conditions))
		checks.append(f"exists(select 1 from `tab{doctype}` where {where})")
		values += [ITEM, *conditions.values()]
	return bool(frappe.db.sql(f"select {' or '.join(checks)}", values)[0][0])
