"""The README's table of where each rule lives in `billing/` (*Development*) names modules that exist, and every
module of `billing/` (or its package) has a row: a renamed, moved or new module cannot leave the table behind."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BILLING = ROOT / "accumulating_billing" / "billing"
HEADING = "Where each rule lives in `billing/`"


def table_names() -> list[str]:
	"""The `name.py` and `package/` names of the module column of the table."""
	text = (ROOT / "README.md").read_text()
	assert HEADING in text, f"the README has no '{HEADING}' table"
	rows = []
	for line in text.split(HEADING, 1)[1].splitlines()[1:]:
		if line.startswith("|"):
			rows.append(line)
		elif rows:
			break  # the end of the table
	names = []
	for row in rows[2:]:  # after the header and its rule
		module_column = row.strip().strip("|").rsplit("|", 1)[-1]
		names += re.findall(r"`([A-Za-z_][A-Za-z0-9_]*(?:\.py|/))`", module_column)
	return names


def test_the_table_names_modules_that_exist():
	names = table_names()
	assert len(names) > 20, names  # the table was found and read
	missing = [name for name in names if not (BILLING / name.rstrip("/")).exists()]
	assert not missing, f"README's module table names modules that do not exist in billing/: {missing}"


def test_every_module_of_billing_has_a_row():
	named = set(table_names())
	modules = {
		f"{path.name}/" if path.is_dir() else path.name
		for path in BILLING.iterdir()
		if (path.suffix == ".py" and path.name != "__init__.py") or (path / "__init__.py").exists()
	}
	unnamed = sorted(modules - named)
	assert not unnamed, f"give these modules of billing/ a row in the README's module table: {unnamed}"
