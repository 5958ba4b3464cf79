"""Batch intake (issue 30): api.add_items in calls of 1,000 items / api.add_item one item per call, each call with
its commit, interleaved in blocks in one run.

- In process: add_items >= 10,000 items a second, and >= 25x add_item.
- Over HTTP, through Frappe's request path, one gunicorn worker (started here on `--http-port`, default 8060, or
  `--http-url`), as a user with API keys: add_items >= 5,000 items a second (add_item over HTTP is printed too).
- Parallel batches: `--callers` processes (default 4) send add_items at once, each batch also sent by the next
  caller (two callers with the same items, as a client and its retry): 0 lost (every answered name is on its tab),
  0 duplicated (one item per tab and client reference, the same name for every caller), and the throughput.

Every caller's items are valid (the refusals are the tests' matter); the tabs are three generators of their own.
"""

import multiprocessing
import os
import time
from collections import defaultdict
from datetime import date

import frappe

from benchmarks.common import (
	ITEM,
	archive_bench_generators,
	bench_customers,
	bench_items,
	make_generators,
	profiled,
	report,
	run_tag,
	say,
)
from benchmarks.http_server import Caller, bench_user, one_worker_server
from benchmarks.workers import connect_in_process, wait_ready

BATCH = 1000
TARGET_IN_PROCESS = 10_000
TARGET_HTTP = 5_000
TARGET_RATIO = 25
METHOD = "accumulating_billing.api."


def run(args, names) -> None:
	say(f"\n== batch intake: add_items in calls of {BATCH:,} / add_item ({load()})")
	archive_bench_generators()
	codes = bench_items()
	tag = run_tag()
	gens = make_generators(bench_customers(3, f"Batch {tag}"), date(2026, 12, 1), codes, tag, items_per=0)
	try:
		in_process(args, gens, codes, tag)
		with one_worker_server(args) as url:
			over_http(args, url, gens, codes, tag)
		parallel(args, gens, codes, tag)
		say(f"  ({load()})")
	finally:
		archive_bench_generators()
		delete_items(gens)


def delete_items(generators: list[str]) -> None:
	"""The benchmark's tens of thousands of items go again (the table stays the size of the site's own data)."""
	Item = frappe.qb.DocType(ITEM)
	frappe.db.rollback()
	frappe.qb.from_(Item).delete().where(Item.generator.isin(generators)).run()
	frappe.db.commit()


def load() -> str:
	one, five, fifteen = os.getloadavg()
	return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def entries(gens: list[str], codes: list[str], ref: str, n: int = BATCH) -> list[dict]:
	"""n items over the tabs: 5 items, 3 quantities, one rate; client references `ref`-k."""
	return [
		{
			"generator": gens[k % len(gens)],
			"item_code": codes[k % len(codes)],
			"qty": 1 + k % 3,
			"rate": 10,
			"service_date": "2026-11-10",
			"client_ref": f"{ref}-{k}",
		}
		for k in range(n)
	]


# ------------------------------------------------------------------------------------------ in process


def interleaved(args, batch, single) -> dict[str, float]:
	"""Items a second of `batch(b)` (one call of BATCH items) and `single(i)` (one item), in `--batch-blocks`
	blocks of `--batch-calls` batches and `--single-calls` singles, their order alternating block by block."""
	spent = {"batch": 0.0, "single": 0.0}
	done = {"batch": 0, "single": 0}
	for block in range(args.batch_blocks):
		order = ["batch", "single"] if block % 2 == 0 else ["single", "batch"]
		for side in order:
			t0 = time.perf_counter()
			if side == "batch":
				with profiled(args.profile == "additems" and block == 0, "add_items x 1,000"):
					for b in range(args.batch_calls):
						batch(block * args.batch_calls + b)
				done["batch"] += args.batch_calls * BATCH
			else:
				for i in range(args.single_calls):
					single(block * args.single_calls + i)
				done["single"] += args.single_calls
			spent[side] += time.perf_counter() - t0
	say(
		f"    add_items {done['batch']:,} items in {spent['batch']:.2f} s; "
		f"add_item {done['single']:,} in {spent['single']:.2f} s"
	)
	return {side: done[side] / spent[side] for side in spent}


def in_process(args, gens, codes, tag) -> None:
	from accumulating_billing import api

	def batch(b):
		api.add_items(entries(gens, codes, f"{tag}-p{b}"))
		frappe.db.commit()

	def single(i):
		api.add_item(**single_entry(gens, codes, i))
		frappe.db.commit()

	batch(-1)  # warm-up
	for i in range(20):
		single(-1 - i)
	say("  in process:")
	rates = interleaved(args, batch, single)
	say(f"    = add_items {rates['batch']:,.0f} items/s, add_item {rates['single']:,.0f}/s")
	report(
		"add_items in calls of 1,000, in process, items/s",
		f"{rates['batch']:,.0f}",
		f">= {TARGET_IN_PROCESS:,}",
		rates["batch"] >= TARGET_IN_PROCESS,
	)
	ratio = rates["batch"] / rates["single"]
	report("add_items / add_item, in process", ratio, f">= {TARGET_RATIO}", ratio >= TARGET_RATIO)


# ------------------------------------------------------------------------------------------ over HTTP


