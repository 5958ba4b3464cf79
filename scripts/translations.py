#!/usr/bin/env python3
"""The app's translation catalogue, checked without a bench (README: Translations).

    python scripts/translations.py check              # what CI runs (tests/test_translations.py does the same)
    python scripts/translations.py pot                # rewrite locale/main.pot from the sources (no bench)
    python scripts/translations.py update             # every locale/<lang>.po follows main.pot (adds, drops)
    python scripts/translations.py missing de         # JSON of what de.po still lacks, to fill in
    python scripts/translations.py fill de new.json   # put translations ({"msgid": "msgstr"}) into de.po
    python scripts/translations.py fill de --reuse /opt/frappe-bench   # Frappe's and ERPNext's own words
    python scripts/translations.py compare committed.pot generated.pot  # scripts/test.sh, on a bench

`check` fails when:
- main.pot is not what `bench generate-pot-file --app accumulating_billing` writes from the sources (the
  extraction below follows Frappe's: the same files, the same extractors, the app's babel_extractors.csv
  first; scripts/test.sh also runs the real command on the bench and compares);
- a locale/<lang>.po lacks a msgid of main.pot, has an empty or fuzzy msgstr, keeps a msgid main.pot no longer
  has, or a msgstr whose placeholders ({0}, {name}, %s) or HTML tags differ from its msgid's;
- a string a person reads is not wrapped for translation (see `scan_python`, `scan_js`, `scan_html`).
A line ending in `# i18n: not shown to people` (Python) or `// i18n: not shown to people` (JS) is skipped.
"""

from __future__ import annotations

import ast
import csv
import importlib
import io
import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_python
from babel.messages.jslexer import tokenize, unquote_string
from babel.messages.pofile import read_po, write_po

REPO = Path(__file__).resolve().parent.parent
APP = "accumulating_billing"
SKIP_MARK = "i18n: not shown to people"


def locale_dir(repo: Path) -> Path:
	return repo / APP / "locale"


# ---------------------------------------------------------------- extraction, as `bench generate-pot-file`


def _doctype(fileobj, *args, **kwargs):
	data = json.load(fileobj)
	if isinstance(data, list):
		return
	doctype = data.get("name")
	yield None, "_", doctype, ["Name of a DocType"]
	if data.get("description"):
		yield None, "_", data["description"], ["Description of a DocType"]
	excluded = {
		"naming_series",
		"number_format",
		"float_precision",
		"currency_precision",
		"minimum_password_score",
	}
	for field in data.get("fields", []):
		fieldtype, label = field.get("fieldtype"), field.get("label")
		if label:
			yield None, "_", label, [f"Label of a {fieldtype} field in DocType '{doctype}'"]
		name = label or field.get("fieldname")
		if field.get("description"):
			yield None, "_", field["description"], [f"Description of the '{name}' ({fieldtype}) field"]
		options = field.get("options")
		if not options:
			continue
		if fieldtype == "Select":
			if field.get("fieldname") in excluded:
				continue
			values = [o for o in options.split("\n") if o and not o.isdigit()]
			if values and "icon" in values[0]:
				continue
			for value in values:
				yield None, "_", value, [f"Option for the '{name}' ({fieldtype}) field"]
		elif fieldtype == "HTML":
			yield None, "_", options, [f"Content of the '{name}' ({fieldtype}) field"]
	for link in data.get("links", []):
		for key in ("group", "link_doctype"):
			if link.get(key):
				yield None, "_", link[key], [f"{key} in {doctype}'s connections"]
	for perm in data.get("permissions", []):
		if "role" in perm:
			yield None, "_", perm["role"], ["Name of a role"]


def _workspace(fileobj, *args, **kwargs):
	data = json.load(fileobj)
	if isinstance(data, list) or data.get("doctype") != "Workspace":
		return
	yield None, "_", data.get("label"), ["Name of a Workspace"]
	for key, attrs in (
		("charts", ("label",)),
		("number_cards", ("label",)),
		("links", ("label", "description")),
		("shortcuts", ("label", "format")),
		("quick_lists", ("label",)),
	):
		for attr in attrs:
			for entry in data.get(key, []):
				if entry.get(attr):
					yield None, "_", entry[attr], [f"{attr} of {key} in a Workspace"]
	for block in json.loads(data.get("content", "[]")):
		if block.get("type") in ("header", "paragraph") and block.get("data", {}).get("text"):
			yield None, "_", block["data"]["text"], ["Text in a Workspace"]


