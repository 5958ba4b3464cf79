"""What the README and the controllers say about the app stays true on a real site:

- the README's Install section names every DocType of the app and every custom field it installs
  (`DocType.fieldname`), read from the site, so a new one without a word there fails;
- every DocType controller carries the type annotations Frappe's exporter (frappe/types/exporter.py) makes from
  the DocType as installed, as ERPNext's controllers do (`export_python_type_annotations` is on in hooks.py).

The repository's shape (file sizes, test modules importing test modules, the README's paths) is checked
without Frappe in tests/test_structure.py."""

import ast
import textwrap
from pathlib import Path

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.types.exporter import TypeExporter, end_block, start_block

APP = "accumulating_billing"
INSTALL_HEADING = "## Install (administrators)"


def readme() -> str:
	return (Path(frappe.get_app_path(APP)).parent / "README.md").read_text()


def install_section(text: str) -> str:
	"""The Install section, its whitespace (line breaks inside a name) made single spaces."""
	start = text.index(INSTALL_HEADING)
	end = text.find("\n## ", start + len(INSTALL_HEADING))
	return " ".join(text[start : end if end > 0 else None].split())


def app_doctypes() -> list[str]:
	modules = frappe.get_all("Module Def", filters={"app_name": APP}, pluck="name")
	return sorted(frappe.get_all("DocType", filters={"module": ("in", modules)}, pluck="name"))


def installed_custom_fields() -> list[str]:
	"""`DocType.fieldname` of the app's custom fields (their names all start with accumulating_, the uninstall
	check of scripts/test.sh relies on it too)."""
	rows = frappe.get_all(
		"Custom Field", filters={"fieldname": ("like", "accumulating_%")}, fields=["dt", "fieldname"]
	)
	return sorted(f"{row.dt}.{row.fieldname}" for row in rows)


def unnamed(section: str, doctypes: list[str], fields: list[str]) -> list[str]:
	"""What the section does not name: a DocType by its name, a custom field as `DocType.fieldname`."""
	return [d for d in doctypes if d not in section] + [f for f in fields if f"`{f}`" not in section]


def annotations(code: str) -> set[str]:
	"""The `field: DF.Type` annotations of a controller's auto-generated block, as Python reads them (the line
	breaks and the import layout that ruff gives them aside)."""
	start = code.rfind("\n", 0, code.index(start_block)) + 1  # from the start of its line
	block = textwrap.dedent(code[start : code.index(end_block)])
	return {
		f"{ast.unparse(node.target)}: {ast.unparse(node.annotation)}"
		for node in ast.walk(ast.parse(block))
		if isinstance(node, ast.AnnAssign)
	}


class TestReadmeInstall(FrappeTestCase):
	def test_install_section_names_every_doctype_and_custom_field(self):
		doctypes, fields = app_doctypes(), installed_custom_fields()
		self.assertEqual(len(doctypes), 10)
		self.assertIn("Accumulating Kickoff Request", doctypes)
		self.assertIn("Sales Invoice.accumulating_finalize", fields)
		self.assertIn("Sales Invoice Item.accumulating_line_group", fields)
		self.assertEqual(unnamed(install_section(readme()), doctypes, fields), [])

	def test_the_check_finds_what_is_not_named(self):
		section = install_section(
			"intro\n## Install (administrators)\nthe DocTypes *Accumulating\n  Generator* and the custom field"
			" `Sales Invoice.accumulating_generator`, `accumulating_occurrence`\n## Next\nAccumulating Generator Item"
		)
		self.assertEqual(
			unnamed(
				section,
				["Accumulating Generator", "Accumulating Generator Item"],
				["Sales Invoice.accumulating_generator", "Sales Invoice.accumulating_occurrence"],
			),
			["Accumulating Generator Item", "Sales Invoice.accumulating_occurrence"],
		)


class TestTypeAnnotations(FrappeTestCase):
	def test_every_controller_carries_the_exported_annotations(self):
		for doctype in app_doctypes():
			with self.subTest(doctype=doctype):
				exporter = TypeExporter(frappe.get_doc("DocType", doctype))
				expected = annotations(exporter._generate_code())
				self.assertTrue(expected, "the exporter made annotations")
				self.assertEqual(annotations(exporter.controller_path.read_text()), expected)

	def test_a_missing_or_stale_annotation_is_seen(self):
		doctype = frappe.get_doc("DocType", "Accumulating Kickoff Request")
		exporter = TypeExporter(doctype)
		current = annotations(exporter.controller_path.read_text())
		doctype.append("fields", {"fieldname": "ab_new_field", "fieldtype": "Data", "label": "New"})
		exporter = TypeExporter(doctype)
		self.assertEqual(annotations(exporter._generate_code()) - current, {"ab_new_field: DF.Data | None"})
