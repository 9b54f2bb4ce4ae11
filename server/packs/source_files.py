"""The files of a pack's source folder, opened without trusting them
(server/packs/source.py reads the folder with these): a path is checked
before it is opened (no `..`, no absolute path, no symlink, nothing outside
the folder, no file over MAX_TEXT_BYTES); TOML keys are found by line for
findings that say where.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from kiosk.protocol.errors import ProtocolError
from kiosk.protocol.paths import check_pack_path, special_file
from server.packs.findings import Findings

MAX_TEXT_BYTES = 1024 * 1024


class TomlLines:
    """Line numbers of keys in pack.toml, for findings (tomllib gives none)."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.page_starts = [
            n for n, line in enumerate(self.lines, 1) if line.strip() == "[[pages]]"
        ]

    def _find(self, pattern: str, start: int = 1, end: int | None = None) -> int:
        rx = re.compile(pattern)
        stop = len(self.lines) if end is None else end
        for number in range(start, stop + 1):
            if rx.match(self.lines[number - 1]):
                return number
        return 0

    def key(self, key: str) -> int:
        """A top-level key (before the first table)."""
        first_table = self._find(r"^\s*\[") or len(self.lines)
        return self._find(rf"^\s*{re.escape(key)}\s*=", 1, first_table)

    def table(self, name: str) -> int:
        return self._find(rf"^\s*\[{re.escape(name)}\]\s*(#.*)?$")

    def page(self, index: int, key: str | None = None) -> int:
        """The index-th [[pages]] block's line for `key`, else its header line."""
        if index >= len(self.page_starts):
            return 0
        start = self.page_starts[index]
        end = self.page_starts[index + 1] - 1 if index + 1 < len(self.page_starts) else None
        if key is not None:
            found = self._find(rf"^\s*{re.escape(key)}\s*=", start, end)
            if found:
                return found
        return self._find(r"^\s*id\s*=", start, end) or start


def safe_file(root: Path, rel: str, findings: Findings, where: str, line: int) -> Path | None:
    """The file `rel` inside `root`, or None (with a finding) if the path is unsafe."""
    try:
        check_pack_path(rel)
    except ProtocolError:
        findings.error(
            where,
            line,
            "path",
            f"path {rel!r} must be relative, inside the pack, using only a-z 0-9 . _ - /",
        )
        return None
    path = root / rel
    current = root
    for part in rel.split("/"):
        current = current / part
        if current.is_symlink():
            findings.error(where, line, "path", f"{rel!r} goes through a symlink; copy the file in")
            return None
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        findings.error(where, line, "path", f"{rel!r} leads outside the pack folder")
        return None
    try:
        kind = special_file(path.lstat().st_mode)
    except FileNotFoundError:
        findings.error(where, line, "missing-file", f"{rel!r} does not exist")
        return None
    if kind is not None:
        findings.error(
            where, line, "path", f"{rel!r} is {kind}, not a regular file; copy a real file in"
        )
        return None
    return path


def read_text(path: Path, rel: str, findings: Findings) -> str | None:
    size = path.stat().st_size
    if size > MAX_TEXT_BYTES:
        findings.error(rel, 0, "oversize", f"is {size} bytes; text files may be at most 1 MB")
        return None
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        findings.error(rel, 0, "encoding", f"is not UTF-8 (byte {exc.start}); save it as UTF-8")
        return None
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n")
    for number, line in enumerate(text.split("\n"), start=1):
        if unicodedata.normalize("NFC", line) != line:
            findings.error(
                rel, number, "nfc", "text is not Unicode NFC: retype or normalise this line", "nfc"
            )
    return text


def scan_links(root: Path, findings: Findings) -> None:
    """Every symlink in the pack folder is an error: a pack is copied file by file."""
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(base) / name
            if path.is_symlink():
                rel = path.relative_to(root).as_posix()
                findings.error(
                    rel, 0, "path", "symlinks are not allowed in a pack; copy the file in"
                )
