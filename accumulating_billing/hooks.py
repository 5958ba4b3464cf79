app_name = "accumulating_billing"
app_title = "Accumulating Billing"
app_publisher = "Accumulating Billing developers"
app_description = "Running tabs per customer, billed on a schedule into native ERPNext Sales Invoices"
app_email = "dev@accumulating-billing.invalid"
app_license = "MIT"

# org/repo form: a bare "erpnext" makes the installer ask GitHub which org owns it (fails offline)
required_apps = ["frappe/erpnext"]

export_python_type_annotations = True

after_install = "accumulating_billing.install.after_install"
after_migrate = "accumulating_billing.install.after_migrate"
before_uninstall = "accumulating_billing.install.before_uninstall"
before_tests = "erpnext.setup.utils.before_tests"

doctype_js = {
	"Customer": "public/js/customer.js",
	# a combined invoice (one invoice per payer, issue 28) prints with the app's format by default
	"Sales Invoice": "public/js/sales_invoice.js",
	# date_shortcuts.js: one-click dates under First Creation Date and in the Resume dialog (issue 22)
	"Accumulating Generator": [
		"public/js/generator_forms.js",
		"public/js/date_shortcuts.js",
		"public/js/tab_lines.js",
		# the running tab on the form (its lines, held lines, payer, threshold, next invoice, history)
		"public/js/running_tab.js",
	],
	"Accumulating Generator Template": "public/js/generator_forms.js",
	# Void and Amend of a tab line (issue 30), on the item form and in the running tab
	"Accumulating Generator Item": "public/js/tab_lines.js",
}

override_doctype_dashboards = {
	"Customer": "accumulating_billing.billing.dashboards.customer_dashboard",
}

# assignment rules run on the events Notifications use; the lookup is one cached dict per call
_RULE_HOOK = "accumulating_billing.billing.rules.on_document_event"

_SOURCES = "accumulating_billing.billing.sources.events."
_HAND_BILLED = "accumulating_billing.billing.sources.hand_billed."
_ONBOARDING = "accumulating_billing.billing.onboarding."

doc_events = {
	"*": {
		"after_insert": _RULE_HOOK,
		"on_update": _RULE_HOOK,
		"on_submit": _RULE_HOOK,
		"on_change": _RULE_HOOK,
	},
	"Customer": {
		"before_insert": "accumulating_billing.billing.assignment.check_template_on_new_customer",
		"after_insert": "accumulating_billing.billing.assignment.assign_on_customer_creation",
	},
	"Sales Invoice": {
		"before_insert": [
			"accumulating_billing.billing.events.number_generated_invoice",
			"accumulating_billing.billing.events.forget_foreign_tabs",
			"accumulating_billing.billing.events.prepare_amendment",
		],
		"after_insert": "accumulating_billing.billing.events.claim_items_of_amendment",
		"validate": [
			"accumulating_billing.billing.events.unlink_foreign_lines",
			"accumulating_billing.billing.events.keep_own_timesheet_rows",
		],
		"on_update": "accumulating_billing.billing.events.release_removed_lines",
		"on_submit": [
			"accumulating_billing.billing.events.release_removed_lines",
			"accumulating_billing.billing.events.settle_timesheet_logs",
			_HAND_BILLED + "drop_lines_billed_elsewhere",
			"accumulating_billing.billing.late_fees.withdraw_on_credit",
			"accumulating_billing.billing.two_step.finish_reserved",
		],
		"before_submit": [
			"accumulating_billing.billing.invoice.run_before_save_of_one_pass",
			"accumulating_billing.billing.events.capture_timesheet_marks",
			_HAND_BILLED + "refuse_lines_billed_on_a_tab",
			# last: the rows as every hook before it left them
			"accumulating_billing.billing.child_rows.write_together",
		],
		"before_cancel": "accumulating_billing.billing.events.lock_generator_of_invoice",
		"on_cancel": [
			"accumulating_billing.billing.events.release_items_of_invoice",
			"accumulating_billing.billing.events.restore_marks_after_cancel",
			"accumulating_billing.billing.late_fees.withdraw_on_cancel",
			"accumulating_billing.billing.payments.cancel_payment_requests",
			_HAND_BILLED + "restore_lines_of_cancelled",
		],
		"on_trash": [
			"accumulating_billing.billing.events.release_items_of_invoice",
			"accumulating_billing.billing.automations.forget_runs_of_deleted",
		],
	},
	# work recorded in ERPNext joins the running tab (billing/sources/)
	"Timesheet": {
		"on_submit": _SOURCES + "on_submit",
		"on_update_after_submit": _SOURCES + "on_submit",
		"on_cancel": _SOURCES + "on_cancel",
	},
	"Delivery Note": {
		"on_submit": _SOURCES + "on_submit",
		"on_cancel": _SOURCES + "on_cancel",
	},
	# the guided start on the workspace: steps ticked by the real actions (billing/onboarding.py)
	"Accumulating Generator": {"after_insert": _ONBOARDING + "on_generator_created"},
	"Accumulating Generator Template": {
		"after_insert": _ONBOARDING + "on_template_saved",
		"on_update": _ONBOARDING + "on_template_saved",
	},
	"Onboarding Step": {"on_update": _ONBOARDING + "forget_ticks"},
	# a question the customer asked about a tab line is answered: the line is released (billing/questions.py)
	"Issue": {
		"on_update": "accumulating_billing.billing.questions.on_issue_answered",
		"on_trash": "accumulating_billing.billing.questions.on_issue_answered",
	},
	# every change of what is paid on an invoice goes through ERPNext's Payment Ledger (billing/automations.py)
	"Payment Ledger Entry": {
		"on_submit": "accumulating_billing.billing.automations.watch_ledger_entry",
	},
}

