"""The server's FastAPI app. `create_app(config)` builds it; server/run.py serves it.

Routers: pack delivery (server/web/files.py), the packs' web copies at /p/
(server/web/sites.py), /healthz, the JSON API
(server/web/api.py) and the dashboard (server/web/dashboard/overview.py). The app owns
one store (the fleet database) for its lifetime; `clock` gives epoch seconds
(tests pass their own).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc as sa_exc

from server.config import ServerConfig
from server.store import Store, open_store
from server.web.api import api_router, install_error_handlers
from server.web.auth import StoreLoginThrottle
from server.web.dashboard.overview import install_dashboard
from server.web.dashboard.pages import PageError, error_page, render, wants_page, words_of
from server.web.dashboard.workspace import install_workspace
from server.web.files import files_router, not_found
from server.web.signing_api import signing_router
from server.web.sites import sites_router

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def create_app(
    config: ServerConfig,
    *,
    now: Callable[[], datetime] = _utcnow,
    store: Store | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    app = FastAPI(
        title="Border-gate kiosks server",
        description="Signed pack delivery (TUF metadata, blobs), fleet dashboard and API.",
    )
    app.state.config = config
    app.state.store = store if store is not None else open_store(config.store_url)
    app.state.clock = clock
    app.state.login_throttle = StoreLoginThrottle(app.state.store, clock)
    app.include_router(files_router(config.tuf_dir, config.blob_dir))
    app.include_router(sites_router(config))
    app.include_router(api_router())
    install_workspace(app)
    app.include_router(signing_router())
    install_dashboard(app)
    install_error_handlers(app)

    #: background services of `bgk server run` (run.py sets them) with a `health()`
    app.state.services = []

    @app.get(
        "/healthz",
        tags=["health"],
        summary="liveness, signed-metadata freshness and the fleet link",
        description="`ok` is false when a part is not: expired TUF metadata (is the "
        "refresher running?), the MQTT broker unreachable, the ingest stopped. Always "
        "200 while the process answers: monitoring reads `ok`.",
    )
    def healthz() -> JSONResponse:
        parts: dict[str, Any] = {"tuf": _tuf_health(config, now())}
        for service in app.state.services:
            health = getattr(service, "health", None)
            if callable(health):
                parts[service.name.replace(" ", "_")] = health()
        body = {"ok": all(part.get("ok", False) for part in parts.values()), **parts}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @app.exception_handler(404)
    async def _not_found(request: Request, exc: Any) -> Response:
        if isinstance(exc, HTTPException) and exc.detail not in (None, "Not Found"):
            return _error(exc)
        if wants_page(request):  # a mistyped dashboard address: a page, in words
            return error_page(request, PageError(404, "error.404_page"))
        return not_found()

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> Response:
        return _error(exc)

    for kind in STORE_DOWN:
        app.add_exception_handler(kind, _store_down)

    return app


#: the fleet database not answering (restarting, unreachable): 503, not a 500 with a
#: traceback (found by bench/soak.py restarting PostgreSQL under load)
STORE_DOWN: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
)


async def _store_down(request: Request, exc: Exception) -> Response:
    log.error("the fleet store is not answering: %s", str(exc).splitlines()[0][:300])
    headers = {"Retry-After": "5", "Cache-Control": "no-store"}
    if wants_page(request):  # no session lookup: that needs the store too
        page = render(request, "error.html", {"message": words_of(request)("error.store_down")},
                      status=503)  # fmt: skip
        page.headers.update(headers)
        return page
    body = {
        "error": "the fleet database is not answering (restarting?): try again in a few seconds"
    }
    return JSONResponse(body, status_code=503, headers=headers)


def _error(exc: HTTPException) -> JSONResponse:
    """Refusals as `{"error": sentence}`, never cached."""
    headers = {**(exc.headers or {}), "Cache-Control": "no-store"}
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=headers)


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
