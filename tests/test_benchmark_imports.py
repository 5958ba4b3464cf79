"""The benchmarks need a bench to run, but what they import from one another is checked here, without one: a
helper moved to another module (benchmarks/common.py, workers.py) must not leave a benchmark that fails to import."""

import ast
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def top_level_names(path: Path) -> set[str]:
	names = set()
	for node in ast.parse(path.read_text()).body:
		if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
			names.add(node.name)
		elif isinstance(node, ast.Assign):
			names.update(t.id for t in node.targets if isinstance(t, ast.Name))
		elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
			names.add(node.target.id)
		elif isinstance(node, ast.Import | ast.ImportFrom):
			names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
	return names


def test_every_name_a_benchmark_imports_from_another_is_defined_there():
	missing = []
	for path in sorted(BENCHMARKS.glob("*.py")):
		for node in ast.walk(ast.parse(path.read_text())):
			if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("benchmarks."):
				source = BENCHMARKS / f"{node.module.split('.', 1)[1]}.py"
				if not source.exists():
					missing.append(f"{path.name}: no module {node.module}")
					continue
				defined = top_level_names(source)
				missing += [
					f"{path.name}: {node.module}.{a.name}" for a in node.names if a.name not in defined
				]
	assert missing == []
