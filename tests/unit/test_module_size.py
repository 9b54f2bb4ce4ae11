"""Small modules: no module of kiosk or server over 400 lines (ARCHITECTURE.md)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 400
#: the word tables are data, not code: one file per language, so that a translator
#: edits two files (issue 12), however many words the server has
TABLES = ("server/words/",)


def test_no_module_over_400_lines() -> None:
    over = {}
    for part in ("kiosk", "server"):
        for path in sorted((ROOT / part).rglob("*.py")):
            lines = len(path.read_text().splitlines())
            name = path.relative_to(ROOT).as_posix()
            if name.startswith(TABLES):
                continue
            if lines > LIMIT:
                over[name] = lines
    assert not over, f"modules over {LIMIT} lines: split them by concern: {over}"
