"""Fault suite (issue 7), part 4: bad input gets a clear message and writes nothing.

A catalogue of bad inputs (API, forms, web form, CLI): each gets a clear message (no traceback) containing
one of its expected phrases and writes nothing (the row counts of the app's and ERPNext's doctypes are
unchanged). Prints its figures. Runs in `bench run-tests` and therefore in `.ci/run`; the plumbing is in
`faults`.
"""

import json

import frappe
from frappe.utils import set_request, strip_html

from accumulating_billing import api
from accumulating_billing.billing import cli, generation, lifecycle
from accumulating_billing.doctypes import CONTRIBUTOR_ROLE, REQUEST, SETTINGS
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.faults import GENERATOR, ITEM
from accumulating_billing.tests.faults.calls import as_user, cli_command
from accumulating_billing.tests.faults.outcomes import COUNTED, row_counts
from accumulating_billing.tests.ledger import make_notification
from accumulating_billing.tests.source_docs import make_project, make_timesheet, service_item
from accumulating_billing.tests.utils import (
	CREATED_GENERATORS,
	add,
	company,
	make_customer,
	make_generator,
	make_item,
	make_template,
	make_template_item,
	make_uom,
	make_user,
)


def as_guest_submit_kickoff(data: dict):
	from frappe.website.doctype.web_form.web_form import accept

	frappe.set_user("Guest")
	try:
		return accept(web_form="Client Kickoff", data=json.dumps(data))
	finally:
		frappe.flags.in_web_form = False
		frappe.set_user("Administrator")


