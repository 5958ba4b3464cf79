"""Who receives a customer's invoices."""

import frappe


def billing_email(customer: str) -> str | None:
	"""The email of the customer's billing contact; else its primary contact; else the customer's email."""
	Contact = frappe.qb.DocType("Contact")
	Link = frappe.qb.DocType("Dynamic Link")
	rows = (
		frappe.qb.from_(Contact)
		.join(Link)
		.on(Link.parent == Contact.name)
		.select(Contact.email_id, Contact.is_billing_contact, Contact.is_primary_contact)
		.where(
			(Link.parenttype == "Contact")
			& (Link.link_doctype == "Customer")
			& (Link.link_name == customer)
			& (Contact.email_id.isnotnull())
			& (Contact.email_id != "")
		)
		.orderby(Contact.is_billing_contact, order=frappe.qb.desc)
		.orderby(Contact.is_primary_contact, order=frappe.qb.desc)
		.orderby(Contact.creation)
		.run(as_dict=True)
	)
	if rows:
		return rows[0].email_id
	return frappe.db.get_value("Customer", customer, "email_id") or None
