# Copyright (c) 2026, Accumulating Billing developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint

from accumulating_billing.billing.app_settings import DEFAULT_JOBS_PER_TICK


class AccumulatingBillingSettings(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from accumulating_billing.accumulating_billing.doctype.accumulating_accrual_account.accumulating_accrual_account import (
			AccumulatingAccrualAccount,
		)

		accrual_accounts: DF.Table[AccumulatingAccrualAccount]
		accrue_unbilled_revenue: DF.Check
		billing_jobs_per_tick: DF.Int
		contributor_void_hours: DF.Int
		kickoff_confirm_email: DF.Check
		kickoff_create_portal_user: DF.Check
		kickoff_customer_group: DF.Link | None
		kickoff_limit_per_hour: DF.Int
		kickoff_territory: DF.Link | None
		two_step_billing: DF.Check
	# end: auto-generated types

	def validate(self):
		if cint(self.kickoff_limit_per_hour) < 1:
			frappe.throw(_("Submissions per Hour must be at least 1."))
		if cint(self.billing_jobs_per_tick) < 0:
			frappe.throw(_("Parallel Billing Jobs per Tick cannot be negative."))
		if not cint(self.billing_jobs_per_tick):
			self.billing_jobs_per_tick = DEFAULT_JOBS_PER_TICK
		from accumulating_billing.billing.accrual_accounts import check_settings

		check_settings(self)
