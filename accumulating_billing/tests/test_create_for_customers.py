"""*Create for several customers* (README, *Templates and assignment*): one generator per customer, from a template
or as a copy of a generator, in a background job (billing/bulk_create.py) that shows its progress to the person
who started it in real time and ends with the result (created, refused with the reason).

A test captures the enqueue and runs the job itself, as a worker would (no branch of the app's code knows it is
under test)."""

import json
from contextlib import contextmanager
from unittest.mock import patch

import frappe

from accumulating_billing import api
from accumulating_billing.billing import assignment, bulk_create
from accumulating_billing.doctypes import CONTRIBUTOR_ROLE, GENERATOR
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.utils import (
	generators_of,
	make_customer,
	make_generator,
	make_template,
	make_user,
	track,
)

JOB_ARGS = ("job", "customers", "template", "generator", "assignment_date")


class Killed(BaseException):
	"""The worker process dying in the middle of the job (not an error the job can catch)."""


@contextmanager
def queued():
	"""frappe.enqueue captured: the jobs stay queued (never run); yields the list of (method, its kwargs)."""
	jobs = []
	with patch("frappe.enqueue", lambda method, **kw: jobs.append((method, kw))):
		yield jobs


def run_queued(jobs: list) -> dict:
	"""Run the one queued job as a worker does (with the job's own arguments)."""
	((method, kw),) = jobs
	return method(**{key: kw[key] for key in JOB_ARGS})


