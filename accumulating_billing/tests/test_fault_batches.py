"""Fault suite (issue 30): parallel batches lose nothing and duplicate nothing.

Each round, four callers (each its own database connection) send api.add_items at once, while a fifth bills the
tabs: batches of up to 100 items over three tabs whose client references overlap between callers (two callers
sending the same items, as a client and its retry would) and within a batch, with a few bad items. A caller whose
batch fails (the database may pick it as a deadlock victim) sends it again, as a client does. After every round:
every answered name is on its tab, each (tab, client reference) is one item, every caller got that item for it,
the refused items wrote nothing, and the bookkeeping invariants hold (faults.invariants). Bounded and
reproducible: a seeded random.Random chooses everything; the database decides only the interleaving.
"""

import random
import time
from collections import defaultdict

import frappe

from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.faults import ITEM, SEED
from accumulating_billing.tests.faults.connections import Connection
from accumulating_billing.tests.faults.invariants import check_invariants
from accumulating_billing.tests.faults.operations import OPERATIONS
from accumulating_billing.tests.utils import make_generator

ROUNDS = 12
CALLERS = 4
BATCH = 100
RETRIES = 3


class TestParallelBatches(GenerationTestCase):
	def test_parallel_batches_lose_nothing_and_duplicate_nothing(self):
		rng = random.Random(SEED + 30)
		generators = self.generators = [
			make_generator(first_creation_date="2026-01-05", interval_unit="Week").name for _ in range(3)
		]
		frappe.db.commit()
		site = frappe.local.site
		callers = [Connection(site, f"ab-batch-{k}") for k in range(CALLERS)]
		biller = Connection(site, "ab-batch-biller")
		answered: dict[tuple, set] = defaultdict(set)  # (generator, client_ref) -> the names answered for it
		added: set[str] = set()
		refused = retried = invoices = checks = 0
		started = time.monotonic()
		try:
			for round_ in range(ROUNDS):
				batches = [self.batch(rng, round_) for _ in callers]
				billing = biller.submit(
					OPERATIONS["generate"], rng.choice(generators), f"2026-01-{5 + 7 * (round_ % 4):02d}"
				)
				pending = {k: callers[k].submit(OPERATIONS["add_batch"], batches[k]) for k in range(CALLERS)}
				for k, future in pending.items():
					for attempt in range(RETRIES + 1):
						try:
							answers = future.result(300)
							break
						except (frappe.QueryDeadlockError, frappe.QueryTimeoutError):
							if attempt == RETRIES:
								raise
							retried += 1
							future = callers[k].submit(OPERATIONS["add_batch"], batches[k])
					self.assertEqual(len(answers), len(batches[k]))
					for entry, answer in zip(batches[k], answers, strict=True):
						self.assertEqual(answer["client_ref"], entry["client_ref"])
						if "error" in answer:
							refused += 1
							self.assertTrue(entry.get("qty", 1) <= 0, answer)
							continue
						answered[(entry["generator"], entry["client_ref"])].add(answer["name"])
						added.add(answer["name"])
				invoices += len(billing.result(300).invoices)
				frappe.db.rollback()  # a fresh snapshot of what every caller committed
				checks += self.check_round(generators, answered, added)
				checks += check_invariants(generators, added)
		finally:
			for connection in (*callers, biller):
				connection.close()
		print(
			f"\nfault suite / parallel batches: {ROUNDS} rounds x {CALLERS} callers x {BATCH} items, "
			f"{len(added)} items on {len(generators)} tabs, {refused} refused, {retried} batches sent again, "
			f"{invoices} invoices, {checks} checks, {time.monotonic() - started:.0f}s"
		)
		self.assertGreater(invoices, 0)

	def batch(self, rng: random.Random, round_: int) -> list[dict]:
		"""BATCH items (one more when a reference repeats within it), their client references drawn from this
		round's pool of 150 and the last round's (so the callers' batches overlap, and retry what is on the tabs,
		billed or not), one in twenty refused (qty 0)."""
		pool = [f"r{round_}-{k}" for k in range(150)] + [f"r{round_ - 1}-{k}" for k in range(0, 150, 3)]
		entries = []
		for ref in rng.sample(pool, BATCH):
			entries.append(
				{
					"generator": self.generators[int(ref.rsplit("-", 1)[1]) % len(self.generators)],
					"item_code": self.listing,
					"qty": 0 if rng.random() < 0.05 else rng.choice((1, 2, 3)),
					"rate": 10,
					"service_date": f"2026-01-{1 + rng.randint(0, 27):02d}",
					"client_ref": ref,
				}
			)
		if rng.random() < 0.5:
			entries.append(dict(entries[0]))  # a reference repeated within the batch
		return entries

	def check_round(self, generators: list[str], answered: dict, added: set) -> int:
		rows = frappe.get_all(
			ITEM,
			filters={"generator": ("in", generators), "client_ref": ("is", "set")},
			fields=["name", "generator", "client_ref"],
		)
		on_tabs: dict[tuple, list] = defaultdict(list)
		for row in rows:
			on_tabs[(row.generator, row.client_ref)].append(row.name)
		problems = [f"{key}: {names}" for key, names in on_tabs.items() if len(names) != 1]
		for key, names in answered.items():
			if [*names] != on_tabs.get(key):
				problems.append(f"{key}: answered {sorted(names)}, on the tab {on_tabs.get(key)}")
		lost = added - {row.name for row in rows}
		if lost:
			problems.append(f"answered but not on a tab: {sorted(lost)[:10]}")
		self.assertEqual(problems, [], "\n".join(problems[:20]))
		return len(answered) + len(on_tabs)
