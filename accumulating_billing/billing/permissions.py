"""Permission hooks (DESIGN §7). Role permissions in the DocTypes do most of the work: contributors may only
select generators (no settings, no internal notes) and create items; User Permissions on Customer or
Generator narrow what they may select. These hooks close the gap Frappe leaves open: a contributor with no
User Permission at all would otherwise reach every generator. Contributors are granted explicitly."""

import frappe
import frappe.permissions
from frappe import _

GENERATOR = "Accumulating Generator"
CONTRIBUTOR = "Accumulating Billing Contributor"
BILLING_ROLES = frozenset(("System Manager", "Accounts Manager", "Accounts User"))
SCOPE_DOCTYPES = ("Customer", "Accumulating Generator")


def is_contributor_only(user: str | None = None) -> bool:
	user = user or frappe.session.user
	if user == "Administrator":
		return False
	roles = set(frappe.get_roles(user))
	return CONTRIBUTOR in roles and not roles & BILLING_ROLES


def has_scope(user: str) -> bool:
	"""Whether the contributor was granted any customer or generator."""
	return bool(frappe.db.exists("User Permission", {"user": user, "allow": ("in", SCOPE_DOCTYPES)}))


def query_conditions(user: str | None = None, doctype: str | None = None) -> str:
	"""permission_query_conditions for generators and items: nothing for an unscoped contributor."""
	user = user or frappe.session.user
	if is_contributor_only(user) and not has_scope(user):
		return "1=0"
	return ""


def has_permission(doc, ptype=None, user=None, debug=False) -> bool | None:
	"""Deny an unscoped contributor; otherwise no opinion (role and user permissions decide)."""
	user = user or frappe.session.user
	if is_contributor_only(user) and not has_scope(user):
		return False
	return None


def is_billing_staff(user: str | None = None) -> bool:
	"""Users whose roles read every generator (System Manager, Accounts Manager, Accounts User)."""
	user = user or frappe.session.user
	return user == "Administrator" or bool(set(frappe.get_roles(user)) & BILLING_ROLES)


def permitted_generator(name: str | None, *ptypes: str) -> str:
	"""The generator's name (as stored) when the session user has one of `ptypes` on it. Whoever may not use it
	gets the same refusal whether it exists or not, so nobody lists generator names by trying them; billing staff
	are told when it does not exist. An Administrator pays one indexed read (`add_item` is the hot path); for
	anyone else Frappe weighs the document itself, taken once for all `ptypes` from the document cache (saving a
	generator clears it; the fields permissions read, its links and owner, change only by saving it)."""
	found = frappe.db.exists(GENERATOR, name) if name and isinstance(name, str) else None
	target = found
	if found and frappe.session.user != "Administrator":
		target = frappe.get_cached_doc(GENERATOR, found)
	# raise_exception=False: Frappe's explanation of a refusal names the linked customer
	if found and any(
		frappe.permissions.has_permission(GENERATOR, ptype, target, raise_exception=False) for ptype in ptypes
	):
		return found
	if not found and is_billing_staff():
		frappe.throw(_("Accumulating Generator {0} does not exist.").format(name), frappe.DoesNotExistError)
	frappe.throw(
		_("Accumulating Generator {0} does not exist or you are not permitted to use it.").format(name),
		frappe.PermissionError,
	)


ITEM = "Accumulating Generator Item"


def permitted_item(name: str | None, ptype: str) -> str:
	"""The tab item's name (as stored) when the session user has `ptype` on it; like `permitted_generator`, whoever
	may not use it gets the same refusal whether it exists or not, and billing staff are told when it does not."""
	found = frappe.db.exists(ITEM, name) if name and isinstance(name, str) else None
	if found and frappe.permissions.has_permission(ITEM, ptype, found, raise_exception=False):
		return found
	if not found and is_billing_staff():
		frappe.throw(
			_("Accumulating Generator Item {0} does not exist.").format(name), frappe.DoesNotExistError
		)
	frappe.throw(
		_("Accumulating Generator Item {0} does not exist or you are not permitted to use it.").format(name),
		frappe.PermissionError,
	)
