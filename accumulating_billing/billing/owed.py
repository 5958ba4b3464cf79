"""What a generated invoice owes once it is final, in one place: its *Generated* automations, its pay link (a
Payment Request through its generator's gateway) and its email (*Open and Email*).

Every path that makes a generated invoice final calls `owe`, in the transaction that makes it final:

- a scheduled occurrence billed in one transaction, and Generate Now (generation.py): the transaction that
  inserts the invoice (Open: submitted; Draft: as a draft, which owes its Generated automations only);
- an invoice reserved by two-step billing, or kept as a Draft for review, when it is submitted (by the run, the
  sweep or a person: two_step.finish_reserved, on the Sales Invoice's on_submit).

Exactly once, in three parts (docs/architecture.md §5):

1. **owed in the invoice's transaction**: an *Accumulating Automation Run* per generator that listens to
   Generated, the invoice's `accumulating_pay_request` (the gateway to ask through), the email Pending on the
   invoice's generation log line. A rollback takes the invoice and its debts back together; a commit keeps both.
2. **fired after the commit**: each debt enqueues its job from `frappe.db.after_commit` (automations.fire,
   payments.make_owed_request, email.send_invoice_email). Nothing leaves the site, and no gateway is called over
   the network, while the generator and its items are locked. What may show the pay link (the email, the
   Generated automations) makes the owed Payment Request first, so it carries the link whichever job runs first.
3. **swept if lost**: a lost enqueue or a dead worker leaves the debt recorded; the hourly sweeps
   (automations.enqueue_owed_runs, payments.enqueue_owed_requests, email.enqueue_owed_emails) enqueue it again,
   and each job does its part once however often it runs.

The caller passes what the debts depend on (the invoice and the generator(s) whose tab it bills); nothing here
reads which path it is on. The first generator's invoice settings (gateway, email) apply to the invoice; each
generator's own Generated automations are owed.
"""

from accumulating_billing.billing import automations, email, payments

OPEN_AND_EMAIL = "Open and Email"


def owe(invoice, generators: list) -> None:
	"""In the caller's transaction, right after `invoice` became final (and after its generation log line is
	written): owe what it owes, each debt fired after the commit."""
	if not generators:
		return
	for generator in generators:
		# one run per tab; the site-wide document method with the lead's (the invoice's generator), once
		automations.record_run(
			invoice.name,
			generator.name,
			"Generated",
			rows=generator.get("automations") or [],
			site_wide=generator.name == invoice.get("accumulating_generator"),
		)
	settings = generators[0]
	account = payments.gateway_owed(settings, invoice)
	if account:
		payments.owe_request(invoice, account)
	if settings.generate_as == OPEN_AND_EMAIL and invoice.docstatus == 1:
		email.owe_email(invoice.name)
