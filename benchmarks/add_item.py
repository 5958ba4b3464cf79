"""Adding items: api.add_item / a bare ToDo insert, each with its commit, `--add-n` per side interleaved in
blocks of 50. Target <= 2.0. Then, on the same site, `--adders` concurrent adders for `--add-seconds`, alone
and with a biller running Generate Now every 2 s (see concurrent_adders.py): zero errors, zero lost items.
"""

import time
from datetime import date

import frappe

from accumulating_billing.tests.faults.invariants import billed_more_than_once
from benchmarks.common import (
	ITEM,
	PREFIX,
	archive_bench_generators,
	bench_customers,
	bench_items,
	make_generators,
	profiled,
	report,
	run_tag,
	say,
)
from benchmarks.concurrent_adders import concurrent_adders


def bench_additem(args) -> None:
	from accumulating_billing import api

	tag = run_tag()
	codes = bench_items()
	archive_bench_generators()
	customers = bench_customers(3, "Adders")
	gens = make_generators(customers, date(2025, 12, 1), codes, tag, items_per=0)
	service = "2025-11-10"
	n, block = args.add_n, 50

	def add_once(i):
		api.add_item(gens[0], codes[i % 5], qty=1, rate=10, service_date=service)
		frappe.db.commit()

	def todo_once(i):
		frappe.get_doc({"doctype": "ToDo", "description": f"{PREFIX} {tag} todo {i}"}).insert()
		frappe.db.commit()

	for i in range(20):  # warm-up
		add_once(i)
		todo_once(i)
	times = {"add_item": 0.0, "todo": 0.0}
	for b in range(n // block):
		order = [("add_item", add_once), ("todo", todo_once)]
		if b % 2:
			order.reverse()
		for label, fn in order:
			with profiled(args.profile == "additem" and label == "add_item" and b == 0, "api.add_item x 50"):
				t0 = time.perf_counter()
				for i in range(b * block, (b + 1) * block):
					fn(i)
				times[label] += time.perf_counter() - t0
	say(
		f"  api.add_item: {n} in {times['add_item']:.2f}s = {1000 * times['add_item'] / n:.1f} ms; "
		f"ToDo insert: {n} in {times['todo']:.2f}s = {1000 * times['todo'] / n:.1f} ms (each with its commit)"
	)
	ratio = times["add_item"] / times["todo"]
	report("adding items: api.add_item / ToDo insert", ratio, "<= 2.0", ratio <= 2.0)

	for with_biller in (False, True):
		added, errors = concurrent_adders(gens[1:], codes, service, args, tag, with_biller)
		frappe.db.rollback()
		in_db = set(
			frappe.get_all(
				ITEM,
				filters={
					"generator": ("in", gens[1:]),
					"client_ref": ("like", f"{tag}-{int(with_biller)}-%"),
				},
				pluck="name",
			)
		)
		lost = set(added) - in_db
		extra = in_db - set(added)
		billed_twice = billed_more_than_once(gens[1:])
		unbilled = frappe.db.count(ITEM, {"generator": ("in", gens[1:]), "status": "Unbilled"})
		billed = frappe.db.count(ITEM, {"generator": ("in", gens[1:]), "status": "Billed"})
		label = "8 adders + 1 biller (generate_now every 2 s)" if with_biller else "8 adders"
		say(
			f"  {label} for {args.add_seconds}s: {len(added)} items added ({len(added) / args.add_seconds:.0f}/s), "
			f"{len(errors)} errors, {len(lost)} lost, {len(extra)} unexpected, billed twice {billed_twice}, "
			f"billed {billed} + unbilled {unbilled} (all items of the generators)"
		)
		for error in errors[:5]:
			say(f"    error: {error}")
		ok = not errors and not lost and not extra and not billed_twice
		report(
			f"adding items: {label}",
			f"{len(errors)} errors, {len(lost)} lost, {billed_twice} billed twice",
			"0 errors, 0 lost",
			ok,
		)
	archive_bench_generators()
	ToDo = frappe.qb.DocType("ToDo")
	frappe.qb.from_(ToDo).delete().where(ToDo.description.like(f"{PREFIX} {tag} todo %")).run()
	frappe.db.commit()


def run(args, names: tuple[str, ...]) -> None:
	"""run.py's entry."""
	say("\n== adding items")
	bench_additem(args)