class TestBadInputs(GenerationTestCase):
	def setUp(self):
		frappe.set_user("Administrator")

	def fixtures(self):
		f = frappe._dict()
		f.customer = make_customer()
		f.gen = make_generator(f.customer).name
		f.on_date = make_generator(end_condition="On Date", end_date="2026-06-30").name
		f.completed = make_generator().name
		f.archived = make_generator().name
		f.draft = make_generator(status="Draft").name
		f.paused = make_generator().name
		f.priced = make_item("_AB Fault Priced", price=25)
		f.unpriced = make_item(f"_AB Fault Unpriced {frappe.generate_hash(length=5)}")
		f.disabled_item = make_item(f"_AB Fault Disabled {frappe.generate_hash(length=5)}", disabled=1)
		f.not_sales = make_item(f"_AB Fault Not Sales {frappe.generate_hash(length=5)}", is_sales_item=0)
		f.disabled_customer = make_customer(disabled=1)
		currency = frappe.get_cached_value("Company", company(), "default_currency")
		f.foreign = "EUR" if currency != "EUR" else "USD"
		f.currency = currency
		f.foreign_customer = make_customer(default_currency=f.foreign)
		f.foreign_list = f"_AB {f.foreign} Selling"
		if not frappe.db.exists("Price List", f.foreign_list):
			frappe.get_doc(
				{
					"doctype": "Price List",
					"price_list_name": f.foreign_list,
					"currency": f.foreign,
					"selling": 1,
				}
			).insert(ignore_permissions=True)
		f.template = make_template().name
		f.disabled_template = make_template(enabled=0).name
		f.assigned_customer = make_customer()
		CREATED_GENERATORS.append(api.assign_template(f.template, f.assigned_customer))
		f.offered = make_template(title="Fault plan", offered_at_kickoff=1).name
		f.hidden = make_template(title="Fault hidden plan", offered_at_kickoff=0).name
		f.contributor = make_user([CONTRIBUTOR_ROLE])
		billed = add(f.gen, f.priced, service_date="2026-01-05")
		f.billed_item = billed.name
		f.stock_item = make_item(f"_AB Fault Stock {frappe.generate_hash(length=5)}", is_stock_item=1)
		# what ERPNext refuses on an invoice line (issue 19); f.priced is sold in Nos (Must be Whole Number)
		f.template_item = make_template_item()
		f.old_item = make_item(f"_AB Fault Old {frappe.generate_hash(length=5)}", end_of_life="2001-01-01")
		f.capped = make_item(f"_AB Fault Capped {frappe.generate_hash(length=5)}", max_discount=10)
		f.crate = make_uom("_AB Crate")
		f.ts_gen = make_generator(accumulate_timesheets=1, timesheet_item=service_item()).name
		ts_customer = frappe.db.get_value(GENERATOR, f.ts_gen, "customer")
		f.billed_timesheet = make_timesheet(
			[{"start": "2026-01-05 09:00", "hours": 2}], customer=ts_customer
		).name
		f.todo_notification = (
			frappe.db.get_value("Notification", {"document_type": "ToDo"})
			or frappe.get_doc(
				{
					"doctype": "Notification",
					"name": "_AB Fault ToDo Notification",
					"subject": "x",
					"document_type": "ToDo",
					"event": "Custom",
					"channel": "System Notification",
					"message": "x",
					"enabled": 1,
				}
			)
			.insert(ignore_permissions=True)
			.name
		)
		f.sales_notification = make_notification("fault")
		f.todo_webhook = (
			frappe.get_doc(
				{
					"doctype": "Webhook",
					"name": f"_AB Fault Hook {frappe.generate_hash(length=6)}",
					"webhook_doctype": "ToDo",
					"webhook_docevent": "on_trash",
					"request_url": "http://127.0.0.1:9/x",
					"request_method": "POST",
					"enabled": 1,
				}
			)
			.insert(ignore_permissions=True)
			.name
		)
		frappe.db.commit()
		generation.run_generator(f.ts_gen, "2026-02-01")
		later = make_timesheet([{"start": "2026-02-05 09:00", "hours": 1}], customer=ts_customer)
		f.source_item = frappe.db.get_value(ITEM, {"source_name": later.name})
		f.project = make_project(ts_customer)
		frappe.db.commit()
		generation.run_generator(f.gen, "2026-02-01")
		lifecycle.pause(f.paused)
		frappe.db.set_value(GENERATOR, f.completed, "status", "Completed")
		frappe.db.set_value(GENERATOR, f.archived, "status", "Archived")
		self.set_settings(kickoff_limit_per_hour=100000, kickoff_create_portal_user=0)
		return f

	def set_settings(self, **values):
		"""Accumulating Billing Settings for this test; the old values come back afterwards."""
		settings = frappe.get_single(SETTINGS)
		old = {key: settings.get(key) for key in values}
		settings.update(values)
		settings.save(ignore_permissions=True)
		frappe.db.commit()

		def restore():
			frappe.db.rollback()
			settings = frappe.get_single(SETTINGS)
			settings.update(old)
			settings.save(ignore_permissions=True)
			frappe.db.commit()

		self.addCleanup(restore)

	def kickoff_data(self, f, **values) -> dict:
		return {
			"company_name": f"_AB Fault Kickoff {frappe.generate_hash(length=8)}",
			"customer_type": "Company",
			"first_name": "Ada",
			"last_name": "Client",
			"email_id": f"ab-fault-kickoff-{frappe.generate_hash(length=8)}@example.com",
			"template": f.offered,
			**values,
		}

	def catalogue(self, f) -> list[tuple]:
		"""(where, what, call, expected phrases — any one, case-insensitive)."""
		gen_doc = {"customer": f.customer, "first_creation_date": "2026-02-01"}

		def new_generator(**values):
			return lambda: make_generator(**{**gen_doc, **values})

		def edit(doctype, name, **values):
			def call():
				doc = frappe.get_doc(doctype, name)
				doc.update(values)
				doc.save()

			return call

		def add_item(generator=None, item_code=None, **kw):
			return lambda: api.add_item(
				generator or f.gen, f.priced if item_code is None else item_code, **kw
			)

		def item_form(**values):
			return lambda: frappe.get_doc(
				{"doctype": ITEM, "generator": f.gen, "item_code": f.priced, "qty": 1, "rate": 5, **values}
			).insert()

		def kickoff(**values):
			return lambda: as_guest_submit_kickoff(self.kickoff_data(f, **values))

		def rate_limited():
			# Frappe's rate_limit counts web requests per called path and address: one, with the count used up
			from frappe.website.doctype.web_form.web_form import accept

			method, request = accept.__module__ + ".accept", getattr(frappe.local, "request", None)
			key = frappe.cache.make_key(f"rl:{method}:10.43.0.1")
			frappe.cache.setex(key, 3600, 10**6)
			frappe.set_user("Guest")  # (it empties form_dict)
			set_request(method="POST", path=f"/api/method/{method}")
			frappe.local.request_ip, frappe.form_dict.cmd = "10.43.0.1", method
			try:
				return accept(web_form="Client Kickoff", data=json.dumps(self.kickoff_data(f)))
			finally:
				frappe.cache.delete_value(key)
				frappe.local.request, frappe.local.request_ip = request, None
				frappe.flags.in_web_form = False
				frappe.set_user("Administrator")

		site = frappe.local.site
		# fmt: off
		return [
			("API add_item", "unknown generator", add_item("ACG-NO-SUCH"), ("does not exist",)),
			("API add_item", "unknown item", add_item(item_code="_AB no such item"), ("could not find", "does not exist")),
			("API add_item", "empty item code", add_item(item_code=""), ("item is required", "item code")),
			("API add_item", "disabled item", add_item(item_code=f.disabled_item), ("is disabled",)),
			("API add_item", "not a sales item", add_item(item_code=f.not_sales), ("not marked as sales item",)),
			("API add_item", "unknown UOM", add_item(rate=5, uom="_AB no such uom"), ("uom _ab no such uom does not exist",)),
			("API add_item", "qty 0", add_item(qty=0, rate=5), ("quantity must be greater than 0",)),
			("API add_item", "negative qty", add_item(qty=-2, rate=5), ("quantity must be greater than 0",)),
			("API add_item", "negative rate", add_item(rate=-5), ("rate cannot be negative",)),
			("API add_item", "discount over 100 %", add_item(rate=5, discount_percentage=150), ("between 0 and 100",)),
			("API add_item", "negative discount", add_item(rate=5, discount_percentage=-1), ("between 0 and 100",)),
			("API add_item", "a fraction of an item sold in Nos", add_item(qty=1.5, rate=5), ("cannot be a fraction",)),
			("API add_item", "a template item with variants", add_item(item_code=f.template_item, rate=5), ("is a template",)),
			("API add_item", "an item past its end of life", add_item(item_code=f.old_item, rate=5), ("reached its end of life",)),
			("API add_item", "a UOM without a conversion", add_item(rate=5, uom=f.crate), ("has no conversion",)),
			("API add_item", "a discount above the item's maximum", add_item(item_code=f.capped, rate=5, discount_percentage=50), ("maximum discount",)),
			("API add_item", "a rate too large for ERPNext", add_item(rate=10**13), ("too large",)),
			("API add_item", "a quantity too large for ERPNext", add_item(qty=10**13, rate=1), ("too large",)),
			("API add_item", "no rate and no price", add_item(item_code=f.unpriced), ("no rate given",)),
			("API add_item", "impossible service date", add_item(rate=5, service_date="2026-02-30"), ("not a valid date",)),
			("API add_item", "service date after the end date", add_item(f.on_date, rate=5, service_date="2026-07-15"), ("after the generator's end date",)),
			("API add_item", "Completed generator", add_item(f.completed, rate=5), ("no items can be added",)),
			("API add_item", "Archived generator", add_item(f.archived, rate=5), ("no items can be added",)),
			("API add_item", "contributor without a granted customer", lambda: as_user(f.contributor, api.add_item, f.gen, f.priced, rate=5), ("not permitted",)),
			("item form", "edit a billed item", edit(ITEM, f.billed_item, qty=9), ("is billed on sales invoice",)),
			("item form", "delete a billed item", lambda: frappe.delete_doc(ITEM, f.billed_item), ("is billed on sales invoice",)),
			("item form", "no generator", item_form(generator=None), ("does not exist", "generator")),
			("item form", "qty 0", item_form(qty=0), ("quantity must be greater than 0",)),
			("item form", "a fraction of an item sold in Nos", item_form(qty=0.5), ("cannot be a fraction",)),
			("generator form", "Accumulate Timesheets without a Timesheet Item", new_generator(accumulate_timesheets=1), ("timesheet item is required",)),
			("generator form", "a stock item as Timesheet Item", new_generator(accumulate_timesheets=1, timesheet_item=f.stock_item), ("is a stock item",)),
			("template form", "Accumulate Timesheets without a Timesheet Item", lambda: make_template(accumulate_timesheets=1), ("timesheet item is required",)),
			("generator form", "a Timesheet Item sold in Nos (whole numbers)", new_generator(accumulate_timesheets=1, timesheet_item=f.priced), ("must be whole numbers",)),
			("template form", "a Timesheet Item sold in Nos (whole numbers)", lambda: make_template(accumulate_timesheets=1, timesheet_item=f.priced), ("must be whole numbers",)),
			("generator form", "a template item as Timesheet Item", new_generator(accumulate_timesheets=1, timesheet_item=f.template_item), ("is a template",)),
			("generator form", "a disabled Late Fee Item", new_generator(late_fee_type="Fixed Amount", late_fee_amount=5, late_fee_item=f.disabled_item), ("is disabled",)),
			("generator form", "change the Project while Timesheet lines wait", edit(GENERATOR, f.ts_gen, project=f.project), ("cannot change while timesheet",)),
			("item form", "edit an item a Timesheet brought", edit(ITEM, f.source_item, qty=9), ("comes from timesheet",)),
			("item form", "delete an item a Timesheet brought", lambda: frappe.delete_doc(ITEM, f.source_item), ("comes from timesheet",)),
			("Timesheet", "cancel a billed Timesheet", lambda: frappe.get_doc("Timesheet", f.billed_timesheet).cancel(), ("is billed on sales invoice",)),
			("API sync_sources", "Archived generator", lambda: api.sync_sources(f.archived), ("only a draft, active or paused",)),
			("API sync_sources", "unknown generator", lambda: api.sync_sources("ACG-NO-SUCH"), ("not found", "does not exist")),
			("API release_held", "unknown generator", lambda: api.release_held("ACG-NO-SUCH"), ("does not exist",)),
			("API release_held", "a line of another generator", lambda: api.release_held(f.on_date, [f.billed_item]), ("is not a line of",)),
			("API release_held", "items not a list of names", lambda: api.release_held(f.gen, "[1, 2]"), ("must be a list of line names",)),
			("API release_held", "contributor", lambda: as_user(f.contributor, api.release_held, f.gen), ("does not exist",)),
			("generator form", "an automation that fires nothing", new_generator(automations=[{"event": "Paid"}]), ("exactly one of notification",)),
			("generator form", "an automation that fires two things", new_generator(automations=[{"event": "Paid", "notification": f.sales_notification, "webhook": f.todo_webhook}]), ("exactly one of notification",)),
			("generator form", "a Notification of another DocType", new_generator(automations=[{"event": "Generated", "notification": f.todo_notification}]), ("not a notification on sales invoice",)),
			("generator form", "a Webhook of another DocType", new_generator(automations=[{"event": "Generated", "webhook": f.todo_webhook}]), ("not a webhook on sales invoice",)),
			("generator form", "an automation assigning a disabled template", new_generator(automations=[{"event": "Paid", "assign_template": f.disabled_template}]), ("does not exist or is disabled",)),
			("generator form", "a late fee of 0", new_generator(late_fee_type="Fixed Amount", late_fee_amount=0, late_fee_item=f.priced), ("must be greater than 0",)),
			("generator form", "a late fee of 150 %", new_generator(late_fee_type="Percentage", late_fee_percentage=150, late_fee_item=f.priced), ("at most 100",)),
			("generator form", "a late fee without an item", new_generator(late_fee_type="Fixed Amount", late_fee_amount=5), ("late fee item is required",)),
			("generator form", "a stock item as Late Fee Item", new_generator(late_fee_type="Fixed Amount", late_fee_amount=5, late_fee_item=f.stock_item), ("is a stock item",)),
			("generator form", "negative grace days", new_generator(late_fee_type="Fixed Amount", late_fee_amount=5, late_fee_item=f.priced, late_fee_grace_days=-1), ("grace days cannot be negative",)),
			("generator form", "Dunnings without a Dunning Type", new_generator(late_fee_type="Fixed Amount", late_fee_amount=5, late_fee_as_dunning=1), ("dunning type is required",)),
			("generator form", "a third-party link that is not a URL", new_generator(third_party_payment_url="pay me {name}"), ("must start with https://",)),
			("generator form", "a third-party link with a format", new_generator(third_party_payment_url="https://pay.example.com/{outstanding_amount:.2f}"), ("without formats",)),
			("generator form", "a third-party link with an unknown placeholder", new_generator(third_party_payment_url="https://pay.example.com/{secret}"), ("third-party payment link can use",)),
			("generator form", "Repeat Every 0", new_generator(interval_count=0), ("at least 1",)),
			("generator form", "end date before the first date", new_generator(end_condition="On Date", end_date="2026-01-01"), ("before the first creation date",)),
			("generator form", "After 0 invoices", new_generator(end_condition="After N Invoices", end_after_invoices=0), ("number of invoices must be at least 1",)),
			("generator form", "negative minimum amount", new_generator(minimum_amount=-1), ("minimum amount cannot be negative",)),
			("generator form", "negative due days", new_generator(due_days=-3), ("due days cannot be negative",)),
			("generator form", "discount over 100 %", new_generator(additional_discount_percentage=120), ("between 0 and 100",)),
			("generator form", "negative discount amount", new_generator(discount_amount=-5), ("cannot be negative",)),
			("generator form", "disabled customer", new_generator(customer=f.disabled_customer), ("is disabled",)),
			("generator form", "unknown customer", new_generator(customer="_AB no such customer"), ("could not find", "does not exist")),
			("generator form", "unknown company", new_generator(company="_AB no such company"), ("could not find", "does not exist")),
			("generator form", "a currency the customer does not bill in", new_generator(customer=f.foreign_customer, currency=f.currency), ("differs from the billing currency",)),
			("generator form", "price list in another currency", new_generator(selling_price_list=f.foreign_list), ("cannot serve",)),
			("generator form", "unknown naming series", new_generator(naming_series_for_invoice="NOPE-.####"), ("not a naming series",)),
			("generator form", "no first creation date", new_generator(first_creation_date=None), ("first creation date",)),
			("generator form", "status Completed by editing", new_generator(status="Completed"), ("set by its action",)),
			("generator form", "re-activate a Completed generator", edit(GENERATOR, f.completed, status="Active"), ("completed generator is final",)),
			("generator form", "activate a Paused generator by editing", edit(GENERATOR, f.paused, status="Active"), ("resume action",)),
			("generator form", "delete a generator with invoices", lambda: frappe.delete_doc(GENERATOR, f.gen), ("cannot be deleted",)),
			("API generate_now", "Archived generator", lambda: api.generate_now(f.archived, posting_date="2026-03-01"), ("archived",)),
			("API generate_now", "unknown generator", lambda: api.generate_now("ACG-NO-SUCH"), ("not found", "does not exist")),
			("API pause", "Draft generator", lambda: api.pause(f.draft), ("only an active generator",)),
			("API pause", "resume date in the past", lambda: api.pause(f.on_date, resume_date="2000-01-01"), ("cannot be in the past",)),
			("API resume", "resume date in the past", lambda: api.resume(f.paused, "2000-01-01"), ("cannot be in the past",)),
			("API resume", "empty resume date", lambda: api.resume(f.paused, ""), ("cannot be in the past", "resume date")),
			("API resume", "Active generator", lambda: api.resume(f.on_date, "2099-01-01"), ("only a paused generator",)),
			("API archive", "already Archived", lambda: api.archive(f.archived), ("already archived",)),
			("API restore", "not Archived", lambda: api.restore(f.on_date), ("only an archived generator",)),
			("API assign_template", "unknown template", lambda: api.assign_template("_AB no such template", f.customer), ("does not exist",)),
			("API assign_template", "disabled template", lambda: api.assign_template(f.disabled_template, f.customer), ("is disabled",)),
			("API assign_template", "assigned twice", lambda: api.assign_template(f.template, f.assigned_customer), ("already has generator",)),
			("API assign_template", "disabled customer", lambda: api.assign_template(f.template, f.disabled_customer), ("is disabled",)),
			("API assign_template", "unknown customer", lambda: api.assign_template(f.template, "_AB no such customer"), ("does not exist",)),
			("API create_for_customers", "customers not a list", lambda: api.create_for_customers('"abc"', template=f.template), ("must be a list",)),
			("API create_for_customers", "no customers", lambda: api.create_for_customers("[]", template=f.template), ("at least one customer",)),
			("API create_for_customers", "template and generator", lambda: api.create_for_customers([f.customer], template=f.template, generator=f.gen), ("either a template or a generator",)),
			("CLI", "impossible date", lambda: cli.run("2026-02-30", False, print), ("not a valid date",)),
			("CLI", "not a date", lambda: cli.run("someday", False, print), ("not a valid date",)),
			("CLI", "bench command with a bad --date", lambda: cli_command(site, "--date", "2026-13-01"), ("not a valid date", "invalid value for '--date'")),
			("web form", "plan not offered", kickoff(template=f.hidden), ("offered plans",)),
			("web form", "unknown plan", kickoff(template="_AB no such plan"), ("offered plans", "could not find")),
			("web form", "invalid email", kickoff(email_id="not-an-email"), ("valid email",)),
			("web form", "blank company name", kickoff(company_name="   "), ("company or client name",)),
			("web form", "no first name", kickoff(first_name=""), ("first name",)),
			("web form", "existing client", kickoff(company_name=f.customer), ("already a client",)),
			("web form", "address without a city", kickoff(address_line1="Main St 1", city=""), ("city and a country",)),
			("web form", "unknown country", kickoff(address_line1="x", city="y", country="Atlantis"), ("country",)),
			("web form", "too many submissions from one address", rate_limited, ("too many requests",)),
		]
		# fmt: on

	def test_bad_inputs_get_a_clear_message_and_write_nothing(self):
		f = self.fixtures()
		cases = self.catalogue(f)
		failures: dict[str, str] = {}
		for where, what, call, phrases in cases:
			case = f"{where} / {what}"
			frappe.clear_messages()
			before = row_counts()
			try:
				call()
			except (frappe.ValidationError, frappe.PermissionError) as e:
				message = strip_html(str(e)).strip()
				if "Traceback" in message or "pymysql" in message:
					failures[case] = f"a traceback, not a message: {message[:300]!r}"
				elif not any(p in message.lower() for p in phrases):
					failures[case] = f"unclear message {message!r} (expected {phrases})"
			except Exception as e:
				failures[case] = f"{type(e).__name__}: {e}"
			else:
				failures[case] = "accepted"
			finally:
				frappe.set_user("Administrator")
				frappe.flags.in_web_form = False
			frappe.db.rollback()
			after = row_counts()
			if after != before:
				changed = {d: (before[d], after[d]) for d in COUNTED if before[d] != after[d]}
				failures[case] = f"{failures.get(case, '')} wrote {changed}".strip()
		frappe.clear_messages()
		groups = {}
		for where, *_ in cases:
			groups[where] = groups.get(where, 0) + 1
		print(
			f"\nfault suite / bad inputs: {len(cases)} cases ({', '.join(f'{k} {v}' for k, v in groups.items())}),"
			f" {len(failures)} failed"
		)
		self.assertGreaterEqual(len(cases), 30)
		self.assertFalse(failures, "\n".join(f"{k}: {v}" for k, v in failures.items()))
