"""The guided start on the workspace (Frappe's Module Onboarding "Accumulating Billing").

Each step is ticked by the app when the person really does the thing, never by a click in the widget:
creating a generator or template, adding an item, seeing a next-invoice preview with lines (the generator
form or the Upcoming Accumulating Invoices report), Generate Now making an invoice, and offering a template
on the Client Kickoff form. Frappe's widget also ticks a step itself after some of its own actions (and a
"Go to Page" step as soon as its button is clicked): `update_onboarding_step` below lets such a tick through
for this module's steps only when the app has already recorded the action.

The demo (billing/demo) and installs, migrations and patches tick nothing: they are not the person's work.
"""

import frappe
from frappe import _
from frappe.utils import cint

STEP = "Onboarding Step"
ONBOARDING = "Accumulating Billing"

CREATE = "Create a Generator or a Template"
ADD_ITEM = "Add an Item to a Running Tab"
PREVIEW = "Look at the Next Invoice Preview"
GENERATE_NOW = "Generate an Invoice Now"
KICKOFF = "Set Up the Client Kickoff Form"

STEPS = (CREATE, ADD_ITEM, PREVIEW, GENERATE_NOW, KICKOFF)
TICKED = "accumulating_onboarding_ticked::"  # site cache key prefix: a step known to be ticked


def what_ticks(step: str) -> str:
	"""What ticks a step, as the message shown when the widget tries to tick it too early says it."""
	return {
		CREATE: _("create an Accumulating Generator or an Accumulating Generator Template"),
		ADD_ITEM: _("add an item to a generator's running tab"),
		PREVIEW: _(
			"open a generator whose running tab has items, or run the report Upcoming Accumulating Invoices "
			"while a tab has items"
		),
		GENERATE_NOW: _(
			"click Actions ▸ Generate Now on a generator with unbilled items and it makes an invoice"
		),
		KICKOFF: _(
			"save an enabled template with Offered at Kickoff ticked, so the Client Kickoff form offers it"
		),
	}[step]


def complete(step: str) -> bool:
	"""Tick `step` (once); returns whether this call ticked it. A GET request never writes (the desk posts its
	calls; a link or a prefetch that reads a tab ticks nothing)."""
	if step not in STEPS or not_a_person_at_work() or is_read_request():
		return False
	# a ticked step stays ticked: remembered in the site cache, so adding an item does not read it every time
	ticked_key = TICKED + step
	if frappe.cache.get_value(ticked_key):
		return False
	if cint(frappe.db.get_value(STEP, step, "is_complete", cache=False)) or not frappe.db.exists(STEP, step):
		frappe.cache.set_value(ticked_key, 1, expires_in_sec=3600)
		return False
	# no new `modified`: `bench migrate` then keeps the tick (Frappe keeps is_complete on import anyway)
	frappe.db.set_value(STEP, step, "is_complete", 1, update_modified=False)
	return True


def is_read_request() -> bool:
	request = getattr(frappe.local, "request", None)
	return request is not None and request.method in ("GET", "HEAD")


def forget_ticks(doc=None, method=None) -> None:
	"""Forget what the cache remembers as ticked (an Onboarding Step saved, e.g. un-ticked in the desk)."""
	for step in STEPS:
		frappe.cache.delete_value(TICKED + step)


def not_a_person_at_work() -> bool:
	flags = frappe.flags
	return bool(
		flags.accumulating_demo or flags.in_install or flags.in_migrate or flags.in_patch or flags.in_import
	)


# ------------------------------------------------------------------------------------------ doc_events


def on_generator_created(doc, method=None) -> None:
	complete(CREATE)


def on_template_saved(doc, method=None) -> None:
	if method == "after_insert":
		complete(CREATE)
	elif cint(doc.enabled) and cint(doc.offered_at_kickoff) and kickoff_form_published():
		complete(KICKOFF)


def kickoff_form_published() -> bool:
	return bool(frappe.db.get_value("Web Form", {"route": "client-kickoff"}, "published"))


# ------------------------------------------------------------------------------------------ the widget


@frappe.whitelist(methods=["POST"])
def update_onboarding_step(name: str, field: str, value: str | int) -> None:
	"""Frappe's `frappe.desk.desktop.update_onboarding_step` (hooks: override_whitelisted_methods), except that
	a step of this module is ticked complete only when the app recorded the real action. Skipping is free."""
	if (
		field not in ("is_complete", "is_skipped")
		or frappe.session.user == "Guest"
		or (frappe.get_cached_value("User", frappe.session.user, "user_type") != "System User")
	):
		# the widget sends only these two, and only desk users see it (Frappe's own method checks nothing)
		frappe.throw(_("Not permitted"), frappe.PermissionError)
	# the step as stored: the database finds "generate an invoice now " as "Generate an Invoice Now"
	name = frappe.db.get_value(STEP, name, "name") or name
	if name in STEPS and field == "is_complete" and cint(value):
		if cint(frappe.db.get_value(STEP, name, "is_complete")):
			return
		frappe.throw(_("This step is ticked when you {0}.").format(what_ticks(name)), title=_("Not done yet"))
	from frappe.desk.desktop import update_onboarding_step as frappe_update_onboarding_step

	frappe_update_onboarding_step(name, field, value)