permission_query_conditions = {
	"Accumulating Generator": "accumulating_billing.billing.permissions.query_conditions",
	"Accumulating Generator Item": "accumulating_billing.billing.permissions.query_conditions",
}

has_permission = {
	"Accumulating Generator": "accumulating_billing.billing.permissions.has_permission",
	"Accumulating Generator Item": "accumulating_billing.billing.permissions.has_permission",
}

# a draft invoice the app generated is not shown to the customer's portal users (ERPNext's hook decides the rest)
has_website_permission = {
	"Sales Invoice": "accumulating_billing.billing.permissions.invoice_website_permission",
}
# no has_website_permission for generators and items: Frappe's generic endpoints (web form data, print view,
# PDF) trust it and return every field; the portal's /running-tab reads the few fields it shows itself
# (billing/portal.py)

standard_portal_menu_items = [
	# a reference DocType keeps the item through Portal Settings' menu sync (it drops items without one)
	{
		"title": "Running Tab",
		"route": "/running-tab",
		"reference_doctype": "Accumulating Generator",
		"role": "Customer",
	},
]

scheduler_events = {
	"hourly": [
		"accumulating_billing.billing.tasks.enqueue_due",
		"accumulating_billing.billing.email.enqueue_owed_emails",
		"accumulating_billing.billing.automations.enqueue_owed_runs",
		"accumulating_billing.billing.payments.enqueue_owed_requests",
		"accumulating_billing.billing.two_step.sweep_reserved",
		"accumulating_billing.billing.held_notices.send_owed_notices",
		# tabs at their threshold or past a Tab Reaches alert that no job billed or recorded (billing/threshold.py)
		"accumulating_billing.billing.threshold.enqueue_reached",
		"accumulating_billing.billing.kickoff_confirm.expire_requests",
	],
	"daily": [
		"accumulating_billing.billing.tasks.apply_late_fees",
		# the month-end accrual of unbilled revenue, once the month's last day has ended (billing/accrual.py)
		"accumulating_billing.billing.accrual.accrue_due",
	],
}

# every Web Form writes only its own DocType, whichever app overrides Frappe's endpoint (payments' copy takes the
# DocType from the posted data); the before_request check covers an app installed after this one that
# overrides it too (billing/web_form_guard.py)
_WEB_FORM_GUARD = "accumulating_billing.billing.web_form_guard."
override_whitelisted_methods = {
	"frappe.website.doctype.web_form.web_form.accept": _WEB_FORM_GUARD + "accept",
	"payments.overrides.payment_webform.accept": _WEB_FORM_GUARD + "accept",
	# Frappe's onboarding widget ticks some steps on a click; this module's steps only from the real action
	"frappe.desk.desktop.update_onboarding_step": "accumulating_billing.billing.onboarding.update_onboarding_step",
}
before_request = [_WEB_FORM_GUARD + "check_request"]
# a link to /client-kickoff?_lang=es keeps its query string through Frappe's redirect to /client-kickoff/new
after_request = ["accumulating_billing.billing.kickoff.keep_query_on_redirect"]

# after Frappe authenticated the request (cookie, API key or OAuth token), before it dispatches it: unknown and
# forbidden documents of the app answer alike on Frappe's generic document endpoints (billing/document_guard.py)
auth_hooks = ["accumulating_billing.billing.document_guard.check_request"]

# the generation log keeps naming the invoices it made, even after a draft is deleted
ignore_links_on_delete = ["Accumulating Generation Log", "Accumulating Automation Run"]