def over_http(args, url, gens, codes, tag) -> None:
	caller = Caller(url, bench_user(["Accounts User"], tag))

	def batch(b):
		answers = caller.post(METHOD + "add_items", {"items": entries(gens, codes, f"{tag}-h{b}")})
		if any("error" in answer for answer in answers):
			raise RuntimeError(f"refused over HTTP: {answers[:3]}")

	def single(i):
		caller.post(METHOD + "add_item", single_entry(gens, codes, i))

	batch(-1)  # warm-up
	for i in range(10):
		single(i)
	say("  over HTTP (1 gunicorn worker):")
	rates = interleaved(args, batch, single)
	say(
		f"    = add_items {rates['batch']:,.0f} items/s, add_item {rates['single']:,.0f}/s "
		f"(ratio {rates['batch'] / rates['single']:.1f})"
	)
	report(
		"add_items in calls of 1,000, over HTTP (1 worker), items/s",
		f"{rates['batch']:,.0f}",
		f">= {TARGET_HTTP:,}",
		rates["batch"] >= TARGET_HTTP,
	)


def single_entry(gens, codes, i) -> dict:
	return {
		"generator": gens[i % 3],
		"item_code": codes[i % 5],
		"qty": 1 + i % 3,
		"rate": 10,
		"service_date": "2026-11-10",
	}


# ------------------------------------------------------------------------------------------ parallel callers


def parallel(args, gens, codes, tag) -> None:
	"""`--callers` processes, each sending `--batch-calls` batches of 1,000: its own, and the previous caller's
	(the same references: as a client's retry racing the first attempt)."""
	callers = args.callers
	plans = [
		[
			f"{tag}-c{k}-{b}" if b % 2 == 0 else f"{tag}-c{(k - 1) % callers}-{b - 1}"
			for b in range(2 * args.batch_calls)
		]
		for k in range(callers)
	]
	ctx = multiprocessing.get_context("spawn")
	site, sites_path = frappe.local.site, os.path.abspath(frappe.local.sites_path)
	with ctx.Manager() as manager:
		ready, go = manager.Queue(), manager.Event()
		with ctx.Pool(callers) as pool:
			results = [
				pool.apply_async(batch_caller, (site, sites_path, gens, codes, plan, ready, go))
				for plan in plans
			]
			wait_ready(ready, results, callers)
			t0 = time.perf_counter()
			go.set()
			outs = [result.get(timeout=1800) for result in results]
			spent = time.perf_counter() - t0
	answered: dict[tuple, set] = defaultdict(set)
	errors = [error for out in outs for error in out["errors"]]
	retries = sum(out["retries"] for out in outs)
	for out in outs:
		for ref, generator, name in out["answers"]:
			answered[(generator, ref)].add(name)
	frappe.db.rollback()
	rows = frappe.get_all(
		ITEM,
		filters={"generator": ("in", gens), "client_ref": ("like", f"{tag}-c%")},
		fields=["name", "generator", "client_ref"],
	)
	on_tabs: dict[tuple, list] = defaultdict(list)
	for row in rows:
		on_tabs[(row.generator, row.client_ref)].append(row.name)
	duplicated = sum(len(names) - 1 for names in on_tabs.values())
	lost = sum(1 for key, names in answered.items() if len(names) != 1 or [*names] != on_tabs.get(key))
	sent = sum(len(plan) for plan in plans) * BATCH
	say(
		f"  {callers} callers at once, {sent:,} items sent ({len(on_tabs):,} distinct) in {spent:.2f} s = "
		f"{sent / spent:,.0f} items/s answered, {len(on_tabs) / spent:,.0f} written/s; {len(errors)} errors, "
		f"{retries} batches sent again after a database refusal; {lost} lost, {duplicated} duplicated"
	)
	for error in errors[:5]:
		say(f"    error: {error}")
	report(
		f"add_items: {callers} callers at once",
		f"{lost} lost, {duplicated} duplicated, {len(errors)} errors",
		"0 lost, 0 duplicated",
		not lost and not duplicated and not errors and len(on_tabs) == len(answered),
	)


def batch_caller(site, sites_path, gens, codes, plan, ready, go) -> dict:
	connect_in_process(site, sites_path)
	from accumulating_billing import api

	answers, errors, retries = [], [], 0
	try:
		# warm caches, as a web worker's are: an item refused (qty 0) runs the checks and writes nothing
		api.add_items([{**entries(gens, codes, "warm-up", 1)[0], "qty": 0}])
		frappe.db.rollback()
		ready.put(1)
		go.wait(600)
		for ref in plan:
			batch = entries(gens, codes, ref)
			for attempt in range(4):
				try:
					result = api.add_items(batch)
					frappe.db.commit()
					break
				except (frappe.QueryDeadlockError, frappe.QueryTimeoutError) as e:
					frappe.db.rollback()
					retries += 1
					if attempt == 3:
						errors.append(f"{ref}: {type(e).__name__}")
						result = []
			for entry, answer in zip(batch, result, strict=False):
				if "name" in answer:
					answers.append((entry["client_ref"], entry["generator"], answer["name"]))
				else:
					errors.append(f"{entry['client_ref']}: {answer.get('error')}")
	finally:
		frappe.destroy()
	return {"answers": answers, "errors": errors, "retries": retries}