def _json_keys(doctype: str, keys: tuple[str, ...]):
	def extract(fileobj, *args, **kwargs):
		data = json.load(fileobj)
		if isinstance(data, list) or data.get("doctype") != doctype:
			return
		for key in keys:
			if data.get(key):
				yield None, "_", data[key], [f"{key} of a {doctype}"]

	return extract


def _python(*args, **kwargs):
	for lineno, funcname, messages, comments in extract_python(*args, **kwargs):
		if funcname == "_" and isinstance(messages, tuple) and len(messages) > 1:
			funcname, messages = "pgettext", (messages[-1], messages[0])
		yield lineno, funcname, messages, comments


def js_messages(code: str, lineno: int = 1):
	"""(line, message, context) of each `__("message", [values], "context")` in JavaScript, template literals'
	`${...}` included: the first argument when it is a string (strings joined by + are one), the third as
	context. Built on babel's JavaScript lexer, as Frappe's extractor is."""
	tokens = list(tokenize(code, jsx=True, dotted=False, template_string=True, lineno=lineno))
	i = 0
	while i < len(tokens):
		token = tokens[i]
		if token.type == "template_string":
			for offset, expression in _template_expressions(token.value):
				yield from js_messages(expression, token.lineno + offset)
		elif (
			token.type == "name"
			and token.value == "__"
			and i + 1 < len(tokens)
			and tokens[i + 1].type == "operator"
			and tokens[i + 1].value == "("
			and not (i and tokens[i - 1].type == "name" and tokens[i - 1].value == "function")
		):
			args, i = _call_arguments(tokens, i + 2)
			if args and args[0]:
				context = args[2] if len(args) > 2 and isinstance(args[2], str) else None
				yield token.lineno, args[0], context
			continue
		i += 1


def _call_arguments(tokens, i):
	"""The top-level arguments of a call whose "(" is just before tokens[i]: a string (joined by +) or None."""
	args, current, plus, depth, nested = [], None, False, 0, False
	while i < len(tokens):
		token = tokens[i]
		if token.type == "operator" and token.value in "([{":
			depth += 1
			nested = True
		elif token.type == "operator" and token.value in ")]}":
			if depth == 0:
				args.append(None if nested else current)
				return args, i + 1
			depth -= 1
		elif depth == 0 and token.type == "operator" and token.value == ",":
			args.append(None if nested else current)
			current, plus, nested = None, False, False
		elif depth == 0 and token.type in ("string", "template_string"):
			value = unquote_string(token.value)
			current = (current or "") + value if (plus or current is None) else value
			plus = False
		elif depth == 0 and token.type == "operator" and token.value == "+":
			plus = True
		elif depth == 0 and token.type not in ("linecomment", "multilinecomment"):
			nested = True  # a name or number: the argument is not a plain string
		i += 1
	return args, i


def _template_expressions(literal: str):
	"""(line offset, source) of each `${...}` of a template literal (quotes and nested braces followed)."""
	body, out, i = literal[1:-1], [], 0
	while i < len(body):
		if body[i] == "\\":
			i += 2
			continue
		if body.startswith("${", i):
			start, depth, j, quote = i + 2, 1, i + 2, None
			while j < len(body) and depth:
				char = body[j]
				if quote:
					if char == "\\":
						j += 1
					elif char == quote:
						quote = None
				elif char in "'\"`":
					quote = char
				elif char == "{":
					depth += 1
				elif char == "}":
					depth -= 1
				j += 1
			out.append((body.count("\n", 0, start), body[start : j - 1]))
			i = j
			continue
		i += 1
	return out


def _javascript(fileobj, *args, **kwargs):
	for lineno, message, context in js_messages(fileobj.read().decode("utf-8")):
		if context:
			yield lineno, "pgettext", (context, message), []
		else:
			yield lineno, "gettext", message, []


