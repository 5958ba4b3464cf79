"""The bookkeeping invariants of the fault suite: every item added is billed exactly once, unbilled, on hold or
voided (never billed); every live invoice line bills an item billed on it; one live invoice per occurrence of each
tab, a combined invoice's tabs included (issue 28), each made out to the tab's payer and listing the tab of every
item it bills."""

import frappe

from accumulating_billing.doctypes import INVOICE_TAB
from accumulating_billing.tests.faults import GENERATOR, ITEM


def billing_any(SI, generators: list[str]):
	"""The condition on Sales Invoice of the invoices that bill a tab of `generators`: the ones they are filed
	under, and the combined invoices that list them."""
	Tab = frappe.qb.DocType(INVOICE_TAB)
	listed = frappe.qb.from_(Tab).select(Tab.parent).where(Tab.generator.isin(generators))
	return SI.accumulating_generator.isin(generators) | SI.name.isin(listed)


def billings(generators: list[str]) -> dict[str, list[str]]:
	"""Per tab item of `generators`, the live invoices whose lines bill it, one entry per line: a line names its
	item, a grouped line (Invoice Lines: Grouped) carries the key of the items it sums."""
	SI = frappe.qb.DocType("Sales Invoice")
	SII = frappe.qb.DocType("Sales Invoice Item")
	lines = (
		frappe.qb.from_(SII)
		.join(SI)
		.on(SII.parent == SI.name)
		.select(SII.parent, SII.accumulating_generator_item, SII.accumulating_line_group)
		.where(billing_any(SI, generators) & (SI.docstatus < 2))
		.run()
	)
	keys = {group for _parent, _item, group in lines if group}
	members: dict[str, list[str]] = {}
	if keys:
		for name, group in frappe.get_all(
			ITEM,
			filters={"invoice_line_group": ("in", sorted(keys))},
			fields=["name", "invoice_line_group"],
			as_list=True,
		):
			members.setdefault(group, []).append(name)
	billed: dict[str, list[str]] = {}
	for parent, item, group in lines:
		for name in [item] if item else members.get(group, []):
			billed.setdefault(name, []).append(parent)
	return billed


def billed_more_than_once(generators: list[str]) -> int:
	"""How many tab items of `generators` more than one live invoice line bills (the fault suite's invariant, and
	the concurrent adders benchmark's outcome)."""
	return sum(1 for parents in billings(generators).values() if len(parents) > 1)


