"""billing/plain_text.py imports no Frappe: its shortcut is checked here against the rounds of HTML parsing."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from accumulating_billing.billing.plain_text import CONTROL_CHARACTERS, plain_text, without_markup

PIECES = st.sampled_from(
	[
		*list("ab <>&;/=\"'\n\r\t\x00\x7f"),
		"<b>",
		"&lt;",
		"&amp;",
		"<script>",
		"</p>",
		"&#60;",
		"{{",
		"é",
		"  \n",
	]
)


def parsed(value: str) -> str:
	"""plain_text without its shortcut: every value goes through the parsing rounds."""
	text = CONTROL_CHARACTERS.sub("", value).replace("\r\n", "\n").replace("\r", "\n")
	text = re.sub(r"[ \t]+\n", "\n", without_markup(text))
	return re.sub(r"\n{3,}", "\n\n", text).strip()


@settings(max_examples=3000, deadline=None)
@given(st.lists(PIECES, max_size=30).map("".join))
def test_a_value_without_markup_characters_is_read_as_the_parser_reads_it(value):
	assert plain_text(value) == parsed(value)


def test_markup_goes_and_text_stays():
	assert plain_text("a > b") == "a > b"
	assert plain_text("<b>bold</b> &amp; plain") == "bold & plain"
	# decoded, an encoded tag could open: its "<" is dropped, nothing of it can run
	assert plain_text("&lt;script&gt;alert(1)&lt;/script&gt;") == "script>alert(1)/script>"
	assert plain_text(None) is None and plain_text("") == ""
