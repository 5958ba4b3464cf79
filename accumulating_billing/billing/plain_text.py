"""Plain text: what people who are not billing staff write, stored without markup and shown escaped.

Contributors write tab items (description, item name, reference), guests write kickoff requests, customers
write questions. None of that is trusted to be HTML. Frappe's own sanitizer is not enough: it skips a value that
parses as JSON (`["<img src=x onerror=...>"]` is stored as is) and keeps what its allow-list allows. So:

- `plain_text(value)` is what such a field stores, whatever the value's shape: the text a browser would show
  for it, with every tag removed (the content of script, style and similar elements too), entities decoded, and
  that repeated until nothing changes, so no markup survives however it was nested or encoded; a "<" that could
  still open a tag is dropped. Line breaks of block elements (`<br>`, `<p>`, `<div>`, `<li>`) become newlines.
  Jinja delimiters (`{{ }}`, `{% %}`) are plain characters: nothing renders a stored value as a template.
- `as_html(text)` is how such text goes where HTML is expected (an invoice line's description is a Text Editor
  that ERPNext's print formats and PDF render as HTML): escaped, newlines as `<br>`.

Everywhere else the app shows such text, its templates escape it (Jinja `| e`, `frappe.utils.escape_html` in
the desk scripts). Use these two functions for any new field a lower-trust writer fills (README *Security*).
"""

import re
from html import escape
from html.parser import HTMLParser

# elements whose content is not text a reader sees
HIDDEN_ELEMENTS = frozenset(
	("script", "style", "template", "noscript", "iframe", "object", "embed", "svg", "math", "head", "title")
)
# elements that end a line where they start or end
BLOCK_ELEMENTS = frozenset(
	("br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote")
)
# a "<" a browser could read as the start of a tag, a comment or a declaration
TAG_OPENER = re.compile(r"<(?=[A-Za-z!/?])")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# what HTML reads as other than text; a value without any is its own text (no round of parsing needed)
MARKUP = re.compile(r"[<&]")
SPACE_BEFORE_NEWLINE = re.compile(r"[ \t]+\n")
BLANK_LINES = re.compile(r"\n{3,}")
MAX_ROUNDS = 20


class TextOnly(HTMLParser):
	"""The text of an HTML fragment, as a browser shows it (entities decoded, hidden elements dropped)."""

	def __init__(self):
		super().__init__(convert_charrefs=True)
		self.parts: list[str] = []
		self.hidden = 0

	def handle_starttag(self, tag, attrs):
		if tag in HIDDEN_ELEMENTS:
			self.hidden += 1
		elif tag in BLOCK_ELEMENTS:
			self.parts.append("\n")

	def handle_startendtag(self, tag, attrs):
		if tag in BLOCK_ELEMENTS:
			self.parts.append("\n")

	def handle_endtag(self, tag):
		if tag in HIDDEN_ELEMENTS:
			self.hidden = max(self.hidden - 1, 0)
		elif tag in BLOCK_ELEMENTS:
			self.parts.append("\n")

	def handle_data(self, data):
		if not self.hidden:
			self.parts.append(data)


def text_of(value: str) -> str:
	"""One round: the text of `value` read as HTML, without anything that could still open a tag."""
	parser = TextOnly()
	parser.feed(value)
	parser.close()
	return TAG_OPENER.sub("", "".join(parser.parts))


def plain_text(value) -> str | None:
	"""`value` as plain text (see the module's docstring); None and "" stay as they are."""
	if value is None or value == "":
		return value
	text = CONTROL_CHARACTERS.sub("", str(value)).replace("\r\n", "\n").replace("\r", "\n")
	if MARKUP.search(text):
		text = without_markup(text)
	if "\n" in text:
		text = BLANK_LINES.sub("\n\n", SPACE_BEFORE_NEWLINE.sub("\n", text))
	return text.strip()


def without_markup(text: str) -> str:
	"""Rounds of `text_of` until nothing changes (markup nested or encoded in markup)."""
	for _round in range(MAX_ROUNDS):
		cleaner = text_of(text)
		if cleaner == text:
			return text
		text = cleaner
	# nested past any reasonable depth: keep no character that could be markup
	return text.replace("<", "").replace(">", "").replace("&", "")


def as_html(text: str | None) -> str:
	"""Plain text where HTML is expected: escaped, its newlines as line breaks."""
	return escape(text or "", quote=True).replace("\n", "<br>")
