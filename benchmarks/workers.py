"""Workers of a measurement.

RQ plumbing: `bench worker --queue long` processes started and stopped around a measurement, the long queue's
waiting jobs parked meanwhile, waiting for jobs to finish, and deleting the jobs a measurement enqueued.

Adders and a biller at once (the huge tab's starvation windows): as threads of one interpreter
(threaded_window, over concurrent_adders.py) or as spawned processes started together (process_window).
"""

import multiprocessing
import os
import signal
import subprocess
import time
from contextlib import contextmanager
from queue import Empty

import frappe

from benchmarks.common import connect, say
from benchmarks.concurrent_adders import concurrent_adders


def long_queue():
	from frappe.utils.background_jobs import get_queue

	return get_queue("long")


def long_workers() -> int:
	from rq import Worker

	queue = long_queue()
	return sum(1 for w in Worker.all(connection=queue.connection) if queue.name in w.queue_names())


def start_workers(count: int, bench_dir: str, log_dir: str) -> list[subprocess.Popen]:
	procs = []
	for k in range(count):
		log = open(os.path.join(log_dir, f"abbench-worker-{k}.log"), "ab")
		procs.append(
			subprocess.Popen(
				["bench", "worker", "--queue", "long"],
				cwd=bench_dir,
				stdout=log,
				stderr=subprocess.STDOUT,
				start_new_session=True,
			)
		)
	deadline = time.monotonic() + 120
	while long_workers() < count and time.monotonic() < deadline:
		time.sleep(0.5)
	if long_workers() < count:
		stop_workers(procs)
		raise RuntimeError(f"only {long_workers()} of {count} workers came up")
	return procs


def stop_workers(procs: list[subprocess.Popen]) -> None:
	for proc in procs:
		try:
			os.killpg(proc.pid, signal.SIGTERM)
		except ProcessLookupError:
			pass
	for proc in procs:
		try:
			proc.wait(60)
		except subprocess.TimeoutExpired:
			os.killpg(proc.pid, signal.SIGKILL)
			proc.wait(10)
	deadline = time.monotonic() + 30
	while long_workers() and time.monotonic() < deadline:
		time.sleep(0.5)


@contextmanager
def queued_jobs_parked():
	"""The long queue is shared by every site of the bench: jobs already waiting in it (other sites', or this
	site's own housekeeping) are taken out while our workers run, so the run times only our jobs and never
	runs another site's, and put back in front, in their order, afterwards."""
	queue = long_queue()
	parked = [job.id for job in queue.get_jobs()]
	for job_id in parked:
		queue.remove(job_id)
	if parked:
		say(f"  {len(parked)} job(s) already in the long queue parked while our workers run")
	try:
		yield
	finally:
		for job_id in reversed(parked):
			queue.push_job_id(job_id, at_front=True)


def wait_jobs(job_ids: list[str], timeout: float) -> float:
	"""Seconds until every job has finished (or failed), or the timeout."""
	from frappe.utils.background_jobs import get_job

	t0 = time.perf_counter()
	while time.perf_counter() - t0 < timeout:
		pending = 0
		for job_id in job_ids:
			job = get_job(job_id)
			if job and job.get_status() not in ("finished", "failed", "stopped", "canceled"):
				pending += 1
		if not pending:
			break
		time.sleep(0.2)
	return time.perf_counter() - t0


def delete_jobs(job_ids: list[str]) -> None:
	from frappe.utils.background_jobs import get_job

	for job_id in job_ids:
		job = get_job(job_id)
		if job:
			job.delete()


# ------------------------------------------------------------------------------------------ adders and a biller at once


def threaded_window(args, gens: list[str], codes: list[str], service: str, tag: str, bill=None) -> dict:
	"""`args.adders` adder threads of one interpreter (concurrent_adders.py) add items dated `service` to the first
	three of `gens` for `args.add_seconds`; with `bill(generator)`, a biller thread bills `gens` one after the
	other meanwhile. Returns the items added, the errors, what was billed ((generator, invoice, start, end)) and
	the time of each add."""
	billed, times = [], []

	def biller(stop_at):
		for gen in gens:
			if time.monotonic() >= stop_at:
				return
			t0 = time.monotonic()
			invoice, _message = bill(gen)
			billed.append((gen, invoice, t0, time.monotonic()))

	added, errors = concurrent_adders(
		gens[:3],
		codes,
		service,
		args,
		tag,
		bill is not None,
		biller=biller if bill else None,
		times=times,
	)
	return {"added": added, "errors": errors, "billed": billed, "times": times}