TEMPLATE_CALL = re.compile(
	r"_\(\s*(?P<q>[\"']{1,3})(?P<message>(?:(?!(?P=q)).)*)(?P=q)"
	r"(?:\s*,\s*context\s*=\s*(?P<cq>[\"'])(?P<py_context>(?:(?!(?P=cq)).)*)(?P=cq))?"
	r"(?:\s*,\s*(?:.)*?\s*(?:,\s*(?P<jq>[\"'])(?P<js_context>(?:(?!(?P=jq)).)*)(?P=jq))*)*\s*\)"
)


def _html(fileobj, keywords, comment_tags, options):
	"""Jinja's own extraction, then `_("...")` anywhere in the text (JS micro-templates), as Frappe does."""
	from jinja2.ext import babel_extract

	code = fileobj.read().decode("utf-8")
	for lineno, funcname, messages, comments in babel_extract(
		io.BytesIO(code.encode()), keywords, comment_tags, options
	):
		if funcname == "_" and isinstance(messages, tuple) and len(messages) > 1:
			funcname, messages = "pgettext", (messages[-1], messages[0])
		yield lineno, funcname, messages, comments
	for match in TEMPLATE_CALL.finditer(code):
		message = match.group("message")
		if (
			not re.search("[a-zA-Z]", message)
			or message.startswith(("fa fa-", "eval:"))
			or message.endswith("px")
		):
			continue
		lineno = code.count("\n", 0, match.start()) + 1
		context = match.group("py_context") or match.group("js_context")
		if context:
			yield lineno, "pgettext", (context, message), []
		else:
			yield lineno, "_", message, []


FRAPPE_METHOD_MAP = [
	("**/doctype/*/*.json", _doctype),
	("**/workspace/*/*.json", _workspace),
	(
		"**/onboarding_step/*/*.json",
		_json_keys("Onboarding Step", ("title", "action_label", "description", "report_description")),
	),
	(
		"**/module_onboarding/*/*.json",
		_json_keys("Module Onboarding", ("title", "subtitle", "success_message")),
	),
	("**/report/*/*.json", _json_keys("Report", ("report_name",))),
	("**.py", _python),
	("**/templates/**.js", _html),
	("**.js", _javascript),
	("**.html", _html),
	("**.vue", _html),
]


def app_method_map(repo: Path) -> list:
	"""The app's babel_extractors.csv (pattern, dotted function), as Frappe reads it: before Frappe's own."""
	path = repo / "babel_extractors.csv"
	if not path.exists():
		return []
	if str(repo) not in sys.path:
		sys.path.insert(0, str(repo))
	methods = []
	with open(path) as f:
		for pattern, dotted in csv.reader(f):
			module, func = dotted.rsplit(".", 1)
			methods.append((pattern, getattr(importlib.import_module(module), func)))
	return methods


def _ignored_dirs(repo: Path) -> set[str]:
	dirs = []
	for root, names, _files in os.walk(repo):
		names[:] = [n for n in names if not n.startswith((".", "_"))]
		dirs.extend(str(Path(root) / n) for n in names)
	try:
		out = subprocess.run(
			["git", "-C", str(repo), "check-ignore", "--stdin"],
			input="\n".join(dirs),
			capture_output=True,
			text=True,
			check=False,
		).stdout
	except OSError:
		return {d for d in dirs if Path(d).name == "node_modules"}
	return {line.strip() for line in out.splitlines() if line.strip()}


def extract(repo: Path = REPO) -> dict[tuple[str, str | None], list[tuple]]:
	"""{(msgid, context): [(file, line), ...]} of every translatable message, as `bench generate-pot-file`."""
	ignored = _ignored_dirs(repo)

	def directory_filter(dirpath) -> bool:
		name = os.path.basename(dirpath)
		return not (name.startswith((".", "_")) or str(dirpath).rstrip("/") in ignored)

	keywords = DEFAULT_KEYWORDS.copy()
	keywords["_lt"] = None
	messages: dict = {}
	method_map = app_method_map(repo) + FRAPPE_METHOD_MAP
	for filename, lineno, message, _comments, context in extract_from_dir(
		str(repo), method_map, directory_filter=directory_filter, keywords=keywords
	):
		if message:
			messages.setdefault((message, context), []).append((filename, lineno))
	return messages


