"""Each lint rule on a small broken pack: the mini fixture pack, copied and broken."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from server.packs.lint import lint_pack

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "mini"


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    dst = tmp_path / "pack"
    shutil.copytree(MINI, dst)
    return dst


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def png_claiming(width: int, height: int) -> bytes:
    """A tiny file whose PNG header claims width x height pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def errors_of(pack: Path) -> list[tuple[str, int, str, str]]:
    result = lint_pack(pack)
    return [(f.file, f.line, f.rule, f.message) for f in result.findings.errors]


def test_the_fixture_pack_is_clean(pack: Path) -> None:
    result = lint_pack(pack)
    assert result.ok and not result.findings.items


Breaker = Callable[[Path], None]

CASES: dict[str, tuple[Breaker, str, str, int | str, str]] = {
    # name: (how to break, file, rule, line or text on that line, words in the message)
    "missing translation": (
        lambda p: (p / "pages/help/lo.md").unlink(),
        "pages/help/lo.md",
        "missing-translation",
        0,
        "no lo text",
    ),
    "missing title language": (
        lambda p: edit(p / "pack.toml", 'th = "ชุดทดสอบ"\n', ""),
        "pack.toml",
        "missing-translation",
        "[title]",
        "no th text",
    ),
    "link to nothing": (
        lambda p: edit(p / "pages/welcome/en.md", "(page:help)", "(page:nowhere)"),
        "pages/welcome/en.md",
        "broken-link",
        3,
        "'nowhere'",
    ),
    "parent that does not exist": (
        lambda p: edit(p / "pack.toml", 'parent = "welcome"', 'parent = "ghost"'),
        "pack.toml",
        "broken-link",
        'parent = "ghost"',
        "'ghost'",
    ),
    "non-NFC text": (
        lambda p: edit(p / "pages/welcome/vi.md", "Chào mừng quý", "Cha\u0300o mừng quý"),
        "pages/welcome/vi.md",
        "nfc",
        3,
        "not Unicode NFC",
    ),
    "glyph the font lacks": (
        lambda p: edit(p / "pages/help/en.md", "counter.", "counter \U0001f600."),
        "pages/help/en.md",
        "glyph",
        3,
        "U+1F600",
    ),
    "script the pack has no font for": (
        lambda p: (
            edit(p / "pack.toml", '"lo", ', ""),
            edit(p / "pack.toml", 'lo = "ຊຸດທົດລອງ"\n', ""),
            edit(p / "pages/help/th.md", "เคาน์เตอร์", "ເຄົາເຕີ"),
        ),
        "pages/help/th.md",
        "glyph",
        3,
        "Laoo text",
    ),
    "unreadable image": (
        lambda p: (p / "media/dot.png").write_bytes(b"not a picture at all"),
        "media/dot.png",
        "image",
        0,
        "not a readable PNG",
    ),
    "image bomb (over Pillow's own limit)": (
        lambda p: (p / "media/dot.png").write_bytes(png_claiming(50_000, 50_000)),
        "media/dot.png",
        "image",
        0,
        "decompression bomb",
    ),
    "image over our pixel limit": (
        lambda p: (p / "media/dot.png").write_bytes(png_claiming(7_000, 7_000)),
        "media/dot.png",
        "image",
        0,
        "49 megapixels",
    ),
    "image too large a file": (
        lambda p: os.truncate(p / "media/dot.png", 21 * 1024 * 1024),
        "media/dot.png",
        "image",
        0,
        "at most 20 MB",
    ),
    "image path with ..": (
        lambda p: edit(p / "pages/welcome/en.md", "(media/dot.png)", "(../outside.png)"),
        "pages/welcome/en.md",
        "path",
        8,
        "inside the pack",
    ),
    "absolute image path": (
        lambda p: edit(p / "pack.toml", 'icon = "media/dot.png"', 'icon = "/etc/passwd"'),
        "pack.toml",
        "path",
        'icon = "/etc/passwd"',
        "must be relative",
    ),
    "symlink in the pack": (
        lambda p: (p / "media/link.png").symlink_to("/etc/hostname"),
        "media/link.png",
        "path",
        0,
        "symlinks are not allowed",
    ),
    "named pipe where a picture should be": (
        lambda p: ((p / "media/dot.png").unlink(), os.mkfifo(p / "media/dot.png")),
        "pack.toml",
        "path",
        '"media/dot.png"',
        "'media/dot.png' is a named pipe (FIFO), not a regular file",
    ),
    "pack.toml is a symlink": (
        lambda p: (
            shutil.move(p / "pack.toml", p.parent / "elsewhere.toml"),
            (p / "pack.toml").symlink_to(p.parent / "elsewhere.toml"),
        ),
        "pack.toml",
        "path",
        0,
        "symlinks are not allowed in a pack",
    ),
    "pack.toml is a named pipe": (
        lambda p: ((p / "pack.toml").unlink(), os.mkfifo(p / "pack.toml")),
        "pack.toml",
        "path",
        0,
        "is a named pipe (FIFO), not a regular file",
    ),
    "validity window backwards": (
        lambda p: edit(
            p / "pack.toml",
            'valid_from = "2020-01-01"',
            'valid_from = "2030-01-01"\nvalid_until = "2029-12-31"',
        ),
        "pack.toml",
        "validity",
        'valid_from = "2030',
        "after valid_until",
    ),
    "validity date unreadable": (
        lambda p: edit(p / "pack.toml", 'valid_from = "2020-01-01"', 'valid_from = "01/01/2020"'),
        "pack.toml",
        "validity",
        "valid_from",
        "YYYY-MM-DD",
    ),
    "unknown key (typo)": (
        lambda p: edit(p / "pack.toml", "default_language", "defualt_language"),
        "pack.toml",
        "toml",
        "defualt_language",
        "unknown key 'defualt_language'",
    ),
    "markup outside the subset": (
        lambda p: edit(p / "pages/help/en.md", "Ask the", "Ask *the*"),
        "pages/help/en.md",
        "markup",
        3,
        "italics",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_rule_reports_file_and_line(pack: Path, name: str) -> None:
    breaker, file, rule, line, words = CASES[name]
    breaker(pack)
    found = errors_of(pack)
    matching = [f for f in found if f[0] == file and f[2] == rule and words in f[3]]
    assert matching, f"no {rule} error on {file} with {words!r}; got {found}"
    if isinstance(line, str):
        text = (pack / file).read_text(encoding="utf-8").splitlines()
        line = next(n for n, t in enumerate(text, 1) if line in t)
    if line:
        assert matching[0][1] == line, matching


def test_expired_page_is_a_warning_not_an_error(pack: Path) -> None:
    from datetime import date

    edit(pack / "pack.toml", 'valid_from = "2020-01-01"', 'valid_until = "2021-01-01"')
    result = lint_pack(pack, today=date(2026, 11, 26))
    assert result.ok
    assert any(f.rule == "validity" and "expired" in f.message for f in result.findings.warnings)


def test_unused_media_and_stray_page_folders_are_warnings(pack: Path) -> None:
    shutil.copy(pack / "media/dot.png", pack / "media/spare.png")
    (pack / "pages/draft").mkdir()
    result = lint_pack(pack)
    assert result.ok
    rules = {(f.file, f.rule) for f in result.findings.warnings}
    assert ("media/spare.png", "unused") in rules and ("pages/draft", "unused") in rules


def test_cli_exit_status_and_json(pack: Path) -> None:
    bgk = [sys.executable, "-m", "kiosk.cli"]
    ok = subprocess.run([*bgk, "pack", "lint", str(pack)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    (pack / "pages/help/zh.md").unlink()
    edit(pack / "pages/welcome/en.md", "(page:help)", "(page:nowhere)")
    bad = subprocess.run(
        [*bgk, "pack", "lint", str(pack), "--json"], capture_output=True, text=True
    )
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert report["ok"] is False and report["errors"] == 2
    assert {f["rule"] for f in report["findings"]} == {"missing-translation", "broken-link"}
    text = subprocess.run([*bgk, "pack", "lint", str(pack)], capture_output=True, text=True)
    assert f"{pack}/pages/welcome/en.md:3: error:" in text.stdout
    assert "failed: 2 error(s)" in text.stderr


def test_missing_pack_folder_is_a_clear_error(tmp_path: Path) -> None:
    found = errors_of(tmp_path / "nope")
    assert found and "is not a folder" in found[0][3]


def test_a_huge_picture_named_in_many_places_is_one_clear_error(pack: Path) -> None:
    """A newcomer's 12000x12000 photo used as attract picture, icon and in a page:
    one error with the actual size, the limit and the fix; never 'unused'; the
    count is the number of errors listed."""
    (pack / "media/dot.png").write_bytes(png_claiming(12_000, 12_000))
    result = lint_pack(pack)
    assert [(f.file, f.rule) for f in result.findings.errors] == [("media/dot.png", "image")]
    message = result.findings.errors[0].message
    for words in ("12000x12000 pixels", "144 megapixels", "limit is 40 megapixels", "scale it"):
        assert words in message, message
    assert not [f for f in result.findings.warnings if f.rule == "unused"]
    run = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "pack", "lint", str(pack)],
        capture_output=True,
        text=True,
    )
    shown = [line for line in run.stdout.splitlines() if ": error: " in line]
    assert run.returncode == 1 and len(shown) == 1, run.stdout
    assert "failed: 1 error(s), 0 warning(s)" in run.stderr


def test_every_counted_error_is_listed(pack: Path) -> None:
    (pack / "media/dot.png").write_bytes(b"not a picture")
    (pack / "pages/help/zh.md").unlink()
    run = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "pack", "lint", str(pack), "--json"],
        capture_output=True,
        text=True,
    )
    report = json.loads(run.stdout)
    listed = [f for f in report["findings"] if f["level"] == "error"]
    assert report["errors"] == len(listed) == 2, report
