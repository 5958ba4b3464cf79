"""Issue 26's billing cost of a huge tab counted, not timed: the same two sides as billing_cost.py (a tab of
`--work-lines` items, One per Item, billed by Generate Now, and the same invoice inserted submitted through the
document API), each side's work counted where it does not depend on how fast the machine runs that minute.

Counted for each side (both warmed up first by one uncounted tab each, so neither pays imports or cold caches):

- the Python and C function calls of this process (cProfile's count: what Python executes, a call at a time);
- the statements sent to the database (`common.counted_queries`);
- the rows the database server handled for them (the session's `Handler_*` counters: index and table reads,
  rows written, updated, deleted).

Each side is counted twice (ours, the API's, ours, the API's): the calls and statements of one side agree exactly
between the two rounds, the rows to within the few the server's own bookkeeping reads (2 in 80,000 measured). The timed pairs of
billing_cost.py measure what the work costs; these counts say what the work is, so that a ratio the machine's noise
moves by several percent from one run to the next can be read against a figure that does not move."""

import cProfile
import pstats
from contextlib import contextmanager

from benchmarks import common
from benchmarks.common import bench_customers, counted_queries, say
from benchmarks.tab_sides import MODES, bill, check_billed, direct_invoice, direct_lines, item_specs, make_tab

# the server's per-row work: reads through an index or a scan, and the rows written, updated and deleted
HANDLER_READS = (
	"Handler_read_first",
	"Handler_read_key",
	"Handler_read_last",
	"Handler_read_next",
	"Handler_read_prev",
	"Handler_read_rnd",
	"Handler_read_rnd_next",
)
HANDLER_WRITES = ("Handler_write", "Handler_update", "Handler_delete")
ROUNDS = 2
WORK_SIDES = ("ours", "one_pass")


def bench_work(size: int, codes: list[str], tag: str) -> None:
	"""Counts both sides' work on a tab of `size` items (module docstring) and prints each side's counts a line
	and the ratios ours / the API's. No target: the timed verdict is billing_cost's."""
	say(
		f"  billing work, counted: a {size:,}-item tab, {MODES[0]}: Generate Now and the API's invoice inserted "
		f"submitted, {ROUNDS} rounds each, after one uncounted of each"
	)
	customers = bench_customers(2 * (ROUNDS + 1), f"HugeWork{tag}")
	common.known_customers(customers)
	specs = item_specs(size, codes)
	lines = direct_lines(specs, MODES[0])
	warm = make_tab(customers[0], MODES[0], specs, tag)
	check_billed(warm, size, bill(warm))
	direct_invoice(customers[1], lines, one_pass=True)
	say(
		f"  {'round':>5} {'side':<9} {'calls a line':>12} {'statements':>10} {'rows read':>10} "
		f"{'rows written':>12}"
	)
	counts = {side: [] for side in WORK_SIDES}
	for k in range(1, ROUNDS + 1):
		gen = make_tab(customers[2 * k], MODES[0], specs, tag)
		common.quiet_server()
		for side in WORK_SIDES:
			with counted(counts[side]):
				if side == "ours":
					invoice = bill(gen)
				else:
					direct_invoice(customers[2 * k + 1], lines, one_pass=True)
			found = counts[side][-1]
			say(
				f"  {k:>5} {side:<9} {found['calls'] / size:>12,.1f} {found['statements']:>10,} "
				f"{found['reads']:>10,} {found['writes']:>12,}"
			)
		check_billed(gen, size, invoice)
	ours, api = counts["ours"][-1], counts["one_pass"][-1]
	say(
		"  => billing work counted, ours / the API's inserted submitted (the last round): "
		+ ", ".join(
			f"{what} {ours[what] / api[what]:.4f}" for what in ("calls", "statements", "reads", "writes")
		)
		+ f"; {(ours['calls'] - api['calls']) / size:+,.0f} calls a line"
	)


@contextmanager
def counted(into: list):
	"""The block's work (module docstring), appended to `into` as a dict when it ends."""
	before = server_rows()
	profiler = cProfile.Profile()
	with counted_queries() as statements:
		profiler.enable()
		try:
			yield
		finally:
			profiler.disable()
	# read after the count ends: the reads of the counters are statements of their own, not the side's
	reads, writes = (after - earlier for after, earlier in zip(server_rows(), before, strict=True))
	into.append(
		{
			"calls": pstats.Stats(profiler).total_calls,
			"statements": statements["queries"],
			"reads": reads,
			"writes": writes,
		}
	)


def server_rows() -> tuple[int, int]:
	"""The rows this connection's statements have read and written so far (its Handler_* counters)."""
	found = common.status_counters(*HANDLER_READS, *HANDLER_WRITES, scope="session")
	return (
		sum(found[name.lower()] for name in HANDLER_READS),
		sum(found[name.lower()] for name in HANDLER_WRITES),
	)
