"""Benchmarks of accumulating_billing against ERPNext itself (issue 7), on a real bench.

Run it from the bench's sites folder, on a site of its own that has ERPNext and this app installed (it
creates customers, items, generators and invoices there; everything is named or titled "ABBENCH"):

	cd /opt/frappe-bench/sites
	../env/bin/python /work/main/benchmarks/run.py --site ab-perf.localhost [--only overhead,autorepeat]

Benchmarks (--only takes a comma-separated list; default all, in this order):

	overhead    process_due making N invoices of 5 items / inserting and submitting the same N Sales Invoices
	            with the document API                                                   target <= 1.03;
	            / the API inserting them submitted (one pass)                           target <= 1.03;
	            two-step billing / one-step                                             target <= 1.10
	            (these two: the median of the blocks' ratios, the ratio of the sums beside it)
	autorepeat  process_due / Frappe's Auto Repeat making the same N invoices            target <= 0.98
	overheadside  process_due / the API inserting the same invoices submitted, both at the same moment in two
	            processes, --overhead-rounds rounds of --overhead-per invoices a side     target <= 1.03
	selection   enqueue_due (the hourly tick: probe for anything due + enqueue the billing jobs) at 100,000
	            generators / at 10,000, 1% due; also the full selection a billing job runs, and the query
	            plans                                                                   target <= 1.5
	scaleout    throughput of 2 RQ workers / 1 worker on the long queue, 400 due generators
	                                                                                    target >= 1.6
	additem     api.add_item / a bare ToDo insert                                       target <= 2.0;
	            8 concurrent adders for 30 s                            zero errors, zero lost items
	timesheet   submitting a 20-log Timesheet with the app / without its hooks           target <= 1.3
	hugetab     Generate Now of one tab of 100, 1,000, 5,000 items (--tab-sizes), Invoice Lines One per Item
	            and Grouped, and the same invoice with the document API      target < 30 s for the largest;
	            the largest One per Item tab / the same invoice inserted submitted, in --cost-pairs pairs, each
	            side from a quiet server                                                target <= 1.03;
	            the same, both sides at the same moment in two processes, --side-rounds rounds
	                                                                                    target <= 1.03;
	            the work of both sides on a tab of --work-lines items counted (calls, statements, rows)
	            adders with a biller billing such tabs / adders alone (threads, and processes)  target >= 0.5
	additems    api.add_items in calls of 1,000 / api.add_item, in process (>= 10,000 items/s, >= 25x) and
	            over HTTP through one gunicorn worker (>= 5,000 items/s); --callers parallel callers: 0 lost,
	            0 duplicated
	bigtab      a tab of 100,000 items (--big-tab-size): the generator form, the preview, the portal's running
	            tab and the Upcoming report open in < 2 s; Generate Now (Grouped) bills it in < 10 s
	combined    a billing job making one combined invoice of a payer's 10 tabs / the same 10 tabs billed on
	            10 invoices (--payers per side, --tab-lines lines per tab)               target <= 0.3

Every figure is a ratio of two times taken in the same run, interleaved in blocks where the work allows it,
because this kind of machine is noisy. Each benchmark prints its times, the ratio, the target and MET or
MISSED. `--profile NAME` wraps our side of that benchmark in pyinstrument (pip install pyinstrument into the
bench's env) and prints where the time goes.

The scale-out benchmark starts `bench worker --queue long` processes and stops them (SIGTERM to their process
groups) when its jobs are done. RQ queues are shared by every site of the bench, so jobs already waiting in the
long queue are parked while it runs and put back afterwards. `--sales-update-frequency Daily` and
`--invoice-series 2` measure the deployment options that remove ERPNext's own serialisation points (the Company
row updated by every submitted invoice, and the naming-series row every new invoice locks until it commits:
serialisation.py); `--two-step` bills in two transactions (reserve, then submit), which holds the naming-series row only for the first.

One module per benchmark in this folder, each with a docstring saying what it measures and its target:
invoices.py (overhead, autorepeat: one interleaved pass), overhead_side_by_side.py (overheadside, in the two
processes of billing_side_by_side.py), selection.py, scale_out.py, add_item.py (with
concurrent_adders.py), huge_tab.py (with tab_sides.py, the tab and the same invoice through the API,
billing_cost.py, billing_side_by_side.py and billing_work.py), combined.py. What they share is in common.py (site, company, figures, --profile and the
profiler's heaviest functions, fixtures, a quiet server and the CPU time of both processes) and workers.py (RQ
workers and jobs; adders and a biller at once, as threads or as processes). This file only parses the options and runs the modules asked for.

Adding a benchmark: write benchmarks/NAME.py with a docstring and an entry `run(args, names)` that prints its
"== heading" line and runs it (names: the --only names it was asked for; read the company as common.COMPANY),
then register it with one line in BENCHMARKS below, its --only name mapped to the module, e.g.

	"timesheet": "timesheet_submit",

Options of its own go in main()'s parser. Benchmarks run in BENCHMARKS' order; names mapped to the same module
run in one call.
"""

