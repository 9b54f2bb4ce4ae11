"""Reviews in the JSON API (bearer token or dashboard session); every route checks the role.

POST /api/v1/workspace/{pack}/reviews     editor: request publication of a version
                                          ({to, version?, note?}) -> 202, building
GET  /api/v1/reviews[?pack=]              viewer: reviews, newest first
GET  /api/v1/reviews/{id}                 viewer: the review, its comments, its signing
                                          event, how many kiosks play its version now
GET  /api/v1/reviews/{id}/diff            viewer: what it changes against the published version
GET  /api/v1/reviews/{id}/preview.png     viewer: a changed page before/after (kiosk drawing)
GET  /api/v1/reviews/{id}/media           viewer: a changed picture before/after
POST /api/v1/reviews/{id}/comments        publisher: {text}
POST /api/v1/reviews/{id}/approve         publisher: {comment?} (two-person: opens the
                                          signing event; the requester cannot approve)
POST /api/v1/reviews/{id}/reject          publisher: {comment} (why)
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from server.config import ServerConfig
from server.packs import reviews
from server.packs.signing_events import SigningEventError, load_event
from server.store import Store
from server.store.schema import kiosk_state
from server.web.auth import Principal, now_of, require, store_of
from server.web.workspace_api import drafts_of
from server.workspace import review_build, review_decide, review_diff
from server.workspace.preview import PreviewFailed, Screen, preview_png


class RequestIn(BaseModel):
    #: gates/groups or "all", as `bgk server publish --to`
    to: list[Annotated[str, Field(max_length=200)]] = Field(min_length=1, max_length=50)
    #: the draft version to freeze (default: the newest)
    version: Annotated[str | None, Field(min_length=40, max_length=40)] = None
    note: Annotated[str, Field(max_length=2000)] = ""


class WordsIn(BaseModel):
    comment: Annotated[str, Field(max_length=4000)] = ""


class CommentIn(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=4000)]


def _config(request: Request) -> ServerConfig:
    config: ServerConfig = request.app.state.config
    return config


def _clock(request: Request) -> Any:
    return lambda: datetime.fromtimestamp(now_of(request), UTC)


#: a review's number in a path (bounded: the store keeps it as an integer column)
ReviewId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def playing(store: Store, pack: str, version: int | None) -> int:
    """How many kiosks reported this pack version in their last heartbeat."""
    if version is None:
        return 0
    query = select(func.count()).where(
        kiosk_state.c.pack_id == pack, kiosk_state.c.pack_version == version
    )
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def event_view(config: ServerConfig, event_id: str | None) -> dict[str, Any] | None:
    if event_id is None:
        return None
    try:
        event = load_event(config, event_id)
    except SigningEventError:
        return {"id": event_id, "state": "missing", "signatures": [], "published_at": None}
    signed = [{"name": s["name"], "by": s["by"], "at": s["at"]} for s in event.signatures.values()]
    return {"id": event.id, "state": event.state, "signatures": signed,
            "published_at": event.published_at, "reason": event.reason}  # fmt: skip


def review_view(request: Request, review: reviews.Review) -> dict[str, Any]:
    store, config = store_of(request), _config(request)
    return {
        **review.as_dict(),
        "two_person": review_decide.two_person(config),
        "server_url": config.url,
        "signing": event_view(config, review.signing_event),
        "kiosks_playing": playing(store, review.pack, review.version)
        if review.state == "published" else 0,
    }  # fmt: skip


def current(request: Request, review_id: int) -> reviews.Review:
    """The review; one left `building` by a stopped server turns `failed` here."""
    review = reviews.get(store_of(request), review_id)
    builds = getattr(request.app.state, "review_builds", None) or {}
    thread = builds.get(review_id)
    running = thread is not None and thread.is_alive()
    return review_build.settle_orphan(store_of(request), review, running, request.app.state.clock)


def start(request: Request, review_id: int) -> None:
    """The build in a thread; the request answers at once (the page polls the state)."""
    state = request.app.state
    thread = review_build.start_build(
        _config(request), store_of(request), drafts_of(request), review_id, state.clock,
        font_cache=getattr(state, "font_cache", None),
    )  # fmt: skip
    builds = getattr(state, "review_builds", None)
    if builds is None:
        builds = state.review_builds = {}
    builds[review_id] = thread


def review_api() -> APIRouter:
    router = APIRouter(tags=["reviews"])
    reader = Depends(require("viewer"))
    editor = Depends(require("editor"))
    publisher = Depends(require("publisher"))
    prefix = "/api/v1/reviews"

    @router.post("/api/v1/workspace/{pack}/reviews", status_code=202,
                 summary="request publication: freeze a version and build it (editor)")  # fmt: skip
    def request_publication(
        request: Request, pack: str, body: RequestIn, p: Principal = editor
    ) -> Any:
        review_id = review_build.request(
            store_of(request), drafts_of(request), pack, body.version, body.to,
            by=p.user.name, note=body.note, now=now_of(request),
        )  # fmt: skip
        start(request, review_id)
        return {
            "id": review_id,
            "state": "building",
            "url": f"/workspace/{pack}/reviews/{review_id}",
        }

    @router.get(prefix, summary="reviews, newest first")
    def listing(
        request: Request, pack: Annotated[str | None, Query(max_length=63)] = None,
        p: Principal = reader,
    ) -> Any:  # fmt: skip
        return [r.as_dict() for r in reviews.listing(store_of(request), pack)]

    @router.get(prefix + "/{review_id}", summary="a review with its comments and signing event")
    def one(request: Request, review_id: ReviewId, p: Principal = reader) -> Any:
        return review_view(request, current(request, review_id))

    @router.get(prefix + "/{review_id}/diff", summary="what it changes against the published pack")
    def diff(request: Request, review_id: ReviewId, p: Principal = reader) -> Any:
        review = _built(request, review_id)
        found = review_diff.compare(_config(request), store_of(request), review)
        return asdict(found)

    @router.get(prefix + "/{review_id}/preview.png", summary="a changed page, before or after")
    async def preview(
        request: Request, review_id: ReviewId, page: Annotated[str, Query(max_length=63)],
        lang: Annotated[str, Query(max_length=5)], side: Literal["before", "after"] = "after",
        portrait: bool = False, p: Principal = reader,
    ) -> Response:  # fmt: skip
        review = _built(request, review_id)
        rev = review.commit
        if side == "before":
            found = await run_in_threadpool(
                review_diff.compare, _config(request), store_of(request), review
            )
            if found.base_commit is None:
                return JSONResponse({"error": "the published version was not published from a "
                                     "review: its sources are not here to draw"}, 404)  # fmt: skip
            rev = found.base_commit
        try:
            data, cached = await run_in_threadpool(
                preview_png, drafts_of(request), review.pack, rev, page, lang, Screen(portrait)
            )
        except PreviewFailed as exc:
            return JSONResponse({"error": f"the page cannot be drawn: {exc}"}, status_code=422)
        return Response(data, media_type="image/png", headers={
            "X-Cache": "hit" if cached else "miss", "Cache-Control": "private, max-age=3600"})  # fmt: skip

    @router.get(prefix + "/{review_id}/media", summary="a changed picture, before or after")
    def media(
        request: Request, review_id: ReviewId, path: Annotated[str, Query(max_length=300)],
        side: Literal["before", "after"] = "after", p: Principal = reader,
    ) -> Response:  # fmt: skip
        review = _built(request, review_id)
        try:
            data = review_diff.media_bytes(_config(request), review, path, side)
        except (KeyError, OSError):
            return JSONResponse({"error": f"no {path} {side} this review"}, status_code=404)
        kind = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else (
            "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "application/octet-stream")  # fmt: skip
        return Response(data, media_type=kind, headers={"Cache-Control": "private, max-age=3600",
                                                        "X-Content-Type-Options": "nosniff"})  # fmt: skip

    @router.post(prefix + "/{review_id}/comments", summary="comment on a review (publisher)")
    def comment(
        request: Request, review_id: ReviewId, body: CommentIn, p: Principal = publisher
    ) -> Any:
        done = review_decide.comment(store_of(request), review_id, p.user.name, body.text,
                                     now=now_of(request))  # fmt: skip
        return review_view(request, done)

    @router.post(prefix + "/{review_id}/approve", summary="approve a review (publisher)")
    def approve(
        request: Request, review_id: ReviewId, body: WordsIn, p: Principal = publisher
    ) -> Any:
        done = review_decide.approve(
            _config(request), store_of(request), review_id, p.user.name, body.comment,
            now=now_of(request), clock=_clock(request),
            font_cache=getattr(request.app.state, "font_cache", None),
        )  # fmt: skip
        return review_view(request, done)

    @router.post(prefix + "/{review_id}/reject", summary="reject a review: back to editing")
    def reject(
        request: Request, review_id: ReviewId, body: WordsIn, p: Principal = publisher
    ) -> Any:
        done = review_decide.reject(store_of(request), review_id, p.user.name, body.comment,
                                    now=now_of(request))  # fmt: skip
        return review_view(request, done)

    return router


def _built(request: Request, review_id: int) -> reviews.Review:
    review = reviews.get(store_of(request), review_id)
    if review.manifest_sha256 is None:
        raise reviews.ReviewError(
            f"review {review_id} is {review.state}: there is no build to show"
            + (" yet; the page updates when it is done" if review.state == "building" else "")
        )
    return review
