"""Translations that fall behind their source: the `stale-translation` lint rule and
`bgk pack translated`, on the `tracked` fixture pack (the mini pack with records)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from server.packs.build import build_pack
from server.packs.lint import lint_pack
from server.packs.translation import (
    Record,
    changes,
    hashes_of,
    paragraphs,
    parse_records,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "packs"


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    dst = tmp_path / "pack"
    shutil.copytree(FIXTURES / "tracked", dst)
    return dst


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def stale(pack: Path) -> list[tuple[str, int, str]]:
    result = lint_pack(pack)
    assert result.ok, result.findings.sorted()
    return [(f.file, f.line, f.message) for f in result.findings.sorted()
            if f.rule == "stale-translation"]  # fmt: skip


def test_paragraphs_are_title_headings_text_blocks_items_and_pictures() -> None:
    text = "# Title\n\nOne line\nwrapped here.\n## Part\n- a\n- b\n1. c\n\n![x](media/a.png)\nend\n"
    got = [(p.number, p.line, p.text) for p in paragraphs(text)]
    assert got == [
        (1, 1, "# Title"),
        (2, 3, "One line\nwrapped here."),
        (3, 5, "## Part"),
        (4, 6, "- a"),
        (5, 7, "- b"),
        (6, 8, "1. c"),
        (7, 10, "![x](media/a.png)"),
        (8, 11, "end"),
    ]
    # trailing spaces and indentation do not make a paragraph "changed"; words do
    assert hashes_of("# Title\n\nOne line  \n  wrapped here.") == hashes_of(text)[:2]
    assert hashes_of("# Title\n\nOne line\nwrapped there.")[1] != hashes_of(text)[1]


def test_a_pack_whose_translations_follow_the_source_is_clean(pack: Path) -> None:
    assert stale(pack) == []


def test_old_packs_without_records_lint_and_build_as_before(tmp_path: Path) -> None:
    mini = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", mini)
    edit(mini / "pages/welcome/vi.md", "Gọi 113", "Gọi số 113")
    assert stale(mini) == []
    out = build_pack(mini, tmp_path / "out", font_cache=None)
    assert out.manifest.id == "mini"


def test_a_changed_source_paragraph_makes_every_translation_stale_there(pack: Path) -> None:
    edit(pack / "pages/welcome/vi.md", "Gọi 115 khi cần cấp cứu", "Gọi 115 khi cần xe cứu thương")
    found = stale(pack)
    # paragraph 4 of vi.md (line 6) changed: one warning per translation, at the
    # translation's own paragraph 4 (line 6 in each of them)
    assert [(f, line) for f, line, _ in found] == [
        (f"pages/welcome/{lang}.md", 6) for lang in ("en", "lo", "th", "zh")
    ]
    assert all("source paragraph 4 (pages/welcome/vi.md:6) changed" in m for _, _, m in found)
    assert all("Gọi 115 khi cần xe cứu thương" in m for _, _, m in found)
    assert all("bgk pack translated" in m for _, _, m in found)


def test_added_and_removed_source_paragraphs_are_reported(pack: Path) -> None:
    edit(pack / "pages/welcome/vi.md", "- Gọi 113 khi cần công an\n", "")
    edit(pack / "pages/welcome/vi.md", "![Bản đồ]", "Mới: hỏi cán bộ.\n\n![Bản đồ]")
    messages = [m for f, _, m in stale(pack) if f == "pages/welcome/en.md"]
    assert len(messages) == 2, messages
    assert any("paragraph 3 was removed from the source" in m for m in messages)
    assert any("source paragraph 4 (pages/welcome/vi.md:7) is new" in m for m in messages)


def test_only_the_page_that_changed_is_stale(pack: Path) -> None:
    edit(pack / "pages/help/vi.md", "\n", "\n\nMột đoạn mới.\n")
    assert {f.split("/")[1] for f, _, _ in stale(pack)} == {"help"}


def test_recording_the_translation_clears_it_for_that_language_only(pack: Path) -> None:
    edit(pack / "pages/welcome/vi.md", "Gọi 113 khi cần công an", "Gọi 113: công an")
    subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "pack", "translated", str(pack),
         "--page", "welcome", "--lang", "en"],
        check=True, capture_output=True,
    )  # fmt: skip
    assert [f for f, _, _ in stale(pack)] == [
        f"pages/welcome/{lang}.md" for lang in ("lo", "th", "zh")
    ]


def test_reverting_the_source_clears_the_warning(pack: Path) -> None:
    vi = pack / "pages/welcome/vi.md"
    before = vi.read_text(encoding="utf-8")
    edit(vi, "Chào mừng quý khách", "Kính chào quý khách")
    assert stale(pack)
    vi.write_text(before, encoding="utf-8")
    assert stale(pack) == []


def test_source_language_is_per_pack(pack: Path) -> None:
    edit(
        pack / "pack.toml",
        'default_language = "vi"',
        'default_language = "vi"\nsource_language = "en"',
    )
    found = stale(pack)
    # every record says "made from vi": each translation is flagged once per page; vi
    # (now a translation) has no record, and so is not judged
    assert sorted(f for f, _, _ in found) == sorted(
        f"pages/{page}/{lang}.md" for page in ("help", "welcome") for lang in ("lo", "th", "zh")
    )
    assert all("the pack's source language is en" in m for _, _, m in found)


def test_a_damaged_record_is_a_lint_error_with_its_file(pack: Path) -> None:
    edit(pack / "pages/welcome/translation.toml", '"45fb3acc46f1fd6e"', '"not-a-hash"')
    result = lint_pack(pack)
    errors = [(f.file, f.rule) for f in result.findings.errors]
    assert errors == [("pages/welcome/translation.toml", "toml")]
    assert "bgk pack translated" in result.findings.errors[0].message


def test_changes_map_to_the_translation_only_when_it_has_the_same_paragraphs() -> None:
    source = "# T\n\nA\n\nB\n"
    record = Record("vi", hashes_of(source))
    same_shape = changes(record, "# T\n\nA2\n\nB\n", "# T\n\na\n\nb\n")
    assert [(c.kind, c.source.number if c.source else 0, c.target.line if c.target else 0)
            for c in same_shape] == [("changed", 2, 3)]  # fmt: skip
    other_shape = changes(record, "# T\n\nA2\n\nB\n", "# T\n\na b\n")
    assert other_shape[0].target is None


def test_parse_records_refuses_what_it_does_not_understand() -> None:
    with pytest.raises(ValueError, match="source"):
        parse_records("[en]\nparagraphs = []\n")
    with pytest.raises(ValueError, match="TOML"):
        parse_records("[en\n")
    assert parse_records("") == {}
