"""`/p/<pack>/…`: the web copy (`bgk pack site`) of each published pack, public.

What the QR codes of the kiosk pages open when `[site] url` is this server's
`{url}/p`. The newest published version of a pack is made into a site the
first time it is asked for (from the signed manifest and the blob store, every
blob checked against its hash) and kept in DATA/sites/<pack>-v<version>[-<day>]/;
a pack with dated pages is made again each day (Vietnam time). Responses set
no cookie and allow nothing from elsewhere (Content-Security-Policy).
"""

from __future__ import annotations

import logging
import mimetypes
import re
import shutil
import threading
from datetime import date
from pathlib import Path
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from kiosk.protocol.errors import BgkError, ProtocolError
from kiosk.protocol.pack import MANIFEST_NAME, Manifest, parse_manifest
from server.config import ServerConfig
from server.packs.publish import published_packs, target_file_path
from server.packs.signing import open_repository
from server.packs.site import render_site
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


class SiteCache:
    """Sites of the published packs in DATA/sites/, made when first asked for."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.root = config.data / "sites"
        self._lock = threading.Lock()

    def _newest(self, pack_id: str) -> tuple[bytes, Manifest] | None:
        repo = open_repository(self.config)
        offers = [o for o in published_packs(repo.targets()) if o.pack == pack_id]
        if not offers:
            return None
        offer = max(offers, key=lambda o: o.version)
        data = target_file_path(repo.dir, offer.path, offer.sha256).read_bytes()
        return data, parse_manifest(data)

    def folder(self, pack_id: str, day: date) -> Path | None:
        """The site of the newest published version of `pack_id` (None: none published)."""
        newest = self._newest(pack_id)
        if newest is None:
            return None
        data, manifest = newest
        dated = any(p.valid_from or p.valid_until for p in manifest.pages)
        name = f"{pack_id}-v{manifest.version}" + (f"-{day.isoformat()}" if dated else "")
        site = self.root / name
        if (site / "index.html").is_file():
            return site
        with self._lock:
            if not (site / "index.html").is_file():
                source = self.root / f".manifest-{name}"
                source.mkdir(parents=True, exist_ok=True)
                (source / MANIFEST_NAME).write_bytes(data)
                try:
                    render_site(source, site, day, blob_dir=self.config.blob_dir)
                finally:
                    shutil.rmtree(source, ignore_errors=True)
                self._forget_older(pack_id, name)
        return site

    def _forget_older(self, pack_id: str, keep: str) -> None:
        for old in self.root.glob(f"{pack_id}-v*"):
            if old.name != keep and re.fullmatch(rf"{re.escape(pack_id)}-v\d+(-[\d-]+)?", old.name):
                shutil.rmtree(old, ignore_errors=True)


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
