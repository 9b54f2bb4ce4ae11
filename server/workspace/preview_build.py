"""The preview worker's builds: `bgk pack build` of a draft version, quick when
little changed since the last one.

A cold `bgk pack build` spends most of its time on what does not change while
an editor types: importing the libraries, the Thai and Lao dictionaries (~6 s
of trie building), reading the fonts' coverage, preparing every picture, and
cutting every page of every language into words. In the worker process these
are kept between builds:
  - the draft's files in a folder of their own, rewritten only where the
    version's blob changed (`sync`);
  - the word splitters per glossary, pictures per file (path, size, mtime),
    the tokens of each piece of text per (splitters, text, language), and each
    page file parsed (with its findings) per text;
  - subset fonts on disk (~/.cache/bgk/fonts, as `bgk pack build`).
The build itself is `server.packs.build.build_pack` unchanged: the output is
byte for byte the one `bgk pack build` writes (tests compare the PNGs).
"""

from __future__ import annotations

import shutil
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from kiosk.protocol.pack import Token
from server.packs import build, lint
from server.packs.findings import Findings
from server.packs.markup import ParsedPage, Span, parse_page
from server.packs.media import PreparedImage, prepare_image
from server.packs.segment import Segmenter, WordSplitter, lao_splitter, thai_splitter
from server.workspace.drafts import DraftStore

#: the edition date previews show (SOURCE_DATE_EPOCH=946684800): one date, so cacheable
EDITION = date(2000, 1, 1)
#: most remembered token lists and pictures (bounded memory)
MOST_TOKENS = 200_000
MOST_PICTURES = 2_000
MOST_PAGES = 5_000


class _Lru(OrderedDict[Any, Any]):
    def __init__(self, most: int) -> None:
        super().__init__()
        self.most = most

    def get_or(self, key: Any, make: Callable[[], Any]) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = make()
        if len(self) > self.most:
            self.popitem(last=False)
        return value


#: the word splitters of the last glossaries, each with its serial number
_splitters: OrderedDict[tuple[str, tuple[str, ...]], tuple[int, WordSplitter]] = OrderedDict()
_serial = [0]
#: splitter objects by serial number (the token memo's key names them by it)
_serial_of: dict[int, int] = {}
_tokens = _Lru(MOST_TOKENS)
_pictures = _Lru(MOST_PICTURES)
_pages = _Lru(MOST_PAGES)


def _splitter(kind: str, make: Callable[[Iterable[str]], WordSplitter]) -> Callable[..., Any]:
    def cached(glossary: Iterable[str]) -> WordSplitter:
        key = (kind, tuple(glossary))
        if key not in _splitters:
            _serial[0] += 1
            split = make(key[1])
            _splitters[key] = (_serial[0], split)
            _serial_of[id(split)] = _serial[0]
            for old in [k for k in _splitters if k[0] == kind][:-2]:  # two per language
                _serial_of.pop(id(_splitters.pop(old)[1]), None)
        _splitters.move_to_end(key)
        return _splitters[key][1]

    return cached


class _RememberingSegmenter(Segmenter):
    def tokens(self, spans: Sequence[Span], lang: str) -> tuple[Token, ...]:
        words = tuple(_serial_of.get(id(self.splitters.get(s)), -1) for s in ("Thai", "Laoo"))
        key = (words, tuple(spans), lang)
        result: tuple[Token, ...] = _tokens.get_or(key, lambda: super(
            _RememberingSegmenter, self).tokens(spans, lang))  # fmt: skip
        return result


def _parse(
    text: str, file: str, findings: Findings, *, join: str = " ",
    skip: frozenset[int] = frozenset(),
) -> ParsedPage:  # fmt: skip
    """parse_page, remembered with the findings it made (lint and build only read
    the parsed page)."""

    def make() -> tuple[ParsedPage, tuple[Any, ...]]:
        own = Findings()
        return parse_page(text, file, own, join=join, skip=skip), tuple(own.items)

    page, found = _pages.get_or((text, file, join, skip), make)
    for finding in found:
        findings.add(finding)
    result: ParsedPage = page
    return result


def _picture(path: Path) -> PreparedImage:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns, st.st_ino)
    result: PreparedImage = _pictures.get_or(key, lambda: prepare_image(path))
    return result


_installed = False


def install() -> None:
    """Keep the slow parts of a build between builds, in this process (the worker's:
    the splitters are only kept while their glossary stays the same, and the
    token memo is keyed by them, so no stale result can come back)."""
    global _installed
    if _installed:
        return
    memo: dict[str, Any] = {
        "thai_splitter": _splitter("th", thai_splitter),
        "lao_splitter": _splitter("lo", lao_splitter),
        "Segmenter": _RememberingSegmenter,
        "prepare_image": _picture,
        "PARALLEL_FROM": 1 << 30,  # remembered one by one; a pool would forget them
    }
    for name, value in memo.items():
        assert hasattr(build, name), name  # build.py renamed it: keep this list in step
        setattr(build, name, value)
    assert hasattr(lint, "parse_page")
    lint.parse_page = _parse
    _installed = True


def sync(
    drafts: DraftStore, pack: str, rev: str, folder: Path, had: Mapping[str, str]
) -> dict[str, str]:
    """Make `folder` hold version `rev` of `pack`, given that it holds `had`
    (path -> blob id; {} for an empty folder). Returns the new listing."""
    listing = drafts.listing(pack, rev)
    for rel in set(had) - set(listing):
        (folder / rel).unlink(missing_ok=True)
    for rel, blob_id in listing.items():
        if had.get(rel) == blob_id and (folder / rel).is_file():
            continue
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(drafts.blob(pack, blob_id))
        tmp.replace(target)
    for d in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
        if not any(d.iterdir()):
            d.rmdir()
    return listing


class Builds:
    """The built packs of the drafts previewed, under `work` (one source folder and
    the last two builds per pack: the drawer may still read the one before)."""

    def __init__(self, work: Path, font_cache: Path | None, video_cache: Path | None) -> None:
        self.work = work
        self.font_cache = font_cache
        self.video_cache = video_cache
        self.listings: dict[str, dict[str, str]] = {}
        self.built: dict[str, tuple[dict[str, str], Path]] = {}
        self.serial = 0

    def built_pack(self, drafts: DraftStore, pack: str, rev: str) -> Path:
        """The built pack of version `rev`: built again only when its files changed.
        PackSourceError (with findings) when the draft does not build."""
        src = self.work / pack / "src"
        had = self.listings.pop(pack, None)  # unknown until this sync completes
        if had is None:
            shutil.rmtree(src, ignore_errors=True)
            src.mkdir(parents=True)
            had = {}
        listing = self.listings[pack] = sync(drafts, pack, rev, src, had)
        done = self.built.get(pack)
        if done is not None and done[0] == listing and done[1].is_dir():
            return done[1]
        self.serial += 1
        out = self.work / pack / f"built-{self.serial}"
        build.build_pack(src, out, font_cache=self.font_cache, edition=EDITION,
                         video_cache=self.video_cache)  # fmt: skip
        self.built[pack] = (dict(listing), out)
        keep = {out, *([done[1]] if done else [])}
        for old in (self.work / pack).glob("built-*"):
            if old not in keep:
                shutil.rmtree(old, ignore_errors=True)
        return out
