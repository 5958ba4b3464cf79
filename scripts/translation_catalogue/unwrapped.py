"""Strings a person reads that the sources left unwrapped for translation (Python, JS, Jinja/HTML)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from translation_catalogue import APP, REPO, SKIP_MARK

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
