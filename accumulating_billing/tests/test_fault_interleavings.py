"""Fault suite (issue 7), part 1: randomized interleavings lose nothing and bill nothing twice.

Randomized interleavings of add / generate / generate-now / cancel / Timesheet submit / void / amend on two
worker connections at once, checking after every round: every item billed at most once, billed items <-> invoice
lines match, invoiced + unbilled = all items added (nothing lost, nothing invented), and every time log is
billed in ERPNext by exactly the submitted invoice that bills its tab item. Bounded and reproducible (a seeded
random.Random chooses every operation and its arguments; the database decides only how concurrent
transactions interleave, and the invariants must hold whatever it decides). Prints its figures. Runs in
`bench run-tests` and therefore in `.ci/run`; the plumbing is in `faults`.
"""

import random
import time
from datetime import date, timedelta

import frappe
from frappe.utils import strip_html

from accumulating_billing.billing.generation import run_generator
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.combined_utils import make_payer_group
from accumulating_billing.tests.faults import ITEM, SEED
from accumulating_billing.tests.faults.connections import Connection
from accumulating_billing.tests.faults.invariants import check_invariants
from accumulating_billing.tests.faults.operations import OPERATIONS
from accumulating_billing.tests.source_docs import make_timesheet, service_item
from accumulating_billing.tests.two_step_utils import set_two_step
from accumulating_billing.tests.utils import make_customer, make_generator, make_item

ROUNDS = 300
ROUNDS_TWO_STEP = 120
ROUNDS_COMBINED = 160
# errors a user or a worker may legitimately meet while others work on the same data; anything else fails
EXPECTED_ERRORS = (frappe.ValidationError, frappe.QueryDeadlockError, frappe.QueryTimeoutError)
OPERATION_WEIGHTS = {
	"add": 5,
	"generate": 2,
	"generate_now": 1,
	"cancel": 1,
	"timesheet": 1,
	"void": 1,
	"amend": 1,
}


class TestInterleavings(GenerationTestCase):
	def test_randomized_interleavings_lose_nothing_and_bill_once(self):
		self.interleave(ROUNDS, "interleavings")

	def test_randomized_interleavings_in_two_step_billing(self):
		"""The same, with every Open invoice reserved in one transaction and submitted in a second (two_step.py):
		a run, Generate Now, a cancel or a delete may come between the two."""
		set_two_step(True)
		try:
			self.interleave(ROUNDS_TWO_STEP, "interleavings in two-step billing", seed=SEED + 1)
		finally:
			set_two_step(False)

	def test_randomized_interleavings_with_combined_invoices(self):
		"""The same over the tabs of one payer billed on one invoice (issue 28): its own tab and three clinics'
		(one below its minimum at times, one whose Due Days differ: billed on its own invoice). A run of any of
		them bills them all, Generate Now bills one, a cancel returns every tab's items."""
		self.interleave(ROUNDS_COMBINED, "interleavings with combined invoices", seed=SEED + 2, combined=True)

	def test_randomized_interleavings_with_combined_invoices_in_two_step_billing(self):
		set_two_step(True)
		try:
			self.interleave(
				ROUNDS_COMBINED // 2,
				"interleavings with combined invoices in two-step billing",
				seed=SEED + 3,
				combined=True,
			)
		finally:
			set_two_step(False)

	def make_generators(self, combined: bool) -> list[str]:
		# every generator also receives its customer's Timesheets (submitted while runs bill the tab)
		sources = {"accumulate_timesheets": 1, "timesheet_item": service_item()}
		if combined:
			group = make_payer_group(
				self.listing,
				children=3,
				items=0,
				interval_unit="Week",
				first_creation_date="2026-01-05",
				**sources,
			)
			frappe.db.set_value("Accumulating Generator", group.tabs[1], "minimum_amount", 50)
			odd = frappe.get_doc("Accumulating Generator", group.tabs[3])
			odd.due_days = 20
			odd.save(ignore_permissions=True)
			return group.tabs
		return [
			make_generator(first_creation_date="2026-01-05", interval_unit="Week", **sources).name,
			make_generator(
				first_creation_date="2026-01-07", interval_unit="Week", minimum_amount=50, **sources
			).name,
			make_generator(
				first_creation_date="2026-01-06",
				interval_unit="Day",
				interval_count=10,
				generate_as="Draft",
				**sources,
			).name,
		]

	def interleave(self, rounds: int, label: str, seed: int = SEED, combined: bool = False) -> None:
		rng = random.Random(seed)
		generators = self.make_generators(combined)
		codes = [self.listing, make_item("_AB Fault Hour", price=12.5)]
		frappe.db.commit()
		site = frappe.local.site
		connections = [Connection(site, "ab-fault-a"), Connection(site, "ab-fault-b")]
		added: set[str] = set()
		refs: list[str] = []
		outcomes: dict[str, int] = {}
		samples: dict[str, str] = {}  # the first message of each kind of refusal or failure
		unexpected = []
		invoices = set()
		checks = 0
		clock = date(2026, 1, 10)
		ops = list(OPERATION_WEIGHTS)
		weights = list(OPERATION_WEIGHTS.values())
		started = time.monotonic()

		def plan():
			op = rng.choices(ops, weights)[0]
			gen = rng.choice(generators)
			if op == "add":
				ref = None
				if rng.random() < 0.2:
					ref = rng.choice(refs) if refs and rng.random() < 0.5 else f"ref-{len(refs)}"
					refs.append(ref)
				args = (
					gen,
					rng.choice(codes),
					rng.choice((1, 2, 3)),
					rng.choice((10, 12.5, 40)),
					clock - timedelta(days=rng.randint(0, 20)),
					ref,
				)
			elif op == "timesheet":
				args = (
					gen,
					clock - timedelta(days=rng.randint(0, 10)),
					rng.choice(((1,), (2, 0.5), (1.5, 1, 3))),
				)
			elif op in ("generate", "generate_now"):
				args = (gen, clock)
			elif op == "amend":
				args = (gen, rng.random(), rng.choice((1, 2, 4)))
			else:
				args = (gen, rng.random())
			return op, args

		try:
			for _round in range(rounds):
				clock += timedelta(days=rng.choice((0, 0, 1, 2, 3)))
				plans = [plan() for _ in connections]
				if rng.random() < 0.5:  # same generator on both connections: the hardest case
					plans[1] = (plans[1][0], (plans[0][1][0], *plans[1][1][1:]))
				futures = [
					conn.submit(OPERATIONS[op], *args, delay=rng.choice((0, 0, 0.005, 0.02)))
					for conn, (op, args) in zip(connections, plans, strict=True)
				]
				for (op, _args), future in zip(plans, futures, strict=True):
					try:
						result = future.result(300)
					except EXPECTED_ERRORS as e:
						key = f"{op}: {type(e).__name__}"
						samples.setdefault(key, strip_html(str(e))[:160])
					except Exception as e:
						unexpected.append(f"{op}: {type(e).__name__}: {e}")
						key = f"{op}: {type(e).__name__}"
					else:
						key = f"{op}: ok"
						if op == "add":
							added.add(result)
						elif op == "timesheet":
							added.update(result)
						elif op == "generate":
							invoices.update(result.invoices)
							if result.error:
								key = f"{op}: run failed"
								samples.setdefault(key, strip_html(result.error)[:160])
						elif op == "generate_now" and result:
							invoices.add(result)
						elif op == "amend" and result:
							added.add(result)  # the replacement; the amended line stays, voided
					outcomes[key] = outcomes.get(key, 0) + 1
				frappe.db.rollback()  # a fresh snapshot of what both connections committed
				checks += check_invariants(generators, added)
		finally:
			for conn in connections:
				conn.close()
		self.assertFalse(unexpected, unexpected)
		print(
			f"\nfault suite / {label}: {rounds} rounds x {len(connections)} connections "
			f"(seed {seed}), {len(added)} items, {len(invoices)} invoices, {checks} checks, "
			f"{time.monotonic() - started:.0f}s; outcomes {dict(sorted(outcomes.items()))}; "
			f"first messages {samples}"
		)
		self.assertGreater(len(invoices), 20)


