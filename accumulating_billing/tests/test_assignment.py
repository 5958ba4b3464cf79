"""Templates and assignment on a real site (docs/architecture.md §12): API, Customer creation, REST, rules (several
customers at once: test_create_for_customers.py)."""

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import getdate

from accumulating_billing import api
from accumulating_billing.billing import assignment, rules
from accumulating_billing.doctypes import GENERATOR
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.utils import (
	company,
	fetch,
	generators_of,
	login,
	make_customer,
	make_template,
	make_user,
	retire_created_generators,
	tax_template,
	track,
)


class TestTemplateValidation(GenerationTestCase):
	def test_bad_templates_are_refused_with_a_message(self):
		cases = [
			({"interval_count": 0}, "Repeat Every"),
			({"first_date_rule": "Day Of Month", "first_date_day_of_month": 32}, "Day Of Month"),
			({"first_date_rule": "Days After Assignment", "first_date_days": -1}, "cannot be negative"),
			({"end_condition": "After N Invoices", "end_after_invoices": 0}, "Number of Invoices"),
			({"minimum_amount": -5}, "Minimum Amount"),
		]
		for values, message in cases:
			with self.subTest(values=values):
				before = frappe.db.count("Accumulating Generator Template")
				with self.assertRaisesRegex(frappe.ValidationError, message):
					make_template(**values)
				self.assertEqual(frappe.db.count("Accumulating Generator Template"), before)


class TestAssign(GenerationTestCase):
	def test_assign_creates_an_active_generator_with_the_template_settings(self):
		tpl = make_template(
			title="Monthly maintenance",
			first_date_rule="Days After Assignment",
			first_date_days=10,
			due_days=14,
			minimum_amount=50,
			additional_discount_percentage=5,
			keep_discount=1,
			internal_notes="<p>for staff only</p>",
		)
		customer = make_customer()
		name = assignment.assign(tpl.name, customer, "2026-03-25")
		track(customer)
		gen = frappe.get_doc(GENERATOR, name)
		self.assertEqual(gen.status, "Active")
		self.assertEqual(gen.template, tpl.name)
		self.assertEqual(gen.customer, customer)
		self.assertEqual(str(gen.first_creation_date), "2026-04-04")
		self.assertEqual(str(gen.next_creation_date), "2026-04-04")
		self.assertEqual(gen.due_days, 14)
		self.assertEqual(gen.minimum_amount, 50)
		self.assertEqual(gen.additional_discount_percentage, 5)
		self.assertEqual(gen.keep_discount, 1)
		self.assertEqual(gen.selling_price_list, "Standard Selling")
		self.assertIn("Monthly maintenance", gen.title)
		self.assertEqual(gen.invoices_generated, 0)

	def test_day_of_month_31_lands_on_the_last_day_of_february(self):
		tpl = make_template(first_date_rule="Day Of Month", first_date_day_of_month=31)
		customer = make_customer()
		gen = frappe.get_doc(GENERATOR, assignment.assign(tpl.name, customer, "2027-02-03"))
		track(customer)
		self.assertEqual(getdate(gen.first_creation_date), getdate("2027-02-28"))

	def test_taxes_are_copied(self):
		template = tax_template(10)
		tpl = make_template(taxes_and_charges=template, keep_taxes=1)
		tpl.append(
			"taxes",
			{
				"charge_type": "On Net Total",
				"account_head": frappe.db.get_value(
					"Sales Taxes and Charges", {"parent": template}, "account_head"
				),
				"description": "VAT",
				"rate": 7,
			},
		)
		tpl.save()
		customer = make_customer()
		gen = frappe.get_doc(GENERATOR, assignment.assign(tpl.name, customer, "2026-03-01"))
		track(customer)
		self.assertEqual(gen.taxes_and_charges, template)
		self.assertEqual([(t.description, t.rate) for t in gen.taxes], [("VAT", 7)])
		self.assertNotEqual(gen.taxes[0].name, tpl.taxes[0].name)

	def test_second_assignment_is_refused_and_writes_nothing(self):
		tpl = make_template()
		customer = make_customer()
		first = api.assign_template(tpl.name, customer)
		track(customer)
		with self.assertRaisesRegex(assignment.AlreadyAssignedError, "already has generator"):
			api.assign_template(tpl.name, customer)
		self.assertEqual(generators_of(customer), [first])

		# once the first is archived, the template can be assigned again
		frappe.db.set_value(GENERATOR, first, "status", "Archived")
		second = api.assign_template(tpl.name, customer)
		track(customer)
		self.assertNotEqual(first, second)

	def test_disabled_template_or_customer_is_refused(self):
		tpl = make_template(enabled=0)
		with self.assertRaisesRegex(frappe.ValidationError, "disabled"):
			assignment.assign(tpl.name, make_customer())
		customer = make_customer(disabled=1)
		with self.assertRaisesRegex(frappe.ValidationError, "disabled"):
			assignment.assign(make_template().name, customer)
		self.assertEqual(generators_of(customer), [])
		with self.assertRaises(frappe.ValidationError):
			assignment.assign("_AB no such template", make_customer())

	def test_api_checks_permission(self):
		tpl = make_template()
		customer = make_customer()
		frappe.db.commit()
		frappe.set_user(make_user(["Sales User"]))
		with self.assertRaises(frappe.PermissionError):
			api.assign_template(tpl.name, customer)
		frappe.set_user("Guest")
		with self.assertRaises(frappe.PermissionError):
			api.assign_template(tpl.name, customer)
		frappe.set_user("Administrator")
		self.assertEqual(generators_of(customer), [])

	def test_accounts_user_may_assign(self):
		tpl = make_template()
		customer = make_customer()
		frappe.db.commit()
		frappe.set_user(make_user(["Accounts User"]))
		name = api.assign_template(tpl.name, customer)
		frappe.set_user("Administrator")
		track(customer)
		self.assertEqual(frappe.db.get_value(GENERATOR, name, "template"), tpl.name)


