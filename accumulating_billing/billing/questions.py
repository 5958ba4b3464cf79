"""The customer questions a line (issue 27): a dispute settled before the invoice, not by a credit note after it.
docs/architecture.md §16.

*Question this line* on the portal's running tab (`api.question_line`) makes an ERPNext **Issue** raised by the
portal user for their customer (the line's item and date in its subject, the message as its description, the line
in `Issue.accumulating_generator_item`), and puts the line **On Hold** with the reason *Questioned by the
customer* and the Issue (`question_issue`), so no billing day bills it; the generator's owner and the Accounts
Managers get the held-line notification. When the Issue is resolved or closed (or deleted), the line is released
as *Release* does (checked again: what ERPNext would refuse stays held, with its reason); a line staff deleted
meanwhile is simply gone. Staff may also release it by hand (*Release*).

Only a portal user of the line's customer may question it, only an Unbilled line of a tab the portal shows, one
open question per line; anyone else, and a line that does not exist, get the same refusal. The message is kept as
plain text (`question_text`, with billing/plain_text.py as every lower-trust text) and escaped wherever it is shown.
"""

import frappe
from frappe import _
from frappe.translate import print_language
from frappe.utils import format_date, getdate, now_datetime, nowdate

from accumulating_billing.billing import held, held_notices, locks, plain_text, portal
from accumulating_billing.billing.by_names import BY_PRIMARY_KEY
from accumulating_billing.billing.generation_log import write_log
from accumulating_billing.billing.item_status import NOTICE_PENDING, ON_HOLD, UNBILLED, update_held_count
from accumulating_billing.doctypes import GENERATOR, ITEM

ISSUE = "Issue"
ANSWERED = ("Resolved", "Closed")
MAX_MESSAGE = 2000


# ------------------------------------------------------------------------------------------ the message


def question_text(message) -> str:
	"""The customer's message as it is kept: plain text as every text a lower-trust writer types
	(billing/plain_text.py: no markup survives, whatever its shape; line breaks kept), trimmed, at most
	MAX_MESSAGE characters. Every place that shows it escapes it (`as_html`)."""
	if not isinstance(message, str):
		return ""
	return (plain_text.plain_text(message) or "").strip()[:MAX_MESSAGE]


def as_html(text: str) -> str:
	"""The message in ERPNext's Text Editor (the Issue's description, its Communication): escaped, with its line
	breaks (billing/plain_text.py)."""
	return "<p>" + plain_text.as_html(text) + "</p>"


# ------------------------------------------------------------------------------------------ asking


def ask(item: str, message: str, user: str | None = None) -> str:
	"""Question a tab line as the portal user `user` (default: the session's): make the Issue, hold the line.
	Returns the Issue's name. Refuses (and changes nothing) anyone but a portal user of the line's customer."""
	user = user or frappe.session.user
	line = questionable_line(item, user)
	text = question_text(message)
	if not text:
		frappe.throw(_("Write what you would like to ask about this line."), title=_("Question"))
	# generator first, then the line (docs/architecture.md §6): a billing run of this tab waits, or is waited for
	locks.lock_generator(line.generator)
	current = frappe.db.get_value(
		ITEM, line.name, ["status", "question_issue"], as_dict=True, for_update=True
	)
	if not current or current.status != UNBILLED:
		refuse_not_unbilled(current)
	generator = frappe.get_doc(GENERATOR, line.generator)
	issue = make_issue(line, generator, text, user)
	with print_language(frappe.db.get_default("lang") or "en"):  # staff read it in the site's language
		reason = _("Questioned by the customer ({0})").format(issue)
		hold(line.name, reason, issue)
		update_held_count(generator.name)
		write_log(
			generator.name,
			getdate(nowdate()),
			"Questioned",
			_("Line {0} ({1}) questioned by {2} in Issue {3}: on hold until the Issue is closed").format(
				line.name, line.item_code, user, issue
			),
			items_count=1,
		)
	# the line owes its notice like a line held on billing day, sent now (commits the question with it)
	held_notices.announce([generator.name])
	return issue