def write_pot(repo: Path = REPO) -> Path:
	catalog = Catalog(
		domain="messages",
		project="Accumulating Billing",
		msgid_bugs_address="dev@accumulating-billing.invalid",
		copyright_holder="Accumulating Billing developers",
		creation_date=datetime.now(),
		revision_date=datetime.now(),
		fuzzy=False,
	)
	for (message, context), locations in extract(repo).items():
		catalog.add(message, locations=locations, context=context)
	path = locale_dir(repo) / "main.pot"
	path.parent.mkdir(exist_ok=True)
	with open(path, "wb") as f:
		write_po(f, catalog, sort_output=True, ignore_obsolete=True, width=None)
	return path


# ---------------------------------------------------------------- catalogues


def read_catalog(path: Path) -> Catalog:
	with open(path, "rb") as f:
		return read_po(f)


def keys(catalog: Catalog) -> set[tuple[str, str | None]]:
	return {(m.id, m.context) for m in catalog if m.id}


def languages(repo: Path = REPO) -> list[str]:
	return sorted(p.stem for p in locale_dir(repo).glob("*.po"))


PLACEHOLDER = re.compile(r"\{[0-9]*\}|\{[A-Za-z_][A-Za-z0-9_]*\}|%\([A-Za-z_]+\)[sd]|%[sd]")
TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)\b[^>]*>")


def placeholders(text: str) -> Counter:
	return Counter(PLACEHOLDER.findall(text))


def tags(text: str) -> Counter:
	return Counter(t.lower() for t in TAG.findall(text))


def check_pot(repo: Path = REPO) -> list[str]:
	pot = locale_dir(repo) / "main.pot"
	if not pot.exists():
		return [f"{pot} is missing: run `bench generate-pot-file --app {APP}`"]
	found, committed = extract(repo), keys(read_catalog(pot))
	problems = []
	for message, context in sorted(set(found) - committed, key=str):
		where = ", ".join(f"{f}:{n}" for f, n in found[(message, context)][:3])
		problems.append(
			f"main.pot lacks {message!r}" + (f" (context {context!r})" if context else "") + f" from {where}"
		)
	for message, _context in sorted(committed - set(found), key=str):
		problems.append(f"main.pot has {message!r}, which no source has any more")
	for (message, _context), locations in sorted(found.items(), key=str):
		if TAG.search(message) and any(f.endswith((".py", ".html")) for f, _n in locations):
			problems.append(
				f"{message!r} ({locations[0][0]}): Frappe looks up a Python or Jinja message without its HTML tags,"
				" so this one is never translated: keep the tags out of _()"
			)
	return problems


def check_po(repo: Path = REPO, langs: list[str] | None = None) -> list[str]:
	pot = locale_dir(repo) / "main.pot"
	expected = keys(read_catalog(pot))
	problems = []
	for lang in langs or languages(repo):
		catalog = read_catalog(locale_dir(repo) / f"{lang}.po")
		have = {(m.id, m.context): m for m in catalog if m.id}
		for key in sorted(expected - set(have), key=str):
			problems.append(f"{lang}.po lacks msgid {key[0]!r}")
		for key in sorted(set(have) - expected, key=str):
			problems.append(f"{lang}.po has msgid {key[0]!r}, which main.pot no longer has")
		for key, m in sorted(have.items(), key=lambda kv: str(kv[0])):
			if key not in expected:
				continue
			if not m.string or not str(m.string).strip():
				problems.append(f"{lang}.po: no translation for {m.id!r}")
			elif m.fuzzy:
				problems.append(f"{lang}.po: fuzzy translation for {m.id!r}")
			elif placeholders(m.id) != placeholders(m.string):
				problems.append(f"{lang}.po: placeholders differ in {m.id!r} -> {m.string!r}")
			elif tags(m.id) != tags(m.string):
				problems.append(f"{lang}.po: HTML tags differ in {m.id!r} -> {m.string!r}")
	return problems


# ---------------------------------------------------------------- strings a person reads, left unwrapped