class TestCancelRacingARun(GenerationTestCase):
	"""Issue 19 §4: cancelling a generated invoice while a job bills another log of the same Timesheet. ERPNext
	unmarks the cancelled invoice's logs by rewriting every log of the Timesheet from the cancel's snapshot;
	a mark the job committed after that snapshot was lost. It always comes back (events.restore_marks_after_cancel).
	"""

	def test_the_mark_of_a_run_committed_during_a_cancel_comes_back(self):
		customer = make_customer()
		gen = make_generator(
			customer, first_creation_date="2026-02-01", accumulate_timesheets=1, timesheet_item=service_item()
		)
		ts = make_timesheet(
			[{"start": "2026-01-30 09:00", "hours": 2}, {"start": "2026-02-02 09:00", "hours": 1}],
			customer=customer,
		)
		frappe.db.commit()
		[first] = run_generator(gen.name, "2026-02-01").invoices
		added = set(frappe.get_all(ITEM, filters={"generator": gen.name}, pluck="name"))
		frappe.db.commit()
		connection = Connection(frappe.local.site, "ab-cancel-race")
		try:
			# the cancel's transaction has its snapshot (a person opened the invoice) ...
			invoice = frappe.get_doc("Sales Invoice", first)
			frappe.get_doc("Timesheet", ts.name)
			# ... when a billing job bills the Timesheet's other log and commits
			[second] = connection.run(OPERATIONS["generate"], gen.name, date(2026, 3, 1)).invoices
			invoice.cancel()
			frappe.db.commit()
		finally:
			connection.close()
		marks = dict(
			frappe.get_all(
				"Timesheet Detail", filters={"parent": ts.name}, fields=["idx", "sales_invoice"], as_list=True
			)
		)
		self.assertEqual(marks, {1: None, 2: second})
		# ERPNext's own figure follows the marks: the second log's 50 of the Timesheet's 150 is billed
		self.assertAlmostEqual(frappe.db.get_value("Timesheet", ts.name, "per_billed"), 100 / 3, places=4)
		check_invariants([gen.name], added)
