"""`bgk pack lint`: every problem of a pack's sources, with file and line.

Rules (the `rule` of each finding):
  toml                 pack.toml is malformed, has unknown keys or bad values
  missing-file         a file named by the sources does not exist
  missing-translation  a page or title lacks a language of the pack
  markup               page text outside the supported Markdown subset
  broken-link          a link or parent names no page of the pack
  nfc                  text that is not Unicode NFC
  glyph                a character the language's font cannot draw
  image                unreadable, oversize or decompression-bomb picture
  path                 a path that escapes the pack folder (.., absolute, symlink)
  validity             an invalid or empty validity window
  placeholder          an unknown {{placeholder}}, or one with no value to fill it
  oversize, encoding   text files too large or not UTF-8
  unused               (warning) files or folders nothing uses
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from kiosk.protocol.languages import LANG_SCRIPT
from server.packs import fonts
from server.packs.errors import FontMissingError
from server.packs.findings import Findings
from server.packs.markup import ParsedPage, parse_page
from server.packs.media import MediaProblem, check_image
from server.packs.placeholders import Fill, fill_lines
from server.packs.segment import Segmenter
from server.packs.source import PACK_TOML, PackSource, load_source
from server.packs.source_files import safe_file
from server.publisher import Settings


@dataclass
class LintResult:
    source: PackSource
    findings: Findings
    #: parsed page per (page id, language)
    pages: dict[tuple[str, str], ParsedPage] = field(default_factory=dict)
    #: every picture the pack uses -> its file (pictures that passed their checks)
    images: dict[str, Path] = field(default_factory=dict)
    #: every picture the sources name -> where ("file:line"), good or not
    referenced: dict[str, list[str]] = field(default_factory=dict)
    #: the settings the placeholders were filled from (--settings, else pack.toml's)
    settings: Settings = field(default_factory=lambda: Settings(None))
    #: page text per (page id, language) with the placeholders filled
    filled: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings.errors


def lint_pack(
    root: Path,
    *,
    today: date | None = None,
    settings: Settings | None = None,
    edition: date | None = None,
    version: int | None = None,
) -> LintResult:
    """Every problem of the sources in `root`. `settings` replaces pack.toml's
    [publisher] and [site]; `edition` (default: `today`, else 1 January 2000)
    and `version` (default: pack.toml's) fill {{pack.…}}."""
    findings = Findings()
    src = load_source(root, findings)
    chosen = settings if settings is not None else src.settings
    result = LintResult(src, findings, settings=chosen)
    fill = Fill(chosen.publisher, edition or today or date(2000, 1, 1), version or src.version)
    for (page_id, lang), text in sorted(src.texts.items()):
        rel = src.page_file(page_id, lang)
        filled, dropped = fill_lines(text, lang, fill, rel, findings)
        result.filled[(page_id, lang)] = filled
        result.pages[(page_id, lang)] = parse_page(
            filled, rel, findings, join="" if lang == "zh" else " ", skip=frozenset(dropped)
        )
    _check_links(result)
    _check_images(result)
    _check_glyphs(result)
    if today is not None:
        for page in src.pages:
            if page.valid_until is not None and page.valid_until < today:
                findings.warning(
                    PACK_TOML,
                    page.line_of("valid_until"),
                    "validity",
                    f"page {page.id!r} expired on {page.valid_until}: it will not be shown",
                )
    _check_unused_media(result)
    return result


def _check_links(result: LintResult) -> None:
    ids = {p.id for p in result.source.pages}
    for (page_id, lang), parsed in result.pages.items():
        rel = result.source.page_file(page_id, lang)
        for target, line in parsed.links:
            if target not in ids:
                result.findings.error(
                    rel,
                    line,
                    "broken-link",
                    f"link to page {target!r}, which the pack does not have",
                )


def _use_image(result: LintResult, rel: str, where: str, line: int) -> None:
    """Check a picture the first time something names it (one finding per picture,
    however many pages use it); a named picture is never reported unused."""
    first = rel not in result.referenced
    result.referenced.setdefault(rel, []).append(f"{where}:{line}" if line else where)
    if not first:
        return
    path = safe_file(result.source.root, rel, result.findings, where, line)
    if path is None:
        return
    try:
        check_image(path)
    except MediaProblem as exc:
        result.findings.error(rel, 0, "image", f"picture {exc}")
        return
    result.images[rel] = path


def _check_images(result: LintResult) -> None:
    src = result.source
    for rel in src.attract:
        _use_image(result, rel, PACK_TOML, src.attract_line)
    for page in src.pages:
        if page.icon:
            _use_image(result, page.icon, PACK_TOML, page.line_of("icon"))
    for (page_id, lang), parsed in sorted(result.pages.items()):
        for rel, line in parsed.images:
            _use_image(result, rel, src.page_file(page_id, lang), line)


def _check_unused_media(result: LintResult) -> None:
    media = result.source.root / "media"
    if not media.is_dir():
        return
    for path in sorted(media.rglob("*")):
        if path.is_file() and not path.is_symlink():
            rel = path.relative_to(result.source.root).as_posix()
            if rel not in result.referenced and path.suffix.lower() in (".png", ".jpg", ".jpeg"):
                result.findings.warning(rel, 0, "unused", "picture is not used by any page")


def _check_glyphs(result: LintResult) -> None:
    src = result.source
    scripts = sorted({LANG_SCRIPT[lang] for lang in src.languages} | {"Latn"})
    try:
        coverage = {script: fonts.coverage(script) for script in scripts}
    except FontMissingError as exc:
        result.findings.error(PACK_TOML, 0, "glyph", str(exc))
        return
    segmenter = Segmenter(coverage, {})

    def check(lines: Iterable[tuple[int, str]], lang: str, rel: str) -> None:
        main = LANG_SCRIPT[lang]
        for number, line in lines:
            for ch in dict.fromkeys(line):
                script = segmenter.script_for(ch, main)
                cov = coverage.get(script)
                if cov is None:
                    result.findings.error(
                        rel,
                        number,
                        "glyph",
                        f"{_describe(ch)} is {script} text, which a {lang} page cannot draw",
                    )
                elif ord(ch) not in cov:
                    result.findings.error(
                        rel, number, "glyph", f"the {script} font cannot draw {_describe(ch)}"
                    )

    for (page_id, lang), text in sorted(result.filled.items()):
        check(enumerate(text.split("\n"), start=1), lang, src.page_file(page_id, lang))
    for lang, title in src.title.items():
        check([(0, title)], lang, PACK_TOML)


def _describe(ch: str) -> str:
    return f"{ch!r} (U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')})"
