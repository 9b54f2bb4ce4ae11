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
  video                a video ffprobe cannot read, or outside the limits (container,
                       codec, duration, size); bad WebVTT captions (videolint.py)
  path                 a path that escapes the pack folder (.., absolute, symlink)
  validity             an invalid or empty validity window
  placeholder          an unknown {{placeholder}}, or one with no value to fill it
  oversize, encoding   text files too large or not UTF-8
  unused               (warning) files or folders nothing uses
  stale-translation    (warning) a translation made from source paragraphs that have
                       changed since (pages/<page>/translation.toml)
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
from server.packs.source_files import read_text, safe_file
from server.packs.translation import RECORD_FILE, Change, changes, read_records
from server.packs.videolint import PackVideos, check_outputs, check_video, is_caption_of
from server.packs.videoprobe import SUFFIXES as VIDEO_SUFFIXES
from server.packs.videoprobe import is_video
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
    #: the videos the pack uses (that passed their checks) and their captions
    videos: PackVideos = field(default_factory=PackVideos)

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
                    "expired",
                    page=page.id,
                    day=page.valid_until.strftime("%d/%m/%Y"),
                )
    _check_unused_media(result)
    _check_translations(src, findings)
    return result


def _check_translations(src: PackSource, findings: Findings) -> None:
    """Translations whose source paragraphs changed since they were made."""
    source = src.source_language
    for page in src.pages:
        rel_dir = f"pages/{page.id}"
        records = read_records(src.root / rel_dir, rel_dir, findings)
        source_text = src.texts.get((page.id, source))
        if source_text is None:
            continue
        for lang in sorted(records):
            if lang == source or lang not in src.languages:
                if lang not in src.languages:
                    findings.warning(f"{rel_dir}/{RECORD_FILE}", 0, "unused",
                                     f"[{lang}] is not one of the pack's languages")  # fmt: skip
                continue
            record = records[lang]
            if record.source != source:
                findings.warning(
                    src.page_file(page.id, lang), 0, "stale-translation",
                    f"was made from the {record.source} text, the pack's source language is "
                    f"{source}: check it, then `bgk pack translated` records it",
                    "other-source", made=record.source, source=source,
                )  # fmt: skip
                continue
            for change in changes(record, source_text, src.texts.get((page.id, lang))):
                findings.warning(
                    src.page_file(page.id, lang),
                    change.target.line if change.target else 0,
                    "stale-translation",
                    stale_message(change, src.page_file(page.id, source)),
                    stale_key(change),
                    **stale_args(change),
                )


def stale_key(change: Change) -> str:
    """The workspace's sentence for a stale paragraph (server/words lint.msg.*)."""
    if change.source is None:
        return "para-removed"
    return "para-changed" if change.kind == "changed" else "para-new"


def stale_args(change: Change) -> dict[str, object]:
    if change.source is None:
        return {"n": change.target.number if change.target else "?"}
    return {"n": change.source.number}


def stale_message(change: Change, source_file: str) -> str:
    fix = "update the translation, then `bgk pack translated` records it"
    if change.source is None:
        where = f"paragraph {change.target.number} " if change.target else "a paragraph "
        return f"{where}was removed from the source {source_file}: {fix}"
    p = change.source
    excerpt = p.text.replace("\n", " ")
    excerpt = excerpt if len(excerpt) <= 60 else excerpt[:57] + "..."
    verb = "changed" if change.kind == "changed" else "is new"
    return f"source paragraph {p.number} ({source_file}:{p.line}) {verb}: {excerpt!r}: {fix}"


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
                    "no-page",
                    page=target,
                )


def _use_image(result: LintResult, rel: str, where: str, line: int) -> None:
    """Check a picture the first time something names it (one finding per picture,
    however many pages use it); a named picture is never reported unused."""
    first = rel not in result.referenced
    result.referenced.setdefault(rel, []).append(f"{where}:{line}" if line else where)
    if not first:
        return
    show = result.source.slideshows.by_path.get(rel)
    if show is not None:
        if (result.source.root / rel).exists():
            result.findings.error(
                rel, 0, "video", "is also made by a [[videos]] slideshow: rename one of them"
            )
        for picture in show.pictures:
            _use_image(result, picture, PACK_TOML, show.line)
        check_video(result.source, rel, None, result.videos, result.findings, read_text)
        return
    path = safe_file(result.source.root, rel, result.findings, where, line)
    if path is None:
        return
    if is_video(rel):
        check_video(result.source, rel, path, result.videos, result.findings, read_text)
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
        if page.icon and is_video(page.icon):
            result.findings.error(
                PACK_TOML,
                page.line_of("icon"),
                "video",
                f"page {page.id!r}: an icon is a picture, not a video",
            )
        elif page.icon:
            _use_image(result, page.icon, PACK_TOML, page.line_of("icon"))
    for (page_id, lang), parsed in sorted(result.pages.items()):
        for rel, line in parsed.images:
            _use_image(result, rel, src.page_file(page_id, lang), line)
    for rel, show in sorted(src.slideshows.by_path.items()):
        if rel not in result.referenced:
            result.findings.warning(
                PACK_TOML, show.line, "unused", f"video {rel!r} is not used by any page"
            )
    check_outputs(result.videos, result.images, result.findings)


def _check_unused_media(result: LintResult) -> None:
    media = result.source.root / "media"
    if not media.is_dir():
        return
    for path in sorted(media.rglob("*")):
        if path.is_file() and not path.is_symlink():
            rel = path.relative_to(result.source.root).as_posix()
            suffix = path.suffix.lower()
            if rel not in result.referenced and suffix in (".png", ".jpg", ".jpeg"):
                result.findings.warning(rel, 0, "unused", "picture is not used by any page")
            elif rel not in result.referenced and suffix in VIDEO_SUFFIXES:
                result.findings.warning(rel, 0, "unused", "video is not used by any page")
            elif suffix == ".vtt" and not is_caption_of(
                rel, result.videos, result.source.languages
            ):
                result.findings.warning(
                    rel,
                    0,
                    "unused",
                    "captions of no video the pack uses (media/<video>.<lang>.vtt)",
                )


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
                        "other-script",
                        char=ch,
                        lang=lang,
                    )
                elif ord(ch) not in cov:
                    result.findings.error(
                        rel,
                        number,
                        "glyph",
                        f"the {script} font cannot draw {_describe(ch)}",
                        "no-glyph",
                        char=ch,
                    )

    for (page_id, lang), text in sorted(result.filled.items()):
        check(enumerate(text.split("\n"), start=1), lang, src.page_file(page_id, lang))
    for lang, title in src.title.items():
        check([(0, title)], lang, PACK_TOML)
    for vtt, lang, text in result.videos.caption_texts:
        check(enumerate(text.split("\n"), start=1), lang, vtt)


def _describe(ch: str) -> str:
    return f"{ch!r} (U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')})"
