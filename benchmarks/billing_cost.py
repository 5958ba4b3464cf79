"""Issue 26's billing cost of a huge tab: the largest tab of the hugetab benchmark (huge_tab.py), One per Item,
billed by Generate Now, against the same invoice inserted submitted through the document API (ERPNext's cheapest
path), in pairs, each side from a quiet server. Target: <= 1.03 (the ratio of the wall-clock sums)."""

from statistics import median

from benchmarks import common
from benchmarks.common import bench_customers, report, say
from benchmarks.tab_sides import MODES, bill, check_billed, direct_invoice, direct_lines, item_specs, make_tab

# issue 26's two sides: Generate Now, and the same invoice inserted submitted through the document API
COST_SIDES = ("ours", "one_pass")
TARGET_COST = 1.03


def bench_cost(pairs: int, size: int, codes: list[str], tag: str) -> None:
	"""Issue 26's verdict: `pairs` tabs of `size` items, One per Item, each billed by Generate Now and made into the
	same invoice inserted submitted through the document API (ERPNext's cheapest path), ours first in every other
	pair. Each side starts on a quiet server (common.quiet_server, not timed), so that neither runs while the
	server still flushes and purges the other's writes; what each side's own writes cost the server later, in the
	background, is timed for neither. Prints each pair (wall seconds, and the CPU seconds of this process and the
	database server), then the verdict on the ratio of the wall-clock sums, with the median of the pairs' ratios
	and the ratio of the CPU time beside it."""
	say(
		f"  billing cost: {pairs} pairs of a {size:,}-item tab, {MODES[0]}: Generate Now and the API's invoice "
		"inserted submitted, each side from a quiet server"
	)
	customers = bench_customers(2 * pairs, f"HugeCost{tag}")
	common.known_customers(customers)
	specs = item_specs(size, codes)
	lines = direct_lines(specs, MODES[0])
	server = common.server_pid()
	say(
		f"  {'pair':>4}  {'ours s':>7} {'API 1-pass s':>12} {'ratio':>6}   "
		f"{'CPU ours s':>10} {'CPU API s':>9} {'ratio':>6}   (waited for the server: s)"
	)
	figures = {side: [] for side in COST_SIDES}
	for k in range(pairs):
		gen = make_tab(customers[2 * k], MODES[0], specs, tag)
		waited = []
		for side in COST_SIDES if k % 2 == 0 else reversed(COST_SIDES):
			waited.append(common.quiet_server())
			with common.measured(server) as spent:
				if side == "ours":
					invoice = bill(gen)
				else:
					direct_invoice(customers[2 * k + 1], lines, one_pass=True)
			figures[side].append(spent)
		check_billed(gen, size, invoice)
		ours, theirs = figures["ours"][-1], figures["one_pass"][-1]
		say(
			f"  {k + 1:>4}  {ours['wall']:>7.2f} {theirs['wall']:>12.2f} {ours['wall'] / theirs['wall']:>6.3f}   "
			f"{cpu_of(ours):>10.2f} {cpu_of(theirs):>9.2f} {cpu_of(ours) / cpu_of(theirs):>6.3f}   "
			f"({', '.join(f'{w:.0f}' for w in waited)})"
		)
	walls = {side: sum(spent["wall"] for spent in figures[side]) for side in COST_SIDES}
	cpus = {side: sum(cpu_of(spent) for spent in figures[side]) for side in COST_SIDES}
	ratios = [o["wall"] / t["wall"] for o, t in zip(figures["ours"], figures["one_pass"], strict=True)]
	ratio = walls["ours"] / walls["one_pass"]
	report(
		f"billing cost: huge tab of {size:,} items, One per Item, Generate Now / document API inserted submitted",
		ratio,
		f"<= {TARGET_COST}",
		ratio <= TARGET_COST,
		f"({walls['ours']:.1f} vs {walls['one_pass']:.1f} s over {pairs} pairs: "
		f"{1000 * walls['ours'] / (size * pairs):.2f} vs {1000 * walls['one_pass'] / (size * pairs):.2f} ms a "
		f"line; median of the pairs {median(ratios):.3f}; CPU of both processes {cpus['ours'] / cpus['one_pass']:.3f}"
		+ ("" if server else ", this process only: the database server is not on this machine")
		+ ")",
	)


def cpu_of(spent: dict) -> float:
	"""CPU seconds of this process and the database server in one measurement."""
	return spent["cpu"] + spent["db_cpu"]
