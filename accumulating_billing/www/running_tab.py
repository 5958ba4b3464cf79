import frappe
from frappe import _

from accumulating_billing.billing.portal import running_tabs

no_cache = 1


def get_context(context):
	if frappe.session.user == "Guest":
		frappe.throw(_("Log in to see your running tab."), frappe.PermissionError)
	context.no_cache = 1
	context.show_sidebar = True
	context.title = _("Running Tab")
	# one tab paged at a time: /running-tab?tab=<generator>&start=<n> (another customer's generator shows nothing)
	form = frappe.form_dict
	pages = {form.tab: form.start} if isinstance(form.get("tab"), str) and form.get("start") else None
	context.tabs = running_tabs(pages=pages)
	return context
