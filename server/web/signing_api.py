"""`/api/v1/signing/…`: signing events for the publishers' `bgk sign` (publishers only).

GET  /api/v1/signing                      open and recent events
GET  /api/v1/signing/{id}                 the event, the proposed metadata (exact
                                          bytes, base64), the current manifest
GET  /api/v1/signing/{id}/source.tar      the frozen sources
GET  /api/v1/signing/{id}/settings.toml   the build settings
POST /api/v1/signing/{id}/signatures      {keyid, sig}: one publisher's signature
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from server.audit import log as audit
from server.config import ServerConfig
from server.packs import signing_events as events
from server.web.auth import Principal, now_of, require, store_of


class SignatureIn(BaseModel):
    keyid: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    sig: Annotated[str, Field(pattern=r"^[0-9a-f]{2,1024}$")]


def _config(request: Request) -> ServerConfig:
    config: ServerConfig = request.app.state.config
    return config


def _clock(request: Request) -> Any:
    return lambda: datetime.fromtimestamp(now_of(request), UTC)


def current_manifest(config: ServerConfig, pack: str) -> bytes | None:
    """The manifest of the newest published version of `pack` (what the event changes)."""
    from server.packs.delegation import published_offers
    from server.packs.publish import target_file_path
    from server.packs.signing import open_repository

    repo = open_repository(config)
    offers = [o for o in published_offers(repo) if o.pack == pack]
    if not offers:
        return None
    newest = max(offers, key=lambda o: o.version)
    return target_file_path(repo.dir, newest.path, newest.sha256).read_bytes()


def signing_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/signing", tags=["signing"])
    publisher = Depends(require("publisher"))

    @router.get("", summary="signing events, newest first")
    def list_events(request: Request, _p: Principal = publisher) -> list[dict[str, Any]]:
        return [e.as_dict() for e in events.list_events(_config(request))[:100]]

    @router.get("/{event_id}", summary="a signing event and the exact metadata to sign")
    def get_event(request: Request, event_id: str, _p: Principal = publisher) -> dict[str, Any]:
        config = _config(request)
        event = events.load_event(config, event_id)
        previous = current_manifest(config, event.pack)
        return {
            "event": event.as_dict(),
            "metadata": base64.b64encode(events.proposal_bytes(config, event_id)).decode(),
            "previous_manifest": None if previous is None else base64.b64encode(previous).decode(),
        }

    @router.get("/{event_id}/source.tar", summary="the frozen pack sources")
    def source(request: Request, event_id: str, _p: Principal = publisher) -> Response:
        folder = events.event_dir(_config(request), event_id)
        events.load_event(_config(request), event_id)
        data = (folder / "source.tar").read_bytes()
        return Response(data, media_type="application/x-tar")

    @router.get("/{event_id}/settings.toml", summary="the build settings of the event")
    def settings(request: Request, event_id: str, _p: Principal = publisher) -> Response:
        events.load_event(_config(request), event_id)
        data = (events.event_dir(_config(request), event_id) / "settings.toml").read_bytes()
        return Response(data, media_type="text/plain; charset=utf-8")

    @router.post("/{event_id}/signatures", summary="add one publisher's signature")
    def sign(
        request: Request, event_id: str, body: SignatureIn, p: Principal = publisher
    ) -> dict[str, Any]:
        config, store = _config(request), store_of(request)
        result = events.add_signature(
            config, event_id, body.keyid, body.sig, p.user.name, _clock(request)
        )
        e = result.event
        now = now_of(request)
        audit.append(
            store, p.user.name, "signature.added", f"signing:{e.id}",
            {"keyid": body.keyid, "pack": e.pack, "version": e.version,
             "signed_by": list(result.signed_by), "threshold": result.threshold},
            now=now,
        )  # fmt: skip
        if result.published:
            events.record_event_publication(store, config, e)
            from server.workspace.review_decide import event_published

            event_published(store, config, e.id, now=now)  # the review it came from, if any
        return {
            "ok": True,
            "state": e.state,
            "threshold": result.threshold,
            "signed_by": list(result.signed_by),
            "published": result.published,
        }

    return router
