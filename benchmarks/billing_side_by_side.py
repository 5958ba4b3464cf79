"""Issue 26's billing cost of a huge tab, the two sides at the same moment: a tab of 5,000 items, One per Item,
billed by Generate Now in one process while the same invoice is inserted submitted through the document API
(ERPNext's cheapest path) in another, started together. Target: <= 1.03 (the median of the rounds' wall-clock
ratios), as billing_cost.py's.

Why both at once: billing_cost.py times the two sides one after the other, half a minute apart, and on the 2-CPU
machines of this project the machine's own speed moves by 10 - 15 % from one half minute to the next (README,
billing cost, sixth and seventh passes): the same invoice took 25.5 s and 30.1 s a minute apart, so a pair's ratio
moves with the machine, not with the code. Here whatever slows the machine slows both sides at once.

What keeps the two alike:

- each side has its own process and connection, warmed by one uncounted small round of each side;
- the two processes swap sides every round (neither process's core, memory or cache favours a side);
- a process whose side is done keeps a CPU busy (`ballast`) until the other's is done, so that the side that runs
  longer does not run its last seconds on an emptier machine;
- neither side can wait for the other: the two invoices take two naming series (ERPNext locks a series' row from
  naming to commit) and Selling Settings > Sales Update Frequency is Daily for the run (otherwise every submitted
  invoice updates its Company's row, locked to commit): ERPNext's own deployment options (serialisation.py),
  alike for both sides, put back afterwards;
- "neither can wait" has one exception, ERPNext's own: its submit of an invoice reads its lines back with a
  locking read, which on a site whose Sales Invoice Item table is small next to a 5,000-line invoice scans the
  table, so the two submits can each wait for the other's lines: the database picks a victim, and that round is
  played again on a fresh tab (RoundDeadlocked, at most REPLAYS a run, each one printed);
- every round starts after the server has had QUIET_SECONDS to finish the last round's background work
  (common.quiet_server), the tab made before. It rarely finishes it (two 5,000-line invoices leave more than a
  third of a 128 MB buffer pool dirty), but what is left weighs on both sides at once; billing_cost.py's pairs,
  whose sides run apart, wait up to 20 s.

Per side: wall-clock seconds from the common start to its own end, and CPU seconds of its process and of the
database server's thread that serves its connection (the server's background threads work for both at once and
are counted to neither). Both invoices are checked afterwards: submitted, with the same lines."""

import importlib
import math
import multiprocessing
import os
import time
from contextlib import contextmanager
from queue import Empty
from statistics import median

import frappe

from benchmarks import common
from benchmarks.billing_cost import COST_SIDES, TARGET_COST, check_same_invoice, side_columns, side_ratios
from benchmarks.common import PREFIX, bench_customers, report, say
from benchmarks.orders import mean_interval
from benchmarks.serialisation import invoice_series, sales_update_frequency
from benchmarks.tab_sides import MODES, direct_invoice, direct_lines, item_specs, make_tab
from benchmarks.workers import connect_in_process

# the uncounted rounds' tab: each process runs each side once on it before the counted rounds
WARM_ITEMS = 200
# the longest a round may take before the benchmark gives up on it
ROUND_SECONDS = 900
# the longest wait for a quiet server before a round (module docstring): rounds of ~35 s instead of ~50 s
QUIET_SECONDS = 5
# the rounds played again because the two sides' submits deadlocked (RoundDeadlocked), at most, in a run
REPLAYS = 4


class RoundDeadlocked(RuntimeError):
	"""Each side that failed in a round was the database's deadlock victim: the round is played again."""


def bench_side_by_side(rounds: int, size: int, codes: list[str], tag: str) -> None:
	"""`rounds` tabs of `size` items, each billed by Generate Now while the same invoice is inserted submitted
	through the document API, at the same moment (module docstring). Prints each round, then the verdict on the
	median of the rounds' wall-clock ratios, with the ratio of the sums and the CPU's beside it."""
	say(
		f"  billing cost, side by side: {rounds} rounds of a {size:,}-item tab, {MODES[0]}: Generate Now and the "
		"API's invoice inserted submitted at the same moment, in two processes that swap sides every round"
	)
	names = bench_customers(2 * (rounds + 2 + REPLAYS), f"HugeSide{tag}")
	common.known_customers(names)
	customers = iter(names)  # two fresh ones a round, a round played again included
	replays = 0
	with side_processes() as (play, series):
		for k in range(2):  # warm-up: each process runs each side once
			gen = make_tab(next(customers), MODES[0], item_specs(WARM_ITEMS, codes), tag)
			tab_round(play, k % 2, gen, next(customers), WARM_ITEMS, codes, series)
		both_processes(play, "benchmarks.billing_side_by_side.api_lines", size, codes)
		say(ROUND_HEADER)
		figures = {side: [] for side in COST_SIDES}
		specs = item_specs(size, codes)
		k = 0
		while k < rounds:
			gen = make_tab(next(customers), MODES[0], specs, tag)
			wait = common.quiet_server(QUIET_SECONDS)
			try:
				out = tab_round(play, k % 2, gen, next(customers), size, codes, series)
			except RoundDeadlocked as e:
				replays += 1
				if replays > REPLAYS:
					raise
				# ERPNext's own deadlock of the two submits (module docstring, "neither can wait")
				say(f"  {k + 1:>5} deadlock, played again on a fresh tab: {e}")
				continue
			record_round(figures, k + 1, k % 2, out, wait)
			k += 1
	report_rounds(
		f"billing cost, side by side: huge tab of {size:,} items, One per Item, Generate Now / document API "
		f"inserted submitted at the same moment, median of {rounds} rounds",
		figures,
	)