import argparse
import importlib
import os
import sys
import time

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the repository root
	_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
	if _root not in sys.path:
		sys.path.append(_root)

# --only name -> module of this folder, in the order they run. A new benchmark is one line here.
BENCHMARKS = {
	"overhead": "invoices",
	"autorepeat": "invoices",
	"overheadside": "overhead_side_by_side",
	"selection": "selection",
	"scaleout": "scale_out",
	"additem": "add_item",
	"timesheet": "timesheet_submit",
	"hugetab": "huge_tab",
	"additems": "batch_intake",
	"bigtab": "big_tab",
	"combined": "combined",
}


def selected(only: list[str]) -> list[tuple[str, tuple[str, ...]]]:
	"""[(module, the names asked for that it runs)], in BENCHMARKS' order."""
	chosen: dict[str, list[str]] = {}
	for name, module in BENCHMARKS.items():
		if name in only:
			chosen.setdefault(module, []).append(name)
	return [(module, tuple(names)) for module, names in chosen.items()]


def main() -> None:
	parser = argparse.ArgumentParser(
		description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
	)
	parser.add_argument("--site", required=True)
	parser.add_argument("--sites-path", default=".")
	parser.add_argument(
		"--only", default=",".join(BENCHMARKS), help="comma-separated: " + ", ".join(BENCHMARKS)
	)
	parser.add_argument("--n", type=int, default=200, help="invoices per side (overhead, autorepeat)")
	parser.add_argument(
		"--blocks",
		type=int,
		default=None,
		help="interleaved blocks (overhead, autorepeat; default: blocks of at most 10 invoices a side, 8 or more, in whole rounds of the balanced order: orders.blocks_for)",
	)
	parser.add_argument("--repeats", type=int, default=7, help="repetitions per tick measurement (selection)")
	parser.add_argument("--scale-n", type=int, default=400, help="due generators per run (scaleout)")
	parser.add_argument("--add-n", type=int, default=300, help="inserts per side (additem)")
	parser.add_argument("--adders", type=int, default=8)
	parser.add_argument("--ts-n", type=int, default=50, help="Timesheet submits per side (timesheet)")
	parser.add_argument("--add-seconds", type=int, default=30)
	parser.add_argument(
		"--invoice-series",
		type=int,
		default=1,
		help="scaleout: spread the generators' invoices over this many naming series (ERPNext serialises "
		"invoice creation per series)",
	)
	parser.add_argument(
		"--sales-update-frequency",
		default=None,
		help="scaleout: set ERPNext's Selling Settings > Sales Update Frequency (e.g. Daily) for the run",
	)
	parser.add_argument(
		"--two-step",
		action="store_true",
		help="scaleout: bill with Accumulating Billing Settings > Submit Invoices in a Second Transaction on",
	)
	parser.add_argument(
		"--tab-sizes", default="100,1000,5000", help="hugetab: comma-separated numbers of items per tab"
	)
	parser.add_argument(
		"--tab-repeats",
		type=int,
		default=1,
		help="hugetab: tabs of each size and mode per side (times summed)",
	)
	parser.add_argument(
		"--cost-pairs",
		type=int,
		default=8,
		help="hugetab: pairs of the largest tab (One per Item) for the billing cost's verdict, each side from a "
		"quiet server (0: not measured)",
	)
	parser.add_argument(
		"--overhead-rounds",
		type=int,
		default=40,
		help="overheadside: rounds of process_due and the API's one-pass insert at the same moment",
	)
	parser.add_argument(
		"--overhead-per", type=int, default=10, help="overheadside: invoices of 5 items a side per round"
	)
	parser.add_argument(
		"--side-rounds",
		type=int,
		default=8,
		help="hugetab: rounds of the largest tab (One per Item) billed at the same moment as the API's invoice is "
		"inserted, in two processes (0: not measured)",
	)
	parser.add_argument(
		"--work-lines",
		type=int,
		default=1000,
		help="hugetab: the items of the tab whose billing work is counted (calls, statements, rows; 0: not counted)",
	)
	parser.add_argument(
		"--skip-starvation", action="store_true", help="hugetab: only the tabs, not the adders with a biller"
	)
	parser.add_argument("--batch-calls", type=int, default=2, help="additems: calls of 1,000 per block")
	parser.add_argument("--batch-blocks", type=int, default=5, help="additems: interleaved blocks")
	parser.add_argument("--single-calls", type=int, default=100, help="additems: add_item calls per block")
	parser.add_argument("--callers", type=int, default=4, help="additems: parallel callers")
	parser.add_argument(
		"--http-port",
		type=int,
		default=8060,
		help="additems, bigtab: port of the one-worker gunicorn started",
	)
	parser.add_argument(
		"--http-url",
		default=None,
		help="additems, bigtab: a server of the site already running (no gunicorn)",
	)
	parser.add_argument("--big-tab-size", type=int, default=100_000, help="bigtab: items on the tab")
	parser.add_argument("--keep-big-tab", action="store_true", help="bigtab: keep the tab's items afterwards")
	parser.add_argument("--payers", type=int, default=20, help="combined: payers of 10 tabs per side")
	parser.add_argument(
		"--blocks-combined", type=int, default=5, help="combined: interleaved blocks of payers"
	)
	parser.add_argument(
		"--tab-lines",
		default="1,2,5",
		help="combined: comma-separated lines per tab, each measured on its own",
	)
	parser.add_argument(
		"--profile", default=None, help="a benchmark name: profile our side with pyinstrument"
	)
	args = parser.parse_args()
	only = [b.strip() for b in args.only.split(",") if b.strip()]
	unknown = set(only) - set(BENCHMARKS)
	if unknown:
		parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

	# imported only now, so that --help needs neither frappe nor a site
	import frappe

	from benchmarks import common

	modules = [(importlib.import_module(f"benchmarks.{module}"), names) for module, names in selected(only)]
	common.connect(args.site, args.sites_path)
	common.COMPANY = common.setup_company()
	common.CURRENCY = frappe.get_cached_value("Company", common.COMPANY, "default_currency")
	common.say(f"machine: {common.machine()}")
	common.say(f"site: {args.site}, company {common.COMPANY}")
	started = time.perf_counter()
	try:
		for module, names in modules:
			module.run(args, names)
	finally:
		common.say(f"\n== summary ({time.perf_counter() - started:.0f}s)")
		for name, value, target, verdict in common.RESULTS:
			common.say(f"  {verdict:<6} {name}: {value} (target {target})")
		frappe.destroy()


if __name__ == "__main__":
	main()
