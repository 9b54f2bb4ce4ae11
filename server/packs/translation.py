"""Translations that know which source paragraphs they were made from.

A page's translations are written from its source-language text (pack.toml's
`source_language`, Vietnamese by default). Each page folder may hold a
`translation.toml` that records, for each translated language, the hashes of
the source paragraphs the translation was made from:

    [en]
    source = "vi"
    paragraphs = ["4c1f0e9a2b7d3e11", "..."]

A *paragraph* is a block of the page: the title, a heading, a run of text
lines up to an empty line, one list item, one picture. Its hash is the first
16 hex digits of the SHA-256 of its lines with the surrounding spaces removed,
so rewrapping a line's end does not count as a change, rewording does.

When the source changes, the paragraphs whose hash the record does not hold
are the ones the translator must look at: `bgk pack lint` warns with the
translation's file and paragraph (rule `stale-translation`), the workspace
turns the page's cell "needs update" and highlights them. Recording the
current source again (`bgk pack translated`, or "mark done" in the
workspace) clears it. A page without a record is not judged (old packs build
and lint as before).

Everything here is pure: text in, results out; only `write_records` writes
(atomically: server/packs/fileio.py).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

from kiosk.common.files import atomic_write
from server.packs.findings import Findings

RECORD_FILE = "translation.toml"
HASH_LEN = 16
_HEX = re.compile(rf"^[0-9a-f]{{{HASH_LEN}}}$")
_ITEM = re.compile(r"^\s*(?:[-*]\s|\d+[.)]\s)")
_MAX_PARAGRAPHS = 5000


@dataclass(frozen=True)
class Paragraph:
    #: 1-based position in the page
    number: int
    #: 1-based line of its first line in the file
    line: int
    text: str
    hash: str


@dataclass(frozen=True)
class Record:
    """What a translation was made from."""

    source: str
    hashes: tuple[str, ...]


@dataclass(frozen=True)
class Change:
    """A source paragraph the translation has not caught up with."""

    kind: str  # "changed" | "added" | "removed"
    #: the source paragraph now (None for "removed")
    source: Paragraph | None
    #: the translation's paragraph at the same place, when there is one
    target: Paragraph | None


def paragraph_hash(text: str) -> str:
    norm = "\n".join(line.strip() for line in text.split("\n")).strip()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:HASH_LEN]


def paragraphs(text: str) -> list[Paragraph]:
    """The page's blocks in order: title, headings, paragraphs, list items, pictures."""
    out: list[Paragraph] = []
    block: list[str] = []
    start = 0

    def flush() -> None:
        if block:
            body = "\n".join(block)
            out.append(Paragraph(len(out) + 1, start, body, paragraph_hash(body)))
            block.clear()

    for number, raw in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            flush()
            continue
        alone = stripped.startswith("#") or stripped.startswith("![")
        if alone or _ITEM.match(line) or not block:
            flush()
            block.append(line)
            start = number
            if alone:
                flush()
        else:
            block.append(line)
    flush()
    return out[:_MAX_PARAGRAPHS]


def hashes_of(text: str) -> tuple[str, ...]:
    return tuple(p.hash for p in paragraphs(text))


def changes(record: Record, source_text: str, target_text: str | None = None) -> list[Change]:
    """The source paragraphs changed, added or removed since `record`, each with
    the translation's paragraph at the same place (when the translation has one)."""
    now = paragraphs(source_text)
    target = paragraphs(target_text) if target_text is not None else []
    aligned = len(target) == len(record.hashes)

    def at(old_index: int) -> Paragraph | None:
        if aligned and 0 <= old_index < len(target):
            return target[old_index]
        return None

    found: list[Change] = []
    matcher = SequenceMatcher(a=list(record.hashes), b=[p.hash for p in now], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for k, j in enumerate(range(j1, j2)):
            old = i1 + k if i1 + k < i2 else -1
            kind = "changed" if old >= 0 else "added"
            found.append(Change(kind, now[j], at(old)))
        for i in range(i1 + (j2 - j1), i2):
            found.append(Change("removed", None, at(i)))
    return found


# --- translation.toml -------------------------------------------------------------


def read_records(
    page_dir: Path, rel_dir: str, findings: Findings | None = None
) -> dict[str, Record]:
    """The records of a page folder ({} without translation.toml); a malformed
    file is an error finding and counts as no record."""
    path = page_dir / RECORD_FILE
    if not path.is_file() or path.is_symlink():
        return {}
    try:
        return parse_records(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        if findings is not None:
            findings.error(f"{rel_dir}/{RECORD_FILE}", 0, "toml", f"{exc}")
        return {}


def parse_records(text: str) -> dict[str, Record]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"not valid TOML: {exc}") from None
    records: dict[str, Record] = {}
    for lang, entry in raw.items():
        if not isinstance(entry, dict):
            raise ValueError(f"[{lang}] must be a table with source and paragraphs")
        source, hashes = entry.get("source"), entry.get("paragraphs")
        if not isinstance(source, str) or not isinstance(hashes, list):
            raise ValueError(f'[{lang}] needs source = "vi" and paragraphs = [...]')
        for h in hashes:
            if not isinstance(h, str) or not _HEX.match(h):
                raise ValueError(
                    f"[{lang}] paragraphs: {h!r} is not a paragraph hash "
                    f"({HASH_LEN} hex digits); rewrite it with `bgk pack translated`"
                )
        records[lang] = Record(source, tuple(hashes))
    return records


def format_records(records: dict[str, Record]) -> str:
    lines = [
        "# Which source paragraphs each translation of this page was made from",
        '# (content_packs/README.md, "Translations that fall behind").',
        "# Written by the workspace or `bgk pack translated`; checked by `bgk pack lint`.",
    ]
    for lang in sorted(records):
        rec = records[lang]
        lines += ["", f"[{lang}]", f'source = "{rec.source}"', "paragraphs = ["]
        lines += [f'  "{h}",' for h in rec.hashes]
        lines.append("]")
    return "\n".join(lines) + "\n"


def write_records(page_dir: Path, records: dict[str, Record]) -> None:
    """Replace the page's translation.toml atomically."""
    atomic_write(page_dir / RECORD_FILE, format_records(records).encode("utf-8"))


def source_language(languages: list[str], declared: str | None, default: str) -> str:
    """The language translations are made from: pack.toml's source_language, else
    Vietnamese when the pack has it, else its default language."""
    if declared:
        return declared
    return "vi" if "vi" in languages else default


def mark_translated(
    root: Path, page_id: str, langs: list[str], source_lang: str
) -> dict[str, Record]:
    """Record that the translations `langs` of a page follow its source as it is now."""
    page_dir = root / "pages" / page_id
    source = (page_dir / f"{source_lang}.md").read_text("utf-8")
    records = read_records(page_dir, f"pages/{page_id}")
    for lang in langs:
        if lang != source_lang:
            records[lang] = Record(source_lang, hashes_of(source))
    write_records(page_dir, records)
    return records
