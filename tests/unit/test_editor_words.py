"""The editor's sentences: every lint rule and every finding's sentence key in the
code has its words in Vietnamese and English, with the same values; findings,
upload refusals and preview failures read in the reader's language."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from server.packs.findings import Findings
from server.packs.markup import parse_page
from server.web.dashboard.ws_words import editor_words, error_text, finding_text
from server.web.i18n import Words
from server.words.en import EN
from server.words.vi import VI
from server.workspace.uploads import UploadRefused, accept_picture

REPO = Path(__file__).resolve().parents[2]
SOURCES = [*(REPO / "server" / "packs").glob("*.py"), *(REPO / "server" / "workspace").glob("*.py")]


def _uses() -> tuple[set[str], dict[str, set[str]], dict[str, set[str]]]:
    """The rules, the finding keys (with their values' names) and the refusal codes
    (with theirs) the code uses."""
    rules: set[str] = set()
    keys: dict[str, set[str]] = {}
    codes: dict[str, set[str]] = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
                node.func, "id", "")  # fmt: skip
            consts = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
            values = {k.arg for k in node.keywords if k.arg}
            if name in ("error", "warning") and len(consts) >= 4 and isinstance(consts[2], str):
                rules.add(consts[2])
                if len(consts) >= 5 and isinstance(consts[4], str) and consts[4]:
                    keys[consts[4]] = values
            elif name == "error" and len(consts) == 2 and isinstance(consts[1], str):
                keys[consts[1]] = values  # markup's error(message, key)
            elif name == "UploadRefused" and len(consts) >= 2 and isinstance(consts[1], str):
                codes[consts[1]] = values
    return rules, keys, codes


def _names(text: str) -> set[str]:
    """The values a sentence asks for: {name}, but not a {{name}} it shows as such."""
    return {n for n in re.findall(r"\{([a-z]+)\}", text) if "{{" + n + "}}" not in text
            or "{{{" + n + "}}}" in text}  # fmt: skip


def test_every_rule_key_and_code_has_its_words_in_both_languages() -> None:
    rules, keys, codes = _uses()
    assert len(rules) >= 15 and len(keys) >= 25 and len(codes) >= 3
    for table in (VI, EN):
        assert not [r for r in rules if f"lint.rule.{r}" not in table]
        for key, values in keys.items():
            assert f"lint.msg.{key}" in table, key
            assert _names(table[f"lint.msg.{key}"]) == values, key
        for code, values in codes.items():
            words = table[f"ws.err.{code}"]
            assert _names(words) <= values | {"found"}, code
    preview_codes = {"preview-build", "preview-draw", "preview-crashed", "preview-timeout"}
    for code in preview_codes | {"conflict", "lint-refused", "upload-too-big", "upload-pixels"}:
        assert f"ws.err.{code}" in VI and f"ws.err.{code}" in EN


def test_a_finding_reads_in_vietnamese_or_english_and_keeps_its_codes() -> None:
    findings = Findings()
    parse_page("Không tiêu đề\n\nChữ **đậm\n", "pages/a/vi.md", findings, join=" ")
    by_key = {f.key: f for f in findings.items}
    assert set(by_key) == {"title", "bold-open"}
    assert finding_text(Words("vi"), by_key["bold-open"]) == "Chữ đậm '**' chưa được đóng."
    assert finding_text(Words("en"), by_key["bold-open"]) == "Bold '**' is not closed."
    f = by_key["title"].as_dict()
    assert f["rule"] == "markup" and f["key"] == "title" and f["args"] == {}
    assert f["message"] == "the first line must be the title: '# Title'"  # the CLI's, English
    # a finding without a sentence of its own: the rule's, with the English detail
    bare = {"rule": "encoding", "key": "", "args": {}, "message": "is not UTF-8 (byte 3)"}
    assert finding_text(Words("vi"), bare) == (
        "Tệp không phải UTF-8: lưu lại dưới dạng UTF-8. (chi tiết: is not UTF-8 (byte 3))"
    )
    # values are filled, and braces a sentence shows stay
    odd = {"rule": "placeholder", "key": "unknown-placeholder", "message": "",
           "args": {"name": "gio", "known": "{{pack.version}}"}}  # fmt: skip
    assert finding_text(Words("vi"), odd) == (
        "Không có chỗ điền tự động {{gio}}: dùng một trong {{pack.version}}."
    )


@pytest.mark.parametrize(
    ("name", "data", "code", "vi"),
    [
        ("anh.jpg", b"<html><script>x()</script>", "upload-not-picture",
         "Tệp anh.jpg là văn bản HTML hoặc XML, không phải hình PNG hoặc JPEG. Chưa lưu gì."),
        ("Ảnh đẹp.png", b"\x89PNG\r\n\x1a\n", "upload-name", "Tên hình 'Ảnh đẹp.png' không dùng"),
    ],
)  # fmt: skip
def test_an_upload_refusal_reads_in_the_readers_language(
    name: str, data: bytes, code: str, vi: str
) -> None:
    with pytest.raises(UploadRefused) as caught:
        accept_picture(name, data)
    assert caught.value.code == code
    said = error_text(Words("vi"), caught.value.code, caught.value.args_, str(caught.value))
    assert said.startswith(vi)
    english = error_text(Words("en"), caught.value.code, caught.value.args_, str(caught.value))
    assert english != said and "Nothing was saved" in english


def test_the_editor_page_gets_every_sentence_its_script_needs() -> None:
    words = editor_words(Words("en"))
    assert words["ws.err.preview-crashed"].startswith("the page drawer stopped")
    assert all(k.startswith(("lint.", "ws.err.", "ws.finding_at", "ws.detail")) for k in words)
    script = (REPO / "server" / "web" / "static" / "workspace.js").read_text("utf-8")
    for key in re.findall(r'W\["([a-z_.-]+)"\]', script):
        assert key in words, key


def test_bgk_pack_lint_speaks_vietnamese_when_asked(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    pack = tmp_path / "mini"
    shutil.copytree(REPO / "tests" / "fixtures" / "packs" / "mini", pack)
    (pack / "pages" / "help" / "vi.md").write_text("# Trợ giúp\n\nChữ **đậm\n", "utf-8")
    cmd = [sys.executable, "-m", "kiosk.cli", "pack", "lint", str(pack)]
    vi = subprocess.run([*cmd, "--lang", "vi"], capture_output=True, text=True, timeout=120)
    assert vi.returncode == 1
    assert f"{pack}/pages/help/vi.md:3: error: Chữ đậm '**' chưa được đóng. [markup]" in vi.stdout
    assert vi.stderr.strip().endswith("không đạt: 1 lỗi, 0 cảnh báo")
    en = subprocess.run(cmd, capture_output=True, text=True, timeout=120)  # the default
    assert f"{pack}/pages/help/vi.md:3: error: '**' is not closed [markup]" in en.stdout