class TestCreateForSeveralCustomers(GenerationTestCase):
	def test_from_template_reports_refused_customers(self):
		tpl = make_template()
		fresh = [make_customer(), make_customer()]
		already = make_customer()
		assignment.assign(tpl.name, already)
		disabled = make_customer(disabled=1)
		with patch("frappe.publish_progress") as progress, patch("frappe.publish_realtime") as realtime:
			with queued() as jobs:
				started = api.create_for_customers(json.dumps([*fresh, already, disabled]), template=tpl.name)
			run_queued(jobs)
		for c in (*fresh, already):
			track(c)
		self.assertEqual(started["total"], 4)
		state = api.create_for_customers_status(started["job"])
		self.assertEqual((state["status"], state["done"], state["total"]), ("Finished", 4, 4))
		self.assertEqual(len(state["created"]), 2)
		self.assertEqual(
			{frappe.db.get_value(GENERATOR, g, "customer") for g in state["created"]}, set(fresh)
		)
		reasons = {r["customer"]: r["reason"] for r in state["refused"]}
		self.assertEqual(set(reasons), {already, disabled})
		self.assertIn("already has generator", reasons[already])
		self.assertIn("disabled", reasons[disabled])
		self.assertEqual(len(generators_of(already)), 1)
		# realtime: the progress after each customer, then the result, to the person who asked
		self.assertEqual(
			[c.kwargs["description"] for c in progress.call_args_list], [*fresh, already, disabled]
		)
		self.assertEqual([c.args[0] for c in progress.call_args_list], [25, 50, 75, 100])
		done = [c for c in realtime.call_args_list if c.args[0] == bulk_create.DONE_EVENT]
		self.assertEqual(len(done), 1)
		self.assertEqual(done[0].args[1], state)
		self.assertEqual(done[0].kwargs["user"], "Administrator")

	def test_the_job_runs_in_the_background_as_its_user_and_checks_again(self):
		user = make_user(["Accounts User"])
		tpl = make_template()
		customers = [make_customer(), make_customer()]
		frappe.db.commit()  # the job commits (and a failed one rolls back) what it does
		frappe.set_user(user)
		with queued() as jobs:
			started = api.create_for_customers(customers, template=tpl.name)
		((_method, kw),) = jobs
		self.assertEqual((kw["queue"], kw["enqueue_after_commit"]), ("long", True))
		with patch.object(bulk_create, "job_lost", return_value=False):
			queued_state = api.create_for_customers_status(started["job"])
		self.assertEqual((queued_state["status"], queued_state["done"]), ("Queued", 0))
		self.assertEqual([generators_of(c) for c in customers], [[], []], "nothing is made in the request")

		# the job, as a worker runs it: as the user who asked; checked again, and meanwhile they lost the right
		frappe.set_user("Administrator")
		frappe.get_doc("User", user).remove_roles("Accounts User")
		frappe.set_user(user)
		state = run_queued(jobs)
		self.assertEqual(state["status"], "Failed")
		self.assertIn("permission", state["error"].lower())
		self.assertEqual([generators_of(c) for c in customers], [[], []])
		self.assertEqual(api.create_for_customers_status(started["job"])["status"], "Failed")

		frappe.set_user("Administrator")
		frappe.get_doc("User", user).add_roles("Accounts User")
		frappe.set_user(user)
		with queued() as jobs:
			started = api.create_for_customers(customers, template=tpl.name)
		state = run_queued(jobs)
		for c in customers:
			track(c)
		self.assertEqual((state["status"], len(state["created"]), state["refused"]), ("Finished", 2, []))
		self.assertEqual({frappe.db.get_value(GENERATOR, g, "owner") for g in state["created"]}, {user})

	def test_each_customer_is_committed(self):
		"""A worker that dies in the middle keeps the generators already made (no long transaction)."""
		tpl = make_template()
		customers = [make_customer(), make_customer(), make_customer()]
		frappe.db.commit()
		real_assign = assignment.assign

		def assign(template, customer, *args, **kw):
			if customer == customers[1]:
				raise Killed
			return real_assign(template, customer, *args, **kw)

		with queued() as jobs:
			api.create_for_customers(customers, template=tpl.name)
		with patch.object(assignment, "assign", assign), self.assertRaises(Killed):
			run_queued(jobs)
		frappe.db.rollback()
		self.assertEqual([len(track(c)) for c in customers], [1, 0, 0])

	def test_a_lost_job_reads_failed(self):
		"""A job the worker lost (killed, timed out, never enqueued) is not shown as running forever."""
		with queued():
			started = api.create_for_customers([make_customer()], template=make_template().name)
		state = api.create_for_customers_status(started["job"])
		self.assertEqual(state["status"], "Failed")
		self.assertIn("stopped before it finished", state["error"])

	def test_the_state_is_only_for_who_started_it(self):
		with queued():
			started = api.create_for_customers([make_customer()], template=make_template().name)
		for user, error in (
			(make_user(["Accounts Manager"]), frappe.DoesNotExistError),
			(make_user([CONTRIBUTOR_ROLE]), frappe.PermissionError),
		):
			with self.subTest(user=user):
				frappe.set_user(user)
				with self.assertRaises(error):
					api.create_for_customers_status(started["job"])
		frappe.set_user("Administrator")
		with self.assertRaises(frappe.DoesNotExistError):
			api.create_for_customers_status("no-such-job")

	def test_from_generator_copies_settings_and_rhythm(self):
		source = make_generator(
			first_creation_date="2026-01-31", due_days=9, minimum_amount=20, title="Source"
		)
		customers = [make_customer(), make_customer()]
		result = assignment.create_for_customers(
			customers, generator=source.name, assignment_date="2026-04-10"
		)
		for c in customers:
			track(c)
		self.assertEqual(result.refused, [])
		for name in result.created:
			gen = frappe.get_doc(GENERATOR, name)
			self.assertEqual(gen.status, "Active")
			self.assertEqual(str(gen.first_creation_date), "2026-01-31")
			self.assertEqual(str(gen.next_creation_date), "2026-04-30")
			self.assertEqual((gen.due_days, gen.minimum_amount), (9, 20))
			self.assertIn(gen.customer, customers)

	def test_bad_requests_are_refused_before_anything_is_queued(self):
		tpl = make_template()
		gen = make_generator()
		cases = [
			(('"abc"',), {"template": tpl.name}, "must be a list"),
			(([],), {"template": tpl.name}, "at least one customer"),
			(([make_customer()],), {}, "either a template or a generator"),
			(
				([make_customer()],),
				{"template": tpl.name, "generator": gen.name},
				"either a template or a generator",
			),
		]
		for args, kwargs, message in cases:
			with self.subTest(message=message, kwargs=kwargs), queued() as jobs:
				with self.assertRaisesRegex(frappe.ValidationError, message):
					api.create_for_customers(*args, **kwargs)
				self.assertEqual(jobs, [])