class TestCustomerCreation(GenerationTestCase):
	def test_template_field_assigns_on_creation(self):
		tpl = make_template(first_date_rule="Day Of Month", first_date_day_of_month=1)
		customer = make_customer(accumulating_template=tpl.name)
		names = track(customer)
		self.assertEqual(len(names), 1)
		gen = frappe.get_doc(GENERATOR, names[0])
		self.assertEqual(gen.template, tpl.name)
		self.assertEqual(getdate(gen.first_creation_date).day, 1)

	def test_user_without_generator_rights_cannot_create_customer_with_template(self):
		tpl = make_template()
		frappe.db.commit()
		frappe.set_user(make_user(["Sales User", "Sales Manager"]))
		name = f"_AB Customer {frappe.generate_hash(length=8)}"
		customer = frappe.get_doc(
			{
				"doctype": "Customer",
				"customer_name": name,
				"customer_group": frappe.db.get_value("Customer Group", {"is_group": 0}, "name"),
				"territory": frappe.db.get_value("Territory", {"is_group": 0}, "name"),
				"accumulating_template": tpl.name,
			}
		)
		with self.assertRaisesRegex(frappe.PermissionError, "may not create Accumulating Generators"):
			customer.insert()
		frappe.set_user("Administrator")
		self.assertFalse(frappe.db.exists("Customer", name))

	def test_disabled_template_refuses_the_customer(self):
		tpl = make_template(enabled=0)
		name = f"_AB Customer {frappe.generate_hash(length=8)}"
		with self.assertRaisesRegex(frappe.ValidationError, "disabled"):
			make_customer(name, accumulating_template=tpl.name)
		self.assertFalse(frappe.db.exists("Customer", name))


class TestCustomerCreationByDataImport(GenerationTestCase):
	def test_imported_customers_get_their_template(self):
		tpl = make_template()
		group = frappe.db.get_value("Customer Group", {"is_group": 0}, "name")
		territory = frappe.db.get_value("Territory", {"is_group": 0}, "name")
		names = [f"_AB Imported {frappe.generate_hash(length=6)}" for _ in range(2)]
		rows = ["Customer Name,Customer Group,Territory,Accumulating Generator Template"]
		rows += [f"{n},{group},{territory},{tpl.name}" for n in names]
		csv = frappe.get_doc(
			doctype="File",
			file_name=f"ab-import-{frappe.generate_hash(length=6)}.csv",
			content="\n".join(rows),
			is_private=1,
		).insert(ignore_permissions=True)
		data_import = frappe.get_doc(
			{
				"doctype": "Data Import",
				"import_type": "Insert New Records",
				"reference_doctype": "Customer",
				"import_file": csv.file_url,
			}
		).insert()
		frappe.db.commit()
		data_import.start_import()  # runs in this process under tests, committing row by row
		frappe.db.commit()
		self.assertEqual(frappe.db.get_value("Data Import", data_import.name, "status"), "Success")
		for name in names:
			customer = frappe.db.get_value("Customer", {"customer_name": name})
			self.assertTrue(customer, name)
			generators = track(customer)
			self.assertEqual(len(generators), 1)
			self.assertEqual(frappe.db.get_value(GENERATOR, generators[0], "template"), tpl.name)


