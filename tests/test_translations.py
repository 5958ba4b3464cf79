"""The translation catalogue, checked without a bench (scripts/translations.py; README: Translations).

The app's own files must pass: main.pot holds every message of the sources (extracted as `bench
generate-pot-file` does), every locale/<lang>.po translates each of them with the same placeholders, and no
string a person reads is left unwrapped. Small fixtures prove each check fails when it should."""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import translations as t

LANGUAGES = {"de", "es", "fr", "pt_BR", "ar"}


# ------------------------------------------------------------------------------------------- the app itself


def test_main_pot_holds_every_message_of_the_sources():
	assert t.check_pot(REPO) == []


def test_every_language_translates_every_message():
	assert LANGUAGES <= set(t.languages(REPO))
	assert t.check_po(REPO) == []


def test_no_string_a_person_reads_is_left_unwrapped():
	assert t.scan_sources(REPO) == []


def test_the_catalogue_has_what_each_kind_of_file_brings():
	found = {message for message, _context in t.extract(REPO)}
	for message in (
		"Accumulating Generator",  # DocType
		"Invoice Lines",  # a field label
		"Open and Email",  # a Select option
		"Client Kickoff",  # the Web Form (babel_extractors.csv)
		"Company or Client Name",  # a field of the Web Form
		"Unbilled Accumulating Amount",  # a Number Card (babel_extractors.csv)
		"Running Tab",  # the portal menu of hooks.py and the portal page
		"Upcoming Accumulating Invoices",  # the report
		"Generate Now",  # form JavaScript
		"Nothing is waiting to be invoiced.",  # a Jinja template
		"The interval must be at least 1, got {0}.",  # the engine's messages
	):
		assert message in found, message


def test_shared_words_are_frappe_s_and_erpnext_s():
	"""A German user meets ERPNext's word for the same thing (Frappe merges all apps' words at run time, the
	app's last: a different one would change ERPNext's own screens too)."""
	de = {m.id: m.string for m in t.read_catalog(t.locale_dir(REPO) / "de.po") if m.id}
	assert de["Sales Invoice"] == "Ausgangsrechnung"
	assert de["Customer"] == "Kunde"
	assert de["Item"] == "Artikel"
	assert de["Draft"] == "Entwurf"
	assert de["Paused"] == "Pausiert"
	# and in the app's own sentences
	assert "Ausgangsrechnung" in de["Automations of {0} for Sales Invoice {1} failed: {2}"]
	assert "Zeiterfassungen" in de["Accumulate Timesheets"]
	assert "Lieferscheine" in de["Accumulate Delivery Notes"]


# ------------------------------------------------------------------------------- the checks catch mistakes


@pytest.fixture
def app(tmp_path):
	"""A tiny app with the real extractors and a complete catalogue in one language."""
	repo = tmp_path / "repo"
	(repo / "accumulating_billing" / "billing").mkdir(parents=True)
	(repo / "accumulating_billing" / "public" / "js").mkdir(parents=True)
	(repo / "accumulating_billing" / "locale").mkdir()
	shutil.copy(REPO / "babel_extractors.csv", repo / "babel_extractors.csv")
	(repo / "accumulating_billing" / "billing" / "ok.py").write_text(
		'from frappe import _\n\ndef f(n):\n\treturn _("{0} items billed").format(n)\n'
	)
	(repo / "accumulating_billing" / "public" / "js" / "ok.js").write_text(
		'frm.add_custom_button(__("Bill"), () => {}, __("Actions"));\nconst x = `<b>${__("Total")}</b>`;\n'
	)
	t.write_pot(repo)
	t.update(repo, ["de"])
	t.fill(
		"de",
		{
			"{0} items billed": "{0} Positionen abgerechnet",
			"Bill": "Abrechnen",
			"Actions": "Aktionen",
			"Total": "Summe",
		},
		repo,
	)
	return repo


def test_a_complete_fixture_passes(app):
	assert t.check_pot(app) == []
	assert t.check_po(app) == []
	assert t.scan_sources(app) == []


def test_a_new_message_missing_from_main_pot_fails(app):
	(app / "accumulating_billing" / "billing" / "new.py").write_text('from frappe import _\n_("Paused")\n')
	assert any("main.pot lacks 'Paused'" in p for p in t.check_pot(app))


def test_a_po_file_lacking_a_msgid_of_main_pot_fails(app):
	(app / "accumulating_billing" / "billing" / "new.py").write_text('from frappe import _\n_("Paused")\n')
	t.write_pot(app)
	assert "de.po lacks msgid 'Paused'" in t.check_po(app)
	t.update(app, ["de"])  # added, but untranslated
	assert "de.po: no translation for 'Paused'" in t.check_po(app)
	assert t.missing("de", app) == {"Paused": ""}
	t.fill("de", {"Paused": "Pausiert"}, app)
	assert t.check_po(app) == []


def test_placeholders_and_tags_must_match(app):
	t.fill("de", {"{0} items billed": "Positionen abgerechnet"}, app, overwrite=True)
	assert any("placeholders differ" in p for p in t.check_po(app))
	assert t.placeholders("{0} of {1}") == t.placeholders("{1} de {0}")
	assert t.tags("<b>{0}</b>") != t.tags("{0}")