def process_window(args, gens: list[str], codes: list[str], service: str, tag: str, bill=None) -> dict:
	"""The same window as threaded_window with one spawned process per adder (and the biller, running `bill`, a
	module-level function): each connects, says it is ready, and all start together."""
	with_biller = bill is not None
	ctx = multiprocessing.get_context("spawn")
	site, sites_path = frappe.local.site, os.path.abspath(frappe.local.sites_path)
	workers = args.adders + (1 if with_biller else 0)
	with ctx.Manager() as manager:
		ready, go, shared = manager.Queue(), manager.Event(), manager.dict()
		with ctx.Pool(workers) as pool:
			adders = [
				pool.apply_async(
					process_adder,
					(site, sites_path, gens[k % 3], codes, service, f"{tag}-{k}", ready, go, shared),
				)
				for k in range(args.adders)
			]
			biller = (
				pool.apply_async(process_biller, (site, sites_path, gens, bill, ready, go, shared))
				if with_biller
				else None
			)
			wait_ready(ready, [*adders, biller] if biller else adders, workers)
			shared["start"] = time.time()
			shared["stop_at"] = shared["start"] + args.add_seconds
			go.set()
			outs = [a.get(timeout=args.add_seconds + 600) for a in adders]
			billed = biller.get(timeout=3600) if biller else []
	added = [name for out in outs for name in out["added"]]
	errors = [error for out in outs for error in out["errors"]]
	times = [t for out in outs for t in out["times"]]
	if biller:
		errors += [b[1] for b in billed if b[1].startswith("biller:")]
		billed = [b for b in billed if not b[1].startswith("biller:")]
	return {"added": added, "errors": errors, "billed": billed, "times": times}


def wait_ready(ready, results: list, workers: int, timeout: float = 300) -> None:
	"""Until every worker process is connected; a process that failed raises its error here."""
	deadline, count = time.monotonic() + timeout, 0
	while count < workers:
		try:
			ready.get(timeout=1)
			count += 1
		except Empty:
			for result in results:
				if result.ready():
					result.get()  # raises what the process raised
			if time.monotonic() > deadline:
				raise RuntimeError(f"only {count} of {workers} processes connected") from None


def connect_in_process(site: str, sites_path: str) -> None:
	os.chdir(sites_path)
	connect(site, sites_path)
	import frappe.model.document  # what a bench process has imported before it loads an app's modules


def process_adder(site, sites_path, generator, codes, service, ref, ready, go, shared) -> dict:
	connect_in_process(site, sites_path)
	from accumulating_billing import api

	added, errors, times = [], [], []
	try:
		# one add before the window, so that each process starts it with warm caches, as a web worker is
		added.append(api.add_item(generator, codes[0], rate=10, service_date=service, client_ref=f"{ref}-w"))
		frappe.db.commit()
		ready.put(1)
		go.wait(600)
		stop_at = shared["stop_at"]
		i = 0
		while time.time() < stop_at:
			try:
				added.append(
					api.add_item(
						generator,
						codes[i % 5],
						qty=1 + i % 3,
						rate=10,
						service_date=service,
						client_ref=f"{ref}-{i}",
					)
				)
				frappe.db.commit()
				times.append(time.time())
			except Exception as e:
				frappe.db.rollback()
				errors.append(f"adder {ref}: {type(e).__name__}: {e}")
			i += 1
	finally:
		frappe.destroy()
	return {"added": added, "errors": errors, "times": times}


def process_biller(site, sites_path, gens, bill, ready, go, shared) -> list:
	connect_in_process(site, sites_path)
	billed = []
	try:
		ready.put(1)
		go.wait(600)
		stop_at = shared["stop_at"]
		for gen in gens:
			if time.time() >= stop_at:
				break
			t0 = time.time()
			try:
				invoice, _message = bill(gen)
			except Exception as e:
				billed.append((gen, f"biller: {type(e).__name__}: {e}", t0, time.time()))
				break
			billed.append((gen, invoice, t0, time.time()))
	finally:
		frappe.destroy()
	return billed
