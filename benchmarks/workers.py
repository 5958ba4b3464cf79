"""RQ plumbing: `bench worker --queue long` processes started and stopped around a measurement, the long
queue's waiting jobs parked meanwhile, waiting for jobs to finish, and deleting the jobs a measurement enqueued.
"""

import os
import signal
import subprocess
import time
from contextlib import contextmanager

from benchmarks.common import say


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