PY_CALLS = {  # function or method name: (positions, keywords) of the arguments a person reads
	"throw": ((0,), ("msg", "title")),
	"msgprint": ((0,), ("msg", "title")),
	"add_comment": ((1,), ("text",)),
	"log_error": ((0,), ("title",)),
	"echo": ((0,), ("message",)),
	"secho": ((0,), ("message",)),
	"publish_progress": ((), ("title", "description")),
	"respond_as_web_page": ((0, 1), ("title", "html")),
	"ClickException": ((0,), ("message",)),
	"ValidationError": ((0,), ()),
	"PermissionError": ((0,), ()),
	"DoesNotExistError": ((0,), ()),
}
PY_DICT_KEYS = {"label", "title", "description", "message", "indicator_label"}
SKIP_FILES = {"hooks.py"}  # data Frappe reads; babel_extractors.csv extracts its menu titles
# files another branch is rewriting: their strings are wrapped when it lands (README: Translations, at a merge)
PENDING_FILES: set[str] = set()  # files the unwrapped-string scan skips for now (none)


def _has_letters(text: str) -> bool:
	return bool(re.search(r"[A-Za-z]{2,}", re.sub(r"\{[^}]*\}|<[^>]*>|&\w+;", "", text)))


def _unwrapped(node) -> bool:
	"""True when `node` puts literal words in front of a person without `_()`."""
	if isinstance(node, ast.Constant):
		return isinstance(node.value, str) and _has_letters(node.value)
	if isinstance(node, ast.JoinedStr):
		return any(_unwrapped(v) for v in node.values if isinstance(v, ast.Constant))
	if isinstance(node, ast.BinOp):
		return _unwrapped(node.left) or _unwrapped(node.right)
	if isinstance(node, ast.IfExp):
		return _unwrapped(node.body) or _unwrapped(node.orelse)
	if isinstance(node, ast.Call):
		func = node.func
		if isinstance(func, ast.Name) and func.id in ("_", "_lt"):
			return False
		if isinstance(func, ast.Attribute) and func.attr == "format":
			return _unwrapped(func.value)
		if isinstance(func, ast.Attribute) and func.attr == "join":
			return any(_unwrapped(a) for a in node.args)
	return False


def _call_name(func) -> str | None:
	if isinstance(func, ast.Name):
		return func.id
	if isinstance(func, ast.Attribute):
		return func.attr
	return None


def scan_python(path: Path, source: str | None = None) -> list[str]:
	source = source if source is not None else path.read_text()
	lines = source.splitlines()
	tree = ast.parse(source)
	problems = []

	def report(node, what):
		line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
		if SKIP_MARK not in line:
			problems.append(f"{path}:{node.lineno}: {what}")

	for node in ast.walk(tree):
		if isinstance(node, ast.Call):
			name = _call_name(node.func)
			if name in ("_", "_lt") and isinstance(node.func, ast.Name) and node.args:
				arg = node.args[0]
				if isinstance(arg, (ast.JoinedStr, ast.BinOp)) or (
					isinstance(arg, ast.Call) and _call_name(arg.func) == "format"
				):
					report(
						node,
						'_() takes a plain string literal; format after translating: _("... {0}").format(x)',
					)
				continue
			if name in PY_CALLS:
				positions, kws = PY_CALLS[name]
				args = [node.args[p] for p in positions if p < len(node.args)]
				args += [k.value for k in node.keywords if k.arg in kws]
				if any(_unwrapped(a) for a in args):
					report(node, f"text of {name}() is not wrapped in _()")
		elif isinstance(node, ast.Dict):
			for key, value in zip(node.keys, node.values, strict=False):
				if isinstance(key, ast.Constant) and key.value in PY_DICT_KEYS and _unwrapped(value):
					report(value, f"{key.value!r} is not wrapped in _()")
	return problems


JS_TEXT_ARG = re.compile(
	r"(?:frappe\.(?:msgprint|throw|confirm|show_alert|prompt)|\.set_title|\.add_custom_button|\.set_intro"
	r"|\.set_headline_alert|\.add_button|\.set_primary_action|\.set_secondary_action|\.set_indicator"
	r"|\.add_inner_button|\.page\.set_title)\(\s*([\"'`])(?P<text>(?:(?!\1).)*)\1"
)
JS_TEXT_KEY = re.compile(
	r"\b(?:label|title|description|message|freeze_message|primary_action_label|secondary_action_label)"
	r"\s*:\s*([\"'`])(?P<text>(?:(?!\1).)*)\1"
)
JS_MARKUP_TEXT = re.compile(r">(?P<text>[^<>`$]*[A-Za-z]{2,}[^<>`$]*)<")


