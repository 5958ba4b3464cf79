"""Tabs of 100,000 items (issue 30; `--big-tab-size`): one tab filled through api.add_items (calls of 1,000),
Invoice Lines *Grouped* (5 items x 3 rates: 15 invoice lines), then

- the generator form opens < 2 s: Frappe's getdoc of the generator and api.get_tab (the running tab's first page,
  the totals and the next invoice), as the desk calls them;
- the preview (api.get_tab alone) < 2 s;
- the portal's running tab (/running-tab as the customer's portal user) < 2 s;
- the report Upcoming Accumulating Invoices < 2 s;
- billing it (Generate Now, one Open invoice of 15 lines) < 10 s.

Each opening is timed `--repeats` times (default 3; the best and the slowest are printed; the verdict is on the
median), in process and over HTTP through one gunicorn worker (as in batch_intake.py); the verdict is the HTTP
one, which includes Frappe's request path. The tab's items are deleted afterwards (`--keep-big-tab` keeps them), so
that the site's table stays its own size.
"""

import statistics
import time
from datetime import date

import frappe

from benchmarks import common
from benchmarks.batch_intake import BATCH, delete_items, load
from benchmarks.common import (
	GENERATOR,
	PREFIX,
	archive_bench_generators,
	bench_customers,
	report,
	run_tag,
	say,
)
from benchmarks.http_server import Caller, bench_user, one_worker_server

RATES = (10.0, 12.5, 20.0)
POSTING = date(2025, 11, 25)  # the tab's items are dated before it
TARGET_OPEN = 2.0
TARGET_BILL = 10.0


def run(args, names) -> None:
	size = args.big_tab_size
	say(f"\n== big tab: {size:,} items, Invoice Lines Grouped ({load()})")
	archive_bench_generators()
	codes = common.bench_items()
	tag = run_tag()
	customer = bench_customers(1, f"BigTab {tag}")[0]
	gen = common.bench_generator(
		customer,
		f"{PREFIX} {tag} big tab",
		invoice_lines="Grouped",
		first_creation_date=POSTING,
		status="Active",
	).name
	frappe.db.commit()
	try:
		fill(gen, codes, size, tag)
		portal_user = portal_user_of(customer, tag)
		openings(args, gen, customer, portal_user, tag)
		bill(gen, size)
	finally:
		archive_bench_generators()
		if not args.keep_big_tab:
			delete_items([gen])
	say(f"  ({load()})")


def fill(gen: str, codes: list[str], size: int, tag: str) -> None:
	from accumulating_billing import api

	t0 = time.perf_counter()
	for start in range(0, size, BATCH):
		batch = [
			{
				"generator": gen,
				"item_code": codes[k % 5],
				"qty": float(1 + k % 4),
				"rate": RATES[(k // 5) % 3],
				"service_date": str(date(2025, 10, 1 + k % 30)),
				"client_ref": f"{tag}-{k}",
			}
			for k in range(start, min(start + BATCH, size))
		]
		answers = api.add_items(batch)
		frappe.db.commit()
		if any("error" in answer for answer in answers):
			raise RuntimeError(f"refused: {[a for a in answers if 'error' in a][:3]}")
	spent = time.perf_counter() - t0
	say(f"  filled through add_items: {size:,} items in {spent:.1f} s ({size / spent:,.0f}/s)")


def portal_user_of(customer: str, tag: str) -> str:
	user = bench_user(["Customer"], f"{tag}-portal", user_type="Website User")
	doc = frappe.get_doc("Customer", customer)
	doc.append("portal_users", {"user": user})
	doc.save(ignore_permissions=True)
	frappe.db.commit()
	return user


def openings(args, gen: str, customer: str, portal_user: str, tag: str) -> None:
	from frappe.desk.form.load import getdoc

	from accumulating_billing import api
	from accumulating_billing.accumulating_billing.report.upcoming_accumulating_invoices import (
		upcoming_accumulating_invoices as upcoming,
	)
	from accumulating_billing.billing.portal import running_tabs

	period = {"from_date": str(POSTING), "to_date": "2026-12-31", "customer": customer}
	in_process = {
		"generator form (getdoc + get_tab)": lambda: (getdoc(GENERATOR, gen), api.get_tab(gen)),
		"preview (get_tab)": lambda: api.get_tab(gen),
		"portal running tab": lambda: as_user(portal_user, lambda: running_tabs(portal_user)),
		"Upcoming Accumulating Invoices": lambda: upcoming.execute(period),
	}
	tab = api.get_tab(gen)
	say(
		f"  the tab: {tab['page']['count']:,} unbilled items, total {tab['page']['amount']:,.2f}; next invoice "
		f"{tab['lines']} lines, grand total {tab['grand_total']:,.2f}"
	)
	for label, fn in in_process.items():
		times = timed(fn, args.repeats)
		say(f"  in process: {label}: {describe(times)}")
	with one_worker_server(args) as url:
		staff = Caller(url, bench_user(["Accounts User", "Accounts Manager"], f"{tag}-staff"))
		customer_caller = Caller(url, portal_user)
		over_http = {
			"generator form (getdoc + get_tab)": lambda: (
				staff.get("/api/method/frappe.desk.form.load.getdoc", doctype=GENERATOR, name=gen),
				staff.post("accumulating_billing.api.get_tab", {"generator": gen}),
			),
			"preview (get_tab)": lambda: staff.post("accumulating_billing.api.get_tab", {"generator": gen}),
			"portal running tab": lambda: customer_caller.get("/running-tab"),
			"Upcoming Accumulating Invoices": lambda: staff.post(
				"frappe.desk.query_report.run",
				{
					"report_name": "Upcoming Accumulating Invoices",
					"filters": period,
					"ignore_prepared_report": 1,
				},
			),
		}
		for label, fn in over_http.items():
			times = timed(fn, args.repeats)
			median = statistics.median(times)
			say(f"  over HTTP: {label}: {describe(times)}")
			report(
				f"big tab ({args.big_tab_size:,} items): {label} opens, s (HTTP, median)",
				median,
				f"< {TARGET_OPEN}",
				median < TARGET_OPEN,
			)


def as_user(user: str, fn):
	frappe.set_user(user)
	try:
		return fn()
	finally:
		frappe.set_user("Administrator")


def timed(fn, repeats: int) -> list[float]:
	fn()  # warm-up: the first call fills Frappe's caches, as any earlier request of a worker has
	frappe.db.rollback()
	times = []
	for _ in range(repeats):
		t0 = time.perf_counter()
		fn()
		times.append(time.perf_counter() - t0)
		frappe.db.rollback()
	return times


def describe(times: list[float]) -> str:
	return f"median {statistics.median(times):.2f} s (best {min(times):.2f}, slowest {max(times):.2f})"


def bill(gen: str, size: int) -> None:
	from accumulating_billing.billing.generation import generate_now

	frappe.db.commit()
	t0 = time.perf_counter()
	invoice, message = generate_now(gen, POSTING)
	spent = time.perf_counter() - t0
	if not invoice:
		raise RuntimeError(f"nothing billed: {message}")
	billed = frappe.db.count("Accumulating Generator Item", {"generator": gen, "sales_invoice": invoice})
	lines = frappe.db.count("Sales Invoice Item", {"parent": invoice})
	say(f"  billed: {invoice}, {lines} lines, {billed:,} items, in {spent:.2f} s")
	report(
		f"big tab ({size:,} items): Generate Now, Grouped, s",
		spent,
		f"< {TARGET_BILL}",
		spent < TARGET_BILL and billed == size,
	)
