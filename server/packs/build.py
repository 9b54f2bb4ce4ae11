"""`bgk pack build`: sources -> manifest.json + blobs named by their SHA-256.

Reproducible: no timestamps, sorted keys and files, deterministic encoders
and font subsetting, so the same sources give a byte-identical manifest and
unchanged files keep their hashes between versions (a kiosk then downloads
only what changed).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from kiosk.protocol.languages import ENDONYMS, LANG_SCRIPT, SCRIPTS
from kiosk.protocol.pack import (
    BLOB_DIR,
    MANIFEST_NAME,
    MANIFEST_SCHEMA,
    PAGE_SCHEMA,
    Block,
    FileEntry,
    FontFiles,
    Heading,
    Image,
    ListBlock,
    Manifest,
    PageDoc,
    PageEntry,
    Paragraph,
    Strings,
    Token,
    plain_text,
)
from kiosk.protocol.ui_strings import UI_STRINGS
from server.packs import fonts, symbols
from server.packs.errors import OutputError, PackSourceError
from server.packs.fileio import swap_in_folder
from server.packs.lint import LintResult, lint_pack
from server.packs.markup import HeadingNode, ImageNode, ListNode, ParagraphNode, Span
from server.packs.media import MediaProblem, PreparedImage, prepare_image
from server.packs.qr import qr_files
from server.packs.segment import Segmenter, WordSplitter, lao_splitter, thai_splitter
from server.packs.videobuild import BuiltVideos, build_videos, video_block
from server.packs.videolint import output_path
from server.packs.videoprobe import is_video
from server.publisher import Settings


@dataclass(frozen=True)
class BuildResult:
    manifest: Manifest
    out: Path
    seconds: float

    @property
    def files(self) -> int:
        return len(self.manifest.files)

    @property
    def bytes(self) -> int:
        return self.manifest.total_bytes


def build_pack(
    root: Path,
    out: Path,
    *,
    version: int | None = None,
    today: date | None = None,
    font_cache: Path | None = None,
    settings: Settings | None = None,
    edition: date | None = None,
    video_cache: Path | None = None,
) -> BuildResult:
    """Lint, then build the pack in `root` into `out` (replaced atomically).

    `font_cache` keeps subset fonts between builds (see fonts.subset_font).
    `settings` (publisher, site URL) replace pack.toml's [publisher] and [site];
    `edition` is the edition date the pages show (default: `today`). With a
    site URL, every page in every language gets its QR code (qr.py).
    `video_cache` keeps transcoded videos between builds (transcode.py); by default
    they are kept beside the font cache (`<font_cache>/../videos`, the layout of
    ~/.cache/bgk), or not at all without one. VIDEO_CACHE_OFF turns it off.
    """
    started = time.monotonic()
    lint = lint_pack(root, today=today, settings=settings, edition=edition, version=version)
    if not lint.ok:
        errors = lint.findings.errors
        raise PackSourceError(
            f"{len(errors)} error(s) in {root}; first: {errors[0]} "
            f"(run `bgk pack lint {root}` for all)",
            lint.findings.sorted(),
        )
    if video_cache is None and font_cache is not None:
        video_cache = font_cache.parent / "videos"
    elif video_cache == VIDEO_CACHE_OFF:
        video_cache = None
    videos = build_videos(
        lint.videos,
        lint.source.languages,
        lint.images,
        sound=lint.source.video_sound,
        cache_dir=video_cache,
    )
    files, titles = _compile(lint, font_cache, videos)
    files |= qr_files(lint.source, lint.settings)
    files |= videos.files
    manifest = _manifest(lint, files, titles, version, videos)
    _write(out, manifest, files)
    return BuildResult(manifest, out, time.monotonic() - started)


#: `build_pack(video_cache=VIDEO_CACHE_OFF)`: transcode afresh even with a font cache
VIDEO_CACHE_OFF = Path("/nonexistent/bgk-no-video-cache")

#: prepare pictures in worker processes from this many on
PARALLEL_FROM = 8


def _prepare(path: Path) -> PreparedImage | str:
    try:
        return prepare_image(path)
    except MediaProblem as exc:
        return str(exc)


class _Compiler:
    def __init__(self, lint: LintResult, videos: BuiltVideos) -> None:
        self.lint = lint
        self.videos = videos
        src = lint.source
        self.scripts = sorted({LANG_SCRIPT[lang] for lang in src.languages} | {"Latn"})
        coverage = {script: fonts.coverage(script) for script in self.scripts}
        splitters: dict[str, WordSplitter] = {}
        if "Thai" in self.scripts:
            splitters["Thai"] = thai_splitter(src.glossary.get("th", []))
        if "Laoo" in self.scripts:
            splitters["Laoo"] = lao_splitter(src.glossary.get("lo", []))
        self.segmenter = Segmenter(coverage, splitters)
        self.images: dict[str, PreparedImage] = {}
        #: characters drawn per (script, bold)
        self.chars: dict[tuple[str, bool], set[int]] = {}

    def tokens(self, spans: Iterable[Span], lang: str, *, bold: bool = False) -> tuple[Token, ...]:
        toks = self.segmenter.tokens(tuple(spans), lang)
        for tok in toks:
            self.chars.setdefault((tok.s, tok.b or bold), set()).update(map(ord, tok.t))
        return toks

    def prepare_all(self, images: dict[str, Path]) -> None:
        """Prepare every picture up front, on all cores when there are many."""
        todo = sorted(images)
        if len(todo) < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
            return
        with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
            futures = {rel: pool.submit(_prepare, images[rel]) for rel in todo}
            for rel, future in futures.items():
                result = future.result()
                if isinstance(result, str):
                    raise PackSourceError(f"{rel}: picture {result}")
                self.images[rel] = result

    def image(self, rel: str) -> PreparedImage:
        if rel not in self.images:
            try:
                self.images[rel] = prepare_image(self.lint.images[rel])
            except MediaProblem as exc:
                raise PackSourceError(f"{rel}: picture {exc}") from None
        return self.images[rel]

    def block(self, node: HeadingNode | ParagraphNode | ListNode | ImageNode, lang: str) -> Block:
        if isinstance(node, HeadingNode):
            return Heading(level=node.level, text=self.tokens(node.spans, lang, bold=True))
        if isinstance(node, ParagraphNode):
            return Paragraph(text=self.tokens(node.spans, lang))
        if isinstance(node, ListNode):
            items = tuple(self.tokens(item, lang) for item in node.items)
            return ListBlock(ordered=node.ordered, items=items)
        if is_video(node.src):
            return video_block(self.videos, node.src, lang, self.tokens(node.caption, lang))
        prepared = self.image(node.src)
        return Image(
            src=node.src,
            width=prepared.width,
            height=prepared.height,
            caption=self.tokens(node.caption, lang),
        )


def _compile(
    lint: LintResult, font_cache: Path | None, videos: BuiltVideos
) -> tuple[dict[str, bytes], dict[str, dict[str, str]]]:
    """Every file of the built pack by logical path (videos apart), and the plain
    page titles."""
    src = lint.source
    comp = _Compiler(lint, videos)
    comp.prepare_all(lint.images)
    files: dict[str, bytes] = {}
    titles: dict[str, dict[str, tuple[Token, ...]]] = {lang: {} for lang in src.languages}
    for page in src.pages:
        for lang in src.languages:
            parsed = lint.pages[(page.id, lang)]
            title = comp.tokens(parsed.title, lang, bold=True)
            titles[lang][page.id] = title
            doc = PageDoc(
                schema=PAGE_SCHEMA,
                page=page.id,
                lang=lang,
                title=title,
                blocks=tuple(comp.block(node, lang) for node in parsed.blocks),
            )
            files[f"pages/{page.id}/{lang}.json"] = doc.to_bytes()
    # video captions are drawn with the pack's fonts too (kiosk/ui/video.py)
    for by_lang in lint.videos.captions.values():
        for lang, cues in by_lang.items():
            comp.tokens([Span(" ".join(cue.text.split())) for cue in cues], lang)
    for lang in src.languages:
        ui = {
            key: comp.tokens([Span(texts[lang])], lang, bold=True)
            for key, texts in UI_STRINGS.items()
        }
        strings = Strings(
            schema=PAGE_SCHEMA,
            lang=lang,
            pack_title=comp.tokens([Span(src.title[lang])], lang, bold=True),
            pages=titles[lang],
            ui=ui,
        )
        files[f"i18n/{lang}.json"] = strings.to_bytes()
        # The language chooser writes each language in its own script, bold.
        comp.tokens([Span(ENDONYMS[lang])], lang, bold=True)
    for rel in list(src.attract) + [p.icon for p in src.pages if p.icon]:
        if not is_video(rel):
            comp.image(rel)
    for rel, prepared in comp.images.items():
        files[rel] = prepared.data
    latin: set[int] = set()
    for script in comp.scripts:
        text = comp.chars.get((script, False), set()) | comp.chars.get((script, True), set())
        for weight in ("Regular", "Bold"):
            chars = fonts.font_chars(script, weight, text)
            source = fonts.source(script, weight)
            files[source.out_name] = fonts.subset_font(source, chars, font_cache)
            if (script, weight) == ("Latn", "Regular"):
                latin = chars
    # symbols for notices typed at run time (arrows, ⚠, ①, emoji): kiosks try
    # these after the script's font and the Latin one
    files.update(symbols.fallback_fonts(latin, font_cache))
    plain = {
        page.id: {lang: plain_text(titles[lang][page.id]).strip() for lang in src.languages}
        for page in src.pages
    }
    return files, plain


def _manifest(
    lint: LintResult,
    files: dict[str, bytes],
    titles: dict[str, dict[str, str]],
    version: int | None,
    videos: BuiltVideos,
) -> Manifest:
    src = lint.source
    pages = tuple(
        PageEntry(
            id=page.id,
            parent=page.parent,
            title=titles[page.id],
            docs={lang: f"pages/{page.id}/{lang}.json" for lang in src.languages},
            icon=page.icon,
            valid_from=page.valid_from,
            valid_until=page.valid_until,
        )
        for page in src.pages
    )
    scripts = sorted(
        {
            p.split("/")[1].split("-")[0]
            for p in files
            if p.startswith("fonts/") and p.count("/") == 1
        }
        & set(SCRIPTS)
    )
    font_files = {
        script: FontFiles(
            regular=fonts.source(script, "Regular").out_name,
            bold=fonts.source(script, "Bold").out_name,
        )
        for script in scripts
    }
    entries = tuple(
        FileEntry(path=path, sha256=hashlib.sha256(data).hexdigest(), length=len(data))
        for path, data in sorted(files.items())
    )
    return Manifest(
        schema=MANIFEST_SCHEMA,
        id=src.id,
        version=version or src.version,
        title=dict(src.title),
        languages=tuple(src.languages),
        default_language=src.default_language,
        pages=pages,
        fonts=font_files,
        strings={lang: f"i18n/{lang}.json" for lang in src.languages},
        attract=tuple(output_path(rel) if is_video(rel) else rel for rel in src.attract),
        files=entries,
        videos=videos.entries,
    )


def _write(out: Path, manifest: Manifest, files: dict[str, bytes]) -> None:
    """Write into a fresh folder beside `out`, then swap it in."""
    is_pack = (out / MANIFEST_NAME).is_file()
    if out.exists() and not is_pack and (not out.is_dir() or any(out.iterdir())):
        raise OutputError(f"{out} exists and is not a built pack: choose an empty or new folder")

    def fill(tmp: Path) -> None:
        blobs = tmp / BLOB_DIR
        blobs.mkdir(parents=True)
        by_hash = {entry.sha256: files[entry.path] for entry in manifest.files}
        for digest, data in sorted(by_hash.items()):
            (blobs / digest).write_bytes(data)
        (tmp / MANIFEST_NAME).write_bytes(manifest.to_bytes())

    swap_in_folder(out, fill)
