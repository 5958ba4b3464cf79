"""Overhead and Auto Repeat: the invoices a billing run makes, against ERPNext's own ways of making them.

- `overhead`: process_due making N invoices of 5 items / inserting and submitting the same N Sales Invoices
  with the document API. Target <= 1.03 (issue 15; 1.15 before). Also printed, without a target: against the
  same invoices inserted submitted in one pass (validated once, as process_due makes them).
- `autorepeat`: process_due / Frappe's Auto Repeat making the same N invoices. Target <= 0.98 (issue 15).

Both run in one interleaved pass (`--n` invoices per side, `--blocks` blocks, the order of the sides rotating
from block to block), so asking for both measures all three sides together.
"""

import time
from datetime import date, timedelta
from unittest.mock import patch

import frappe
from frappe.utils import add_months, getdate

from benchmarks import common
from benchmarks.common import (
	GENERATOR,
	LINES,
	PREFIX,
	archive_bench_generators,
	bench_customers,
	bench_items,
	foreign_due,
	insert_direct,
	make_generators,
	profiled,
	report,
	run_tag,
	say,
)


def direct_invoice(customer: str, posting: date, codes: list[str], one_pass: bool = False):
	"""The same invoice through the document API: insert, then submit (ERPNext validates it twice), or
	`one_pass`: inserted submitted (validated once), as the billing run makes an Open invoice."""
	si = frappe.get_doc(
		{
			"doctype": "Sales Invoice",
			"customer": customer,
			"company": common.COMPANY,
			"posting_date": posting,
			"set_posting_time": 1,
			"due_date": posting,
			"selling_price_list": "Standard Selling",
			"items": [
				{"item_code": code, "qty": qty, "rate": rate}
				for (qty, rate), code in zip(LINES, codes, strict=True)
			],
		}
	)
	return insert_direct(si, one_pass)


def setup_auto_repeat(customers: list[str], day: date, codes: list[str]) -> list[str]:
	"""A draft Sales Invoice template per customer and a monthly Auto Repeat (submit on creation) whose next
	schedule date is `day`."""
	from frappe.custom.doctype.property_setter.property_setter import make_property_setter

	if not frappe.get_meta("Sales Invoice").allow_auto_repeat:
		# what an administrator does in Customize Form before using Auto Repeat on Sales Invoices
		make_property_setter("Sales Invoice", None, "allow_auto_repeat", 1, "Check", for_doctype=True)
		frappe.clear_cache(doctype="Sales Invoice")
	start = getdate(add_months(day, -1))
	names = []
	with patch("frappe.automation.doctype.auto_repeat.auto_repeat.today", return_value=str(start)):
		for customer in customers:
			template = frappe.get_doc(
				{
					"doctype": "Sales Invoice",
					"customer": customer,
					"company": common.COMPANY,
					"posting_date": start,
					"set_posting_time": 1,
					"due_date": start,
					"selling_price_list": "Standard Selling",
					"remarks": f"{PREFIX} auto repeat template",
					"items": [
						{"item_code": code, "qty": qty, "rate": rate}
						for (qty, rate), code in zip(LINES, codes, strict=True)
					],
				}
			).insert()
			repeat = frappe.get_doc(
				{
					"doctype": "Auto Repeat",
					"reference_doctype": "Sales Invoice",
					"reference_document": template.name,
					"frequency": "Monthly",
					"start_date": start,
					"submit_on_creation": 1,
				}
			).insert()
			assert getdate(repeat.next_schedule_date) == day, (repeat.next_schedule_date, day)
			names.append(repeat.name)
	frappe.db.commit()
	return names


def run_auto_repeat(day: date) -> None:
	"""Frappe's daily scheduler entry point for `day`, its job run in this process as a worker would."""
	from frappe.automation.doctype.auto_repeat import auto_repeat

	def enqueue(method, **kwargs):
		frappe.get_attr(method)(data=kwargs["data"])

	with (
		patch.object(auto_repeat, "today", return_value=str(day)),
		patch.object(frappe, "enqueue", side_effect=enqueue),
	):
		auto_repeat.make_auto_repeat_entry()
	frappe.db.commit()


def count_repeated(repeats: list[str], day: date) -> int:
	return frappe.db.count(
		"Sales Invoice", {"auto_repeat": ("in", repeats), "posting_date": day, "docstatus": 1}
	)


