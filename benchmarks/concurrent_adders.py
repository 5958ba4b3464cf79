"""Concurrent adders: `--adders` threads (8), each with its own database connection, call api.add_item for
`--add-seconds` (30 s), optionally with a biller thread running Generate Now every 2 s; then no item may be
lost, unexpected or billed twice, and no call may fail. Target: zero errors, zero lost items.

Part of the `additem` benchmark (add_item.py), which makes the generators and checks the outcome.
"""

import threading
import time

import frappe

from benchmarks.common import connect


def concurrent_adders(
	gens, codes, service, args, tag, with_biller, biller=None, times: list | None = None
) -> tuple[list[str], list[str]]:
	"""8 threads, each with its own database connection, add items to the generators for N seconds.
	`biller(stop_at)`, when given, is what the biller thread runs (in its own connection) instead of Generate
	Now on `gens` every 2 s; it returns when it is done. `times` receives the time.monotonic() of each add."""
	from accumulating_billing import api
	from accumulating_billing.billing import generation

	site, sites_path = frappe.local.site, frappe.local.sites_path
	added: list[str] = []
	errors: list[str] = []
	lock = threading.Lock()
	stop_at = time.monotonic() + args.add_seconds
	barrier = threading.Barrier(args.adders + (1 if with_biller else 0))

	def adder(k):
		connect(site, sites_path)
		try:
			barrier.wait(60)
			i = 0
			while time.monotonic() < stop_at:
				ref = f"{tag}-{int(with_biller)}-{k}-{i}"
				try:
					name = api.add_item(
						gens[k % len(gens)],
						codes[i % 5],
						qty=1 + i % 3,
						rate=10,
						service_date=service,
						client_ref=ref,
					)
					frappe.db.commit()
					with lock:
						added.append(name)
						if times is not None:
							times.append(time.monotonic())
				except Exception as e:
					frappe.db.rollback()
					with lock:
						errors.append(f"adder {k}: {type(e).__name__}: {e}")
				i += 1
		finally:
			frappe.destroy()

	def biller_thread():
		connect(site, sites_path)
		try:
			barrier.wait(60)
			if biller:
				try:
					biller(stop_at)
				except Exception as e:
					with lock:
						errors.append(f"biller: {type(e).__name__}: {e}")
				return
			while time.monotonic() < stop_at:
				for gen in gens:
					try:
						generation.generate_now(gen, "2025-11-20")
					except Exception as e:
						with lock:
							errors.append(f"biller: {type(e).__name__}: {e}")
				time.sleep(2)
		finally:
			frappe.destroy()

	threads = [threading.Thread(target=adder, args=(k,)) for k in range(args.adders)]
	if with_biller:
		threads.append(threading.Thread(target=biller_thread))
	for t in threads:
		t.start()
	for t in threads:
		t.join(args.add_seconds + 1800)  # a biller of a huge tab finishes its invoice
	return added, errors
