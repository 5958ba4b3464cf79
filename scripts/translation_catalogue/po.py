"""The catalogues: main.pot against the sources, every locale/<lang>.po against main.pot (complete, not fuzzy,
the same placeholders and tags), and keeping the .po files complete (update, missing, fill, Frappe's own words)."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from translation_catalogue import APP, REPO, locale_dir
from translation_catalogue.extract import extract


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
