"""The messages of the sources, extracted as `bench generate-pot-file` does (the same files, the same
extractors, the app's babel_extractors.csv first), and `locale/main.pot` written from them."""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_python
from babel.messages.jslexer import tokenize, unquote_string
from babel.messages.pofile import write_po

from translation_catalogue import REPO, locale_dir


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
			# an unclosed `${` (babel's lexer ends a literal at a nested backtick) yields nothing, as in Frappe
			if depth == 0:
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
