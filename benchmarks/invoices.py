"""Overhead and Auto Repeat: the invoices a billing run makes, against ERPNext's own ways of making them.

- `overhead`: process_due making N invoices of 5 items / inserting and submitting the same N Sales Invoices
  with the document API. Target <= 1.03 (issue 15; 1.15 before). And issue 26's two ratios of billing cost:
  process_due / the document API inserting the same invoices submitted in one pass (validated once, as
  process_due makes them; ERPNext's cheapest path), target <= 1.03; and process_due with two-step billing on
  (reserve, then submit: *Submit Invoices in a Second Transaction*) / process_due in one step, per invoice on
  one worker (this process), target <= 1.10. Then the statements (frappe.db.sql calls) each side sends per
  invoice, counted on one more block, untimed: a measure the machine's noise does not blur.
- `autorepeat`: process_due / Frappe's Auto Repeat making the same N invoices. Target <= 0.98 (issue 15).

Both run in one interleaved pass (`--n` invoices per side, `--blocks` blocks), so asking for both measures all the
sides together. The order of the sides changes from block to block in a balanced design (`balanced_orders`: over
every len(sides) blocks, or twice that for an odd number of sides, each side runs first, last and right after each
other side equally often): what one side leaves behind (the database's flushing of its writes, Frappe's caches)
weighs on every side alike. A block bills at most 10 invoices a side by default (orders.blocks_for), so the sides of
a block run seconds apart. Each side bills customers of its own, none billed by another side in this process, and
every side's customers are in Frappe's document cache before the blocks (common.known_customers), as a billing run
meets customers it billed before: no side finds a cache another side, or the setup, warmed for it alone. In each
block the sides that bill through process_due or Auto Repeat bill on days of their own, the first to run on the
earliest, so that each process_due bills exactly its side's generators; what a block billed is retired after it,
untimed, so no later day finds it due again.
"""

import time
from contextlib import nullcontext
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
	counted_queries,
	cpu_seconds,
	foreign_due,
	insert_direct,
	known_customers,
	make_generators,
	profiled,
	report,
	run_tag,
	say,
	server_pid,
	server_thread,
	two_step_billing,
)
from benchmarks.orders import balanced_orders, block_ratios, blocks_for, each_block


def direct_invoice(
	customer: str, posting: date, codes: list[str], one_pass: bool = False, naming_series: str | None = None
):
	"""The same invoice through the document API: insert, then submit (ERPNext validates it twice), or
	`one_pass`: inserted submitted (validated once), as the billing run makes an Open invoice; `naming_series`:
	one of Sales Invoice's series, else its default."""
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
	if naming_series:
		si.naming_series = naming_series
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


# the sides that bill through process_due or Auto Repeat: each bills on a day of its own in every block
DATED = ("ours", "two step", "autorepeat")
# the blocks bill on days from 3 Mar 2025 on, in the fiscal years setup_company makes
LAST_DAY = date(2026, 12, 31)