def check_invariants(generators: list[str], added: set[str]) -> int:
	"""Assert the bookkeeping invariants over the generators; returns the number of checks made."""
	items = frappe.get_all(
		ITEM,
		filters={"generator": ("in", generators)},
		fields=[
			"name",
			"generator",
			"status",
			"sales_invoice",
			"qty",
			"amount",
			"source_doctype",
			"source_detail",
			"hold_reason",
			"voided_on",
		],
	)
	SI = frappe.qb.DocType("Sales Invoice")
	SII = frappe.qb.DocType("Sales Invoice Item")
	lines = (
		frappe.qb.from_(SII)
		.join(SI)
		.on(SII.parent == SI.name)
		.select(
			SII.parent,
			SII.accumulating_generator_item,
			SII.qty,
			SII.amount,
			SI.accumulating_generator,
			SI.accumulating_occurrence,
			SI.docstatus,
			SI.customer,
		)
		.where(billing_any(SI, generators) & (SI.docstatus < 2))
		.run(as_dict=True)
	)
	checks = 0
	problems = []

	def check(ok: bool, message: str):
		nonlocal checks
		checks += 1
		if not ok:
			problems.append(message)

	by_name = {i.name: i for i in items}
	check(set(by_name) == added, f"items lost {added - set(by_name)} or invented {set(by_name) - added}")
	lines_of: dict[str, list] = {}
	for line in lines:
		check(bool(line.accumulating_generator_item), f"line of {line.parent} links no generator item")
		lines_of.setdefault(line.accumulating_generator_item, []).append(line)
	times = billings(generators)
	for item in items:
		billed_on = lines_of.get(item.name, [])
		invoices = times.get(item.name, [])
		check(len(invoices) <= 1, f"{item.name} billed {len(invoices)} times: {invoices}")
		check(
			item.status in ("Billed", "Unbilled", "On Hold", "Voided"),
			f"{item.name} has status {item.status}",
		)
		# a voided line (taken off the tab by a person) says when, and is on no invoice (below)
		check(
			(item.status == "Voided") == bool(item.voided_on),
			f"{item.name} is {item.status} with voided_on {item.voided_on!r}",
		)
		# a held line (ERPNext refused it on a billing day) is on no invoice and says why
		check(
			(item.status == "On Hold") == bool(item.hold_reason),
			f"{item.name} is {item.status} with hold reason {item.hold_reason!r}",
		)
		if item.status == "Billed":
			check(
				[b.parent for b in billed_on] == [item.sales_invoice],
				f"billed {item.name} says {item.sales_invoice}, lines say {[b.parent for b in billed_on]}",
			)
			for b in billed_on:
				check(
					(b.qty, b.amount) == (item.qty, item.amount),
					f"{item.name} qty/amount {item.qty}/{item.amount} vs line {b.qty}/{b.amount}",
				)
		else:
			check(not billed_on and not item.sales_invoice, f"unbilled {item.name} is on {billed_on}")
	for line in lines:
		item = by_name.get(line.accumulating_generator_item)
		check(
			bool(item) and item.status == "Billed" and item.sales_invoice == line.parent,
			f"line of {line.parent} bills {line.accumulating_generator_item}, which is not billed on it",
		)
	# ERPNext's own record agrees: a time log is billed by the submitted invoice that bills its tab item
	submitted = {line.parent for line in lines if line.docstatus == 1}
	logs = dict(
		frappe.get_all(
			"Timesheet Detail",
			filters={
				"name": ("in", [i.source_detail for i in items if i.source_doctype == "Timesheet"] or [""])
			},
			fields=["name", "sales_invoice"],
			as_list=True,
		)
	)
	for item in items:
		if item.source_doctype == "Timesheet":
			expected = item.sales_invoice if item.sales_invoice in submitted else None
			check(
				(logs.get(item.source_detail) or None) == expected,
				f"time log of {item.name} is billed by {logs.get(item.source_detail)}, the tab says {expected}",
			)
	billed = sum(1 for i in items if i.status == "Billed")
	unbilled = sum(1 for i in items if i.status == "Unbilled")
	held = sum(1 for i in items if i.status == "On Hold")
	voided = sum(1 for i in items if i.status == "Voided")
	check(
		billed + unbilled + held + voided == len(added),
		f"invoiced {billed} + unbilled {unbilled} + on hold {held} + voided {voided} != {len(added)} added",
	)
	# each generator's "n on hold" counts its held lines
	counts = dict(
		frappe.get_all(
			GENERATOR, filters={"name": ("in", generators)}, fields=["name", "lines_on_hold"], as_list=True
		)
	)
	for generator in generators:
		held_here = frappe.db.count(ITEM, {"generator": generator, "status": "On Hold"})
		check(
			counts.get(generator) == held_here,
			f"{generator} says {counts.get(generator)} on hold, its tab holds {held_here}",
		)
	occurrences = {
		(line.accumulating_generator, line.parent, line.accumulating_occurrence)
		for line in lines
		if line.accumulating_occurrence
	}
	keys = [(g, str(o)) for g, _inv, o in occurrences]
	check(len(keys) == len(set(keys)), f"two live invoices for one occurrence: {sorted(keys)}")
	# every tab of every live invoice (a combined invoice lists several): one live invoice per tab occurrence, the
	# invoice made out to the tab's payer, and each billed item's tab listed on its invoice
	invoices = {line.parent: line.customer for line in lines}
	listed = frappe.get_all(
		INVOICE_TAB,
		filters={"parent": ("in", sorted(invoices) or [""]), "parenttype": "Sales Invoice"},
		fields=["parent", "generator", "occurrence"],
	)
	tab_keys = [(row.generator, str(row.occurrence)) for row in listed if row.occurrence]
	check(
		len(tab_keys) == len(set(tab_keys)), f"two live invoices for one tab occurrence: {sorted(tab_keys)}"
	)
	tabs_of: dict[str, set] = {}
	for row in listed:
		tabs_of.setdefault(row.parent, set()).add(row.generator)
	payers = {
		row.name: row.invoice_customer or row.customer
		for row in frappe.get_all(
			GENERATOR,
			filters={"name": ("in", sorted({row.generator for row in listed}) or [""])},
			fields=["name", "customer", "invoice_customer"],
		)
	}
	for row in listed:
		check(
			invoices[row.parent] == payers.get(row.generator),
			f"{row.parent} is made out to {invoices[row.parent]}, its tab {row.generator} is paid by "
			f"{payers.get(row.generator)}",
		)
	for item in items:
		if item.status == "Billed" and item.sales_invoice in tabs_of:
			check(
				item.generator in tabs_of[item.sales_invoice],
				f"{item.name} of {item.generator} is billed on {item.sales_invoice}, which lists "
				f"{sorted(tabs_of[item.sales_invoice])}",
			)
	if problems:
		raise AssertionError("\n".join(problems[:20]))
	return checks
