"""Imports point down only (docs/architecture.md §1): every module of the app has a place in LAYERS, bottom to top
(the layers in order, and within a layer its entries in the order listed), and imports only modules placed below
it. No Frappe needed: the imports are read with `ast` from the sources.

A new module gets a place in LAYERS (the test names the ones that have none). A constant or helper two modules
share lives below both: when this test says a module imports one of its own layer or above, move what it needs
down, do not move the module up."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "accumulating_billing"
APP = "accumulating_billing"
B = "billing."

# bottom to top: (layer, what it holds, its modules from the bottom up; "x.*" is every module below the package x)
LAYERS = [
	(
		"engine",
		"pure decisions: no Frappe",
		[
			*(
				f"engine.{name}"
				for name in (
					"errors",
					"_checks",
					"amounts",
					"schedule",
					"first_dates",
					"state",
					"unbilled",
					"tab_watch",
					"combining",
				)
			),
			"engine",
		],
	),
	(
		"base",
		"what every concern shares; imports only the engine",
		[
			"",  # the app package itself
			"doctypes",  # the app's DocType names and its Role: imports nothing
			"i18n",
			"billing",
			*(
				B + name
				for name in (
					"plain_text",
					"request_route",
					"state",
					"money",
					"json_rows",
					"by_names",
					"child_rows",
					"locks",
					"isolation",
					"payers",
					"item_status",
					"line_check",
					"generation_log",
					"app_settings",
					"schema",
					"jobs",
					"watch",
					"contacts",
					"notifications",
					"permissions",
					"web_form_guard",
					"document_guard",
					"onboarding",
					"dashboards",
					"sources.base",
					"demo.records",
					"demo.setup",
					"accrual_accounts",
				)
			),
		],
	),
	(
		"concerns",
		"one concern each, on the base: tab lines, templates, payments, the schedule's life, review, notices",
		[
			B + name
			for name in (
				"items",
				"assignment",
				"payments",
				"lifecycle",
				"review",
				"held_notices",
				"unbilled",
				"tab_view",
				"sources.delivery_notes",
				"sources.routing",
				"sources.timesheets",
			)
		],
	),
	(
		"documents",
		"the tab, the invoice and what goes out with it",
		[
			B + name
			for name in (
				"tab",
				"invoice",
				"email",
				"automations",
				"kickoff",
				"kickoff_confirm",
				"rules",
				"bulk_create",
				"accrual",
				"intake",
				"voiding",
				"portal",
				"sources.tab_items",
			)
		],
	),
	(
		"billing-day steps",
		"holding refused lines, what an invoice owes, the checks of settings, ERPNext's document events",
		[B + name for name in ("held", "owed", "settings_checks", "events")],
	),
	(
		"billing-day paths",
		"two-step billing, the preview, late fees, the sources' sync",
		[B + name for name in ("two_step", "preview", "late_fees", "sources.sync", "questions")],
	),
	(
		"the billing run",
		"one generator's occurrences; the sources' events and hand-made invoices",
		[B + name for name in ("generation", "sources.events", "sources.hand_billed")],
	),
	(
		"combined billing",
		"one invoice for the tabs of one payer: a run over several generators",
		[B + "combined"],
	),
	(
		"scheduler",
		"the hourly tick and the billing jobs; billing early at a threshold; the sources' facade",
		[B + "threshold", B + "tasks", B + "sources"],
	),
	("command line", "the CLI's billing commands", [B + "cli"]),
	(
		"entry points",
		"what Frappe calls: the API, hooks, install, the DocType controllers, pages, reports, web forms",
		[
			"api",
			"hooks",
			"install",
			"config",
			"accumulating_billing",
			"accumulating_billing.*",
			"www",
			"www.*",
			"templates",
			"templates.*",
		],
	),
	(
		"tools on the entry points",
		"the demo, which drives the app through its API as people would; patches",
		[B + "demo.build", B + "demo.remove", "patches", "patches.*"],
	),
	("commands", "the demo's command and the bench commands", [B + "demo", "commands"]),
]


def module_of(path: Path) -> str:
	"""`billing.tab` for accumulating_billing/billing/tab.py ('' for the package itself)."""
	parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
	if parts[-1] == "__init__":
		parts.pop()
	return ".".join(parts)


def app_modules() -> dict[str, Path]:
	"""Every module of the app but its tests (which may import anything of it)."""
	return {
		module_of(path): path
		for path in sorted(PACKAGE.rglob("*.py"))
		if not {"tests", "locale", "node_modules"} & set(path.relative_to(PACKAGE).parts)
		and not path.name.startswith("test_")
	}


def place_of(module: str) -> tuple[int, int] | None:
	"""(layer, entry) in LAYERS of the most specific entry naming `module`."""
	best = None
	for index, (_name, _what, patterns) in enumerate(LAYERS):
		for position, pattern in enumerate(patterns):
			if pattern == module:
				return index, position
			if pattern.endswith(".*") and module.startswith(pattern[:-1]):
				if best is None or len(pattern) > best[0]:
					best = (len(pattern), (index, position))
	return best[1] if best else None


def layer_name(module: str) -> str:
	return LAYERS[place_of(module)[0]][0]


def imported(path: Path, modules: dict) -> set[str]:
	"""The app modules `path` imports (anywhere in it: module level or inside a function)."""
	found = set()
	for node in ast.walk(without_type_checking(ast.parse(path.read_text(), str(path)))):
		if isinstance(node, ast.Import):
			names = [alias.name for alias in node.names]
		elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
			# `from P import x`: the module P.x when x is one, else P
			names = [
				f"{node.module}.{alias.name}"
				if app_module(f"{node.module}.{alias.name}") in modules
				else node.module
				for alias in node.names
			]
		else:
			continue
		found |= {app_module(name) for name in names if name == APP or name.startswith(APP + ".")}
	return found


def without_type_checking(tree: ast.Module) -> ast.Module:
	"""The module without its `if TYPE_CHECKING:` blocks (the controllers' generated annotations name the child
	table's controller only for type checkers: nothing is imported when the app runs)."""
	for node in ast.walk(tree):
		for field in ("body", "orelse"):
			block = getattr(node, field, None)
			if isinstance(block, list):
				block[:] = [
					child
					for child in block
					if not (
						isinstance(child, ast.If)
						and (getattr(child.test, "id", None) or getattr(child.test, "attr", None))
						== "TYPE_CHECKING"
					)
				]
	return tree


def app_module(name: str) -> str:
	return name[len(APP) + 1 :] if name.startswith(APP + ".") else ""


MODULES = app_modules()


def test_every_module_has_a_layer():
	unplaced = [module for module in MODULES if place_of(module) is None]
	assert not unplaced, f"give these modules a layer in LAYERS (tests/test_layers.py): {unplaced}"


def test_every_layer_entry_names_a_module():
	stale = [
		pattern
		for _name, _what, patterns in LAYERS
		for pattern in patterns
		if not (
			pattern in MODULES
			or (pattern.endswith(".*") and any(m.startswith(pattern[:-1]) for m in MODULES))
		)
	]
	assert not stale, f"LAYERS names modules that do not exist: {stale}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module):
	own = place_of(module)
	if own is None:
		pytest.skip("no layer: see test_every_module_has_a_layer")
	wrong = [
		f"{target} ({layer_name(target)})"
		for target in sorted(imported(MODULES[module], MODULES))
		if target.split(".")[0] != "tests" and target != module and place_of(target) >= own
	]
	assert not wrong, (
		f"{module} ({layer_name(module)}) imports what is placed at its level or above: {wrong}. "
		"Move what it needs below it."
	)


def test_no_app_module_imports_the_tests():
	offenders = sorted(
		module
		for module, path in MODULES.items()
		if any(t.split(".")[0] == "tests" for t in imported(path, MODULES))
	)
	assert not offenders, f"only tests may import accumulating_billing.tests: {offenders}"


def test_the_checker_sees_an_upward_import(tmp_path):
	"""The walk finds imports inside functions and `from package import module` (the check cannot pass blind)."""
	source = tmp_path / "probe.py"
	source.write_text(
		"def f():\n"
		"\tfrom accumulating_billing.billing import tasks\n"
		"\tfrom accumulating_billing.billing.generation import run_generator\n"
		"import accumulating_billing.api\n"
	)
	found = imported(source, MODULES)
	assert found == {"billing.tasks", "billing.generation", "api"}
	assert place_of("billing.tasks") > place_of("billing.generation") > place_of("billing.owed")
	assert place_of("billing.generation")[0] > place_of("billing.owed")[0]  # layers compare first
