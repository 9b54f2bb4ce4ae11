"""A stored draft version built as a review will build it: exactly that version's
files, reproducibly (the same version gives the same manifest hash; another
version gives another)."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from server.workspace.archive import read_folder
from server.workspace.drafts import DraftStore
from server.workspace.freeze import build_version

TRACKED = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "tracked"


@pytest.mark.slow
@pytest.mark.timeout(900)  # three pack builds: minutes on a busy 2-core machine
def test_a_version_builds_reproducibly_from_exactly_its_files(
    tmp_path: Path, font_cache: Path
) -> None:
    drafts = DraftStore(tmp_path / "workspace")
    drafts.create("tracked")
    v1 = drafts.save("tracked", read_folder(TRACKED), author="a", message="import", base=None,
                     now=time.time(), replace_all=True)  # fmt: skip
    v2 = drafts.save("tracked", {"pages/welcome/en.md": b"# Welcome\n\nNew text.\n"},
                     author="b", message="edit", base=v1, now=time.time())  # fmt: skip
    day = date(2026, 12, 2)
    one = build_version(drafts, "tracked", v1, tmp_path / "one", edition=day, font_cache=font_cache)
    again = build_version(
        drafts, "tracked", v1, tmp_path / "again", edition=day, font_cache=font_cache
    )
    other = build_version(
        drafts, "tracked", v2, tmp_path / "other", edition=day, font_cache=font_cache
    )
    assert one.manifest_sha256 == again.manifest_sha256
    assert (one.built / "manifest.json").read_bytes() == (
        again.built / "manifest.json"
    ).read_bytes()
    assert other.manifest_sha256 != one.manifest_sha256
    assert (
        (one.source / "pages/welcome/en.md").read_text("utf-8").startswith("# Welcome\n\nWelcome")
    )
    assert (other.source / "pages/welcome/en.md").read_text("utf-8") == "# Welcome\n\nNew text.\n"
    assert one.commit == v1 and other.commit == v2
