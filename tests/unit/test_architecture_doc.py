"""ARCHITECTURE.md names real things: every path it gives exists, every test it says
guards an invariant is a test function of that file, and it stays within two pages."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "ARCHITECTURE.md").read_text()


def _tests_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def test_every_guarding_test_named_exists() -> None:
    named = 0
    for cell in re.findall(r"`(tests/[^`]+)`", DOC):
        for part in cell.split(", "):
            if "::" not in part:
                continue
            file, name = part.split("::")
            assert (ROOT / file).is_file(), f"ARCHITECTURE.md names a missing file {file}"
            assert name in _tests_of(ROOT / file), f"ARCHITECTURE.md names a missing test {part}"
            named += 1
    # "::name" alone continues the previous file in a table cell
    for row in re.findall(r"^\| [^|]+ \| (.+) \|$", DOC, re.M):
        current = None
        for ref in re.findall(r"`([^`]+)`", row):
            if ref.startswith("tests/"):
                current = ref.split("::")[0]
            elif ref.startswith("::"):
                assert current and ref[2:] in _tests_of(ROOT / current), ref
                named += 1
    assert named >= 15


def test_every_path_named_exists() -> None:
    for path in re.findall(r"`((?:kiosk|server|tests|bench|scripts|content_packs)/[^` :]*)`", DOC):
        assert (ROOT / path.rstrip("/")).exists(), f"ARCHITECTURE.md names a missing path {path}"


def test_a_newcomer_finds_where_a_heartbeat_is_stored_and_a_pack_verified() -> None:
    assert "**Where a heartbeat is stored:** `server/fleet/ingest.py`" in DOC
    assert "**Where a pack is verified:**" in DOC and "`kiosk/agent/tufclient.py`" in DOC
    assert len(DOC.splitlines()) <= 130  # two printed pages
