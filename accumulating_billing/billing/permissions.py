"""Who may reach which tab (docs/architecture.md §13; README *Permissions*).

Billing staff (System Manager, Accounts Manager, Accounts User) reach generators and items through their roles.

A contributor (role Accumulating Billing Contributor without a billing role) reaches the **tabs** their User
Permissions give them, as Frappe means User Permissions: a permission narrows a DocType when it applies to all
DocTypes or its *Applies To* is that DocType (`frappe.permissions.filter_allowed_docs_for_doctype`), and it
narrows every link field of the DocType whose options are the permission's DocType, and the name itself, the
way Frappe's list queries apply them (frappe/model/db_query.py `add_user_permissions`; *Apply Strict User
Permissions* decides whether an empty link passes). The contributor's tabs are the generators that rule lets
through for **Accumulating Generator**; an item is reachable when its generator is (items follow their tab).

Contributors are granted explicitly: without a permission on Customer or Accumulating Generator that applies
to generators, a contributor reaches no tab at all (Frappe would otherwise open every one). A permission that
applies only to another DocType (only to Accumulating Generator Item, say) grants no tab.

Contributors have no role permission on Accumulating Generator (not even *select*): none of Frappe's generic
endpoints (lists, report view, link search, counts, joins from an item list) runs a query on the generators'
table for them, so no filter, sort or group on a field they cannot read (internal notes, settings) tells them
anything. They pick a tab through `generator_search` (the item form's and dialog's link query) and add to it
through `api.add_item`; both use `tab_condition`, the one rule for lists and single generators.
"""

import frappe
import frappe.permissions
from frappe import _

from accumulating_billing.doctypes import CONTRIBUTOR_ROLE, GENERATOR, ITEM

BILLING_ROLES = frozenset(("System Manager", "Accounts Manager", "Accounts User"))
# the User Permissions that grant a tab (others only narrow what these grant)
GRANTING_DOCTYPES = ("Customer", GENERATOR)


def is_contributor_only(user: str | None = None) -> bool:
	user = user or frappe.session.user
	if user == "Administrator":
		return False
	roles = set(frappe.get_roles(user))
	return CONTRIBUTOR_ROLE in roles and not roles & BILLING_ROLES


def is_billing_staff(user: str | None = None) -> bool:
	"""Users whose roles read every generator (System Manager, Accounts Manager, Accounts User)."""
	user = user or frappe.session.user
	return user == "Administrator" or bool(set(frappe.get_roles(user)) & BILLING_ROLES)


# ------------------------------------------------------------------------------------------ the contributor's tabs


def tab_restrictions(user: str) -> dict[str, list[str]] | None:
	"""{generator field: the values it may take} for `user`, from the User Permissions that apply to Accumulating
	Generator, as Frappe's list queries apply them; None when none of them grants a tab (no Customer or
	Accumulating Generator permission applies to generators)."""
	from frappe.core.doctype.user_permission.user_permission import get_user_permissions

	user_permissions = get_user_permissions(user)
	fields = [
		(df.fieldname, df.options)
		for df in frappe.get_meta(GENERATOR).get_link_fields()
		if not df.ignore_user_permissions
	]
	fields.append(("name", GENERATOR))
	restrictions = {}
	for fieldname, doctype in fields:
		allowed = frappe.permissions.filter_allowed_docs_for_doctype(
			user_permissions.get(doctype, []), GENERATOR, with_default_doc=False
		)
		if allowed:
			restrictions[fieldname] = allowed
	granted = {"name"} | {f for f, doctype in fields if doctype in GRANTING_DOCTYPES}
	return restrictions if granted & restrictions.keys() else None


def tab_condition(user: str, table: str = f"`tab{GENERATOR}`") -> str:
	"""The SQL condition on the generators' `table` that lets through exactly the user's tabs. Built as Frappe
	builds its own User Permission conditions (values through frappe.db.escape): Frappe's permission query hook
	takes a string, and the single-generator check below uses the same string, so lists and checks agree."""
	restrictions = tab_restrictions(user)
	if restrictions is None:
		return "1=0"
	strict = frappe.get_system_settings("apply_strict_user_permissions")
	terms = []
	for fieldname, allowed in restrictions.items():
		column = f"{table}.`{fieldname}`"
		values = ", ".join(frappe.db.escape(value, percent=False) for value in allowed)
		term = f"{column} in ({values})"
		terms.append(f"({term})" if strict else f"(ifnull({column}, '')='' or {term})")
	return " and ".join(terms)


