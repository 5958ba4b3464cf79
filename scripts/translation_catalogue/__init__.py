"""The app's translation catalogue, checked without a bench: one module per concern, behind the command
`scripts/translations.py` (README: Translations).

- `extract`: the messages of the sources, extracted as `bench generate-pot-file` does; `locale/main.pot`;
- `po`: the catalogues (main.pot and each locale/<lang>.po): their checks, and keeping them complete;
- `unwrapped`: strings a person reads that the sources left unwrapped for translation.
"""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
APP = "accumulating_billing"
SKIP_MARK = "i18n: not shown to people"


def locale_dir(repo: Path) -> Path:
	return repo / APP / "locale"
