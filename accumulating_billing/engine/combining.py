"""Which tabs one invoice bills (issue 28): the tabs of one payer whose invoice settings agree, due on one date.

A tab is one generator's running tab; its payer is the customer its invoices are made out to (*Invoice To*, else
its own customer). Tabs that *combine* (each one asks to) go on one invoice when they have the same payer and the
same invoice settings (the ones an invoice has only one of: company, currency, taxes, terms, series, price list...),
and are due on the same date. These are decisions over plain values; billing/combined.py loads, locks and bills.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

__all__ = ["Tab", "differing", "groups", "lead", "next_bills", "separated"]


@dataclass(frozen=True)
class Tab:
	"""One tab as the combining decision sees it.

	`settings`: the invoice settings that must agree, as (field, value) pairs in a fixed order (the caller's);
	`due`: its next due occurrence (None: nothing due)."""

	name: str
	customer: str
	payer: str
	settings: tuple[tuple[str, object], ...] = ()
	due: date | None = None

	def key(self) -> tuple:
		"""What must be equal for two tabs to share an invoice."""
		return (self.payer, self.settings)


def differing(a: Tab, b: Tab) -> list[str]:
	"""The settings (their field names, in `a`'s order) in which two tabs disagree; `payer` when their payers
	differ. Empty when they may share an invoice."""
	fields = [] if a.payer == b.payer else ["payer"]
	theirs = dict(b.settings)
	fields += [field for field, value in a.settings if field not in theirs or theirs[field] != value]
	fields += [field for field, _value in b.settings if field not in dict(a.settings)]
	return fields


def groups(tabs: Iterable[Tab]) -> list[tuple[Tab, ...]]:
	"""The tabs that may share an invoice: the same payer and settings. Each group in name order; the groups in the
	order of their first tab's name. Every tab is in exactly one group (a tab that agrees with none is a group of
	one)."""
	by_key: dict[tuple, list[Tab]] = {}
	for tab in sorted(tabs, key=lambda t: t.name):
		by_key.setdefault(tab.key(), []).append(tab)
	return [tuple(members) for members in sorted(by_key.values(), key=lambda members: members[0].name)]


def lead(group: Iterable[Tab]) -> Tab:
	"""The tab a combined invoice is filed under (its generator field): the payer's own tab when one of them is,
	else the first by name. Deterministic, whatever the order given."""
	members = sorted(group, key=lambda t: (t.customer != t.payer, t.name))
	if not members:
		raise ValueError("a group has at least one tab")
	return members[0]


def next_bills(tabs: Iterable[Tab]) -> tuple[date | None, list[tuple[Tab, ...]]]:
	"""The earliest date any of `tabs` is due, and the groups of the tabs due on that date (as `groups` orders
	them): one invoice each. (None, []) when nothing is due."""
	due = [tab for tab in tabs if tab.due is not None]
	if not due:
		return None, []
	day = min(tab.due for tab in due)
	return day, groups(tab for tab in due if tab.due == day)


def separated(tab: Tab, others: Iterable[Tab]) -> dict[str, list[str]]:
	"""Why `tab` does not share an invoice with the tabs of its payer among `others`: {other tab: the settings that
	differ}, for each of those it disagrees with (the ones it agrees with are left out)."""
	reasons = {}
	for other in sorted(others, key=lambda t: t.name):
		if other.name == tab.name or other.payer != tab.payer:
			continue
		fields = differing(tab, other)
		if fields:
			reasons[other.name] = fields
	return reasons