def bench_invoices(args, paths: tuple[str, ...]) -> None:
	"""Our process_due vs the document API (overhead) and/or vs Auto Repeat, interleaved in blocks."""
	from accumulating_billing.billing.tasks import process_due

	n, blocks = args.n, args.blocks
	per = n // blocks
	tag = run_tag()
	codes = bench_items()
	customers = bench_customers(n, "Invoices")
	base = date(2025, 3, 3)
	days = [base + timedelta(days=b) for b in range(blocks)]
	archive_bench_generators()
	say(f"setup: {n} generators x 5 items" + (", Auto Repeat templates" if "autorepeat" in paths else ""))
	started = time.perf_counter()
	generators = {}
	repeats = {}
	for b, day in enumerate(days):
		block = customers[b * per : (b + 1) * per]
		generators[day] = make_generators(block, day, codes, tag)
		if "autorepeat" in paths:
			repeats[day] = setup_auto_repeat(block, day, codes)
	mine = {g for names in generators.values() for g in names}
	others = foreign_due(days[-1], mine)
	if others:
		say(
			f"  {len(others)} other due generators on the site are archived so they do not count: {others[:5]}"
		)
		Gen = frappe.qb.DocType(GENERATOR)
		frappe.qb.update(Gen).set(Gen.status, "Archived").where(Gen.name.isin(others)).run()
		frappe.db.commit()
	say(f"setup done in {time.perf_counter() - started:.0f}s")

	# warm-up (not counted): caches, meta and the first invoice of each path
	warm_day = base - timedelta(days=15)  # its next dates (+1 month) fall after the last block
	warm = bench_customers(2, "Warmup")
	make_generators(warm, warm_day, codes, tag)
	process_due(warm_day)
	for customer in warm:
		direct_invoice(customer, warm_day, codes)
		direct_invoice(customer, warm_day, codes, one_pass=True)
	if "autorepeat" in paths:
		setup_auto_repeat(warm, warm_day, codes)
		run_auto_repeat(warm_day)

	times = {"ours": 0.0, "direct": 0.0, "one pass": 0.0, "autorepeat": 0.0}
	made = {"ours": 0, "direct": 0, "one pass": 0, "autorepeat": 0}
	sides = ["ours", "direct", "one pass"] if "overhead" in paths else ["ours"]
	if "autorepeat" in paths:
		sides.append("autorepeat")
	for b, day in enumerate(days):
		block = customers[b * per : (b + 1) * per]
		order = sides[b % len(sides) :] + sides[: b % len(sides)]
		for side in order:
			t0 = time.perf_counter()
			if side == "ours":
				with profiled(args.profile in paths and b == 0, f"process_due, block of {per}"):
					made["ours"] += len(process_due(day))
			elif side in ("direct", "one pass"):
				for customer in block:
					direct_invoice(customer, day, codes, one_pass=side == "one pass")
				made[side] += len(block)
			else:
				run_auto_repeat(day)
				made["autorepeat"] += count_repeated(repeats[day], day)
			times[side] += time.perf_counter() - t0
		say(f"  block {b + 1}/{blocks} ({day}): " + ", ".join(f"{s} {times[s]:.1f}s" for s in sides))
	for side in sides:
		say(
			f"  {side}: {made[side]} invoices in {times[side]:.2f}s = {1000 * times[side] / max(made[side], 1):.0f} ms/invoice"
		)
		if made[side] != n:
			say(f"  !! {side} made {made[side]} invoices, expected {n}: the ratio is not comparable")
	if "overhead" in paths:
		ratio = times["ours"] / times["direct"]
		report("overhead: process_due / document API", ratio, "<= 1.03", ratio <= 1.03)
		# no target: what our bookkeeping costs over ERPNext's cheapest way to make the same invoice
		say(
			f"  (process_due / document API inserting it submitted, one validate: "
			f"{times['ours'] / times['one pass']:.3f})"
		)
	if "autorepeat" in paths:
		ratio = times["ours"] / times["autorepeat"]
		report("against Auto Repeat: process_due / Auto Repeat", ratio, "<= 0.98", ratio <= 0.98)
	archive_bench_generators()


def run(args, names: tuple[str, ...]) -> None:
	"""run.py's entry: `names` are overhead and/or autorepeat, those asked for."""
	say(f"\n== {' + '.join(names)} (N = {args.n}, 5 items each, {args.blocks} interleaved blocks)")
	bench_invoices(args, names)
