"""Issue 26's billing cost of a huge tab: the largest tab of the hugetab benchmark (huge_tab.py), One per Item,
billed by Generate Now, against the same invoice inserted submitted through the document API (ERPNext's cheapest
path), in pairs, each side from a quiet server. Target: <= 1.03 (the median of the pairs' wall-clock ratios).
An odd number of pairs bills ours first once more than second."""

import frappe

from benchmarks import common
from benchmarks.common import bench_customers, report, say
from benchmarks.orders import block_ratios
from benchmarks.tab_sides import MODES, bill, check_billed, direct_invoice, direct_lines, item_specs, make_tab

# issue 26's two sides: Generate Now, and the same invoice inserted submitted through the document API
COST_SIDES = ("ours", "one_pass")
TARGET_COST = 1.03


def bench_cost(pairs: int, size: int, codes: list[str], tag: str) -> None:
	"""Issue 26's verdict: `pairs` tabs of `size` items, One per Item, each billed by Generate Now and made into the
	same invoice inserted submitted through the document API (ERPNext's cheapest path), ours first in every other
	pair. The tab is made, then the server let get quiet (common.quiet_server); after each side it is let get quiet
	again, and what the database server spent meanwhile (purging and flushing that side's writes: ours updates
	5,000 item rows in three indexes besides the invoice) is counted to that side's CPU. Prints each pair: wall
	seconds, and the CPU seconds of this process and the database server, background included; then the verdict on
	the median of the pairs' wall-clock ratios (orders.block_ratios, as the overhead benchmark's blocks), with the
	ratio of the sums and the CPU's beside it. A wait that ended before the server got quiet is marked (*)."""
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
		f"{'CPU ours s':>10} {'CPU API s':>9} {'ratio':>6}   (the waits for a quiet server after the tab and "
		"each side, s)"
	)
	figures = {side: [] for side in COST_SIDES}
	for k in range(pairs):
		gen = make_tab(customers[2 * k], MODES[0], specs, tag)
		waits = [common.quiet_server()]
		for side in COST_SIDES if k % 2 == 0 else reversed(COST_SIDES):
			with common.measured(server) as spent:
				if side == "ours":
					invoice = bill(gen)
				else:
					theirs = direct_invoice(customers[2 * k + 1], lines, one_pass=True)
			with common.measured(server) as background:
				waits.append(common.quiet_server())
			spent["background_db_cpu"] = background["db_cpu"]
			figures[side].append(spent)
		check_same_invoice(gen, size, invoice, theirs, len(lines))
		ours, api = figures["ours"][-1], figures["one_pass"][-1]
		say(
			f"  {k + 1:>4}  {side_columns(ours, api, cpu_of)}   "
			f"({', '.join(f'{seconds:.0f}' + ('' if quiet else '*') for seconds, quiet in waits)})"
		)
	walls, ratio, of_sums, cpu_ratio, cpu_of_sums = side_ratios(figures, cpu_of)
	ours, api = sum(walls["ours"]), sum(walls["one_pass"])
	report(
		f"billing cost: huge tab of {size:,} items, One per Item, Generate Now / document API inserted submitted, "
		f"median of {pairs} pairs",
		ratio,
		f"<= {TARGET_COST}",
		ratio <= TARGET_COST,
		f"(ratio of the sums {of_sums:.3f}: {ours:.1f} vs {api:.1f} s, {1000 * ours / (size * pairs):.2f} vs "
		f"{1000 * api / (size * pairs):.2f} ms a line; CPU of both processes, the server's background work "
		f"included: median {cpu_ratio:.3f}, ratio of the sums {cpu_of_sums:.3f}"
		+ ("" if server else ", this process only: the database server is not on this machine")
		+ ")",
	)


def side_columns(ours: dict, api: dict, cpu_of) -> str:
	"""A pair's (or a round's) figures as the tables print them: each side's wall-clock seconds and their ratio,
	then each side's CPU seconds (`cpu_of` its figures) and theirs."""
	return (
		f"{ours['wall']:>7.2f} {api['wall']:>12.2f} {ours['wall'] / api['wall']:>6.3f}   "
		f"{cpu_of(ours):>10.2f} {cpu_of(api):>9.2f} {cpu_of(ours) / cpu_of(api):>6.3f}"
	)


def side_ratios(figures: dict, cpu_of) -> tuple:
	"""(each side's wall-clock seconds, the median of the pairs' wall-clock ratios, the ratio of their sums, the
	same two of the CPU seconds: `cpu_of` its figures) of {side: [its figures, pair by pair]}. As the overhead
	benchmark's blocks: the median is unmoved by a pair the machine slowed."""
	walls = {side: [spent["wall"] for spent in figures[side]] for side in COST_SIDES}
	cpus = {side: [cpu_of(spent) for spent in figures[side]] for side in COST_SIDES}
	return (
		walls,
		*block_ratios(walls["ours"], walls["one_pass"]),
		*block_ratios(cpus["ours"], cpus["one_pass"]),
	)


def check_same_invoice(generator: str, size: int, ours: str, theirs: str, lines: int) -> None:
	"""After the timing: every item of the tab billed on our invoice, and both invoices submitted with the same
	number of lines."""
	count = check_billed(generator, size, ours)
	api = frappe.db.get_value("Sales Invoice", theirs, "docstatus")
	api_lines = frappe.db.count("Sales Invoice Item", {"parent": theirs})
	if (count, api, api_lines) != (lines, 1, lines):
		raise RuntimeError(
			f"not the same invoice: ours {ours} has {count} lines, the API's {theirs} (docstatus {api}) "
			f"{api_lines}, {lines} expected"
		)


def cpu_of(spent: dict) -> float:
	"""CPU seconds of this process and the database server in one measurement, the server's background work
	after it included."""
	return spent["cpu"] + spent["db_cpu"] + spent["background_db_cpu"]
