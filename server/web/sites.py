"""`/p/<pack>/…`: the web copy (`bgk pack site`) of each published pack, public.

What the QR codes of the kiosk pages open when `[site] url` is this server's
`{url}/p`; the copies are kept by server/packs/sitecache.py. Responses set no
cookie and allow nothing from elsewhere (Content-Security-Policy).
"""

from __future__ import annotations

import logging
import mimetypes
import re
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from kiosk.protocol.errors import BgkError, ProtocolError
from server.config import ServerConfig
from server.packs.sitecache import SiteCache
from server.packs.today import vietnam_today
from server.web.files import not_found

log = logging.getLogger(__name__)

_PACK = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_PATH = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]{0,100}/){0,3}[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")
SITE_HEADERS: Final = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'self'; font-src 'self'; "
        "script-src 'self'; worker-src 'self'; connect-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
}
TYPES: Final = {".woff": "font/woff", ".js": "text/javascript", ".html": "text/html"}


def sites_router(config: ServerConfig) -> APIRouter:
    router = APIRouter(tags=["pack sites"])
    cache = SiteCache(config)

    def serve(request: Request, pack: str, path: str) -> Response:
        if not _PACK.match(pack) or (path and not _PATH.match(path)):
            return not_found()
        try:
            site = cache.folder(pack, vietnam_today())
        except (BgkError, OSError, ProtocolError) as exc:
            log.error("cannot make the site of pack %s: %s", pack, exc)
            return Response(
                "This page cannot be shown now. Please try again later.\n",
                status_code=503,
                media_type="text/plain; charset=utf-8",
                headers={"Cache-Control": "no-store"},
            )
        if site is None:
            return not_found()
        file = site / (path or "index.html")
        if file.is_dir():
            file = file / "index.html"
        if not file.is_file() or file.is_symlink():
            return not_found()
        kind = (
            TYPES.get(file.suffix)
            or mimetypes.guess_type(file.name)[0]
            or "application/octet-stream"
        )
        return FileResponse(file, media_type=kind, headers=SITE_HEADERS)

    @router.get("/p/{pack}", include_in_schema=False)
    def pack_root(pack: str) -> Response:
        if not _PACK.match(pack):
            return not_found()
        return RedirectResponse(f"/p/{pack}/", status_code=301)

    @router.api_route(
        "/p/{pack}/{path:path}",
        methods=["GET", "HEAD"],
        summary="the web copy of a published pack (what kiosk QR codes open); public",
    )
    def pack_file(request: Request, pack: str, path: str) -> Response:
        return serve(request, pack, path)

    return router