def bench_invoices(args, paths: tuple[str, ...]) -> None:
	"""Our process_due (in one step and in two) vs the document API (overhead) and/or vs Auto Repeat, interleaved
	in blocks; then the statements each side sends per invoice."""
	from accumulating_billing.billing.tasks import process_due

	sides = ["ours", "direct", "one pass", "two step"] if "overhead" in paths else ["ours"]
	if "autorepeat" in paths:
		sides.append("autorepeat")
	design = balanced_orders(sides)
	n, blocks = args.n, args.blocks or blocks_for(design, args.n)
	if blocks % len(design):
		say(
			f"  !! --blocks {blocks} is not a multiple of {len(design)}: the order of the sides is not balanced"
		)
	orders = [design[b % len(design)] for b in range(blocks)]
	if not 0 < blocks <= n:
		raise SystemExit(f"--blocks {blocks}: between 1 and --n ({n})")
	per = n // blocks

	def share(b: int) -> slice:
		# block b's customers of a side: every invoice made, blocks of `per` or `per` + 1
		return slice(n * b // blocks, n * (b + 1) // blocks)

	tag = run_tag()
	codes = bench_items()
	base = date(2025, 3, 3)
	customers = {side: bench_customers(n, f"Invoices {side}") for side in sides}
	# in each block every dated side bills on a day of its own, the first to run on the earliest, so that a
	# process_due bills exactly its side's generators (those of the sides after it are not due yet)
	day_of = {}
	for b, order in enumerate(orders):
		for k, side in enumerate(s for s in order if s in DATED):
			day_of[(b, side)] = base + timedelta(days=len(DATED) * b + k)
	if max(day_of.values()) > LAST_DAY:
		raise SystemExit(f"--blocks {blocks}: the blocks' days would leave the fiscal years set up for them")
	archive_bench_generators()
	say(
		f"setup: {n} generators x 5 items per billing side"
		+ (", Auto Repeat templates" if "autorepeat" in paths else "")
	)
	started = time.perf_counter()
	generators = {}
	repeats = {}
	for b in range(blocks):
		for side in ("ours", "two step"):
			if (b, side) in day_of:
				block = customers[side][share(b)]
				generators[(b, side)] = make_generators(block, day_of[(b, side)], codes, tag)
		if "autorepeat" in paths:
			block = customers["autorepeat"][share(b)]
			repeats[b] = setup_auto_repeat(block, day_of[(b, "autorepeat")], codes)
	mine = {g for names in generators.values() for g in names}
	others = foreign_due(max(day_of.values()), mine)
	if others:
		say(
			f"  {len(others)} other due generators on the site are archived so they do not count: {others[:5]}"
		)
		archive(others)
	say(f"setup done in {time.perf_counter() - started:.0f}s")

	warm_up(sides, codes, tag, base - timedelta(days=20))
	known_customers([c for names in customers.values() for c in names])
	queries = count_queries(sides, codes, tag, base - timedelta(days=16), per)

	blocks_of = {side: [] for side in sides}  # each block's time, per side
	# and its CPU seconds: this process's and those of the server thread serving its connection (0 when the
	# server is elsewhere): what the block cost, less blurred than its wall clock by what else the machine does
	cpu_of = {side: [] for side in sides}
	server, thread = server_pid(), server_thread()
	made = dict.fromkeys(sides, 0)
	for b, order in enumerate(orders):
		for side in order:
			block = customers[side][share(b)]
			day = day_of.get((b, side), base + timedelta(days=len(DATED) * b))
			with two_step_billing(True) if side == "two step" else nullcontext():
				t0, cpu0 = time.perf_counter(), time.process_time() + cpu_seconds(server, thread)
				if side in ("ours", "two step"):
					with profiled(
						args.profile in paths and b == 0 and side == "ours", f"process_due, block of {per}"
					):
						made[side] += len(process_due(day))
				elif side in ("direct", "one pass"):
					for customer in block:
						direct_invoice(customer, day, codes, one_pass=side == "one pass")
					made[side] += len(block)
				else:
					run_auto_repeat(day)
					made["autorepeat"] += count_repeated(repeats[b], day)
				blocks_of[side].append(time.perf_counter() - t0)
				cpu_of[side].append(time.process_time() + cpu_seconds(server, thread) - cpu0)
			# untimed: what the block billed is retired, so that no later block's day finds it due again (the
			# blocks' days may pass a monthly generator's next date)
			if (b, side) in generators:
				archive(generators[(b, side)])
			if side == "autorepeat":
				disable_repeats(repeats[b])
		say(f"  block {b + 1}/{blocks}: " + ", ".join(f"{s} {sum(blocks_of[s]):.1f}s" for s in sides))
	times = {side: sum(blocks_of[side]) for side in sides}
	for side in sides:
		count = f", {queries[side]:.1f} statements/invoice" if side in queries else ""
		say(
			f"  {side}: {made[side]} invoices in {times[side]:.2f}s = "
			f"{1000 * times[side] / max(made[side], 1):.1f} ms/invoice{count}"
		)
		if made[side] != n:
			say(f"  !! {side} made {made[side]} invoices, expected {n}: the ratio is not comparable")
	for side in ("ours", "two step"):
		names = [g for (b, s), gens in generators.items() if s == side for g in gens]
		submitted = frappe.db.count(
			"Sales Invoice", {"accumulating_generator": ("in", names), "docstatus": 1}
		)
		if names and submitted != n:
			say(f"  !! {side}: {submitted} of {n} invoices submitted")
	if "overhead" in paths:
		ratio = times["ours"] / times["direct"]
		report("overhead: process_due / document API insert + submit", ratio, "<= 1.03", ratio <= 1.03)
		# issue 26: what our bookkeeping costs over ERPNext's cheapest way to make the same invoice, and two steps
		# over one; each the median of the blocks' ratios (orders.block_ratios), the ratio of the sums beside it
		for label, numerator, denominator, target in (
			(
				"billing cost: process_due / document API inserting it submitted (one pass)",
				"ours",
				"one pass",
				1.03,
			),
			(
				"two-step billing: process_due in two steps / in one, per invoice, one worker",
				"two step",
				"ours",
				1.10,
			),
		):
			ratio, of_sums = block_ratios(blocks_of[numerator], blocks_of[denominator])
			cpu_ratio, cpu_of_sums = block_ratios(cpu_of[numerator], cpu_of[denominator])
			each = ", ".join(f"{r:.3f}" for r in each_block(blocks_of[numerator], blocks_of[denominator]))
			say(f"  {numerator} / {denominator}, block by block: {each}")
			report(
				f"{label}, median of {blocks} blocks",
				ratio,
				f"<= {target:.2f}",
				ratio <= target,
				f"(ratio of the sums {of_sums:.3f}; "
				f"{queries[numerator]:.1f} vs {queries[denominator]:.1f} statements/invoice; CPU of this process "
				f"and its server thread: median {cpu_ratio:.3f}, ratio of the sums {cpu_of_sums:.3f}"
				+ (
					""
					if server and thread
					else ", of the whole server: its thread is not known"
					if server
					else ", this process only: the database server is not on this machine"
				)
				+ ")",
			)
	if "autorepeat" in paths:
		ratio = times["ours"] / times["autorepeat"]
		report("against Auto Repeat: process_due / Auto Repeat", ratio, "<= 0.98", ratio <= 0.98)
	archive_bench_generators()


def archive(generators: list[str]) -> None:
	Gen = frappe.qb.DocType(GENERATOR)
	frappe.qb.update(Gen).set(Gen.status, "Archived").where(Gen.name.isin(generators)).run()
	frappe.db.commit()


def warm_up(sides: list[str], codes: list[str], tag: str, day: date) -> None:
	"""Not counted: caches, meta and the first invoices of each side, on days before the blocks; the generators
	and Auto Repeats it makes are archived (disabled) after it, so that their next dates bill nothing later."""
	from accumulating_billing.billing.tasks import process_due

	warm = bench_customers(2, "Warmup")
	made = []
	for k, side in enumerate(("ours", "two step")):
		if side in sides:
			made += make_generators(warm, day + timedelta(days=k), codes, tag)
			with two_step_billing(side == "two step"):
				process_due(day + timedelta(days=k))
	for customer in warm:
		direct_invoice(customer, day, codes)
		direct_invoice(customer, day, codes, one_pass=True)
	archive(made)
	if "autorepeat" in sides:
		repeats = setup_auto_repeat(warm, day, codes)
		run_auto_repeat(day)
		disable_repeats(repeats)


def disable_repeats(repeats: list[str]) -> None:
	for name in repeats:
		frappe.db.set_value("Auto Repeat", name, "disabled", 1)
	frappe.db.commit()


def count_queries(sides: list[str], codes: list[str], tag: str, day: date, per: int) -> dict[str, float]:
	"""The statements each side sends to the database per invoice (frappe.db.sql calls), on `per` invoices as a
	block makes them: a measure of the work that the machine's noise does not blur. Not timed."""
	from accumulating_billing.billing.tasks import process_due

	customers = {side: bench_customers(per, f"Count {side}") for side in sides}
	known_customers([c for names in customers.values() for c in names])
	counts, made = {}, []
	for k, side in enumerate(("ours", "two step")):
		if side in sides:
			gens = make_generators(customers[side], day + timedelta(days=k), codes, tag)
			made += gens
			with two_step_billing(side == "two step"):
				with counted_queries() as counter:
					billed = len(process_due(day + timedelta(days=k)))
			counts[side] = counter["queries"] / max(billed, 1)
	for side in ("direct", "one pass"):
		if side in sides:
			with counted_queries() as counter:
				for customer in customers[side]:
					direct_invoice(customer, day, codes, one_pass=side == "one pass")
			counts[side] = counter["queries"] / per
	archive(made)
	return counts


def run(args, names: tuple[str, ...]) -> None:
	"""run.py's entry: `names` are overhead and/or autorepeat, those asked for."""
	say(f"\n== {' + '.join(names)} (N = {args.n}, 5 items each, interleaved blocks)")
	bench_invoices(args, names)
