"""Plumbing that the benchmarks share: the site connection and its company, printing of the figures and the
summary, profiling (`--profile NAME`: pyinstrument or cProfile around a block, and profile_top's heaviest
functions), and the fixtures several benchmarks make (items, customers, generators).

`COMPANY` and `CURRENCY` are set by run.py once the site is connected, before any benchmark runs: read them as
`common.COMPANY` / `common.CURRENCY` (a `from benchmarks.common import COMPANY` would copy the None).
"""

import gc
import os
import platform
import sys
import time
from collections import Counter
from contextlib import contextmanager
from datetime import date, timedelta

import frappe

from accumulating_billing.billing.by_names import placeholders
from accumulating_billing.doctypes import GENERATOR, ITEM

PREFIX = "ABBENCH"
LINES = [(1, 40.0), (3, 15.0), (2, 12.5), (1, 99.0), (5, 4.2)]  # qty, rate of the 5 lines of every invoice
RESULTS: list[tuple] = []

COMPANY = CURRENCY = None  # set by run.py: common.COMPANY = setup_company()


def connect(site: str, sites_path: str) -> None:
	frappe.init(site=site, sites_path=sites_path)
	frappe.connect()
	frappe.set_user("Administrator")


def report(name: str, value: float | str, target: str, met: bool, detail: str = "") -> None:
	"""One figure: a ratio (or a count), its target, MET or MISSED."""
	verdict = "MET" if met else "MISSED"
	value = f"{value:.3f}" if isinstance(value, float) else value
	RESULTS.append((name, value, target, verdict))
	print(f"  => {name}: {value} (target {target}) {verdict}{'  ' + detail if detail else ''}")
	sys.stdout.flush()


def say(text: str) -> None:
	print(text)
	sys.stdout.flush()


@contextmanager
def profiled(enabled: bool, label: str):
	"""pyinstrument around our side of a benchmark, when asked for. With AB_PROFILER=cprofile in the environment,
	cProfile instead, printing the app's own functions by cumulative time (what each of our steps costs, the
	ERPNext calls it makes included), then the hottest functions overall by their own time."""
	if not enabled:
		yield
		return
	if os.environ.get("AB_PROFILER") == "cprofile":
		with cprofiled(label):
			yield
		return
	from pyinstrument import Profiler

	profiler = Profiler(interval=0.002)
	profiler.start()
	try:
		yield
	finally:
		profiler.stop()
		say(f"---- profile: {label}")
		say(profiler.output_text(unicode=False, color=False, show_all=False, short_mode=False))


@contextmanager
def cprofiled(label: str):
	import cProfile
	import io
	import pstats

	profiler = cProfile.Profile()
	profiler.enable()
	try:
		yield
	finally:
		profiler.disable()
		out = io.StringIO()
		stats = pstats.Stats(profiler, stream=out)
		stats.sort_stats("cumulative").print_stats("accumulating_billing", 45)
		stats.sort_stats("tottime").print_stats(25)
		say(f"---- cProfile: {label}\n{out.getvalue()}")


class profile_top:
	"""pyinstrument around a block, when asked for: the heaviest functions by cumulative and by own time (all
	code, then ours), and pyinstrument's call tree."""

	def __init__(self, enabled: bool, label: str):
		self.enabled, self.label = enabled, label

	def __enter__(self):
		if self.enabled:
			from pyinstrument import Profiler

			self.profiler = Profiler(interval=0.005)
			self.profiler.start()
		return self

	def __exit__(self, *exc):
		if not self.enabled:
			return False
		self.profiler.stop()
		root = self.profiler.last_session.root_frame()
		total = root.time or 1
		cumulative, own = Counter(), Counter()

		def walk(frame, path: frozenset):
			key = f"{frame.function} ({frame.file_path_short}:{frame.line_no})"
			if key not in path:  # recursion counts once
				cumulative[key] += frame.time
			own[key] += frame.total_self_time
			for child in frame.children:
				walk(child, path | {key})

		walk(root, frozenset())
		say(f"---- profile: {self.label}: {total:.1f} s sampled")
		say("  heaviest by cumulative time:")
		for key, seconds in cumulative.most_common(40):
			say(f"    {seconds:7.2f} s {100 * seconds / total:5.1f} %  {key}")
		say("  heaviest by own time:")
		for key, seconds in own.most_common(25):
			say(f"    {seconds:7.2f} s {100 * seconds / total:5.1f} %  {key}")
		say("  ours (accumulating_billing), by cumulative time:")
		ours = [(k, s) for k, s in cumulative.most_common() if "accumulating_billing" in k]
		for key, seconds in ours[:25]:
			say(f"    {seconds:7.2f} s {100 * seconds / total:5.1f} %  {key}")
		say(self.profiler.output_text(unicode=False, color=False, show_all=False, short_mode=False))
		return False


