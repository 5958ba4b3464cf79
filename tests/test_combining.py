"""Which tabs share an invoice (engine/combining.py, issue 28): same payer, same invoice settings, same due date;
the lead is the payer's own tab, else the first by name; a tab billed alone is told which settings differ."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from accumulating_billing.engine import Tab, differing, groups, lead, next_bills, separated

DAY = date(2026, 2, 1)
SETTINGS = (("company", "C"), ("currency", "USD"), ("taxes_and_charges", "VAT"), ("due_days", 10))


def tab(name, customer="child", payer="P", settings=SETTINGS, due=DAY):
	return Tab(name=name, customer=customer, payer=payer, settings=settings, due=due)


def with_setting(field, value):
	return tuple((f, value if f == field else v) for f, v in SETTINGS)


def test_tabs_of_one_payer_with_the_same_settings_are_one_group_in_name_order():
	tabs = [tab("ACG-3"), tab("ACG-1", customer="P"), tab("ACG-2")]
	assert [[t.name for t in g] for g in groups(tabs)] == [["ACG-1", "ACG-2", "ACG-3"]]


def test_a_tab_whose_settings_differ_is_a_group_of_its_own_and_told_why():
	odd = tab("ACG-2", settings=with_setting("taxes_and_charges", "GST"))
	tabs = [tab("ACG-1"), odd, tab("ACG-3")]
	assert [[t.name for t in g] for g in groups(tabs)] == [["ACG-1", "ACG-3"], ["ACG-2"]]
	assert separated(odd, tabs) == {"ACG-1": ["taxes_and_charges"], "ACG-3": ["taxes_and_charges"]}
	assert separated(tabs[0], tabs) == {"ACG-2": ["taxes_and_charges"]}


def test_tabs_agreeing_among_themselves_combine_in_two_invoices():
	gst = with_setting("taxes_and_charges", "GST")
	tabs = [tab("A"), tab("B", settings=gst), tab("C"), tab("D", settings=gst)]
	assert [[t.name for t in g] for g in groups(tabs)] == [["A", "C"], ["B", "D"]]


def test_another_payer_never_shares_an_invoice():
	a, b = tab("A"), tab("B", payer="Q")
	assert differing(a, b) == ["payer"]
	assert len(groups([a, b])) == 2
	assert separated(a, [a, b]) == {}  # another payer's tab is not "its payer's other tab"


def test_differing_names_every_setting_that_differs_and_one_missing_on_either_side():
	a = tab("A")
	b = tab("B", settings=(("company", "C"), ("currency", "EUR"), ("due_days", 30)))
	assert differing(a, b) == ["currency", "taxes_and_charges", "due_days"]
	assert differing(b, a) == ["currency", "due_days", "taxes_and_charges"]
	assert differing(a, tab("C")) == []


def test_the_lead_is_the_payers_own_tab_else_the_first_by_name():
	assert lead([tab("ACG-2"), tab("ACG-9", customer="P"), tab("ACG-1")]).name == "ACG-9"
	assert lead([tab("ACG-2"), tab("ACG-1")]).name == "ACG-1"


def test_next_bills_are_the_groups_due_on_the_earliest_date():
	later = DAY + timedelta(days=14)
	tabs = [tab("A", due=later), tab("B"), tab("C", due=None), tab("D"), tab("E", due=later)]
	day, bills = next_bills(tabs)
	assert day == DAY
	assert [[t.name for t in g] for g in bills] == [["B", "D"]]
	assert next_bills([tab("A", due=None)]) == (None, [])


names = st.sampled_from([f"ACG-{n:05d}" for n in range(1, 9)])
tabs_strategy = st.lists(
	st.builds(
		Tab,
		name=names,
		customer=st.sampled_from(["P", "c1", "c2"]),
		payer=st.sampled_from(["P", "Q"]),
		settings=st.sampled_from([SETTINGS, with_setting("due_days", 30), with_setting("currency", "EUR")]),
		due=st.one_of(st.none(), st.dates(DAY, DAY + timedelta(days=3))),
	),
	max_size=8,
	unique_by=lambda t: t.name,
)


@given(tabs_strategy)
def test_groups_are_a_partition_of_agreeing_tabs(tabs):
	result = groups(tabs)
	flat = [t for g in result for t in g]
	assert sorted(t.name for t in flat) == sorted(t.name for t in tabs)  # each tab exactly once
	for g in result:
		assert [t.name for t in g] == sorted(t.name for t in g)
		assert all(differing(g[0], t) == [] for t in g)  # a group agrees within
	firsts = [g[0] for g in result]
	assert [t.name for t in firsts] == sorted(t.name for t in firsts)
	for i, a in enumerate(firsts):  # two groups never agree (they would be one)
		assert all(differing(a, b) for b in firsts[i + 1 :])


@given(tabs_strategy)
def test_next_bills_bill_every_tab_due_on_the_day_once_and_nothing_else(tabs):
	day, bills = next_bills(tabs)
	due = [t for t in tabs if t.due is not None]
	if not due:
		assert (day, bills) == (None, [])
		return
	assert day == min(t.due for t in due)
	billed = sorted(t.name for g in bills for t in g)
	assert billed == sorted(t.name for t in due if t.due == day)
	for g in bills:
		assert lead(g) in g
		own = [t for t in g if t.customer == t.payer]
		assert lead(g).customer == lead(g).payer or not own


@given(tabs_strategy)
def test_a_tab_is_separated_from_exactly_the_tabs_of_its_payer_it_cannot_share_with(tabs):
	for a in tabs:
		reasons = separated(a, tabs)
		for b in tabs:
			if b.name == a.name or b.payer != a.payer:
				assert b.name not in reasons
			else:
				assert (b.name in reasons) == (a.key() != b.key())
