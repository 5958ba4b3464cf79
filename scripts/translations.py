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

import json
import sys
from pathlib import Path

from translation_catalogue import REPO, locale_dir
from translation_catalogue.extract import extract, js_messages, write_pot
from translation_catalogue.po import (
	check_po,
	check_pot,
	fill,
	keys,
	languages,
	missing,
	placeholders,
	read_catalog,
	reference_translations,
	tags,
	update,
)
from translation_catalogue.unwrapped import scan_html, scan_js, scan_python, scan_sources

__all__ = [
	"REPO",
	"check_po",
	"check_pot",
	"extract",
	"fill",
	"js_messages",
	"languages",
	"locale_dir",
	"missing",
	"placeholders",
	"read_catalog",
	"scan_html",
	"scan_js",
	"scan_python",
	"scan_sources",
	"tags",
	"update",
	"write_pot",
]


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
