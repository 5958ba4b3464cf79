"""Void and amend (issue 30): a person takes a wrong line off a tab, or corrects it, without deleting its history
(README: Usage at scale ▸ Void and amend).

- **Void**: the item becomes *Voided*, with the reason (`void_reason`), who (`voided_by`) and when (`voided_on`).
  It stays: never billed, never shown to the customer, listed in the tab's history and shown on its form.
- **Amend**: the item is voided and its replacement added with the corrected values, through the item form's
  own checks (a replacement ERPNext would refuse is refused, and nothing changes). The replacement names the item
  it replaces in `amended_from`; the item's `client_ref` moves to it, so a retried add answers the line as it is
  now. The replacement is an ordinary unbilled line: the next invoice bills it, once.
- **Which lines**: only lines no invoice bills (Unbilled or On Hold); a billed line is corrected with a credit
  note. Lines that a Timesheet, a Delivery Note or a late fee brought follow their document, as for editing.
- **Who**: billing staff (System Manager, Accounts Manager, Accounts User) any such line, at any time; anyone else
  who may read the line (an Accumulating Billing Contributor) only a line they added themselves, within
  *Accumulating Billing Settings ▸ Contributors May Void or Amend Their Items For (Hours)* of adding it (24 when
  not set). The API checks that the caller may read the line first (unknown and forbidden alike).
- **Locks**: the generator row first, then the item (billing/locks.py), as a billing run takes them: a void
  waits for a run of its tab to commit, and finds its line billed then; a run never bills a line voided first.
"""

from datetime import timedelta

import frappe
from frappe import _
from frappe.utils import cint, get_datetime, now_datetime

from accumulating_billing.billing import items as item_rules
from accumulating_billing.billing import locks
from accumulating_billing.billing.item_status import (
	BILLED,
	ON_HOLD,
	VOIDABLE,
	VOIDED,
	update_held_count,
)
from accumulating_billing.billing.permissions import is_billing_staff
from accumulating_billing.doctypes import GENERATOR, ITEM, SETTINGS

DEFAULT_CONTRIBUTOR_HOURS = 24
SAVEPOINT = "accumulating_amend"
# what a replacement takes from the item it replaces, unless the amendment changes it
COPIED = (
	"generator",
	"item_code",
	"qty",
	"uom",
	"rate",
	"discount_percentage",
	"description",
	"service_date",
)
# what is read of an item to change it
FIELDS = (
	"name",
	"status",
	"sales_invoice",
	"added_by",
	"creation",
	"source_doctype",
	"source_name",
	"client_ref",
	*COPIED,
)
AMENDABLE = ("qty", "rate", "description", "service_date")


def void(item: str, reason: str | None) -> None:
	"""Void `item` (its name as stored) with `reason`, in the caller's transaction."""
	row = lock_for_change(item, _("voided"))
	reason = (reason or "").strip()
	if not reason:
		frappe.throw(_("Give the reason for voiding the item."), title=_("Reason required"))
	set_voided(row, reason)
	note(row.name, _("Voided: {0}").format(reason))


def amend(item: str, changes: dict) -> str:
	"""Void `item` and add its replacement with `changes` (qty, rate, description, service_date; None: kept), in
	the caller's transaction. Returns the replacement's name."""
	row = lock_for_change(item, _("amended"))
	changes = {
		field: value for field, value in changes.items() if field in AMENDABLE and value not in (None, "")
	}
	if not changes:
		frappe.throw(
			_("Nothing to amend: give a new quantity, rate, description or service date."),
			title=_("Nothing to amend"),
		)
	frappe.db.savepoint(SAVEPOINT)
	try:
		# the reference moves to the replacement (one per tab: the unique key), the item gives it up first
		set_voided(row, None, give_up_ref=True)
		replacement = frappe.get_doc(
			{
				"doctype": ITEM,
				**{field: row.get(field) for field in COPIED},
				**changes,
				"client_ref": row.client_ref,
			}
		)
		replacement.insert()
	except Exception:
		frappe.db.rollback(save_point=SAVEPOINT)
		raise
	frappe.db.release_savepoint(SAVEPOINT)
	reason = _("Amended: replaced by {0}").format(replacement.name)
	frappe.db.set_value(ITEM, row.name, "void_reason", reason, update_modified=False)
	# set after the insert: Frappe's insert treats `amended_from` as the amendment of a cancelled document
	frappe.db.set_value(ITEM, replacement.name, "amended_from", row.name, update_modified=False)
	note(row.name, reason)
	return replacement.name


