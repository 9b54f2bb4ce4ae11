"""The server's FastAPI app. `create_app(config)` builds it; server/run.py serves it.

Routers: pack delivery (server/web/files.py) and /healthz; the dashboard and
JSON API add their routers here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from server.config import ServerConfig
from server.web.files import files_router, not_found


def _utcnow() -> datetime:
    return datetime.now(UTC)


def create_app(config: ServerConfig, *, now: Callable[[], datetime] = _utcnow) -> FastAPI:
    app = FastAPI(
        title="Border-gate kiosks server",
        description="Signed pack delivery (TUF metadata, blobs), fleet dashboard and API.",
    )
    app.state.config = config
    app.include_router(files_router(config.tuf_dir, config.blob_dir))

    @app.get("/healthz", tags=["health"], summary="liveness and signed-metadata freshness")
    def healthz() -> JSONResponse:
        body: dict[str, Any] = {"ok": True}
        body["tuf"] = _tuf_health(config, now())
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @app.exception_handler(404)
    async def _not_found(_request: Any, _exc: Any) -> JSONResponse:
        response = not_found()
        assert isinstance(response, JSONResponse)
        return response

    return app


def _tuf_health(config: ServerConfig, now: datetime) -> dict[str, Any]:
    from tuf.api.metadata import Metadata

    path = config.tuf_dir / "timestamp.json"
    try:
        signed = Metadata.from_bytes(path.read_bytes()).signed
    except (OSError, ValueError):
        return {"ok": False, "error": f"no readable {path.name}: run `bgk server init`"}
    fresh = signed.expires > now
    return {
        "ok": fresh,
        "timestamp_version": signed.version,
        "expires": signed.expires.isoformat(),
        **({} if fresh else {"error": "signed metadata expired: is the refresher running?"}),
    }