def _strip_js_comments(code: str) -> str:
	code = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group()), code, flags=re.S)
	return re.sub(r"(^|[^:\\])//(?!.*i18n:).*", r"\1", code)


def scan_js(path: Path, source: str | None = None) -> list[str]:
	source = _strip_js_comments(source if source is not None else path.read_text())
	problems = []
	for lineno, line in enumerate(source.splitlines(), 1):
		if SKIP_MARK in line:
			continue
		for regex, what in ((JS_TEXT_ARG, "text of a call"), (JS_TEXT_KEY, "property")):
			for m in regex.finditer(line):
				if _has_letters(m.group("text")) and "${__(" not in m.group("text"):
					problems.append(f"{path}:{lineno}: {what} {m.group(0)[:60]!r} is not wrapped in __()")
		for m in JS_MARKUP_TEXT.finditer(line):
			text = m.group("text")
			if _has_letters(text) and not re.search(r"__\(|\{\{|\}\}", text):
				problems.append(f"{path}:{lineno}: markup text {text.strip()[:60]!r} is not wrapped in __()")
	return problems


def scan_html(path: Path, source: str | None = None) -> list[str]:
	"""Words of a Jinja template outside `{{ _() }}`: text between tags once tags, Jinja and scripts are out."""
	source = source if source is not None else path.read_text()
	text = re.sub(r"<(script|style)\b.*?</\1>", lambda m: "\n" * m.group().count("\n"), source, flags=re.S)
	text = re.sub(
		r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", lambda m: "\n" * m.group().count("\n"), text, flags=re.S
	)
	text = re.sub(r"<[^>]*>", lambda m: "\n" * m.group().count("\n"), text, flags=re.S)
	problems = []
	for lineno, line in enumerate(text.splitlines(), 1):
		if _has_letters(line) and SKIP_MARK not in source.splitlines()[lineno - 1]:
			problems.append(f"{path}:{lineno}: text {line.strip()[:60]!r} is not wrapped in _()")
	return problems


def _is_test(path: Path) -> bool:
	return path.name.startswith("test_") or "tests" in path.parts or path.name == "conftest.py"


def scan_sources(repo: Path = REPO) -> list[str]:
	problems = []
	for path in sorted((repo / APP).rglob("*")):
		rel = path.relative_to(repo)
		if (
			_is_test(rel)
			or any(p.startswith((".", "_")) for p in rel.parts[:-1])
			or str(rel) in PENDING_FILES
		):
			continue
		if path.suffix == ".py" and path.name not in SKIP_FILES:
			problems += scan_python(rel, path.read_text())
		elif path.suffix == ".js":
			problems += scan_js(rel, path.read_text())
		elif path.suffix == ".html":
			problems += scan_html(rel, path.read_text())
	return problems


# ---------------------------------------------------------------- keeping the .po files complete


def _entry_key(message) -> str:
	return f"{message.context}\x04{message.id}" if message.context else message.id


def update(repo: Path = REPO, langs: list[str] | None = None) -> None:
	"""Every .po follows main.pot: new msgids added untranslated, vanished ones dropped (no fuzzy guesses)."""
	pot = read_catalog(locale_dir(repo) / "main.pot")
	for lang in langs or languages(repo):
		path = locale_dir(repo) / f"{lang}.po"
		catalog = read_catalog(path) if path.exists() else Catalog(locale=lang.replace("-", "_"))
		catalog.update(pot, no_fuzzy_matching=True, update_header_comment=False)
		catalog.obsolete.clear()
		_set_header(catalog, pot, lang)
		_write(path, catalog)


