"""The install made what the app needs: DocTypes, role, custom fields and the occurrence key."""

import frappe
from frappe.tests.utils import FrappeTestCase

from accumulating_billing.billing.schema import OCCURRENCE_KEY
from accumulating_billing.install import CONTRIBUTOR_ROLE, get_custom_fields


class TestInstall(FrappeTestCase):
	def test_doctypes(self):
		for doctype in (
			"Accumulating Generator",
			"Accumulating Generator Item",
			"Accumulating Generator Template",
			"Accumulating Assignment Rule",
			"Accumulating Generation Log",
		):
			self.assertTrue(frappe.db.exists("DocType", doctype), doctype)
			self.assertTrue(frappe.db.table_exists(doctype), doctype)

	def test_role(self):
		self.assertTrue(frappe.db.exists("Role", CONTRIBUTOR_ROLE))

	def test_custom_fields(self):
		for doctype, fields in get_custom_fields().items():
			meta = frappe.get_meta(doctype)
			for field in fields:
				self.assertIsNotNone(meta.get_field(field["fieldname"]), f"{doctype}.{field['fieldname']}")

	def test_occurrence_unique_key(self):
		self.assertTrue(frappe.db.has_index("tabSales Invoice", OCCURRENCE_KEY))

	def test_generator_selection_index(self):
		self.assertTrue(frappe.db.has_index("tabAccumulating Generator", "status_next_creation_date_index"))
		self.assertTrue(frappe.db.has_index("tabAccumulating Generator", "status_resume_date_index"))
