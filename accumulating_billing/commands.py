"""bench --site SITE accumulating-billing run [--date YYYY-MM-DD] [--dry-run] | sync | demo [--remove] [--force]
[--company C] [--country C] [--currency C] [--timezone TZ] | accrue --month YYYY-MM [--company C]"""

from collections.abc import Callable

import click

from frappe.commands import get_site, pass_context


@click.group("accumulating-billing")
def accumulating_billing():
	"""Accumulating Billing"""


def on_site(context, action: Callable[[], None]) -> None:
	"""Run `action` connected to the command's site; a refusal (ValidationError) is the command's error message."""
	import frappe

	frappe.init(site=get_site(context))
	frappe.connect()
	try:
		action()
	except frappe.ValidationError as e:
		raise click.ClickException(frappe.utils.strip_html(str(e))) from None
	finally:
		frappe.destroy()


@accumulating_billing.command("run")
@click.option("--date", "as_of", default=None, help="Bill as of this date (YYYY-MM-DD); default today")
@click.option("--dry-run", is_flag=True, default=False, help="Only print what is due; change nothing")
@pass_context
def run(context, as_of=None, dry_run=False):
	"""Generate every due accumulating invoice now, in this process."""

	def action():
		from accumulating_billing.billing import cli

		cli.run(as_of, dry_run, click.echo)

	on_site(context, action)


@accumulating_billing.command("sync")
@pass_context
def sync(context):
	"""Add submitted, unbilled Timesheet logs and Delivery Note lines that no running tab holds yet."""

	def action():
		import frappe

		from accumulating_billing.billing import sources

		added = sources.sync_all(echo=click.echo)
		click.echo(
			frappe._("Added {0} item(s) to {1} generator(s).").format(
				sum(len(v) for v in added.values()), len(added)
			)
		)

	on_site(context, action)


@accumulating_billing.command("accrue")
@click.option("--month", required=True, help="The month to accrue, YYYY-MM (dated its last day)")
@click.option(
	"--company", default=None, help="Only this company (default: every company under Accrual Accounts)"
)
@pass_context
def accrue(context, month, company=None):
	"""Post the month-end accrual of unbilled revenue (and its reversal) for the month; a month posted already
	posts nothing."""

	def action():
		from accumulating_billing.billing import cli

		cli.accrue(month, company, click.echo)

	on_site(context, action)


@accumulating_billing.command("demo")
@click.option(
	"--remove", is_flag=True, default=False, help="Delete everything the demo made, and nothing else"
)
@click.option(
	"--force", is_flag=True, default=False, help="Run it on a site that already has billing data of its own"
)
@click.option(
	"--company",
	default=None,
	help="A site never set up: the company ERPNext's setup makes (default Demo Company)",
)
@click.option(
	"--country", default=None, help="A site never set up: the company's country (default United States)"
)
@click.option(
	"--currency", default=None, help="A site never set up: the company's currency (default: the country's)"
)
@click.option(
	"--timezone", default=None, help="A site never set up: the site's time zone (default: the country's)"
)
@pass_context
def demo(context, remove=False, force=False, company=None, country=None, currency=None, timezone=None):
	"""Make a small demo (customers, templates, generators, three months of items, a Timesheet), bill it up
	to today and print where to look. Running it again adds nothing. On a site whose ERPNext setup wizard was
	never run, it completes ERPNext's setup first (--company, --country, --currency, --timezone); a site whose
	setup is done is not touched."""

	def action():
		import frappe

		from accumulating_billing.billing import demo as demo_data

		def progress(title, done, total):
			frappe.utils.update_progress_bar(title, done, total)

		if remove:
			counts = demo_data.remove(echo=click.echo, progress=progress)
			click.echo(
				frappe._("Demo removed ({0} record(s)).").format(sum(counts.values()))
				if counts
				else frappe._("No demo on this site.")
			)
			return
		setup = {"company": company, "country": country, "currency": currency, "timezone": timezone}
		result = demo_data.make(force=force, echo=click.echo, progress=progress, setup=setup)
		click.echo("")
		for line in demo_data.tour(result):
			click.echo(line)

	on_site(context, action)


commands = [accumulating_billing]
