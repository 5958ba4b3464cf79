"""The shape of the repository stays what the README and the brief say (no Frappe needed):

- no source file (.py, .js) is over 500 lines;
- no test module imports another test module: shared bases and helpers live in non-test modules
  (accumulating_billing/tests/base.py, utils.py, faults/, ...);
- every file or folder of the repository the README names exists where it says.

Each check is a function over plain text, tested here on an example that must fail, so none of them can pass by
finding nothing."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "accumulating_billing"
SOURCE_DIRS = ("accumulating_billing", "benchmarks", "scripts", "browser_tests", "tests")
MAX_LINES = 500
# README paths relative to the package (`billing/line_check.py`) or to billing/ (the module table: `sources/`)
PATH_BASES = (PACKAGE, PACKAGE / "billing")
CHECKED_PATH = re.compile(r"\.(py|js|sh|md)$|/$")


def source_files() -> list[Path]:
	return sorted(
		path
		for folder in SOURCE_DIRS
		for pattern in ("*.py", "*.js")
		for path in (ROOT / folder).rglob(pattern)
		if "node_modules" not in path.parts
	)


def too_long(paths: list[Path], limit: int = MAX_LINES) -> dict[str, int]:
	"""{path: lines} of the files over `limit` lines."""
	lines = {str(path.relative_to(ROOT)): len(path.read_text().splitlines()) for path in paths}
	return {path: count for path, count in lines.items() if count > limit}


def find_test_modules() -> list[Path]:
	return sorted(path for path in ROOT.rglob("test_*.py") if "node_modules" not in path.parts)


def module_name(path: Path) -> str:
	return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def imported_modules(source: str, package: str) -> set[str]:
	"""Every module an import statement of `source` names (`from a import b`: a, and a.b when that is a module of
	the repository), relative ones resolved against `package` (the dotted package of the file)."""
	names = set()
	for node in ast.walk(ast.parse(source)):
		if isinstance(node, ast.Import):
			names.update(alias.name for alias in node.names)
		elif isinstance(node, ast.ImportFrom):
			base = node.module or ""
			if node.level:
				parts = package.split(".")
				parent = ".".join(parts[: len(parts) - node.level + 1])
				base = f"{parent}.{base}" if base else parent
			names.add(base)
			# `from a import b` imports the module a.b when there is one (else b is a name inside a)
			names.update(f"{base}.{alias.name}" for alias in node.names if is_module(f"{base}.{alias.name}"))
	return names


def is_module(name: str) -> bool:
	path = ROOT.joinpath(*name.split("."))
	return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imported_test_modules(source: str, package: str) -> set[str]:
	"""The repository's test modules (a last part test_*) that `source` imports (Frappe's are not ours: e.g.
	frappe.tests.test_api holds Frappe's API test base)."""
	return {
		name
		for name in imported_modules(source, package)
		if name.rsplit(".", 1)[-1].startswith("test_") and is_module(name)
	}


def readme_paths(text: str) -> set[str]:
	"""The repository paths the README names in backticks: files (.py, .js, .sh, .md) and folders (a trailing /);
	absolute paths, URLs, placeholders and paths outside the repository are not the repository's."""
	return {
		token
		for token in re.findall(r"`([^`\s]+)`", text)
		if "/" in token
		and CHECKED_PATH.search(token)
		and not token.startswith(("/", "..", "http"))
		and not any(c in token for c in "<>{}*?=:")
	}


def missing_paths(paths: set[str]) -> list[str]:
	"""The paths that do not exist. A path whose first folder is at the repository's root (tests/, scripts/ …)
	is read from the root only: `tests/x.py` is the engine tests' folder, not accumulating_billing/tests/."""
	missing = []
	for token in sorted(paths):
		first = token.split("/")[0]
		bases = (ROOT,) if (ROOT / first).exists() else PATH_BASES
		if not any((base / token).exists() for base in bases):
			missing.append(token)
	return missing


# ------------------------------------------------------------------------------------------ the checks


def test_no_source_file_over_500_lines():
	files = source_files()
	assert len(files) > 100, "the scan found the sources"
	assert too_long(files) == {}


def test_no_test_module_imports_another():
	found = {}
	modules = find_test_modules()
	assert any("doctype" in path.parts for path in modules), "the DocTypes' own tests are scanned"
	for path in modules:
		package = module_name(path).rsplit(".", 1)[0]
		imported = imported_test_modules(path.read_text(), package)
		if imported:
			found[module_name(path)] = sorted(imported)
	assert found == {}


def test_every_path_the_readme_names_exists():
	paths = readme_paths((ROOT / "README.md").read_text())
	assert len(paths) > 15, "the scan found the README's paths"
	assert missing_paths(paths) == []


# ------------------------------------------------------------------------------------------ the checks can fail


def test_too_long_finds_a_long_file():
	long_file = ROOT / "benchmarks" / "run.py"
	lines = len(long_file.read_text().splitlines())
	assert too_long([long_file], limit=lines - 1) == {"benchmarks/run.py": lines}
	assert too_long([long_file], limit=lines) == {}


def test_imports_of_test_modules_are_found():
	package = "accumulating_billing.tests"
	cases = {
		"from accumulating_billing.tests.test_generation import GenerationTestCase": {
			"accumulating_billing.tests.test_generation"
		},
		"from accumulating_billing.tests import test_two_step": {"accumulating_billing.tests.test_two_step"},
		"import accumulating_billing.tests.test_permissions as p": {
			"accumulating_billing.tests.test_permissions"
		},
		"from .test_lifecycle import helper": {"accumulating_billing.tests.test_lifecycle"},
		"from . import test_api": {"accumulating_billing.tests.test_api"},
		"from accumulating_billing.tests.base import GenerationTestCase": set(),
		"from accumulating_billing.tests.utils import make_generator, test_date": set(),
		"from frappe.tests.test_api import FrappeAPITestCase": set(),
	}
	for source, expected in cases.items():
		assert imported_test_modules(source, package) == expected, source


def test_missing_readme_paths_are_found():
	text = (
		"shared plumbing in `tests/faults.py`, `tests/test_kickoff.py`, `billing/no_such.py`, `sources/`, "
		"`billing/line_check.py`, `accumulating_billing/tests/faults/`, `tests/test_translations.py`, "
		"`/opt/frappe-bench/apps/erpnext`, `locale/<lang>.po`, `../outside.md`"
	)
	paths = readme_paths(text)
	assert paths == {
		"tests/faults.py",
		"tests/test_kickoff.py",
		"billing/no_such.py",
		"sources/",
		"billing/line_check.py",
		"accumulating_billing/tests/faults/",
		"tests/test_translations.py",
	}
	assert missing_paths(paths) == ["billing/no_such.py", "tests/faults.py", "tests/test_kickoff.py"]