def lock_for_change(item: str, action: str) -> frappe._dict:
	"""The item's latest values, its generator and then the item locked; refuses what may not be voided or
	amended, and whom."""
	generator = frappe.db.get_value(ITEM, item, "generator")
	locks.lock_generator(generator)
	row = frappe.db.get_value(ITEM, item, list(FIELDS), as_dict=True, for_update=True)
	check_changeable(row, action)
	check_who(row)
	return row


def check_changeable(row, action: str) -> None:
	if row.status == BILLED:
		frappe.throw(
			_(
				"Item {0} is billed on Sales Invoice {1} and cannot be {2}: use a credit note to correct it."
			).format(row.name, row.sales_invoice, action),
			title=_("Billed item"),
		)
	if row.status == VOIDED:
		frappe.throw(_("Item {0} is already voided.").format(row.name), title=_("Voided item"))
	item_rules.guard_source(row, action)
	if frappe.db.get_value(GENERATOR, row.generator, "status") == "Archived":
		frappe.throw(
			_("Accumulating Generator {0} is {1}: no items can be added or changed.").format(
				frappe.bold(row.generator), _("Archived")
			),
			title=_("Generator closed"),
		)


def check_who(row) -> None:
	"""Billing staff may change any line; others only a line they added, within the contributors' window."""
	if is_billing_staff():
		return
	if row.added_by != frappe.session.user:
		frappe.throw(_("You may void or amend only the items you added yourself."), frappe.PermissionError)
	hours = contributor_hours()
	if now_datetime() - get_datetime(row.creation) > timedelta(hours=hours):
		frappe.throw(
			_(
				"Item {0} was added more than {1} hours ago: only your billing team can void or amend it now."
			).format(row.name, hours),
			frappe.PermissionError,
		)


def contributor_hours() -> int:
	return cint(frappe.db.get_single_value(SETTINGS, "contributor_void_hours")) or DEFAULT_CONTRIBUTOR_HOURS


def set_voided(row, reason: str | None, give_up_ref: bool = False) -> None:
	"""The item (locked, not billed) becomes Voided, with who and when; the generator's held count follows."""
	Item = frappe.qb.DocType(ITEM)
	now, user = now_datetime(), frappe.session.user
	query = (
		frappe.qb.update(Item)
		.set(Item.status, VOIDED)
		.set(Item.void_reason, reason)
		.set(Item.voided_by, user)
		.set(Item.voided_on, now)
		.set(Item.modified, now)
		.set(Item.modified_by, user)
		.where((Item.name == row.name) & Item.status.isin(VOIDABLE))
	)
	if give_up_ref:
		query = query.set(Item.client_ref, None)
	query.run()
	if row.status == ON_HOLD:
		update_held_count(row.generator)  # the generator's "n on hold"


def note(item: str, text: str) -> None:
	"""A line on the item's timeline (who and when are the comment's own)."""
	frappe.get_doc(
		{
			"doctype": "Comment",
			"comment_type": "Info",
			"reference_doctype": ITEM,
			"reference_name": item,
			"content": text,
		}
	).insert(ignore_permissions=True)


def voided_lines(generator: str, limit: int = 20) -> list[dict]:
	"""The tab's latest voided lines, newest first, each with its replacement when it was amended (the history)."""
	rows = frappe.get_all(
		ITEM,
		filters={"generator": generator, "status": VOIDED},
		fields=[
			"name",
			"service_date",
			"item_code",
			"item_name",
			"qty",
			"amount",
			"void_reason",
			"voided_by",
			"voided_on",
		],
		order_by="voided_on desc, name desc",
		limit_page_length=limit,
	)
	if rows:
		replaced = dict(
			frappe.get_all(
				ITEM,
				filters={"amended_from": ("in", [row.name for row in rows])},
				fields=["amended_from", "name"],
				as_list=True,
			)
		)
		for row in rows:
			row.replaced_by = replaced.get(row.name)
	return rows
