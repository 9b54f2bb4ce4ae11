"""The state of every page in every language of a draft version (the page grid).

    up-to-date    the translation's record holds every source paragraph as it is now
    needs-update  source paragraphs changed since the translation was made (which ones)
    missing       no text in this language
    lint-error    `bgk pack lint` finds an error in this file
    unchecked     a translation with no record of its source (an old pack): not judged
    source        the source-language text itself (no lint error)

Problems first: pages are ordered by their worst cell, then as in pack.toml.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date

from server.packs.lint import LintResult, lint_pack
from server.packs.translation import (
    RECORD_FILE,
    Change,
    Record,
    changes,
    format_records,
    hashes_of,
    read_records,
)
from server.workspace.drafts import DraftError, DraftStore

STATES = ("lint-error", "missing", "needs-update", "unchecked", "up-to-date", "source")
_RANK = {s: i for i, s in enumerate(STATES)}


@dataclass(frozen=True)
class Cell:
    page: str
    lang: str
    state: str
    #: lint errors of this file (messages with lines)
    errors: tuple[str, ...] = ()
    #: source paragraphs the translation has not caught up with
    stale: tuple[Change, ...] = ()


@dataclass
class Row:
    page: str
    title: str
    parent: str | None
    valid_from: date | None
    valid_until: date | None
    cells: list[Cell] = field(default_factory=list)

    @property
    def worst(self) -> int:
        return min((_RANK[c.state] for c in self.cells), default=len(STATES))


@dataclass
class Grid:
    version: str
    languages: list[str]
    source_language: str
    rows: list[Row]
    #: findings of the whole pack (pack.toml, media ...), for the page's top
    lint: LintResult

    def cell(self, page: str, lang: str) -> Cell:
        for row in self.rows:
            if row.page == page:
                for cell in row.cells:
                    if cell.lang == lang:
                        return cell
        raise KeyError((page, lang))

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        for row in self.rows:
            for cell in row.cells:
                out[cell.state] += 1
        return out


_cache: OrderedDict[tuple[str, str, date], Grid] = OrderedDict()
_cache_lock = threading.Lock()


def page_grid(drafts: DraftStore, pack: str, rev: str | None, today: date) -> Grid:
    """The grid of a version (default: the newest), cached per version and day."""
    version = rev or drafts.head(pack)
    key = (str(drafts.root / pack), version, today)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    grid = build_grid(lint_pack(drafts.checkout(pack, version), today=today), version)
    with _cache_lock:
        _cache[key] = grid
        while len(_cache) > 32:
            _cache.popitem(last=False)
    return grid


def build_grid(result: LintResult, version: str) -> Grid:
    src = result.source
    errors: dict[str, list[str]] = {}
    for f in result.findings.errors:
        errors.setdefault(f.file, []).append(f"{f.line}: {f.message}" if f.line else f.message)
    source = src.source_language
    rows: list[Row] = []
    for page in src.pages:
        title_text = src.texts.get((page.id, source)) or ""
        title = title_text.split("\n", 1)[0].removeprefix("#").strip() or page.id
        row = Row(page.id, title, page.parent, page.valid_from, page.valid_until)
        rel_dir = f"pages/{page.id}"
        records = read_records(src.root / rel_dir, rel_dir)
        for lang in src.languages:
            rel = src.page_file(page.id, lang)
            text = src.texts.get((page.id, lang))
            if rel in errors and text is not None:
                row.cells.append(Cell(page.id, lang, "lint-error", tuple(errors[rel])))
            elif text is None:
                row.cells.append(Cell(page.id, lang, "missing", tuple(errors.get(rel, ()))))
            elif lang == source:
                row.cells.append(Cell(page.id, lang, "source"))
            else:
                row.cells.append(_translation_cell(page.id, lang, records.get(lang),
                                                   src.texts.get((page.id, source)), text))  # fmt: skip
        rows.append(row)
    order = {row.page: i for i, row in enumerate(rows)}
    rows.sort(key=lambda r: (r.worst, order[r.page]))
    return Grid(version, list(src.languages), source, rows, result)


def _translation_cell(
    page: str, lang: str, record: Record | None, source_text: str | None, text: str
) -> Cell:
    if record is None or source_text is None:
        return Cell(page, lang, "unchecked")
    stale = changes(record, source_text, text)
    return Cell(page, lang, "needs-update" if stale else "up-to-date", stale=tuple(stale))


def mark_done(
    drafts: DraftStore, pack: str, page: str, lang: str, *, base: str, author: str, now: float
) -> str:
    """Record that the `lang` translation of `page` follows the source as it is in
    version `base` (what the translator saw); saved on top of the newest version."""
    root = drafts.checkout(pack, base)
    src = lint_pack(root).source
    if page not in {p.id for p in src.pages}:
        raise DraftError(f"the pack has no page {page!r}")
    if lang not in src.languages or lang == src.source_language:
        raise DraftError(f"{lang!r} is not a translated language of the pack")
    source_text = src.texts.get((page, src.source_language))
    if source_text is None:
        raise DraftError(f"page {page!r} has no {src.source_language} text to follow")
    rel_dir = f"pages/{page}"
    # the other languages' records as they are now (someone may have marked one meanwhile);
    # this one records the source the translator saw (version `base`)
    head = drafts.head(pack)
    records = read_records(drafts.checkout(pack, head) / rel_dir, rel_dir)
    records[lang] = Record(src.source_language, hashes_of(source_text))
    data = format_records(records).encode("utf-8")
    return drafts.save(
        pack,
        {f"{rel_dir}/{RECORD_FILE}": data},
        author=author,
        message=f"{lang} of {page}: translation follows the {src.source_language} text",
        base=head,
        now=now,
    )