def insert_direct(si, one_pass: bool = False) -> str:
	"""A Sales Invoice through the document API, committed: inserted then submitted (ERPNext's usual way; it
	validates twice), or `one_pass`: inserted submitted (validated once, as the billing run makes Open ones)."""
	if one_pass:
		si.docstatus = 1
		si.insert()
	else:
		si.insert()
		si.submit()
	frappe.db.commit()
	return si.name


def setup_company() -> str:
	"""The company ERPNext's test setup makes (what the test suite uses); fiscal years for the dates used."""
	if not frappe.get_all("Company", limit=1):
		from erpnext.setup.utils import before_tests

		say("no company yet: running ERPNext's test setup (setup wizard) once")
		before_tests()
	from accumulating_billing.tests.utils import company, ensure_fiscal_years

	ensure_fiscal_years(2025, 2026)
	frappe.db.commit()
	return company()


def bench_items() -> list[str]:
	from accumulating_billing.tests.utils import make_item

	codes = [make_item(f"{PREFIX}-ITEM-{k}", price=rate) for k, (_qty, rate) in enumerate(LINES, 1)]
	frappe.db.commit()
	return codes


def bench_customers(n: int, tag: str) -> list[str]:
	from accumulating_billing.tests.utils import make_customer

	names = [make_customer(f"{PREFIX} {tag} Customer {k:04d}") for k in range(1, n + 1)]
	frappe.db.commit()
	return names


def known_customers(names: list[str]) -> None:
	"""Every side meets its customers as a billing run meets customers it billed before: their documents in
	Frappe's document cache. Making a generator caches its customer, and nothing else in the setup caches the other
	sides' customers (on a fresh site, the document API's sides read each customer twice per invoice where ours read
	it once: about 2 % of an invoice in our favour). Caching every side's customers leaves no side warmer."""
	for name in names:
		frappe.get_cached_doc("Customer", name)


def run_tag() -> str:
	return frappe.generate_hash(length=5).upper()


def archive_bench_generators() -> None:
	"""Generators of earlier benchmarks must not be picked up by a later process_due / enqueue_due."""
	Gen = frappe.qb.DocType(GENERATOR)
	(
		frappe.qb.update(Gen)
		.set(Gen.status, "Archived")
		.where(Gen.title.like(f"{PREFIX}%") & (Gen.status != "Archived"))
	).run()
	frappe.db.commit()


def foreign_due(as_of: date, mine: set[str]) -> list[str]:
	from accumulating_billing.billing.tasks import due_generators

	return [name for name in due_generators(as_of) if name not in mine]


def bench_generator(customer: str, title: str, **values):
	"""An Active monthly Open generator of the benchmarks (first invoice 1 Dec 2026 unless `values` say)."""
	return frappe.get_doc(
		{
			"doctype": GENERATOR,
			"title": title,
			"customer": customer,
			"company": COMPANY,
			"status": "Active",
			"interval_unit": "Month",
			"interval_count": 1,
			"first_creation_date": "2026-12-01",
			"generate_as": "Open",
			"selling_price_list": "Standard Selling",
			**values,
		}
	).insert(ignore_permissions=True)