ROUND_HEADER = (
	f"  {'round':>5} {'ours in':>7}  {'ours s':>7} {'API 1-pass s':>12} {'ratio':>6}   "
	f"{'CPU ours s':>10} {'CPU API s':>9} {'ratio':>6}   (of it the server thread's, s; the wait for a quiet "
	"server, s)"
)


def record_round(figures: dict, number: int, ours_in: int, out: dict, wait: tuple[float, bool]) -> None:
	"""Adds a round's figures (`out`: play's) to `figures` ({side: [its figures]}) and prints its line under
	ROUND_HEADER, with the wait for a quiet server before it (common.quiet_server's answer)."""
	seconds, quiet = wait
	for side in COST_SIDES:
		figures[side].append(out[side])
	ours, api = out["ours"], out["one_pass"]
	say(
		f"  {number:>5} {'P' + str(ours_in):>7}  {side_columns(ours, api, cpu_of)}   "
		f"({ours['db_cpu']:.2f}, {api['db_cpu']:.2f}; {seconds:.0f}{'' if quiet else '*'})"
	)


def report_rounds(name: str, figures: dict) -> None:
	"""The verdict of side-by-side rounds ({side: [its figures, round by round]}, ours in process 0 in the even
	rounds): the median of the rounds' wall-clock ratios against TARGET_COST; beside it the rounds' spread, the
	median of those with ours in each process and their geometric mean, the rounds' mean with its 95 % interval,
	the ratio of the sums, and the CPU's (each side's process and its server thread)."""
	walls, ratio, of_sums, cpu_ratio, cpu_of_sums = side_ratios(figures, cpu_of)
	each = [a / b for a, b in zip(walls["ours"], walls["one_pass"], strict=True)]
	# the rounds with ours in each process: a process that runs faster than the other (its core, its neighbours)
	# favours the side it runs, and the swap every round evens it out
	by_process = [median(each[slot::2]) for slot in (0, 1) if each[slot::2]]
	# a process k times as fast as the other moves the two medians by k and 1/k: their geometric mean cancels it
	balanced = (
		f" (their geometric mean {math.sqrt(by_process[0] * by_process[1]):.3f})"
		if len(by_process) == 2
		else ""
	)
	interval = (
		"; their mean {:.3f}, 95 % interval {:.3f} - {:.3f}".format(*mean_interval(each))
		if len(each) > 1
		else ""
	)
	each.sort()
	report(
		name,
		ratio,
		f"<= {TARGET_COST}",
		ratio <= TARGET_COST,
		f"(rounds {each[0]:.3f} - {each[-1]:.3f}, the median of those with ours in P0, P1: "
		f"{', '.join(f'{value:.3f}' for value in by_process)}{balanced}{interval}; "
		f"ratio of the sums {of_sums:.3f}: "
		f"{sum(walls['ours']):.1f} vs {sum(walls['one_pass']):.1f} s; CPU of each side's process and its server "
		f"thread: median {cpu_ratio:.3f}, ratio of the sums {cpu_of_sums:.3f}; of it the server threads': "
		f"{sum(spent['db_cpu'] for spent in figures['ours']):.1f} vs "
		f"{sum(spent['db_cpu'] for spent in figures['one_pass']):.1f} s)",
	)


def cpu_of(spent: dict) -> float:
	"""CPU seconds of a side's process and of the server's thread serving its connection."""
	return spent["cpu"] + spent["db_cpu"]


@contextmanager
def side_processes():
	"""The two processes of a side-by-side benchmark, started on entering and stopped on leaving, with ERPNext's
	serialisation points taken away meanwhile (module docstring: Sales Update Frequency Daily, a naming series for
	the API's side). Yields (`play`, that series). `play(runs)`: `runs` is {side: (process 0 or 1, the dotted path
	of a module-level function, its arguments)}, one side in each process; both are released together and `play`
	returns {side: its figures}, the function's return value as "result"."""
	with sales_update_frequency("Daily"):
		api_series = invoice_series(2)[1]
		with started_processes() as play:
			yield play, api_series