def questionable_line(item: str, user: str) -> frappe._dict:
	"""The line, when `user` is a portal user of its customer and the portal shows its tab; else the refusal of
	issue 20, the same whether the line exists or not."""
	line = (
		frappe.db.get_value(
			ITEM,
			item,
			[
				"name",
				"generator",
				"customer",
				"item_code",
				"item_name",
				"service_date",
				"status",
				"question_issue",
			],
			as_dict=True,
		)
		if item and isinstance(item, str)
		else None
	)
	customers = portal.customers_of(user)
	visible = line and frappe.db.get_value(GENERATOR, line.generator, "status") in portal.VISIBLE_STATUSES
	if not (line and visible and line.customer in customers):
		frappe.throw(
			_("Line {0} does not exist or you are not permitted to question it.").format(item),
			frappe.PermissionError,
		)
	if line.status != UNBILLED:
		refuse_not_unbilled(line)
	return line


def refuse_not_unbilled(line) -> None:
	if line and line.status == ON_HOLD and line.get("question_issue"):
		frappe.throw(
			_("You already asked about this line (Issue {0}); it waits for that answer.").format(
				line.question_issue
			),
			title=_("Already questioned"),
		)
	frappe.throw(
		_("Only a line still waiting on your running tab can be questioned."), title=_("Not on the tab")
	)


def make_issue(line, generator, text: str, user: str) -> str:
	"""ERPNext's Issue, raised by the portal user for the customer, as the portal's own Issue form makes one."""
	subject = _("Question about {0} of {1} on the running tab {2}").format(
		line.item_name or line.item_code, format_date(line.service_date), generator.title or generator.name
	)
	issue = frappe.get_doc(
		{
			"doctype": ISSUE,
			"subject": subject[:140],
			"raised_by": user,
			"customer": generator.customer,
			"company": generator.company,
			"description": as_html(text),
			"via_customer_portal": 1,
			"accumulating_generator_item": line.name,
		}
	)
	# a portal user may not create Issues through the desk's permissions; this path checked who they are
	issue.insert(ignore_permissions=True)
	return issue.name


def hold(item: str, reason: str, issue: str) -> None:
	"""The line (locked, Unbilled) goes On Hold for the question."""
	Item = frappe.qb.DocType(ITEM)
	(
		frappe.qb.update(Item)
		.set(Item.status, ON_HOLD)
		.set(Item.hold_reason, reason)
		.set(Item.question_issue, issue)
		.set(Item.hold_notice, NOTICE_PENDING)
		.set(Item.modified, now_datetime())
		.where((Item.name == item) & (Item.status == UNBILLED))
	).run()
	if frappe.db._cursor.rowcount != 1:
		frappe.throw(_("Only a line still waiting on your running tab can be questioned."))


# ------------------------------------------------------------------------------------------ the answer


def on_issue_answered(doc, method=None) -> None:
	"""Issue on_update / on_trash: a question resolved, closed or deleted releases its line for the next invoice
	(checked again, as Release does). Issues that question no line cost nothing."""
	if not doc.get("accumulating_generator_item"):
		return
	if method != "on_trash" and doc.status not in ANSWERED:
		return
	release_question(doc.name)


def release_question(issue: str) -> list[str]:
	"""Release the lines still held for this Issue; returns the names released."""
	lines = frappe.get_all(
		ITEM, filters={"question_issue": issue, "status": ON_HOLD}, fields=["name", "generator"]
	)
	released = []
	for generator in sorted({line.generator for line in lines}):
		names = [line.name for line in lines if line.generator == generator]
		done, _still = held.release(generator, names)
		released += done
		# the question is answered: a line ERPNext refuses stays held for that reason alone
		frappe.db.sql(
			f"update `tab{ITEM}` {BY_PRIMARY_KEY} set `question_issue` = null where `name` in %(names)s",
			{"names": tuple(names)},
		)
	return released


def line_removed(item: str) -> None:
	"""A tab line staff delete: the Issues that question it say so and keep no link to it (the line is gone;
	closing them releases nothing)."""
	for issue in frappe.get_all(ISSUE, filters={"accumulating_generator_item": item}, pluck="name"):
		frappe.db.set_value(ISSUE, issue, "accumulating_generator_item", None, update_modified=False)
		frappe.get_doc(ISSUE, issue).add_comment(
			"Info",
			_("The tab line {0} was removed from the running tab by {1}.").format(item, frappe.session.user),
		)