def make_generators(
	customers: list[str],
	first: date,
	codes: list[str],
	tag: str,
	items_per=5,
	series: list[str] | None = None,
) -> list[str]:
	"""One Active monthly generator per customer, first creation date `first`, with `items_per` unbilled items
	dated 10 days before it (the same lines as the direct invoices); invoice naming series round-robin."""
	names = []
	service = first - timedelta(days=10)
	for k, customer in enumerate(customers):
		gen = bench_generator(
			customer,
			f"{PREFIX} {tag} {customer}",
			first_creation_date=first,
			naming_series_for_invoice=series[k % len(series)] if series else None,
		)
		add_bench_items(gen.name, codes, service, items_per)
		names.append(gen.name)
	frappe.db.commit()
	return names


def add_bench_items(generator: str, codes: list[str], service: date, items_per: int = len(LINES)) -> None:
	"""The first `items_per` of the benchmarks' lines (LINES) on the generator's tab, dated `service`."""
	for (qty, rate), code in list(zip(LINES, codes, strict=True))[:items_per]:
		frappe.get_doc(
			{
				"doctype": ITEM,
				"generator": generator,
				"item_code": code,
				"qty": qty,
				"rate": rate,
				"service_date": service,
			}
		).insert(ignore_permissions=True)


def archive_foreign_due(as_of: date, mine: set[str]) -> None:
	"""Other due generators of the site are archived, so that a billing run of the benchmark bills only its own."""
	others = foreign_due(as_of, mine)
	if others:
		say(f"  {len(others)} other due generators on the site are archived so they do not count")
		Gen = frappe.qb.DocType(GENERATOR)
		frappe.qb.update(Gen).set(Gen.status, "Archived").where(Gen.name.isin(others)).run()
		frappe.db.commit()


def machine() -> str:
	mem = ""
	try:
		with open("/proc/meminfo") as f:
			mem = f"{int(f.readline().split()[1]) / 1024 / 1024:.0f} GiB"
	except OSError:
		pass
	db = frappe.db.sql("select version()")[0][0]
	return (
		f"{platform.machine()}, {os.cpu_count()} CPUs, {mem} RAM, {platform.system()} {platform.release()}, "
		f"Python {platform.python_version()}, MariaDB {db}, Frappe {frappe.__version__}, "
		f"ERPNext {__import__('erpnext').__version__}"
	)


@contextmanager
def two_step_billing(on: bool):
	"""Accumulating Billing Settings > Submit Invoices in a Second Transaction, for the run."""
	settings = "Accumulating Billing Settings"
	old = frappe.db.get_single_value(settings, "two_step_billing")
	frappe.db.set_single_value(settings, "two_step_billing", 1 if on else 0)
	frappe.clear_document_cache(settings, settings)
	frappe.db.commit()
	try:
		yield on
	finally:
		frappe.db.set_single_value(settings, "two_step_billing", old)
		frappe.clear_document_cache(settings, settings)
		frappe.db.commit()


@contextmanager
def counted_queries():
	"""Counts the statements sent through `frappe.db.sql` inside the block (`frappe.qb`, `get_value` and the
	document API all go through it; cached reads do not): the work a side does, free of the machine's noise.
	Yields a dict whose "queries" grows."""
	db = frappe.local.db
	counter = {"queries": 0}
	sql = db.sql

	def counting(*args, **kwargs):
		counter["queries"] += 1
		return sql(*args, **kwargs)

	db.sql = counting
	try:
		yield counter
	finally:
		del db.sql  # the class's own method again


# ------------------------------------------------------------------------------------------ a quiet server

# the longest a measurement waits for the server to finish the last one's background work (quiet_server)
QUIET_SECONDS = 20
# the share of the buffer pool that may still be dirty when a measurement starts
QUIET_DIRTY_SHARE = 0.1
DB_SERVER_NAMES = ("mariadbd", "mysqld")


