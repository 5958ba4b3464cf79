"""Batch intake (issue 30): api.add_items answers every item in order, with add_item's own answer; a bad item never
blocks the good ones; a retried batch writes nothing; a contributor's items for another customer's tab are refused
like an unknown generator's; rows written in bulk are the rows add_item writes; what follows new items runs once per
generator; a site that hooks item inserts gets its hooks run."""

import json
from unittest.mock import patch

import frappe
from frappe.utils import get_test_client

from accumulating_billing import api
from accumulating_billing.billing import intake
from accumulating_billing.doctypes import ITEM
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.utils import (
	contributor_for,
	fetch,
	login,
	make_generator,
	make_item,
	make_user,
	refusal,
)


def add_item_refusal(**arguments) -> str:
	"""The message api.add_item refuses these arguments with (nothing is written)."""
	return refusal(api.add_item, **arguments)[1]


def items_of(generator: str) -> list[str]:
	return frappe.get_all(ITEM, filters={"generator": generator}, pluck="name")


class TestAddItems(GenerationTestCase):
	def setUp(self):
		self.gen = make_generator()

	def entry(self, k: int, **values) -> dict:
		return {
			"generator": self.gen.name,
			"item_code": self.listing,
			"qty": 1 + k % 3,
			"rate": 10,
			"service_date": "2026-01-10",
			"client_ref": f"batch-{k}",
			**values,
		}

	def test_a_batch_of_200_with_5_bad_items_writes_195_and_again_nothing(self):
		disabled = make_item(f"_AB Disabled {frappe.generate_hash(length=5)}")
		frappe.db.set_value("Item", disabled, "disabled", 1)
		frappe.clear_document_cache("Item", disabled)
		bad = {
			17: {"item_code": "_AB-NO-SUCH-ITEM"},
			42: {"qty": -2},
			99: {"item_code": disabled},
			120: {"generator": "ACG-NO-SUCH-GENERATOR"},
			199: {"service_date": "2026-02-30"},
		}
		entries = [self.entry(k, **bad.get(k, {})) for k in range(200)]
		expected = {k: add_item_refusal(**{key: value for key, value in entries[k].items()}) for k in bad}
		answers = api.add_items(entries)
		self.assertEqual([a["client_ref"] for a in answers], [e["client_ref"] for e in entries])
		self.assertEqual({k: answers[k]["error"] for k in bad}, expected)
		self.assertIn("_AB-NO-SUCH-ITEM", expected[17])
		self.assertIn("is disabled", expected[99])
		self.assertIn("not a valid date", expected[199])
		good = [a["name"] for k, a in enumerate(answers) if k not in bad]
		self.assertEqual(len(good), 195)
		self.assertTrue(all("error" not in a for k, a in enumerate(answers) if k not in bad))
		self.assertEqual(sorted(items_of(self.gen.name)), sorted(good))
		# the amounts are the ones add_item computes
		self.assertEqual(frappe.db.get_value(ITEM, answers[2]["name"], ["qty", "amount"]), (3.0, 30.0))

		again = api.add_items(entries)
		self.assertEqual(again, answers)
		self.assertEqual(sorted(items_of(self.gen.name)), sorted(good))

	def test_a_reference_repeated_in_the_batch_is_one_item(self):
		other = make_generator()
		answers = api.add_items(
			[
				self.entry(1, client_ref="dup", qty=-1),  # refused: the next one with its reference is added
				self.entry(2, client_ref="dup"),
				self.entry(3, client_ref=" dup "),
				self.entry(4, client_ref="dup", generator=other.name),  # another tab: its own item
				self.entry(5, client_ref=None),
				self.entry(6, client_ref=None),
			]
		)
		self.assertIn("error", answers[0])
		self.assertEqual(answers[1]["name"], answers[2]["name"])
		self.assertEqual([a["client_ref"] for a in answers[1:4]], ["dup", "dup", "dup"])
		self.assertEqual(len(items_of(self.gen.name)), 3)
		self.assertEqual(items_of(other.name), [answers[3]["name"]])
		# the reference on the tab answers its item, as add_item does
		self.assertEqual(
			api.add_item(self.gen.name, self.listing, rate=1, client_ref="dup"), answers[1]["name"]
		)

	def test_more_than_1000_items_are_refused_with_the_limit_named(self):
		before = frappe.db.count(ITEM)
		with self.assertRaises(frappe.ValidationError) as refused:
			api.add_items([self.entry(k) for k in range(1001)])
		self.assertIn("1000", str(refused.exception))
		self.assertEqual(frappe.db.count(ITEM), before)
		self.assertEqual(len(api.add_items([self.entry(k) for k in range(1000)])), 1000)

	def test_malformed_items_get_add_items_answers(self):
		wrong_type = add_item_refusal(generator=self.gen.name, item_code=self.listing, qty="many")
		answers = api.add_items(
			[
				"not an item",
				{"generator": self.gen.name},
				{"generator": self.gen.name, "item_code": self.listing, "qty": "many", "client_ref": "t"},
				{"generator": self.gen.name, "item_code": self.listing, "qty": "2", "rate": 5, "x": 1},
				self.entry(9, client_ref="x" * 141),
			]
		)
		self.assertIn("Each item must be an object", answers[0]["error"])
		self.assertIn("item_code", answers[1]["error"])
		self.assertEqual(answers[2], {"client_ref": "t", "error": wrong_type})
		# what Frappe converts for add_item it converts here (a number in a string); unknown keys are ignored
		self.assertEqual(frappe.db.get_value(ITEM, answers[3]["name"], "qty"), 2)
		self.assertIn("at most 140 characters", answers[4]["error"])
		too_long = self.entry(10, description="x" * 70_000)
		[answer] = api.add_items([too_long])
		self.assertIn("at most 65535 bytes", answer["error"])
		self.assertEqual(answer["error"], add_item_refusal(**too_long))
		self.assertEqual(answers[4]["error"], add_item_refusal(**{**self.entry(9), "client_ref": "x" * 141}))
		self.assertEqual(api.add_items("[]"), [])

	def test_the_arguments_are_add_items(self):
		"""One item of a batch takes add_item's arguments, typed alike (Frappe's type check runs on both)."""

		def arguments(fn):
			return {name: kind for name, kind in fn.__annotations__.items() if name != "return"}

		self.assertEqual(arguments(intake.item_arguments), arguments(api.add_item))

	def test_names_are_made_as_frappes_hash_autoname_makes_them(self):
		"""A batch's names, made at once, have the shape of make_autoname("hash"): its time and request prefix, then
		random base32hex characters, 10 in all; a thousand of them all differ."""
		from frappe.model.naming import make_autoname

		names = list(intake.new_names(1000))
		frappe_name = make_autoname("hash", "Accumulating Generator Item")
		self.assertEqual(len(set(names)), 1000)
		for name in [*names, frappe_name]:
			self.assertRegex(name, r"^[0-9a-v]{10}$")

	def test_a_row_written_in_bulk_is_the_row_add_item_writes(self):
		values = {
			"item_code": self.listing,
			"qty": 3,
			"discount_percentage": 7.5,
			"uom": "nos",
			"service_date": "2026-01-12",
			"description": 'Backup <b>done</b> <img src=x onerror="alert(1)"> \\ "quoted" \'s \u2013 Übergröße 🙂',
			"rate": 12.35,
		}
		single = api.add_item(self.gen.name, client_ref="one", **values)
		[answer] = api.add_items([{"generator": self.gen.name.lower(), "client_ref": "two", **values}])
		row = frappe.db.sql(
			f"select * from `tab{ITEM}` where name in %s", [(single, answer["name"])], as_dict=True
		)
		by_name = {r.name: r for r in row}
		differ = {"name", "creation", "modified", "client_ref"}
		a, b = by_name[single], by_name[answer["name"]]
		self.assertEqual(
			{k: v for k, v in a.items() if k not in differ}, {k: v for k, v in b.items() if k not in differ}
		)
		self.assertNotIn("onerror", b.description)
		self.assertEqual(
			(b.status, b.added_by, b.owner, b.generator),
			("Unbilled", "Administrator", "Administrator", self.gen.name),
		)

	def test_the_items_keep_their_order_by_creation(self):
		answers = api.add_items([self.entry(k) for k in range(20)])
		by_creation = frappe.get_all(
			ITEM, filters={"generator": self.gen.name}, order_by="creation asc", pluck="name"
		)
		self.assertEqual(by_creation, [a["name"] for a in answers])

	def test_what_follows_new_items_runs_once_per_generator(self):
		other = make_generator()
		entries = [self.entry(k, generator=(self.gen.name, other.name)[k % 2]) for k in range(10)]
		with patch("accumulating_billing.billing.items.after_items_added") as after:
			api.add_items(entries)
			after.assert_called_once_with({self.gen.name: None, other.name: None})
			api.add_items(entries)  # all on their tabs already: nothing added
			after.assert_called_once()
			api.add_item(self.gen.name, self.listing, rate=1, service_date="2026-01-10")
			# one item (the controller): its generator, with the values its line was checked with
			self.assertEqual(list(after.call_args.args[0]), [self.gen.name])

	def test_a_contributors_batch_reaching_another_customers_tab_is_refused_per_item(self):
		other = make_generator()
		user = contributor_for(self.gen.customer)
		frappe.set_user(user)
		answers = api.add_items(
			[
				self.entry(1),
				self.entry(2, generator=other.name),
				self.entry(3, generator="ACG-NO-SUCH-GENERATOR"),
			]
		)
		self.assertEqual(frappe.db.get_value(ITEM, answers[0]["name"], "added_by"), user)
		forbidden, unknown = answers[1]["error"], answers[2]["error"]
		self.assertEqual(forbidden.replace(other.name, "X"), unknown.replace("ACG-NO-SUCH-GENERATOR", "X"))
		self.assertIn("does not exist or you are not permitted to use it", forbidden)
		self.assertEqual(forbidden, add_item_refusal(**self.entry(2, generator=other.name)))
		frappe.set_user("Administrator")
		self.assertEqual(items_of(other.name), [])

	def test_over_http_post_only_json_and_guests_refused_as_for_add_item(self):
		user = make_user(["Accounts User"])
		frappe.db.commit()
		client = login(user)
		path = "/api/method/accumulating_billing.api.add_items"
		entries = [self.entry(k, client_ref=f"http-{k}") for k in range(3)]
		response = fetch(client, path, "post", json={"items": entries})
		self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
		names = [a["name"] for a in response.get_json()["message"]]
		frappe.db.rollback()
		self.assertEqual(sorted(items_of(self.gen.name)), sorted(names))
		# a form-encoded JSON string is taken too (frappe.call from the desk)
		response = fetch(client, path, "post", data={"items": json.dumps(entries)})
		self.assertEqual([a["name"] for a in response.get_json()["message"]], names)
		self.assertEqual(fetch(client, f"{path}?items={json.dumps(entries[:1])}", "get").status_code, 403)
		guest = get_test_client()
		batch = fetch(guest, path, "post", json={"items": entries})
		single = fetch(guest, "/api/method/accumulating_billing.api.add_item", "post", json=entries[0])
		self.assertEqual(batch.status_code, 403)
		self.assertEqual(
			(batch.status_code, batch.get_json().get("exc_type")),
			(single.status_code, single.get_json().get("exc_type")),
		)
		frappe.db.rollback()
		self.assertEqual(len(items_of(self.gen.name)), 3)

	def test_a_site_that_hooks_item_inserts_gets_its_hooks_run(self):
		self.assertFalse(intake.inserts_are_hooked())
		notification = frappe.get_doc(
			{
				"doctype": "Notification",
				"name": f"_AB Item Added {frappe.generate_hash(length=5)}",
				"subject": "Item {{ doc.name }} added",
				"document_type": ITEM,
				"event": "New",
				"channel": "System Notification",
				"recipients": [{"receiver_by_role": "System Manager"}],
				"message": "{{ doc.item_code }}",
			}
		).insert(ignore_permissions=True)
		self.addCleanup(
			frappe.cache.hdel, "notifications", ITEM
		)  # Frappe's cache of the DocType's notifications
		self.assertTrue(intake.inserts_are_hooked())
		answers = api.add_items([self.entry(k) for k in range(3)] + [self.entry(9, qty=0)])
		names = [a["name"] for a in answers[:3]]
		self.assertIn("error", answers[3])
		self.assertEqual(sorted(items_of(self.gen.name)), sorted(names))
		logs = frappe.get_all(
			"Notification Log",
			filters={"document_type": ITEM, "document_name": ("in", names)},
			pluck="document_name",
		)
		self.assertEqual(set(logs), set(names))
		self.assertEqual(api.add_items([self.entry(k) for k in range(3)])[:3], answers[:3])
		notification.delete()