def _set_header(catalog: Catalog, pot: Catalog, lang: str) -> None:
	init = (REPO / APP / "__init__.py").read_text()
	catalog.project = "Accumulating Billing"
	catalog.version = (re.findall(r'__version__ = "([^"]+)"', init) or [None])[0]
	catalog.msgid_bugs_address = pot.msgid_bugs_address or "dev@accumulating-billing.invalid"
	catalog.copyright_holder = "Accumulating Billing developers"
	catalog.last_translator = catalog.language_team = (
		"Accumulating Billing developers <dev@accumulating-billing.invalid>"
	)
	catalog.fuzzy = False
	catalog.header_comment = (
		f"# {lang} translations of Accumulating Billing (README: Languages).\n"
		"# This file is distributed under the same license as the Accumulating Billing project (MIT)."
	)


def _write(path: Path, catalog: Catalog) -> None:
	with open(path, "wb") as f:
		write_po(f, catalog, sort_output=True, ignore_obsolete=True, width=None, include_previous=False)


def missing(lang: str, repo: Path = REPO) -> dict[str, str]:
	catalog = read_catalog(locale_dir(repo) / f"{lang}.po")
	return {_entry_key(m): "" for m in catalog if m.id and (not m.string or m.fuzzy)}


def reference_translations(bench: Path, lang: str) -> dict[str, str]:
	"""Frappe's and ERPNext's own words for `lang` (their .po, then CSV files, later apps winning, as Frappe
	merges them at run time), so a shared msgid reads the same in the app as in the rest of the desk."""
	found: dict[str, str] = {}
	codes = [lang.split("_")[0], lang] if "_" in lang else [lang]
	for code in codes:
		for app in ("frappe", "erpnext", "payments"):
			csv_path = bench / "apps" / app / app / "translations" / f"{code.replace('_', '-')}.csv"
			if csv_path.exists():
				with open(csv_path, newline="") as f:
					for row in csv.reader(f):
						if len(row) >= 2 and row[1] and (len(row) < 3 or not row[2]):
							found[row[0]] = row[1]
			po_path = bench / "apps" / app / app / "locale" / f"{code}.po"
			if po_path.exists():
				for m in read_catalog(po_path):
					if m.id and m.string and not m.context and isinstance(m.id, str):
						found[m.id] = m.string
	return found


def fill(lang: str, translations: dict[str, str], repo: Path = REPO, overwrite: bool = False) -> int:
	"""Put `translations` ({msgid or "context\\x04msgid": msgstr}) into <lang>.po; returns how many were set."""
	path = locale_dir(repo) / f"{lang}.po"
	catalog = read_catalog(path)
	count = 0
	for m in catalog:
		if not m.id or (m.string and not m.fuzzy and not overwrite):
			continue
		value = translations.get(_entry_key(m)) or translations.get(m.id)
		if value:
			m.string, count = value, count + 1
			m.flags.discard("fuzzy")
	_write(path, catalog)
	return count


def main(argv: list[str]) -> int:
	command = argv[0] if argv else "check"
	if command == "check":
		problems = check_pot() + check_po() + scan_sources()
		print("\n".join(problems) or "translations: complete")
		return 1 if problems else 0
	if command == "compare":  # compare COMMITTED.pot GENERATED.pot: the same msgids (and contexts)?
		committed, generated = (keys(read_catalog(Path(p))) for p in argv[1:3])
		for message, context in sorted(generated - committed, key=str):
			print(f"main.pot lacks {message!r}" + (f" (context {context!r})" if context else ""))
		for message, _context in sorted(committed - generated, key=str):
			print(f"main.pot has {message!r}, which the bench no longer extracts")
		same = committed == generated
		print(
			f"main.pot: {len(committed)} messages, "
			+ ("as the bench extracts them" if same else "NOT as the bench")
		)
		return 0 if same else 1
	if command == "pot":
		print(write_pot())
		return 0
	if command == "update":
		update(langs=argv[1:] or None)
		return 0
	if command == "missing":
		print(json.dumps(missing(argv[1]), ensure_ascii=False, indent=1))
		return 0
	if command == "fill":
		lang = argv[1]
		if argv[2] == "--reuse":
			translations = reference_translations(Path(argv[3]), lang)
		else:
			translations = json.loads(Path(argv[2]).read_text())
		print(f"{lang}: {fill(lang, translations)} translation(s) set")
		return 0
	print(__doc__)
	return 2


if __name__ == "__main__":
	sys.exit(main(sys.argv[1:]))
