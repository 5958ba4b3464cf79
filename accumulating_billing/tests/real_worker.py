"""A real RQ worker for the integration tests that need one (issue 27: billing early within a minute): `bench
worker` of this bench, started as a child process for the length of a `with` block and stopped after it.

It is the bench's own command (`python -m frappe.utils.bench_helper frappe worker`, what `bench worker` runs), run
from this site's sites folder with this process's Python, so it consumes this bench's queues (its bench_id) and runs
the jobs in a work horse of its own, against the committed database, exactly as in production. It also runs the
jobs other tests left queued (nothing else consumes them in a test run); the job under test is enqueued at the front.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

import frappe


class RealWorker:
	def __init__(self, queues: str = "default,short"):
		self.queues = queues
		self.process = None
		self.log = None

	def __enter__(self):
		self.log = tempfile.NamedTemporaryFile("w+", prefix="ab-worker-", suffix=".log", delete=False)
		self.process = subprocess.Popen(
			[sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "worker", "--queue", self.queues],
			cwd=os.path.abspath(frappe.local.sites_path),
			stdout=self.log,
			stderr=subprocess.STDOUT,
			start_new_session=True,  # its own process group: stopped with its work horses
		)
		return self

	def output(self) -> str:
		self.log.flush()
		with open(self.log.name, errors="replace") as f:
			return f.read()

	def alive(self) -> bool:
		return self.process is not None and self.process.poll() is None

	def __exit__(self, *exc):
		if self.alive():
			os.killpg(self.process.pid, signal.SIGTERM)  # RQ's warm shutdown: the job running ends first
			try:
				self.process.wait(timeout=60)
			except subprocess.TimeoutExpired:
				os.killpg(self.process.pid, signal.SIGKILL)
				self.process.wait(timeout=10)
		self.log.close()
		os.unlink(self.log.name)
		return False


def wait_until(check, seconds: float, every: float = 0.25):
	"""Call `check` (after ending this connection's transaction, to see what others committed) until it returns
	something true or `seconds` pass; returns (its last value, the seconds waited)."""
	start = time.monotonic()
	while True:
		frappe.db.rollback()
		value = check()
		waited = time.monotonic() - start
		if value or waited >= seconds:
			return value, waited
		time.sleep(every)
