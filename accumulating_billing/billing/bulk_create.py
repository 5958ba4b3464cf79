"""*Create for several customers* as a background job (README, *Templates and assignment*): hundreds of customers
never run in a web request, so none times out.

start() records the job and enqueues run() on the `long` queue (api.create_for_customers checked the caller's
permission first). run() runs as that user (Frappe's worker sets the user who enqueued), checks the permission
again (it may have changed while the job waited), makes one generator per customer through
assignment.create_for_customers, committing each customer, and tells that user how far it got with Frappe's
realtime progress and, at the end, the result (created, refused with the reason). The result stays readable for
a day through status(), which is what the desk dialog falls back on when the realtime event does not reach it
(no socket.io connection, a page reloaded): a job the worker lost (killed, timed out) reads as Failed there,
never as running forever.
"""

import frappe
from frappe import _
from frappe.utils import getdate, nowdate, strip_html

from accumulating_billing.billing import assignment
from accumulating_billing.billing.permissions import is_billing_staff

DONE_EVENT = "accumulating_bulk_create_done"  # realtime, to the user who started the job: its final state
STATE_TTL = 24 * 3600
QUEUED, RUNNING, FINISHED, FAILED = "Queued", "Running", "Finished", "Failed"
LOST_JOB_STATUSES = ("failed", "stopped", "canceled")


def progress_title() -> str:
	return _("Creating accumulating generators")


def job_id(job: str) -> str:
	return f"accumulating_bulk_create:{job}"


def state_key(job: str) -> str:
	return f"accumulating_bulk_create_state:{job}"


def customer_names(customers) -> list[str]:
	"""The customers asked for: a list, or a JSON list, of names."""
	if isinstance(customers, str):
		try:
			customers = frappe.parse_json(customers)
		except ValueError:
			customers = None
	if not isinstance(customers, list) or not all(isinstance(c, str) for c in customers):
		frappe.throw(_("Customers must be a list of customer names."))
	return customers


def start(customers: list[str], template: str | None = None, generator: str | None = None) -> dict:
	"""Record and enqueue the job (the caller checked the permission: api.create_for_customers; the job checks
	it again); returns {"job": its id, "total": the number of customers}. A request without customers or
	without exactly one source is refused here, before anything is queued."""
	customers = assignment.customers_to_create(customers, template, generator)
	job = frappe.generate_hash(length=20)
	save_state(job, {"user": frappe.session.user, "status": QUEUED, "total": len(customers), "done": 0})
	frappe.enqueue(
		run,
		queue="long",
		job_id=job_id(job),
		enqueue_after_commit=True,
		job=job,
		customers=customers,
		template=template,
		generator=generator,
		assignment_date=str(getdate(nowdate())),
	)
	return {"job": job, "total": len(customers)}


def run(
	job: str,
	customers: list[str],
	template: str | None = None,
	generator: str | None = None,
	assignment_date: str | None = None,
) -> dict:
	"""The job, as the user who started it. Returns its final state (also published to that user)."""
	state = load_state(job) or {"user": frappe.session.user, "total": len(customers), "done": 0}
	state.update(status=RUNNING, created=[], refused=[])
	save_state(job, state)
	title = progress_title()

	def progress(done: int, total: int, customer: str, result: assignment.BulkResult) -> None:
		state.update(done=done, created=list(result.created), refused=list(result.refused))
		save_state(job, state)
		frappe.publish_progress(done * 100 / total, title=title, description=customer)

	try:
		assignment.check_can_create(
			customers, template, generator
		)  # again: the permission may have changed meanwhile
		result = assignment.create_for_customers(
			customers,
			template=template,
			generator=generator,
			assignment_date=assignment_date,
			progress=progress,
			commit_each=True,
		)
		state.update(status=FINISHED, done=len(customers), **result.as_dict())
	except Exception as e:
		frappe.db.rollback()
		state.update(status=FAILED, error=strip_html(str(e)) or e.__class__.__name__)
		frappe.log_error(title=_("Create for several customers failed"))
	save_state(job, state)
	final = shown(job, state)
	frappe.publish_realtime(DONE_EVENT, final, user=state["user"])
	return final


def status(job: str) -> dict:
	"""The job's state for the user who started it; anyone else is told it does not exist (a person who may
	not create generators gets the same refusal as for any forbidden call)."""
	state = load_state(job) if isinstance(job, str) and job else None
	if not state or state.get("user") != frappe.session.user:
		if not is_billing_staff():
			frappe.throw(_("You are not permitted to read this job."), frappe.PermissionError)
		frappe.throw(_("Job {0} does not exist.").format(job), frappe.DoesNotExistError)
	if state["status"] in (QUEUED, RUNNING) and job_lost(job):
		state.update(
			status=FAILED,
			error=_("The background job stopped before it finished (see the Error Log and RQ Job list)."),
		)
		save_state(job, state)
	return shown(job, state)


def job_lost(job: str) -> bool:
	"""The worker will not finish it: RQ marks it failed or stopped, or no longer has it."""
	from frappe.utils.background_jobs import get_job

	rq_job = get_job(job_id(job))
	return rq_job is None or rq_job.get_status() in LOST_JOB_STATUSES


def shown(job: str, state: dict) -> dict:
	return {
		"job": job,
		"status": state["status"],
		"total": state.get("total", 0),
		"done": state.get("done", 0),
		"created": state.get("created", []),
		"refused": state.get("refused", []),
		"error": state.get("error"),
	}


def load_state(job: str) -> dict | None:
	return frappe.cache.get_value(state_key(job))


def save_state(job: str, state: dict) -> None:
	frappe.cache.set_value(state_key(job), state, expires_in_sec=STATE_TTL)