def status_counters(*names: str, scope: str = "global") -> dict[str, int]:
	"""The server's status counters `names` (as SHOW STATUS names them), by their lowercased names, of the whole
	server (`scope` "global") or of this connection ("session"); 0 for one the server does not have."""
	if scope not in ("global", "session"):
		raise ValueError(f"no such scope of the server's status: {scope}")
	rows = frappe.db.sql(f"show {scope} status where variable_name in ({placeholders(names)})", names)
	found = {name.lower(): int(value) for name, value in rows}
	return {name.lower(): found.get(name.lower(), 0) for name in names}


def server_state() -> dict[str, int]:
	"""InnoDB's history list (the old row versions purge has still to remove) and the buffer pool's dirty and
	total pages."""
	return status_counters(
		"Innodb_history_list_length", "Innodb_buffer_pool_pages_dirty", "Innodb_buffer_pool_pages_total"
	)


def quiet_server(longest: float = QUIET_SECONDS) -> tuple[float, bool]:
	"""Wait until the database server has done the background work the last measurement left it: purge finished
	(the history list empty) and the buffer pool's dirty pages flushed down to QUIET_DIRTY_SHARE of it (at most
	`longest` seconds); Python's garbage collected. The next side then starts on a server that is not still purging
	and flushing the writes of the side before it (a 5,000-line invoice leaves a third of MariaDB's default buffer
	pool of 128 MB dirty). Returns the seconds waited and whether the server got quiet before `longest`."""
	frappe.db.commit()  # no snapshot of ours holds purge back
	gc.collect()
	start = time.perf_counter()
	quiet = False
	while time.perf_counter() - start < longest:
		state = server_state()
		dirty = state["innodb_buffer_pool_pages_dirty"]
		quiet = (
			not state["innodb_history_list_length"]
			and dirty <= QUIET_DIRTY_SHARE * state["innodb_buffer_pool_pages_total"]
		)
		if quiet:
			break
		time.sleep(0.2)
	frappe.db.commit()  # the status reads leave no transaction open: every side starts alike
	return time.perf_counter() - start, quiet


def server_pid() -> int | None:
	"""The database server's process on this machine, whose CPU time `cpu_seconds` reads; None when it runs
	elsewhere, when /proc cannot tell, or when more than one such server runs here (which one is the site's is
	not known)."""
	if frappe.conf.db_host not in (None, "", "localhost", "127.0.0.1", "::1"):
		return None
	found = []
	try:
		for entry in os.listdir("/proc"):
			if entry.isdigit():
				try:
					with open(f"/proc/{entry}/comm") as f:
						if f.read().strip() in DB_SERVER_NAMES:
							found.append(int(entry))
				except OSError:
					continue
	except OSError:
		return None
	return found[0] if len(found) == 1 else None


def cpu_seconds(pid: int | None, thread: int | None = None) -> float:
	"""The CPU time (user and system) process `pid` has used, or only its thread `thread`, from /proc; 0 without
	one."""
	if not pid:
		return 0.0
	try:
		with open(f"/proc/{pid}/task/{thread}/stat" if thread else f"/proc/{pid}/stat") as f:
			fields = f.read().rsplit(")", 1)[1].split()
	except OSError:
		return 0.0
	# after the command's closing parenthesis: state is field 3, utime 14 and stime 15 (proc(5))
	return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_thread() -> int | None:
	"""The database server's thread that serves this connection (MariaDB runs one thread per connection and names
	it in the process list), whose CPU time `cpu_seconds(server_pid(), server_thread())` reads; None when the
	server does not say."""
	try:
		found = frappe.db.sql("select tid from information_schema.processlist where id = connection_id()")
	except Exception:
		return None
	return int(found[0][0]) if found and found[0][0] else None


@contextmanager
def measured(server: int | None):
	"""The wall-clock seconds of the block, and the CPU seconds this process and the database server (`server`:
	server_pid()) spent in it. Yields a dict filled in when the block ends."""
	figures = {}
	wall, cpu, db = time.perf_counter(), time.process_time(), cpu_seconds(server)
	try:
		yield figures
	finally:
		figures["wall"] = time.perf_counter() - wall
		figures["cpu"] = time.process_time() - cpu
		figures["db_cpu"] = cpu_seconds(server) - db