class TestCustomerCreationOverREST(FrappeTestCase):
	def test_rest_insert_assigns_the_template(self):
		tpl = make_template()
		frappe.db.commit()
		client = login(make_user(["Sales User", "Accounts Manager"]))
		name = f"_AB REST Customer {frappe.generate_hash(length=6)}"
		response = fetch(
			client,
			"/api/resource/Customer",
			"post",
			json={
				"customer_name": name,
				"customer_group": frappe.db.get_value("Customer Group", {"is_group": 0}, "name"),
				"territory": frappe.db.get_value("Territory", {"is_group": 0}, "name"),
				"accumulating_template": tpl.name,
			},
		)
		self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
		frappe.db.rollback()  # read what the request committed
		customer = response.json["data"]["name"]
		names = track(customer)
		self.assertEqual(len(names), 1)
		self.assertEqual(frappe.db.get_value(GENERATOR, names[0], "template"), tpl.name)
		retire_created_generators()


class TestAssignmentRules(GenerationTestCase):
	def make_rule(self, **kw):
		rule = frappe.get_doc(
			{
				"doctype": "Accumulating Assignment Rule",
				"enabled": 1,
				"document_type": "Project",
				"event": "Value Change",
				"value_changed": "status",
				"condition": 'doc.status == "Completed"',
				"customer_field": "customer",
				**kw,
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		return rule

	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.db.rollback()
		frappe.db.delete("Accumulating Assignment Rule")
		frappe.db.commit()
		rules.clear_rules_cache()
		super().tearDown()

	def make_project(self, customer: str):
		return frappe.get_doc(
			{
				"doctype": "Project",
				"project_name": f"_AB Project {frappe.generate_hash(length=6)}",
				"customer": customer,
				"company": company(),
				"status": "Open",
			}
		).insert(ignore_permissions=True)

	def test_project_completed_by_a_user_assigns_the_template(self):
		tpl = make_template(template_name=f"_AB Monthly maintenance {frappe.generate_hash(length=4)}")
		rule = self.make_rule(template=tpl.name)
		customer = make_customer()
		project = self.make_project(customer)
		frappe.db.commit()
		self.assertEqual(generators_of(customer), [], "an Open project fires nothing")

		frappe.set_user(make_user(["Projects User", "Projects Manager"]))
		project = frappe.get_doc("Project", project.name)
		project.status = "Completed"
		project.save()
		frappe.set_user("Administrator")
		names = track(customer)
		self.assertEqual(len(names), 1)
		self.assertEqual(frappe.db.get_value(GENERATOR, names[0], "template"), tpl.name)
		comments = frappe.get_all(
			"Comment",
			filters={"reference_doctype": "Project", "reference_name": project.name},
			pluck="content",
		)
		self.assertTrue(any(rule.name in c and names[0] in c for c in comments), comments)

		# firing again (reopen, complete again) never duplicates and never fails the save
		project.reload()
		project.status = "Open"
		project.save()
		project.status = "Completed"
		project.save()
		self.assertEqual(len(generators_of(customer)), 1)
		self.assertTrue(
			frappe.db.exists(
				"Comment",
				{
					"reference_doctype": "Project",
					"reference_name": project.name,
					"content": ("like", "%not assigned again%"),
				},
			)
		)

	def test_condition_false_fires_nothing(self):
		tpl = make_template()
		self.make_rule(template=tpl.name, condition='doc.status == "Cancelled"')
		customer = make_customer()
		project = self.make_project(customer)
		project.status = "Completed"
		project.save()
		self.assertEqual(generators_of(customer), [])

	def test_new_customer_rule_and_failure_does_not_break_the_save(self):
		tpl = make_template()
		self.make_rule(
			template=tpl.name,
			document_type="Customer",
			event="New",
			value_changed=None,
			condition='doc.customer_type == "Company"',
			customer_field="name",
		)
		company_customer = make_customer(customer_type="Company")
		self.assertEqual(len(track(company_customer)), 1)
		individual = make_customer(customer_type="Individual")
		self.assertEqual(track(individual), [])

		# a rule whose assignment fails (currency the price list cannot serve) still saves the customer
		usd = make_customer(customer_type="Company", default_currency="USD")
		if frappe.db.get_value("Company", company(), "default_currency") != "USD":
			self.assertTrue(frappe.db.exists("Customer", usd))
			self.assertEqual(track(usd), [])
			self.assertTrue(
				frappe.db.exists(
					"Comment",
					{
						"reference_doctype": "Customer",
						"reference_name": usd,
						"content": ("like", "%could not be assigned%"),
					},
				)
			)

	def test_rule_validation(self):
		tpl = make_template()
		bad = [
			({"customer_field": "project_name"}, "no Link to Customer"),
			({"value_changed": "no_such_field"}, "Value Change needs a field"),
			({"condition": "doc.status ==="}, "not valid"),
			({"event": "Submit"}, "not submittable"),
		]
		for values, message in bad:
			with self.subTest(values=values):
				with self.assertRaisesRegex(frappe.ValidationError, message):
					self.make_rule(template=tpl.name, **values)
