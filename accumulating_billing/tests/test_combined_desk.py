"""One invoice per payer (issue 28), as people meet it: the combined invoice's print (the app's format names each
tab and each customer; ERPNext's Standard still renders it), the payer's and the clinics' portal users, the
generator form (the payer, the tabs it combines with, the next combined invoice from any tab), the payer's
Customer form, the Upcoming report, and the settings ERPNext would refuse on an invoice to the payer."""

import frappe

from accumulating_billing import api
from accumulating_billing.billing import dashboards, payers, portal, tasks
from accumulating_billing.doctypes import GENERATOR
from accumulating_billing.tests.base import GenerationTestCase
from accumulating_billing.tests.combined_utils import make_payer_group
from accumulating_billing.tests.utils import (
	fetch,
	login,
	make_customer,
	make_generator,
	make_template,
	portal_user_for,
)

FORMAT = payers.COMBINED_PRINT_FORMAT


class TestCombinedInvoiceAsPeopleSeeIt(GenerationTestCase):
	def billed_group(self):
		group = make_payer_group(self.listing)
		[invoice] = tasks.process_due("2026-02-01")
		return group, invoice

	def test_the_print_names_each_tab_and_each_customer_and_standard_still_renders(self):
		group, invoice = self.billed_group()
		si = frappe.get_doc("Sales Invoice", invoice)
		self.assertEqual(payers.default_print_format(si), FORMAT)
		html = frappe.get_print("Sales Invoice", invoice, print_format=FORMAT)
		clinics = [
			frappe.db.get_value("Customer", group.customers[tab], "customer_name") for tab in group.tabs[1:]
		]
		for title in ("Head office services", "Clinic 1 care", "Clinic 2 care"):
			self.assertEqual(html.count(f">\n\t\t\t{title}"), 1, title)
		for name in clinics:
			self.assertIn(name, html)  # the clinic's lines are named for it
		# the payer's own tab is not "for" anyone: its name heads the invoice only
		payer_name = frappe.db.get_value("Customer", group.payer, "customer_name")
		self.assertNotIn(f"for {payer_name}", html)
		self.assertEqual(html.count('class="ab-tab"'), 3)
		self.assertIn(si.get_formatted("grand_total"), html)
		# ERPNext's own format still prints the invoice, every line of it
		standard = frappe.get_print("Sales Invoice", invoice, print_format="Standard")
		self.assertIn(invoice, standard)
		for line in si.items:
			self.assertIn(line.get_formatted("amount", si), standard)
		self.assertIn(si.get_formatted("grand_total"), standard)

	def test_an_invoice_of_one_tab_prints_with_the_app_format_too_and_defaults_to_the_sites(self):
		gen = make_generator(make_customer())
		from accumulating_billing.tests.utils import add

		add(gen.name, self.listing)
		frappe.db.commit()
		[invoice] = tasks.process_due("2026-02-01")
		si = frappe.get_doc("Sales Invoice", invoice)
		self.assertEqual(
			payers.default_print_format(si),
			frappe.get_meta("Sales Invoice").default_print_format or "Standard",
		)
		html = frappe.get_print("Sales Invoice", invoice, print_format=FORMAT)
		self.assertEqual(html.count('class="ab-tab"'), 0)
		self.assertIn(self.listing, html)

	def test_the_payers_portal_users_see_the_invoice_and_the_clinics_tabs_read_only(self):
		group, invoice = self.billed_group()
		for tab in group.tabs:
			from accumulating_billing.tests.utils import add

			add(tab, self.listing, service_date="2026-02-10", description=f"AB next work {tab}")
		frappe.db.commit()
		payer_user = portal_user_for(group.payer)
		clinic_user = portal_user_for(group.customers[group.tabs[1]])
		frappe.db.commit()
		tabs = portal.running_tabs(payer_user)
		self.assertEqual(
			sorted(t["title"] for t in tabs), ["Clinic 1 care", "Clinic 2 care", "Head office services"]
		)
		clinic_names = {t["title"]: t["for_customer"] for t in tabs}
		self.assertIsNone(clinic_names["Head office services"])
		self.assertTrue(clinic_names["Clinic 1 care"])
		# the invoice to pay once, under the tab it is filed under (the payer's own)
		self.assertEqual(
			{t["title"]: [row.name for row in t["to_pay"]] for t in tabs},
			{"Head office services": [invoice], "Clinic 1 care": [], "Clinic 2 care": []},
		)
		# a clinic's user: its own tab only, told whom it is invoiced to, never the payer's invoice or advances
		[own] = portal.running_tabs(clinic_user)
		self.assertEqual((own["title"], own["to_pay"], own["advance"]["amount"]), ("Clinic 1 care", [], 0.0))
		self.assertTrue(own["invoice_to"])
		# the portal page is their only way to a tab (issue 25): Frappe's generic endpoints refuse both of them the
		# tab itself, whoever it is billed to
		for user in (payer_user, clinic_user):
			client = login(user)
			for path in (
				f"/api/resource/{GENERATOR}/{group.tabs[1]}",
				f"/printview?doctype={GENERATOR}&name={group.tabs[1]}",
			):
				with self.subTest(user=user, path=path):
					self.assertEqual(fetch(client, path).status_code, 403)
		# over HTTP: the payer's /invoices lists the combined invoice, the clinic's does not; the pages show it
		payer_client, clinic_client = login(payer_user), login(clinic_user)
		self.assertIn(invoice, fetch(payer_client, "/invoices").get_data(as_text=True))
		self.assertNotIn(invoice, fetch(clinic_client, "/invoices").get_data(as_text=True))
		self.assertIn(fetch(clinic_client, f"/invoices/{invoice}").status_code, (403, 404))
		payer_page = fetch(payer_client, "/running-tab").get_data(as_text=True)
		for tab in group.tabs:
			self.assertIn(f"AB next work {tab}", payer_page)
		clinic_page = fetch(clinic_client, "/running-tab").get_data(as_text=True)
		self.assertIn(f"AB next work {group.tabs[1]}", clinic_page)
		self.assertNotIn(f"AB next work {group.tabs[2]}", clinic_page)
		self.assertNotIn(f"AB next work {group.tabs[0]}", clinic_page)

	def test_the_form_shows_the_payer_its_partners_and_the_next_combined_invoice_from_any_tab(self):
		group = make_payer_group(self.listing)
		odd = frappe.get_doc(GENERATOR, group.tabs[2])
		odd.payment_terms_template = None
		odd.due_days = 45
		odd.save(ignore_permissions=True)
		frappe.db.commit()
		tab = api.get_tab(group.tabs[1])
		self.assertEqual(tab["payer"], group.payer)
		self.assertEqual(
			[(p["name"], p["together"], p["differs"]) for p in tab["partners"]],
			[(group.tabs[0], True, []), (group.tabs[2], False, ["Due Days"])],
		)
		# the next invoice: this tab and the payer's own, together (the odd one is billed apart)
		self.assertEqual(sorted(t["name"] for t in tab["tabs"]), sorted(group.tabs[:2]))
		self.assertEqual(api.get_tab(group.tabs[0])["grand_total"], tab["grand_total"])
		[invoice] = [
			i
			for i in tasks.process_due("2026-02-01")
			if frappe.db.get_value("Sales Invoice", i, "accumulating_generator") == group.tabs[0]
		]
		si = frappe.get_doc("Sales Invoice", invoice)
		self.assertEqual(
			(tab["lines"], tab["grand_total"]), (len(si.items), si.rounded_total or si.grand_total)
		)
		# a tab that does not combine has no partners, nothing combined
		lone = api.get_tab(make_generator(make_customer()).name)
		self.assertEqual((lone["partners"], lone["tabs"]), ([], []))

	def test_the_payers_customer_form_and_the_report_list_the_tabs_billed_to_it(self):
		group = make_payer_group(self.listing)
		data = dashboards.customer_dashboard({"fieldname": "customer", "transactions": []})
		self.assertIn(
			{"label": "Tabs Billed to This Customer", "items": ["Upcoming Accumulating Invoices"]},
			data["reports"],
		)
		self.assertEqual(data["non_standard_fieldnames"]["Upcoming Accumulating Invoices"], "invoice_to")
		from accumulating_billing.accumulating_billing.report.upcoming_accumulating_invoices import (
			upcoming_accumulating_invoices as report,
		)

		_columns, rows, *_rest = report.execute({"invoice_to": group.payer})
		self.assertEqual(sorted(row.generator for row in rows), sorted(group.tabs))
		self.assertEqual({row.invoice_to for row in rows}, {group.payer})
		# a clinic's own tab billed elsewhere is not "billed to" the clinic
		_columns, rows, *_rest = report.execute({"invoice_to": group.customers[group.tabs[1]]})
		self.assertEqual(rows, [])

	def test_settings_erpnext_would_refuse_on_an_invoice_to_the_payer_are_refused_on_save(self):
		payer = make_customer()
		clinic = make_customer()
		cases = {
			"a disabled payer": ({"invoice_customer": make_customer(disabled=1)}, "disabled"),
			"Delivery Notes": ({"invoice_customer": payer, "accumulate_delivery_notes": 1}, "Delivery Note"),
			"a payer billed in another currency": (
				{"invoice_customer": make_customer(default_currency=other_currency())},
				"billing currency",
			),
			"a project of another customer": (
				{"invoice_customer": payer, "project": project_of(make_customer())},
				"belongs to customer",
			),
		}
		for label, (values, message) in cases.items():
			with self.subTest(label):
				before = frappe.db.count(GENERATOR)
				with self.assertRaises(frappe.ValidationError) as refused:
					make_generator(clinic, **values)
				self.assertIn(message, str(refused.exception))
				self.assertEqual(frappe.db.count(GENERATOR), before)
		# the tab's own customer as Invoice To is stored empty: a copy for another customer bills that one
		own = make_generator(clinic, invoice_customer=clinic)
		self.assertIsNone(own.invoice_customer)
		# a template carries Invoice To and Combine to the generators it makes
		from accumulating_billing.billing.assignment import assign

		template = make_template(invoice_customer=payer, consolidate_invoices=1)
		made = frappe.get_doc(GENERATOR, assign(template.name, clinic))
		from accumulating_billing.tests.utils import CREATED_GENERATORS

		CREATED_GENERATORS.append(made.name)
		self.assertEqual((made.invoice_customer, made.consolidate_invoices), (payer, 1))

	def test_a_clinics_tab_on_a_combined_invoice_cannot_be_deleted(self):
		group, invoice = self.billed_group()
		with self.assertRaises(frappe.ValidationError):
			frappe.delete_doc(GENERATOR, group.tabs[2], ignore_permissions=True)
		frappe.db.rollback()
		self.assertTrue(frappe.db.exists(GENERATOR, group.tabs[2]))
		self.assertEqual(
			frappe.db.count(
				"Accumulating Generator Item", {"generator": group.tabs[2], "sales_invoice": invoice}
			),
			1,
		)


def other_currency() -> str:
	from accumulating_billing.tests.utils import company

	own = frappe.get_cached_value("Company", company(), "default_currency")
	return "EUR" if own != "EUR" else "USD"


def project_of(customer: str) -> str:
	from accumulating_billing.tests.utils import company

	return (
		frappe.get_doc(
			{
				"doctype": "Project",
				"project_name": f"_AB Project {frappe.generate_hash(length=6)}",
				"customer": customer,
				"company": company(),
			}
		)
		.insert(ignore_permissions=True)
		.name
	)
