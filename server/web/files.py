"""Public files kiosks fetch: TUF metadata (/tuf/...) and blobs (/blobs/sha256/<hex>).

The same files can be served by any static web server or CDN (see
deploy/nginx/); these routes set the same headers:

* blobs, versioned snapshot/targets metadata and hash-named targets never
  change: `Cache-Control: public, max-age=31536000, immutable`;
* timestamp.json and N.root.json must be fetched fresh: `no-cache`;
* unknown paths are 404 with `no-store` (a kiosk asks for (N+1).root.json on
  every refresh, and only 403/404 means "no new root").

Range requests (resume of interrupted downloads) are answered by
Starlette's FileResponse: 206 with Content-Range, 416 beyond the end.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, Response

from kiosk.protocol.errors import ProtocolError
from kiosk.protocol.paths import check_pack_path

IMMUTABLE: Final = "public, max-age=31536000, immutable"
FRESH: Final = "no-cache"
_BLOB = re.compile(r"^[0-9a-f]{64}$")
_VERSIONED = re.compile(r"^[1-9][0-9]*\.(root|snapshot|targets|publishers)\.json$")


def not_found() -> Response:
    return JSONResponse(
        {"detail": "not found"}, status_code=404, headers={"Cache-Control": "no-store"}
    )


def _file(path: Path, media_type: str, cache: str) -> Response:
    if not path.is_file() or path.is_symlink():
        return not_found()
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": cache})


def files_router(tuf_dir: Path, blob_dir: Path) -> APIRouter:
    router = APIRouter(tags=["pack delivery"])

    @router.api_route("/tuf/{name}", methods=["GET", "HEAD"], summary="TUF metadata")
    def tuf_metadata(name: str) -> Response:
        if name == "timestamp.json":
            return _file(tuf_dir / name, "application/json", FRESH)
        m = _VERSIONED.match(name)
        if m is None:
            return not_found()
        cache = FRESH if m.group(1) == "root" else IMMUTABLE
        return _file(tuf_dir / name, "application/json", cache)

    @router.api_route(
        "/tuf/targets/{path:path}", methods=["GET", "HEAD"], summary="TUF target (pack manifest)"
    )
    def tuf_target(path: str) -> Response:
        try:
            check_pack_path(path)
        except ProtocolError:
            return not_found()
        return _file(tuf_dir / "targets" / path, "application/json", IMMUTABLE)

    @router.api_route(
        "/blobs/sha256/{digest}", methods=["GET", "HEAD"], summary="pack file by SHA-256"
    )
    def blob(digest: str) -> Response:
        if not _BLOB.match(digest):
            return not_found()
        return _file(blob_dir / digest, "application/octet-stream", IMMUTABLE)

    return router
