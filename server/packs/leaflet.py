"""`bgk pack leaflet PACK --lang L -o FILE.pdf`: chosen pages on A4, for print.

Made from the web copy (`bgk pack site`, the same HTML, pictures and subset
fonts) and printed by headless Chromium, whose HarfBuzz shapes Lao, Thai and
Chinese as the kiosk does. Each page carries its QR code when the pack has one
(built with a site URL). The site is served to Chromium from a private
loopback HTTP server for the run (web fonts do not load from file:// pages).

Chromium: `chromium` from Debian (or $BGK_CHROMIUM).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import io
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from datetime import date
from html import escape
from pathlib import Path

from PIL import Image as PILImage

from kiosk.protocol.errors import UsageError
from kiosk.protocol.pack import Manifest, PageEntry, parse_page, parse_strings, plain_text
from server.packs.qr import qr_path
from server.packs.site import (
    SiteError,
    blob_reader,
    phone_picture,
    read_manifest,
    style_files,
    visible_pages,
)
from server.packs.site_html import HTML_LANG, SiteContext, block_html, inline

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: seconds Chromium may take to print
PRINT_TIMEOUT = 120

LEAFLET_CSS = """
@page { size: A4; margin: 14mm 15mm 16mm; }
body.leaflet { font-size: 10.5pt; line-height: 1.5; }
.leaflet .top { background: none; color: #0f172a; padding: 0 0 3mm; border-bottom: 1.2mm solid #0b4f8a; }
.leaflet .top .pack { font-size: 15pt; }
.leaflet main { max-width: none; padding: 0; }
.leaflet article { border-bottom: .3mm solid #cbd5e1; padding: 2mm 0 4mm; }
.leaflet article + article { break-before: auto; }
.leaflet h1 { font-size: 15pt; margin: 3mm 0 2mm; break-after: avoid; }
.leaflet h2 { font-size: 12pt; margin: 3mm 0 1mm; break-after: avoid; }
.leaflet figure { break-inside: avoid; margin: 2mm 0; }
.leaflet figure img { max-height: 70mm; width: auto; max-width: 100%; margin: 0 auto; }
.leaflet li { margin: .6mm 0; }
.leaflet .qr { float: right; width: 30mm; margin: 0 0 2mm 4mm; text-align: center; font-size: 7.5pt; color: #475569; }
.leaflet .qr img { width: 30mm; height: 30mm; display: block; }
"""


def find_chromium() -> str:
    asked = os.environ.get("BGK_CHROMIUM")
    if asked:
        if not shutil.which(asked):
            raise UsageError(f"BGK_CHROMIUM={asked!r} is not a program that can be run")
        return asked
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise UsageError("no Chromium found: apt-get install chromium (or set BGK_CHROMIUM)")


def choose_pages(manifest: Manifest, asked: list[str] | None, day: date) -> list[PageEntry]:
    """The pages asked for (in that order), else every page shown on `day`, in tree order."""
    by_id = {p.id: p for p in manifest.pages}
    visible = visible_pages(manifest, day)
    if asked:
        unknown = [p for p in asked if p not in by_id]
        if unknown:
            raise UsageError(
                f"--pages: the pack has no page {unknown[0]!r} (it has: {', '.join(by_id)})"
            )
        return [by_id[p] for p in asked]
    out: list[PageEntry] = []

    def walk(pages: tuple[PageEntry, ...]) -> None:
        for page in pages:
            if page.id in visible:
                out.append(page)
                walk(manifest.children(page.id))

    walk(manifest.top_pages())
    return out


def leaflet_html(ctx: SiteContext, lang: str, pages: list[PageEntry], qr: set[str]) -> str:
    title = inline(ctx.strings[lang].pack_title)
    take_away = inline(ctx.ui(lang, "take_away"))
    articles = []
    for page in pages:
        doc = ctx.docs[(page.id, lang)]
        code = ""
        if qr_path(page.id, lang) in qr:
            code = (
                f'<div class="qr"><img src="../{qr_path(page.id, lang)}" alt="">{take_away}</div>'
            )
        body = "\n".join(block_html(b, ctx, "../") for b in doc.blocks)
        articles.append(f"<article>{code}<h1>{inline(doc.title)}</h1>\n{body}</article>")
    return (
        f'<!doctype html>\n<html lang="{HTML_LANG[lang]}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(plain_text(ctx.strings[lang].pack_title).strip())}</title>\n"
        '<link rel="stylesheet" href="../site.css">\n<link rel="stylesheet" href="../leaflet.css">\n'
        '</head>\n<body class="leaflet">\n'
        f'<header class="top"><p class="pack">{title}</p></header>\n'
        f"<main>\n{''.join(articles)}\n</main>\n</body>\n</html>\n"
    )


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """`folder` over HTTP on a free loopback port, for the length of the block."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def print_pdf(url: str, out: Path, profile: Path) -> None:
    cmd = [
        find_chromium(),
        "--headless",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--no-pdf-header-footer",
        "--virtual-time-budget=15000",
        f"--print-to-pdf={out}",
        url,
    ]
    if os.geteuid() == 0:
        cmd.insert(1, "--no-sandbox")
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=PRINT_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise SiteError(f"Chromium did not print within {PRINT_TIMEOUT} s") from None
    if done.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        lines = [ln for ln in (done.stderr or "").splitlines() if ln.strip()]
        raise SiteError(
            f"Chromium could not print the leaflet: {lines[-1] if lines else done.returncode}"
        )


def make_leaflet(
    pack: Path, lang: str, out: Path, day: date, asked: list[str] | None = None
) -> tuple[Manifest, list[PageEntry]]:
    """The leaflet of `pack` (a built pack) in `lang` as the PDF `out` (replaced whole)."""
    manifest = read_manifest(pack)
    if lang not in manifest.languages:
        raise UsageError(
            f"--lang {lang!r}: the pack's languages are {', '.join(manifest.languages)}"
        )
    pages = choose_pages(manifest, asked, day)
    read = blob_reader(pack, manifest)
    files = style_files(manifest, read)  # only what the leaflet's pages need
    strings = {code: parse_strings(read(rel)) for code, rel in manifest.strings.items()}
    docs = {(p.id, lang): parse_page(read(p.docs[lang])) for p in pages}
    qr = {e.path for e in manifest.files if e.path.startswith("qr/")}
    for page in pages:
        if qr_path(page.id, lang) in qr:
            files[qr_path(page.id, lang)] = read(qr_path(page.id, lang))
    for doc in docs.values():
        for block in doc.blocks:
            # a video is printed as its poster
            src = getattr(block, "poster", None) or getattr(block, "src", None)
            if src is not None and src not in files:
                files[src] = phone_picture(read(src))[0]
    pictures = {}
    for rel in [r for r in files if r.startswith("media/")]:
        with PILImage.open(io.BytesIO(files[rel])) as img:
            pictures[rel] = img.size
    ctx = SiteContext(manifest, strings, frozenset(p.id for p in pages), pictures, docs)
    files["leaflet.css"] = LEAFLET_CSS.encode("utf-8")
    files[f"{lang}/leaflet.html"] = leaflet_html(ctx, lang, pages, qr).encode("utf-8")
    with tempfile.TemporaryDirectory(prefix="bgk-leaflet-") as tmp_name:
        tmp = Path(tmp_name)
        site = tmp / "site"
        for rel, data in files.items():
            (site / rel).parent.mkdir(parents=True, exist_ok=True)
            (site / rel).write_bytes(data)
        pdf = tmp / "leaflet.pdf"
        with serve(site) as base:
            print_pdf(f"{base}/{lang}/leaflet.html", pdf, tmp / "profile")
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.part")
        shutil.copyfile(pdf, partial)
        os.replace(partial, out)
    return manifest, pages
