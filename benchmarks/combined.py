"""One invoice per payer (issue 28): the cost of one combined invoice of 10 tabs against 10 separate invoices.

`combined`: process_due billing payers whose 10 tabs (its own and 9 clinics', Invoice To the payer) combine, one
invoice of 10 x 5 lines per payer / process_due billing the same payers' 10 tabs not combining, 10 invoices of 5
lines per payer (`--tab-lines`: lines per tab, each size measured on its own, default 1, 2 and 5). Target <= 0.3. `--payers` per side (default 20), in `--blocks-combined` interleaved blocks (the
order of the sides alternating), the 5 lines of every tab the ones the other benchmarks bill (common.LINES). Both
sides go through the same billing job (tasks.process_chunk over the block's generators, as a billing job's share:
the combined side's tabs grouped per payer by combined.plan), so the ratio is what combining saves: ERPNext's cost per invoice (its validate, the ledger, the numbering) paid once
instead of ten times, against the lines it still validates one by one and the app's per-tab work (each tab's
lock, items, log line and schedule). Both sides validate the same lines (10 x 5 either way): ERPNext's cost per
line (about 5 ms, README *Performance*) is paid alike, so the more lines a tab has, the closer the ratio gets to
that shared part.
"""

import time
from datetime import date, timedelta

import frappe

from benchmarks import common
from benchmarks.common import (
	GENERATOR,
	ITEM,
	LINES,
	PREFIX,
	add_bench_items,
	archive_bench_generators,
	archive_foreign_due,
	bench_generator,
	bench_items,
	foreign_due,
	profiled,
	report,
	run_tag,
	say,
)

TABS = 10


def make_payer(
	tag: str, number: int, day: date, codes: list[str], combine: bool, lines: int = len(LINES)
) -> list[str]:
	"""A payer's own tab and 9 clinics' tabs billed to it, first invoice on `day`, `lines` items each."""
	from accumulating_billing.tests.utils import make_customer

	label = f"{PREFIX} {tag} {'Combined' if combine else 'Separate'} Payer {number:03d}"
	payer = make_customer(label)
	names = []
	for tab in range(TABS):
		customer = payer if tab == 0 else make_customer(f"{label} Clinic {tab}")
		gen = bench_generator(
			customer,
			f"{label} tab {tab}",
			first_creation_date=day,
			invoice_customer=None if tab == 0 else payer,
			consolidate_invoices=1 if combine else 0,
		)
		add_bench_items(gen.name, codes, day - timedelta(days=10), lines)
		names.append(gen.name)
	frappe.db.commit()
	return names


def bill(names: list[str], day: date) -> int:
	"""A billing job over `names` (tasks.process_chunk); returns the invoices it made."""
	from accumulating_billing.billing.tasks import process_chunk

	return sum(len(result.invoices) for result in process_chunk(names, str(day)))


def bench_combined(args, lines: int) -> None:
	blocks = max(1, args.blocks_combined)
	per = max(1, args.payers // blocks)
	tag = run_tag()
	codes = bench_items()
	archive_bench_generators()
	base = date(2025, 5, 5) + timedelta(days=20 * lines)  # each size on days of its own
	# block b: the combined payers due on base + 2b, the separate ones on the day after
	days = {side: [base + timedelta(days=2 * b + k) for b in range(blocks)] for k, side in enumerate(SIDES)}
	say(f"\n-- {lines} line(s) per tab; setup: {2 * per * blocks} payers x {TABS} tabs x {lines} items")
	started = time.perf_counter()
	tabs = {(side, b): [] for side in SIDES for b in range(blocks)}
	for b in range(blocks):
		for side in SIDES:
			for p in range(per):
				tabs[side, b] += make_payer(tag, b * per + p, days[side][b], codes, side == "combined", lines)
	mine = {name for names in tabs.values() for name in names}
	archive_foreign_due(days["separate"][-1], mine)
	say(f"setup done in {time.perf_counter() - started:.0f}s")

	# warm-up (not counted): one payer of each kind
	warm_day = base - timedelta(days=20)
	for side in SIDES:
		bill(make_payer(tag, 999, warm_day, codes, side == "combined", lines), warm_day)

	times = dict.fromkeys(SIDES, 0.0)
	made = dict.fromkeys(SIDES, 0)
	for b in range(blocks):
		order = SIDES if b % 2 == 0 else SIDES[::-1]
		for side in order:
			t0 = time.perf_counter()
			with profiled(args.profile == "combined" and b == 0 and side == "combined", "combined invoices"):
				made[side] += bill(tabs[side, b], days[side][b])
			times[side] += time.perf_counter() - t0
		say(f"  block {b + 1}/{blocks}: " + ", ".join(f"{s} {times[s]:.1f}s" for s in SIDES))
	expected = {"combined": per * blocks, "separate": per * blocks * TABS}
	for side in SIDES:
		say(
			f"  {side}: {made[side]} invoices for {per * blocks} payers in {times[side]:.2f}s = "
			f"{1000 * times[side] / (per * blocks):.0f} ms per payer"
		)
		if made[side] != expected[side]:
			say(
				f"  !! {side} made {made[side]} invoices, expected {expected[side]}: the ratio is not comparable"
			)
	ratio = times["combined"] / times["separate"]
	report(
		f"combined, {lines} line(s) per tab: one invoice of {TABS} tabs / {TABS} invoices, one per tab",
		ratio,
		"<= 0.3",
		ratio <= 0.3,
		f"({1000 * times['combined'] / max(made['combined'], 1):.0f} vs "
		f"{1000 * times['separate'] / max(made['separate'], 1) * TABS:.0f} ms per payer)",
	)
	archive_bench_generators()


SIDES = ("combined", "separate")


def run(args, names: tuple[str, ...]) -> None:
	"""run.py's entry."""
	sizes = [int(size) for size in args.tab_lines.split(",") if size.strip()]
	say(
		f"\n== combined ({args.payers} payers per side x {TABS} tabs, {sizes} line(s) per tab, "
		f"{args.blocks_combined} interleaved blocks)"
	)
	for lines in sizes:
		bench_combined(args, max(1, min(lines, len(LINES))))
