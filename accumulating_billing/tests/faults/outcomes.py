"""What a generator produced, without names, and the row counts a refused input must leave unchanged."""

import frappe

from accumulating_billing.tests.faults import GENERATOR, ITEM, LOG


def outcome_of(gen: str) -> dict:
	"""What a generator produced, without names: its invoices, its log and its state."""
	invoices = []
	for inv in frappe.get_all(
		"Sales Invoice",
		filters={"accumulating_generator": gen, "docstatus": 1},
		fields=["name", "posting_date", "due_date", "accumulating_occurrence", "net_total", "grand_total"],
		order_by="posting_date asc",
	):
		lines = frappe.get_all(
			"Sales Invoice Item",
			filters={"parent": inv.name},
			fields=["item_code", "qty", "rate", "amount", "accumulating_generator_item"],
		)
		dates = {
			line.accumulating_generator_item: str(
				frappe.db.get_value(ITEM, line.accumulating_generator_item, "service_date")
			)
			for line in lines
		}
		invoices.append(
			(
				str(inv.posting_date),
				str(inv.due_date),
				str(inv.accumulating_occurrence),
				inv.net_total,
				inv.grand_total,
				sorted(
					(
						dates[line.accumulating_generator_item],
						line.item_code,
						line.qty,
						line.rate,
						line.amount,
					)
					for line in lines
				),
			)
		)
	log = frappe.get_all(
		LOG,
		filters={"generator": gen},
		fields=["occurrence_date", "outcome", "items_count"],
		order_by="occurrence_date asc, creation asc",
	)
	state = frappe.db.get_value(
		GENERATOR,
		gen,
		["status", "next_creation_date", "last_creation_date", "invoices_generated"],
		as_dict=True,
	)
	unbilled = sorted(
		str(d)
		for d in frappe.get_all(ITEM, filters={"generator": gen, "status": "Unbilled"}, pluck="service_date")
	)
	return {
		"invoices": invoices,
		"log": [(str(entry.occurrence_date), entry.outcome, entry.items_count) for entry in log],
		"state": {k: str(v) for k, v in state.items()},
		"unbilled": unbilled,
	}


COUNTED = (
	GENERATOR,
	ITEM,
	LOG,
	"Accumulating Generator Template",
	"Accumulating Kickoff Request",
	"Sales Invoice",
	"Customer",
	"Contact",
	"Address",
	"User",
	"Communication",
	"Email Queue",
)


def row_counts() -> dict:
	return {doctype: frappe.db.count(doctype) for doctype in COUNTED}
