"""One invoice per payer (issue 28): the cost of one combined invoice of 10 tabs against 10 separate invoices.

`combined`: process_due billing payers whose 10 tabs (its own and 9 clinics', Invoice To the payer) combine, one
invoice of 10 x 5 lines per payer / process_due billing the same payers' 10 tabs not combining, 10 invoices of 5
lines per payer. Target <= 0.3. `--payers` per side (default 20), in `--blocks` interleaved blocks (each block's
payers are due on a day of their own, the order of the sides alternating), the 5 lines of every tab the ones the
other benchmarks bill (common.LINES). Both sides go through the same billing run (tasks.process_due), so the
ratio is what combining saves: ERPNext's cost per invoice (its validate, the ledger, the numbering) paid once
instead of ten times, against the lines it still validates one by one and the app's per-tab work (each tab's
lock, items, log line and schedule).
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
	archive_bench_generators,
	bench_generator,
	bench_items,
	foreign_due,
	profiled,
	report,
	run_tag,
	say,
)

TABS = 10


def make_payer(tag: str, number: int, day: date, codes: list[str], combine: bool) -> list[str]:
	"""A payer's own tab and 9 clinics' tabs billed to it, first invoice on `day`, 5 items each."""
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
		for (qty, rate), code in zip(LINES, codes, strict=True):
			frappe.get_doc(
				{
					"doctype": ITEM,
					"generator": gen.name,
					"item_code": code,
					"qty": qty,
					"rate": rate,
					"service_date": day - timedelta(days=10),
				}
			).insert(ignore_permissions=True)
		names.append(gen.name)
	frappe.db.commit()
	return names


def bench_combined(args) -> None:
	from accumulating_billing.billing.tasks import process_due

	blocks = max(1, args.blocks_combined)
	per = max(1, args.payers // blocks)
	tag = run_tag()
	codes = bench_items()
	archive_bench_generators()
	base = date(2025, 5, 5)
	# block b: the combined payers due on base + 2b, the separate ones on the day after
	days = {side: [base + timedelta(days=2 * b + k) for b in range(blocks)] for k, side in enumerate(SIDES)}
	say(f"setup: {2 * per * blocks} payers x {TABS} tabs x {len(LINES)} items")
	started = time.perf_counter()
	mine = set()
	for b in range(blocks):
		for side in SIDES:
			for p in range(per):
				mine.update(make_payer(tag, b * per + p, days[side][b], codes, side == "combined"))
	others = foreign_due(days["separate"][-1], mine)
	if others:
		say(f"  {len(others)} other due generators on the site are archived so they do not count")
		Gen = frappe.qb.DocType(GENERATOR)
		frappe.qb.update(Gen).set(Gen.status, "Archived").where(Gen.name.isin(others)).run()
		frappe.db.commit()
	say(f"setup done in {time.perf_counter() - started:.0f}s")

	# warm-up (not counted): one payer of each kind
	warm_day = base - timedelta(days=20)
	for side in SIDES:
		make_payer(tag, 999, warm_day, codes, side == "combined")
	process_due(warm_day)

	times = dict.fromkeys(SIDES, 0.0)
	made = dict.fromkeys(SIDES, 0)
	for b in range(blocks):
		order = SIDES if b % 2 == 0 else SIDES[::-1]
		for side in order:
			t0 = time.perf_counter()
			with profiled(args.profile == "combined" and b == 0 and side == "combined", "combined invoices"):
				made[side] += len(process_due(days[side][b]))
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
		f"combined: one invoice of {TABS} tabs / {TABS} invoices, one per tab",
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
	say(
		f"\n== combined ({args.payers} payers per side x {TABS} tabs x {len(LINES)} items, "
		f"{args.blocks_combined} interleaved blocks)"
	)
	bench_combined(args)
