"""`demo --remove`: delete everything the demo made and nothing else, in ERPNext's order: the invoices its
generators made (submitted ones cancelled first, newest first, then deleted with their ledger entries), the
Timesheet (cancelled, deleted), the generators (with their tab items and log), the rule, templates, project,
users and their permissions, customers, items, activity type and fiscal years, then the tag itself."""

import frappe
from frappe import _

from accumulating_billing.billing.demo.records import TAG, tagged
from accumulating_billing.doctypes import GENERATOR

# the order of deletion: what links to a record goes before it
ORDER = (
	"Accumulating Assignment Rule",
	"Project",
	"Accumulating Generator Template",
	"User Permission",
	"Customer",
	"User",
	"Item",
	"Activity Type",
	"Fiscal Year",
)


def demo_generators() -> list[str]:
	return of_demo_customers(GENERATOR)


def of_demo_customers(doctype: str) -> list[str]:
	"""The demo's records of `doctype`: tagged, and any other of a demo customer (they cannot outlive it)."""
	names = set(tagged(doctype))
	customers = tagged("Customer")
	if customers:
		names |= set(frappe.get_all(doctype, filters={"customer": ("in", customers)}, pluck="name"))
	return sorted(names)


def demo_invoices(generators: list[str]) -> list[dict]:
	"""Sales Invoices of the demo's generators or customers, newest first (credit notes before originals)."""
	filters = []
	if generators:
		filters.append(["accumulating_generator", "in", generators])
	customers = tagged("Customer")
	rows = {}
	for condition in ([filters[0]] if filters else []) + (
		[["customer", "in", customers]] if customers else []
	):
		for row in frappe.get_all(
			"Sales Invoice",
			filters=[condition],
			fields=["name", "docstatus", "is_return", "posting_date", "creation"],
		):
			rows[row.name] = row
	return sorted(rows.values(), key=lambda r: (not r.is_return, r.posting_date, r.creation), reverse=True)


def remove(echo=None, progress=None) -> dict[str, int]:
	"""Delete what the demo made; returns {doctype: count deleted}."""
	echo = echo or (lambda _line: None)
	frappe.flags.accumulating_demo = True
	try:
		return _remove(echo, progress)
	finally:
		frappe.flags.accumulating_demo = False


def _remove(echo, progress) -> dict[str, int]:
	counts: dict[str, int] = {}
	generators = demo_generators()
	invoices = demo_invoices(generators)
	# 1. invoices: cancel the submitted ones, then delete them all with their ledger entries
	for done, row in enumerate(invoices):
		if row.docstatus == 1:
			frappe.get_doc("Sales Invoice", row.name).cancel()
		delete_invoice(row.name)
		frappe.db.commit()
		if progress:
			progress(_("Deleting demo invoices"), done, len(invoices))
	counts["Sales Invoice"] = len(invoices)
	# 2. the Timesheet (its logs were released by the invoice's cancellation)
	for name in of_demo_customers("Timesheet"):
		doc = frappe.get_doc("Timesheet", name)
		if doc.docstatus == 1:
			doc.cancel()
		frappe.delete_doc("Timesheet", name, ignore_permissions=True, force=True)
		counts["Timesheet"] = counts.get("Timesheet", 0) + 1
	frappe.db.commit()
	# 3. generators, with their tab items and generation log (the generator's own on_trash)
	for name in generators:
		frappe.delete_doc(GENERATOR, name, ignore_permissions=True)
	counts[GENERATOR] = len(generators)
	# the notes billing left on them (items released by the cancellations): Frappe keeps its own "Deleted" notes
	delete_comments(GENERATOR, generators)
	delete_comments("Sales Invoice", [row.name for row in invoices])
	frappe.db.commit()
	# 4. the rest, in link order
	for doctype in ORDER:
		names = of_demo_customers("Project") if doctype == "Project" else tagged(doctype)
		for name in names:
			if not frappe.db.exists(doctype, name):
				continue
			if doctype == "Fiscal Year" and frappe.db.exists("GL Entry", {"fiscal_year": name}):
				echo(_("Kept Fiscal Year {0}: other documents were posted in it since.").format(name))
				frappe.db.delete("Tag Link", {"tag": TAG, "document_type": doctype, "document_name": name})
				continue
			frappe.delete_doc(doctype, name, ignore_permissions=True)
		if names:
			counts[doctype] = len(names)
		frappe.db.commit()
	frappe.db.delete("Tag Link", {"tag": TAG})
	if frappe.db.exists("Tag", TAG):
		frappe.delete_doc("Tag", TAG, ignore_permissions=True)
	frappe.db.commit()
	for doctype, count in counts.items():
		echo(_("Deleted {0} {1}").format(count, _(doctype)))
	return counts


def delete_comments(doctype: str, names: list[str]) -> None:
	if names:
		frappe.db.delete(
			"Comment",
			{
				"reference_doctype": doctype,
				"reference_name": ("in", names),
				"comment_type": ("!=", "Deleted"),
			},
		)


def delete_invoice(name: str) -> None:
	"""Delete a cancelled or draft demo invoice and the ledger entries it left (the original and reversing
	GL and Payment Ledger entries), as ERPNext does with *Delete Accounting and Stock Ledger Entries on
	deletion of Transaction*: nothing of the demo stays in the books."""
	for doctype in ("GL Entry", "Payment Ledger Entry"):
		frappe.db.delete(doctype, {"voucher_type": "Sales Invoice", "voucher_no": name})
	frappe.db.delete(
		"Payment Ledger Entry", {"against_voucher_type": "Sales Invoice", "against_voucher_no": name}
	)
	frappe.delete_doc("Sales Invoice", name, ignore_permissions=True)
