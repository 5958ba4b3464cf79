"""The two sides of the huge-tab benchmarks (huge_tab.py, billing_cost.py): a tab of Unbilled items billed by
Generate Now, and the same invoice (the same lines) made directly with the document API, inserted then submitted
or inserted already submitted. The items use the 5 benchmark item codes at 3 rates, so Grouped makes 15 lines of
any tab; they are dated before POSTING, the adders' items of the starvation benchmark after it."""

from collections import Counter
from datetime import date, timedelta

import frappe

from benchmarks import common
from benchmarks.common import ITEM, PREFIX, insert_direct

MODES = ("One per Item", "Grouped")
RATES = (10.0, 12.5, 20.0)
POSTING = date(2025, 11, 25)


def item_specs(n: int, codes: list[str]) -> list[tuple[str, float, float]]:
	"""(item code, qty, rate) of the tab's items: 5 codes x 3 rates, exact amounts."""
	return [(codes[i % 5], float(1 + i % 4), RATES[(i // 5) % 3]) for i in range(n)]


def make_tab(customer: str, mode: str, specs: list, tag: str) -> str:
	"""An Active generator of `customer` with `specs` as Unbilled items, inserted in bulk (as a Sync does)."""
	gen = common.bench_generator(customer, f"{PREFIX} {tag} huge tab {customer}", invoice_lines=mode)
	now, user = frappe.utils.now_datetime(), frappe.session.user
	fields = [
		"name",
		"creation",
		"modified",
		"owner",
		"modified_by",
		"generator",
		"customer",
		"company",
		"currency",
		"service_date",
		"status",
		"item_code",
		"item_name",
		"uom",
		"qty",
		"rate",
		"discount_percentage",
		"amount",
		"added_by",
	]
	rows = [
		(
			frappe.generate_hash(length=12),
			now,
			now,
			user,
			user,
			gen.name,
			customer,
			common.COMPANY,
			gen.currency,
			POSTING - timedelta(days=5 + i % 20),
			"Unbilled",
			code,
			code,
			"Nos",
			qty,
			rate,
			0,
			qty * rate,
			user,
		)
		for i, (code, qty, rate) in enumerate(specs)
	]
	frappe.db.bulk_insert(ITEM, fields, rows, chunk_size=5000)
	frappe.db.commit()
	return gen.name


def direct_lines(specs: list, mode: str) -> list[dict]:
	"""The lines of the same invoice: one per item, or (Grouped) one per code and rate, qty summed."""
	if mode != "Grouped":
		return [
			{"item_code": c, "qty": q, "uom": "Nos", "price_list_rate": r, "rate": r} for c, q, r in specs
		]
	qty = Counter()
	for code, q, rate in specs:
		qty[(code, rate)] += q
	return [
		{"item_code": c, "qty": q, "uom": "Nos", "price_list_rate": r, "rate": r} for (c, r), q in qty.items()
	]


def direct_invoice(
	customer: str, lines: list[dict], one_pass: bool = False, naming_series: str | None = None
) -> str:
	"""The invoice with the document API: inserted, then submitted (as ERPNext's own flows and the app do), or
	`one_pass`: inserted already submitted, so that ERPNext's validate runs once instead of twice;
	`naming_series`: one of Sales Invoice's series, else its default."""
	si = frappe.get_doc(
		{
			"doctype": "Sales Invoice",
			"customer": customer,
			"company": common.COMPANY,
			"posting_date": POSTING,
			"set_posting_time": 1,
			"due_date": POSTING,
			"selling_price_list": "Standard Selling",
			"ignore_pricing_rule": 1,
			"items": lines,
		}
	)
	if naming_series:
		si.naming_series = naming_series
	return insert_direct(si, one_pass)


def generate(generator: str) -> tuple[str | None, str]:
	"""Generate Now of the whole tab on the benchmarks' posting date: (the invoice or None, the message)."""
	from accumulating_billing.billing.generation import generate_now

	return generate_now(generator, POSTING)


def bill(generator: str) -> str:
	"""Generate Now of the whole tab (what is timed); returns the invoice, and fails when it billed nothing."""
	invoice, message = generate(generator)
	if not invoice:
		raise RuntimeError(f"{generator}: nothing billed: {message}")
	return invoice


def check_billed(generator: str, n: int, invoice: str) -> int:
	"""After the timing: every item of the tab billed on `invoice`. Returns the invoice's lines."""
	billed = frappe.db.count(ITEM, {"generator": generator, "status": "Billed", "sales_invoice": invoice})
	if billed != n:
		raise RuntimeError(f"{generator}: {billed} of {n} items billed on {invoice}")
	return frappe.db.count("Sales Invoice Item", {"parent": invoice})