def is_tab_of(generator: str, user: str) -> bool:
	"""Whether `generator` is one of the contributor's tabs (one indexed read)."""
	condition = tab_condition(user)
	return bool(
		frappe.db.sql(
			f"select 1 from `tab{GENERATOR}` where `tab{GENERATOR}`.`name` = %s and {condition} limit 1",
			generator,
		)
	)


# ------------------------------------------------------------------------------------------ Frappe's hooks


def query_conditions(user: str | None = None, doctype: str | None = None) -> str:
	"""permission_query_conditions for generators and items: a contributor's tabs and their items only."""
	user = user or frappe.session.user
	if not is_contributor_only(user):
		return ""
	if doctype == GENERATOR:
		return tab_condition(user)
	return f"`tab{ITEM}`.`generator` in (select `name` from `tab{GENERATOR}` where {tab_condition(user)})"


def has_permission(doc, ptype=None, user=None, debug=False) -> bool | None:
	"""A contributor reaches a generator or item only on their tabs; otherwise no opinion (roles decide)."""
	user = user or frappe.session.user
	if not is_contributor_only(user):
		return None
	generator = doc.name if doc.doctype == GENERATOR else doc.get("generator")
	if doc.doctype == ITEM and not generator:
		return None  # a new item without its tab yet: its validation refuses it
	return bool(generator) and is_tab_of(generator, user)


def invoice_website_permission(doc, ptype=None, user=None, verbose=False) -> bool:
	"""has_website_permission on Sales Invoice, next to ERPNext's own (Frappe requires every hook to agree): a
	draft invoice the app generated is not the customer's yet (kept for review, or billed as Draft), so its
	customer's portal users get neither its print view, its PDF nor its web form data. Every other invoice is
	left to ERPNext's rule (the customer's portal users see their submitted invoices)."""
	return not (doc.docstatus == 0 and doc.get("accumulating_generator"))


# ------------------------------------------------------------------------------------------ the app's endpoints


def may_use(generator: str, *ptypes: str, user: str | None = None) -> bool:
	"""Whether the user has one of `ptypes` on the existing `generator`: "select" is a contributor's way to
	their tabs (adding items); everything else is the user's role and User Permissions."""
	user = user or frappe.session.user
	if is_contributor_only(user):
		return "select" in ptypes and is_tab_of(generator, user)
	# Frappe weighs the document itself (an Administrator needs nothing of it): taken once for all `ptypes` from
	# the document cache (saving a generator clears it; the fields permissions read change only by saving it)
	target = generator if user == "Administrator" else frappe.get_cached_doc(GENERATOR, generator)
	# raise_exception=False: Frappe's explanation of a refusal names the linked customer
	return any(
		frappe.permissions.has_permission(GENERATOR, ptype, target, user=user, raise_exception=False)
		for ptype in ptypes
	)


def permitted_generator(name: str | None, *ptypes: str) -> str:
	"""The generator's name (as stored) when the session user has one of `ptypes` on it. Whoever may not use it
	gets the same refusal whether it exists or not, so nobody lists generator names by trying them; billing staff
	are told when it does not exist. An Administrator pays one indexed read (`add_item` is the hot path); see
	`may_use` for everyone else."""
	found = frappe.db.exists(GENERATOR, name) if name and isinstance(name, str) else None
	if found and may_use(found, *ptypes):
		return found
	if not found and is_billing_staff():
		frappe.throw(_("Accumulating Generator {0} does not exist.").format(name), frappe.DoesNotExistError)
	refuse(GENERATOR, name)


def refuse(doctype: str, name) -> None:
	"""The one refusal of a document someone may not use, whether it exists or not (403)."""
	frappe.throw(
		_("{0} {1} does not exist or you are not permitted to use it.").format(_(doctype), name),
		frappe.PermissionError,
	)


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
	refuse(ITEM, name)
