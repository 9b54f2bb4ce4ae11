"""Reading a pack's source folder (content_packs/<pack>/) without trusting it.

Every path named in the sources is checked before it is opened: no `..`,
no absolute paths, no symlinks anywhere in the folder, nothing outside it,
no file larger than the limits below. Problems become findings; what can
still be read is returned so that lint reports everything at once.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from kiosk.protocol.errors import UsageError
from kiosk.protocol.languages import LANGUAGES
from kiosk.protocol.pack import PACK_ID, PAGE_ID
from kiosk.protocol.paths import special_file
from server.packs.findings import Findings
from server.packs.slideshow import Slideshows
from server.packs.source_files import TomlLines, read_text, safe_file, scan_links
from server.packs.translation import source_language
from server.packs.videolint import read_videos
from server.publisher import Settings, parse_settings

PACK_TOML = "pack.toml"
PACK_KEYS = {
    "id",
    "version",
    "default_language",
    "languages",
    "title",
    "attract",
    "pages",
    "publisher",
    "site",
    "video",
    "videos",
    "source_language",
}
PAGE_KEYS = {"id", "parent", "icon", "valid_from", "valid_until"}


@dataclass
class PageSource:
    id: str
    parent: str | None
    icon: str | None
    valid_from: date | None
    valid_until: date | None
    #: line of the page's `id`
    line: int
    #: line of each key of the page's [[pages]] block
    key_lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key) or self.line


@dataclass
class PackSource:
    root: Path
    id: str = ""
    version: int = 0
    default_language: str = ""
    languages: list[str] = field(default_factory=list)
    title: dict[str, str] = field(default_factory=dict)
    attract: list[str] = field(default_factory=list)
    attract_line: int = 0
    pages: list[PageSource] = field(default_factory=list)
    #: page text per (page id, language), None when missing or unreadable
    texts: dict[tuple[str, str], str] = field(default_factory=dict)
    glossary: dict[str, list[str]] = field(default_factory=dict)
    #: [publisher] and [site] of pack.toml: the pack's own settings (server/publisher.py)
    settings: Settings = field(default_factory=lambda: Settings(None))
    #: [video] sound: keep the videos' sound tracks (kiosks are muted by default)
    video_sound: bool = False
    #: [[videos]]: videos the build draws from the pack's pictures (slideshow.py)
    slideshows: Slideshows = field(default_factory=Slideshows)
    #: the language translations are made from (server/packs/translation.py)
    source_language: str = ""

    def page_file(self, page_id: str, lang: str) -> str:
        return f"pages/{page_id}/{lang}.md"


def _date(
    value: Any, key: str, page_id: str, findings: Findings, key_lines: dict[str, int]
) -> date | None:
    if value is None:
        return None
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    findings.error(
        PACK_TOML,
        key_lines.get(key, 0),
        "validity",
        f"page {page_id!r}: {key} {value!r} is not a date; write YYYY-MM-DD",
    )
    return None


def load_source(root: Path, findings: Findings) -> PackSource:
    """Read pack.toml, page texts and glossaries; every problem becomes a finding."""
    src = PackSource(root=root)
    if not root.is_dir():
        findings.error(str(root), 0, "missing-file", "is not a folder: give the pack's folder")
        return src
    scan_links(root, findings)
    toml_path = root / PACK_TOML
    if toml_path.is_symlink():  # scan_links said so
        return src
    if not toml_path.exists():
        findings.error(PACK_TOML, 0, "missing-file", "missing: every pack needs a pack.toml")
        return src
    kind = special_file(toml_path.stat().st_mode)
    if kind is not None:
        findings.error(PACK_TOML, 0, "path", f"is {kind}, not a regular file: save it as a file")
        return src
    text = read_text(toml_path, PACK_TOML, findings)
    if text is None:
        return src
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        findings.error(PACK_TOML, getattr(exc, "lineno", 0), "toml", f"not valid TOML: {exc}")
        return src
    lines = TomlLines(text)
    for key in sorted(set(raw) - PACK_KEYS):
        findings.error(PACK_TOML, lines.key(key), "toml", f"unknown key {key!r}")
    _read_header(src, raw, lines, findings)
    try:
        src.settings = parse_settings(raw, PACK_TOML)
    except UsageError as exc:
        line = lines.table("publisher") or lines.table("site")
        findings.error(PACK_TOML, line, "toml", str(exc).removeprefix(f"{PACK_TOML}: "))
    _read_pages(src, raw, lines, findings)
    for page in src.pages:
        for lang in src.languages:
            rel = src.page_file(page.id, lang)
            if not (root / rel).exists() and not (root / rel).is_symlink():
                findings.error(
                    rel,
                    0,
                    "missing-translation",
                    f"page {page.id!r} has no {lang} text: write {rel}",
                    "no-text",
                    page=page.id,
                    lang=lang,
                )
                continue
            path = safe_file(root, rel, findings, rel, 0)
            if path is not None:
                page_text = read_text(path, rel, findings)
                if page_text is not None:
                    src.texts[(page.id, lang)] = page_text
    _check_stray_pages(src, findings)
    for lang in ("th", "lo"):
        rel = f"glossary/{lang}.txt"
        if (root / rel).exists():
            path = safe_file(root, rel, findings, rel, 0)
            words = read_text(path, rel, findings) if path else None
            if words is not None:
                src.glossary[lang] = [w.strip() for w in words.split("\n") if w.strip()]
    return src


def _read_header(
    src: PackSource, raw: dict[str, Any], lines: TomlLines, findings: Findings
) -> None:
    pack_id = raw.get("id")
    if not isinstance(pack_id, str) or not PACK_ID.match(pack_id):
        findings.error(
            PACK_TOML,
            lines.key("id"),
            "toml",
            'id must be lowercase letters, digits and dashes, e.g. id = "lao-bao"',
        )
    else:
        src.id = pack_id
    version = raw.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        findings.error(
            PACK_TOML,
            lines.key("version"),
            "toml",
            "version must be a whole number from 1, e.g. version = 3",
        )
    else:
        src.version = version
    languages = raw.get("languages")
    if not isinstance(languages, list) or not languages:
        findings.error(
            PACK_TOML,
            lines.key("languages"),
            "toml",
            f"languages must list some of {', '.join(LANGUAGES)}",
        )
        languages = []
    for lang in languages:
        if lang not in LANGUAGES:
            findings.error(
                PACK_TOML,
                lines.key("languages"),
                "toml",
                f"unknown language {lang!r}: use {', '.join(LANGUAGES)}",
            )
        elif lang in src.languages:
            findings.error(PACK_TOML, lines.key("languages"), "toml", f"{lang!r} is listed twice")
        else:
            src.languages.append(lang)
    default = raw.get("default_language")
    if default not in src.languages:
        findings.error(
            PACK_TOML,
            lines.key("default_language"),
            "toml",
            "default_language must be one of the pack's languages",
        )
    else:
        src.default_language = default
    declared = raw.get("source_language")
    if declared is not None and declared not in src.languages:
        findings.error(
            PACK_TOML,
            lines.key("source_language"),
            "toml",
            "source_language (the language translations are made from) must be one of "
            "the pack's languages",
        )
        declared = None
    src.source_language = source_language(src.languages, declared, src.default_language)
    title = raw.get("title")
    if not isinstance(title, dict):
        findings.error(
            PACK_TOML, 0, "missing-translation", "[title] with one line per language is missing"
        )
        title = {}
    for lang in src.languages:
        value = title.get(lang)
        if not isinstance(value, str) or not value.strip():
            findings.error(
                PACK_TOML,
                lines.table("title"),
                "missing-translation",
                f'the pack title has no {lang} text: add {lang} = "..." under [title]',
            )
        else:
            src.title[lang] = value.strip()
    for lang in sorted(set(title) - set(src.languages)):
        findings.warning(
            PACK_TOML,
            lines.table("title"),
            "toml",
            f"title in {lang!r}, which is not one of the pack's languages",
        )
    attract = raw.get("attract", [])
    if not isinstance(attract, list) or not all(isinstance(a, str) for a in attract):
        findings.error(
            PACK_TOML, lines.key("attract"), "toml", "attract must be a list of picture paths"
        )
        attract = []
    src.attract = list(attract)
    src.attract_line = lines.key("attract")
    read_videos(src, raw, lines, findings)


def _read_pages(src: PackSource, raw: dict[str, Any], lines: TomlLines, findings: Findings) -> None:
    pages = raw.get("pages")
    if not isinstance(pages, list) or not pages:
        findings.error(PACK_TOML, 0, "toml", "the pack has no pages: add [[pages]] blocks")
        return
    seen: set[str] = set()
    for index, entry in enumerate(pages):
        if not isinstance(entry, dict):
            findings.error(PACK_TOML, 0, "toml", "every [[pages]] entry must be a table")
            continue
        page_id = entry.get("id")
        line = lines.page(index)
        key_lines = {key: lines.page(index, key) for key in entry}
        if not isinstance(page_id, str) or not PAGE_ID.match(page_id):
            findings.error(
                PACK_TOML,
                line,
                "toml",
                f"page id {page_id!r} must be lowercase letters, digits and dashes",
            )
            continue
        if page_id in seen:
            findings.error(PACK_TOML, line, "toml", f"page id {page_id!r} is used twice")
            continue
        seen.add(page_id)
        for key in sorted(set(entry) - PAGE_KEYS):
            findings.error(
                PACK_TOML, key_lines[key], "toml", f"page {page_id!r}: unknown key {key!r}"
            )
        parent = entry.get("parent")
        icon = entry.get("icon")
        if parent is not None and not isinstance(parent, str):
            findings.error(
                PACK_TOML,
                key_lines["parent"],
                "toml",
                f"page {page_id!r}: parent must be a page id",
            )
            parent = None
        if icon is not None and not isinstance(icon, str):
            findings.error(
                PACK_TOML,
                key_lines["icon"],
                "toml",
                f"page {page_id!r}: icon must be a picture path",
            )
            icon = None
        start = _date(entry.get("valid_from"), "valid_from", page_id, findings, key_lines)
        end = _date(entry.get("valid_until"), "valid_until", page_id, findings, key_lines)
        if start and end and start > end:
            findings.error(
                PACK_TOML,
                key_lines.get("valid_from", line),
                "validity",
                f"page {page_id!r}: valid_from {start} is after valid_until {end}",
            )
        src.pages.append(PageSource(page_id, parent, icon, start, end, line, key_lines))
    ids = {p.id for p in src.pages}
    parents = {p.id: p.parent for p in src.pages}
    for page in src.pages:
        if page.parent is not None and page.parent not in ids:
            findings.error(
                PACK_TOML,
                page.line_of("parent"),
                "broken-link",
                f"page {page.id!r}: parent {page.parent!r} is not a page of the pack",
                "no-parent",
                page=page.id,
                parent=page.parent,
            )
            page.parent = None
    for page in src.pages:
        seen_chain: set[str] = set()
        current: str | None = page.id
        while current is not None:
            if current in seen_chain:
                findings.error(
                    PACK_TOML,
                    page.line_of("parent"),
                    "toml",
                    f"page {page.id!r}: parents form a loop",
                )
                page.parent = None
                break
            seen_chain.add(current)
            current = parents.get(current)


def _check_stray_pages(src: PackSource, findings: Findings) -> None:
    pages_dir = src.root / "pages"
    if not pages_dir.is_dir():
        return
    known = {p.id for p in src.pages}
    for child in sorted(pages_dir.iterdir()):
        if child.is_dir() and child.name not in known:
            findings.warning(
                f"pages/{child.name}",
                0,
                "unused",
                "folder is not a page of pack.toml: add a [[pages]] entry or remove it",
            )
        if child.is_dir() and child.name in known:
            for f in sorted(child.iterdir()):
                if f.suffix == ".md" and f.stem not in src.languages:
                    findings.warning(
                        f"pages/{child.name}/{f.name}",
                        0,
                        "unused",
                        "language is not in the pack's languages",
                    )
