"""Translations of the app (README: Translations).

- The message extractors `bench generate-pot-file` lacks for this app's own files: the Client Kickoff Web Form,
  the Number Cards and the portal menu of hooks.py. `babel_extractors.csv` at the repository root lists them;
  Frappe runs them before its own (the first pattern that matches a file wins). They read files only, never
  the database, and import nothing of Frappe, so `scripts/translations.py` runs them without a bench too.
- `compile_catalogues()`: the app's `locale/<lang>.po` compiled to the `.mo` files Frappe reads, as
  `bench build` does; run after install and after every migrate, so a site that only migrates speaks them too.
"""

import ast
import json

WEB_FORM_KEYS = (
	"title",
	"introduction_text",
	"success_title",
	"success_message",
	"list_title",
	"button_label",
	"meta_title",
	"meta_description",
)


def extract_web_form(fileobj, keywords=None, comment_tags=None, options=None):
	"""What Frappe's Web Form translates when it renders (WebForm.load_translations): its texts, the labels
	and descriptions of its fields and the options of its Select fields."""
	data = json.load(fileobj)
	if not isinstance(data, dict) or data.get("doctype") != "Web Form":
		return
	name = data.get("name")
	for key in WEB_FORM_KEYS:
		if text := data.get(key):
			yield None, "_", text, [f"{key.replace('_', ' ').capitalize()} of the Web Form '{name}'"]
	for field in data.get("web_form_fields", []):
		label = field.get("label") or field.get("fieldname")
		if text := field.get("label"):
			yield None, "_", text, [f"Label of a field in the Web Form '{name}'"]
		if text := field.get("description"):
			yield None, "_", text, [f"Description of the '{label}' field in the Web Form '{name}'"]
		if field.get("fieldtype") == "Select" and field.get("options"):
			for option in field["options"].split("\n"):
				if option and not option.isdigit():
					yield None, "_", option, [f"Option of the '{label}' field in the Web Form '{name}'"]


def extract_number_card(fileobj, keywords=None, comment_tags=None, options=None):
	"""The label of a Number Card (the desk shows it translated on a dashboard or workspace)."""
	data = json.load(fileobj)
	if isinstance(data, dict) and data.get("doctype") == "Number Card" and data.get("label"):
		yield None, "_", data["label"], ["Label of a Number Card"]


def extract_hooks(fileobj, keywords=None, comment_tags=None, options=None):
	"""The portal menu titles of hooks.py (Frappe shows them translated in the portal's sidebar), and the
	navbar and help items Frappe's own hooks extractor reads. Parsed, never imported."""
	tree = ast.parse(fileobj.read())
	wanted = {
		"standard_portal_menu_items": ("title", "Title of a portal menu item"),
		"standard_navbar_items": ("item_label", "Label of a standard navbar item"),
		"standard_help_items": ("item_label", "Label of a standard help item"),
	}
	for node in tree.body:
		if not isinstance(node, ast.Assign) or len(node.targets) != 1:
			continue
		target = node.targets[0]
		if not isinstance(target, ast.Name) or target.id not in wanted:
			continue
		key, comment = wanted[target.id]
		try:
			entries = ast.literal_eval(node.value)
		except ValueError:
			continue
		for entry in entries:
			if isinstance(entry, dict) and entry.get(key):
				yield node.lineno, "_", entry[key], [comment]


def engine_message(error) -> str:
	"""The message of an engine ValidationError in the reader's language (its values that name a setting, the
	engine's `Term`s, translated too)."""
	from frappe import _

	from accumulating_billing.engine.errors import Term

	values = [_(value) if isinstance(value, Term) else value for value in getattr(error, "values", ())]
	message = getattr(error, "message", None) or str(error)
	return _(message).format(*values) if values else _(message)


def compile_catalogues(force: bool = False) -> list[str]:
	"""Compile each `locale/<lang>.po` of the app whose `.mo` is missing or older (as `bench build` does) and
	drop the cached translations. Returns the languages compiled."""
	import frappe
	from frappe.gettext.translate import get_catalog, get_locales, get_mo_path, get_po_path, write_binary

	app = "accumulating_billing"
	compiled = []
	for locale in sorted(get_locales(app)):
		po_path, mo_path = get_po_path(app, locale), get_mo_path(app, locale)
		if not force and mo_path.exists() and po_path.stat().st_mtime < mo_path.stat().st_mtime:
			continue
		write_binary(app, get_catalog(app, locale), locale)
		compiled.append(locale)
	if compiled:
		frappe.translate.clear_cache()
	return compiled
