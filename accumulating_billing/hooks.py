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

doc_events = {
	"Sales Invoice": {
		"before_insert": "accumulating_billing.billing.events.prepare_amendment",
		"after_insert": "accumulating_billing.billing.events.claim_items_of_amendment",
		"on_cancel": "accumulating_billing.billing.events.release_items_of_invoice",
		"on_trash": "accumulating_billing.billing.events.release_items_of_invoice",
	},
}

scheduler_events = {
	"hourly": ["accumulating_billing.billing.tasks.enqueue_due"],
}

# the generation log keeps naming the invoices it made, even after a draft is deleted
ignore_links_on_delete = ["Accumulating Generation Log"]