def test_a_stale_msgid_fails(app):
	(app / "accumulating_billing" / "public" / "js" / "ok.js").write_text(
		'frm.add_custom_button(__("Bill"));\n'
	)
	problems = t.check_pot(app)
	assert "main.pot has 'Total', which no source has any more" in problems


@pytest.mark.parametrize(
	"source",
	[
		'frappe.throw("Customer is disabled")',
		'frappe.throw(f"Customer {c} is disabled")',
		'frappe.msgprint("Done", title=_("Sync"))',
		'frappe.throw(_("Customer is disabled"), title="Bad input")',
		'doc.add_comment("Comment", "Items returned to the tab")',
		'frappe.log_error(title=f"Generator {name} failed")',
		'click.echo(f"Created {n} invoice(s)")',
		'columns = [{"label": "Customer", "fieldname": "customer"}]',
		'_(f"Customer {c} is disabled")',
		'_("Customer " + c)',
		'raise frappe.ValidationError("Not allowed")',
	],
)
def test_an_unwrapped_python_string_fails(source):
	assert t.scan_python(Path("x.py"), source), source


@pytest.mark.parametrize(
	"source",
	[
		'frappe.throw(_("Customer {0} is disabled").format(c))',
		'frappe.msgprint(_("Done"), title=_("Sync"))',
		'doc.add_comment("Comment", _("Items returned to the tab"))',
		'click.echo(_("Created {0} invoice(s)").format(n))',
		"frappe.throw(msg)",
		'frappe.throw(_("a") + "<br>" + _("b"))',
		'columns = [{"label": _("Customer"), "fieldname": "customer"}]',
		"click.echo(str(n))",
		'frappe.log_error(title="Internal thing")  # i18n: not shown to people',
	],
)
def test_a_wrapped_python_string_passes(source):
	assert t.scan_python(Path("x.py"), source) == [], source


@pytest.mark.parametrize(
	"source",
	[
		'frm.add_custom_button("Generate Now", () => go());',
		'frappe.msgprint("Select at least one customer.");',
		'frm.set_title("Running tab");',
		'{ fieldname: "qty", fieldtype: "Float", label: "Quantity" }',
		'frappe.call({ freeze: true, freeze_message: "Generating invoice..." });',
		"const row = `<th>Customer</th>`;",
	],
)
def test_an_unwrapped_js_string_fails(source):
	assert t.scan_js(Path("x.js"), source), source


@pytest.mark.parametrize(
	"source",
	[
		'frm.add_custom_button(__("Generate Now"), () => go(), __("Actions"));',
		'{ fieldname: "qty", fieldtype: "Float", label: __("Quantity") }',
		"const row = `<th>${__('Customer')}</th><td>${esc(x)}</td>`;",
		'frappe.db.get_value("Payment Gateway Account", { is_default: 1 }, ["name"]);',
		'// frappe.msgprint("an old comment")',
		'frm.set_query("item", () => ({ filters: { is_sales_item: 1 } }));',
	],
)
def test_a_wrapped_js_string_passes(source):
	assert t.scan_js(Path("x.js"), source) == [], source


def test_template_text_must_be_wrapped():
	assert t.scan_html(Path("x.html"), "<h1>Running Tab</h1>")
	assert t.scan_html(Path("x.html"), '<h1>{{ _("Running Tab") }}</h1>\n<td>{{ item.qty }}</td>') == []


def test_html_inside_a_python_message_fails(app):
	(app / "accumulating_billing" / "billing" / "mail.py").write_text(
		'from frappe import _\n_("Dear {0},<br>Hello")\n'
	)
	t.write_pot(app)
	assert any("never translated" in p for p in t.check_pot(app))


def test_javascript_messages_are_extracted_as_frappe_does():
	code = (
		'__("Plain"); __("Joined " + "text"); __("With {0}", [x]); __("Ctx", null, "Button");\n'
		'const html = `<p>${__("In a template")}</p>${a ? `<i>${__("Nested")}</i>` : \'\'}`;\n'
		'function __(x) {}; foo.__("no"); __(variable);'
	)
	found = {(m, c) for _line, m, c in t.js_messages(code)}
	assert found >= {
		("Plain", None),
		("Joined text", None),
		("With {0}", None),
		("Ctx", "Button"),
		("In a template", None),
		("Nested", None),
	}


def test_a_message_whose_arguments_hold_a_template_literal_is_not_extracted_as_frappe_does_not():
	# babel's lexer ends the outer literal at the nested backtick: Frappe's extractor then finds no closed `${`
	# and no call, so bench generate-pot-file misses the message; the check must see what the bench sees
	code = (
		'const p = `<p>${__("Made out to {0}.", [\n'
		'\t`<a href="/x/${encodeURIComponent(y)}">${esc(z)}</a>`,\n'
		"])}</p>`;\n"
	)
	assert list(t.js_messages(code)) == []


def test_web_form_extraction():
	sys.path.insert(0, str(REPO))
	from accumulating_billing import i18n

	form = io.BytesIO(
		b'{"doctype": "Web Form", "name": "F", "title": "Kickoff", "button_label": "Start",'
		b' "web_form_fields": [{"fieldname": "t", "fieldtype": "Select", "label": "Type",'
		b' "options": "Company\\nIndividual"}]}'
	)
	assert [m for _l, _f, m, _c in i18n.extract_web_form(form)] == [
		"Kickoff",
		"Start",
		"Type",
		"Company",
		"Individual",
	]