@contextmanager
def started_processes():
	"""side_processes' two processes and `play`."""
	ctx = multiprocessing.get_context("spawn")
	site, sites_path = frappe.local.site, os.path.abspath(frappe.local.sites_path)
	done, tasks, results, start = (
		[ctx.Event(), ctx.Event()],
		[ctx.Queue(), ctx.Queue()],
		ctx.Queue(),
		ctx.Barrier(2),
	)
	procs = [
		ctx.Process(target=side_process, args=(slot, site, sites_path, tasks[slot], results, start, done))
		for slot in (0, 1)
	]
	for proc in procs:
		proc.start()

	def play(runs: dict) -> dict:
		if sorted(slot for slot, _path, _args in runs.values()) != [0, 1]:
			raise ValueError("one side in each process")
		frappe.db.commit()  # what the round needs committed, and no snapshot of ours holds purge back meanwhile
		for event in done:
			event.clear()
		for side, (slot, path, args) in runs.items():
			tasks[slot].put((side, path, args))
		out, failed = {}, []
		deadline = time.monotonic() + ROUND_SECONDS
		while len(out) + len(failed) < 2:  # both sides' answers, so that none is left for the next round
			try:
				found = results.get(timeout=1)
			except Empty:
				if time.monotonic() > deadline or not all(proc.is_alive() for proc in procs):
					raise RuntimeError("a side's process stopped or took too long") from None
				continue
			if found.get("error"):
				failed.append(found)
			else:
				out[found["side"]] = found
		if failed:
			text = "; ".join(
				f"{found['side']} in process P{found['slot']}: {found['error']}" for found in failed
			)
			if all(found["error"].startswith(frappe.QueryDeadlockError.__name__) for found in failed):
				raise RoundDeadlocked(text)
			raise RuntimeError(text)
		return out

	try:
		yield play
	finally:
		for queue in tasks:
			queue.put(None)
		for proc in procs:
			proc.join(60)
			if proc.is_alive():
				proc.terminate()
				proc.join(10)


def side_process(slot, site, sites_path, tasks, results, start, done) -> None:
	"""One of the two processes: runs the function it is given each round, from the common start (the barrier),
	puts its figures, and keeps a CPU busy until the other process's side is done."""
	connect_in_process(site, sites_path)
	server, thread = common.server_pid(), common.server_thread()
	try:
		while (task := tasks.get()) is not None:
			side, path, args = task
			module, name = path.rsplit(".", 1)
			function = getattr(importlib.import_module(module), name)  # frappe.get_attr takes apps' only
			out = {"slot": slot, "side": side}
			start.wait(ROUND_SECONDS)
			wall, cpu, db = time.perf_counter(), time.process_time(), common.cpu_seconds(server, thread)
			try:
				out["result"] = function(*args)
			except Exception as e:
				frappe.db.rollback()
				out["error"] = f"{type(e).__name__}: {e}"
			out["wall"] = time.perf_counter() - wall
			out["cpu"] = time.process_time() - cpu
			out["db_cpu"] = common.cpu_seconds(server, thread) - db
			done[slot].set()
			ballast(done[1 - slot])
			results.put(out)
	finally:
		frappe.destroy()


# a process's lines of the API's invoice of a tab, by its size (api_invoice): built once, outside the timing
LINES_OF: dict[int, list[dict]] = {}


def api_invoice(customer: str, size: int, codes: list[str], series: str) -> str:
	"""The API's side of a round: the invoice of a `size`-item tab inserted submitted for `customer`, in `series`
	(its lines built before the timed rounds in this process: api_lines)."""
	api_lines(size, codes)
	return direct_invoice(customer, LINES_OF[size], one_pass=True, naming_series=series)


def api_lines(size: int, codes: list[str]) -> None:
	"""This process's lines of a `size`-item tab's invoice (LINES_OF), built once."""
	if size not in LINES_OF:
		LINES_OF[size] = direct_lines(item_specs(size, codes), MODES[0])


def both_processes(play, path: str, *args) -> None:
	"""`path(*args)` in both processes at once, untimed (what each needs ready before the timed rounds)."""
	play({"P0": (0, path, args), "P1": (1, path, args)})


def tab_round(
	play, ours_in: int, generator: str, customer: str, size: int, codes: list[str], series: str
) -> dict:
	"""One round of the huge tab: ours in process `ours_in`, the API's invoice in the other; both invoices
	checked. Returns {side: its figures}."""
	out = play(
		{
			"ours": (ours_in, "benchmarks.tab_sides.bill", (generator,)),
			"one_pass": (
				1 - ours_in,
				"benchmarks.billing_side_by_side.api_invoice",
				(customer, size, codes, series),
			),
		}
	)
	ours, theirs = out["ours"]["result"], out["one_pass"]["result"]
	check_series([ours], [theirs])
	check_same_invoice(generator, size, ours, theirs, size)
	return out


def check_series(ours: list[str], theirs: list[str]) -> None:
	"""Ours' invoices in the site's default naming series and the API's in its own (side_processes): neither side
	waited for the other's series row."""
	if any(name.startswith(PREFIX) for name in ours) or not all(name.startswith(PREFIX) for name in theirs):
		raise RuntimeError(f"the two sides must take two naming series: {ours[:1]}, {theirs[:1]}")


def ballast(other) -> None:
	"""Keep this CPU busy until `other` (the other side's done event) is set."""
	while not other.is_set():
		for _ in range(10_000):
			pass
