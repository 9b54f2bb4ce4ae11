"""QR codes of a pack's pages: `qr/<page id>/<lang>.png`, one per page and language.

Each leads to the same page in the same language of the pack's web copy
(`bgk pack site`) at the site URL of the build settings ([site] url):
`{url}/{pack id}/{lang}/{page id}.html`. The kiosk draws the picture beside the
page; it never makes a URL itself, so what a QR code says is signed with the
pack, and it is the same on every kiosk (it carries nothing about the kiosk or
the traveller). No site URL: no QR codes.

segno writes PNGs without timestamps: the same URL gives the same bytes.
"""

from __future__ import annotations

import io

import segno

from server.packs.source import PackSource
from server.publisher import Settings

#: pixels per QR module: the kiosk scales the picture down, never up
SCALE = 10


def qr_path(page_id: str, lang: str) -> str:
    return f"qr/{page_id}/{lang}.png"


def qr_png(url: str) -> bytes:
    code = segno.make_qr(url, error="m")
    buf = io.BytesIO()
    code.save(buf, kind="png", scale=SCALE, border=4, dark="#0f172a", light="#ffffff")
    return buf.getvalue()


def qr_files(src: PackSource, settings: Settings) -> dict[str, bytes]:
    if not settings.site_url:
        return {}
    return {
        qr_path(page.id, lang): qr_png(settings.page_url(src.id, lang, page.id))
        for page in src.pages
        for lang in src.languages
    }
