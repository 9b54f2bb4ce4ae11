"""The workspace's JSON API, `/api/v1/workspace/…` (bearer token or dashboard session).

Viewers read drafts, history and diffs; editors (and above) save, push,
restore and mark translations done. Every route checks the role itself.
Errors are `{"error": sentence}`; a conflict is 409 with the newest version,
a push that fails lint 422 with the findings.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from kiosk.common.vietnam import VIETNAM
from kiosk.protocol.errors import UsageError
from server.packs.media import MAX_FILE_BYTES
from server.packs.today import vietnam_today
from server.web.auth import Principal, now_of, require
from server.workspace import history, tree
from server.workspace.archive import MAX_ARCHIVE, pack_archive, unpack_archive
from server.workspace.checks import LintRefused, lint_files, lint_folder_with, refuse_unless_clean
from server.workspace.drafts import (
    Conflict,
    DraftError,
    DraftStore,
    NoSuchPack,
    NoSuchVersion,
    check_path,
)
from server.workspace.grid import mark_done
from server.workspace.uploads import MAX_MB, UploadRefused, accept_picture, too_big

Rev = Annotated[str | None, Query(max_length=40)]


class SaveIn(BaseModel):
    #: the version the change was made on (from the GET that showed the file)
    base: Annotated[str, Field(min_length=40, max_length=40)]
    message: Annotated[str, Field(min_length=1, max_length=2000)]
    #: path -> new text (UTF-8), or null to remove the file
    files: dict[str, Annotated[str, Field(max_length=1_000_000)] | None] = Field(max_length=200)


class CheckIn(BaseModel):
    base: Annotated[str, Field(min_length=40, max_length=40)]
    files: dict[str, Annotated[str, Field(max_length=1_000_000)]] = Field(max_length=20)


class PageIn(BaseModel):
    base: Annotated[str, Field(min_length=40, max_length=40)]
    #: add | remove | up | down
    action: Literal["add", "remove", "up", "down"]
    page: Annotated[str, Field(max_length=63)]
    #: the title of a new page, in the source language
    title: Annotated[str, Field(max_length=200)] = ""


class RestoreIn(BaseModel):
    version: Annotated[str, Field(min_length=40, max_length=40)]


class DoneIn(BaseModel):
    base: Annotated[str, Field(min_length=40, max_length=40)]
    page: Annotated[str, Field(max_length=63)]
    lang: Annotated[str, Field(max_length=5)]


def drafts_of(request: Request) -> DraftStore:
    """The app's draft store (DATA/workspace), made on first use."""
    state = request.app.state
    if getattr(state, "drafts", None) is None:
        state.drafts = DraftStore(state.config.data / "workspace")
    drafts: DraftStore = state.drafts
    return drafts


def today_of(request: Request) -> dt.date:
    return vietnam_today(dt.datetime.fromtimestamp(now_of(request), VIETNAM))


def _refusal(exc: DraftError) -> JSONResponse:
    """The refusal's English sentence (`error`), and its `code` and `args` for the
    editor's words (server/words: ws.err.<code>; pages say it in the person's language)."""
    if isinstance(exc, Conflict):
        body: dict[str, Any] = {"error": str(exc), "head": exc.head, "paths": exc.paths,
                                "code": "conflict", "args": {"paths": ", ".join(exc.paths)}}  # fmt: skip
        return JSONResponse(body, status_code=409)
    if isinstance(exc, LintRefused):
        findings = [f.as_dict() for f in exc.findings]
        n = sum(1 for f in exc.findings if f.level == "error")
        return JSONResponse({"error": str(exc), "findings": findings, "code": "lint-refused",
                             "args": {"n": n}}, status_code=422)  # fmt: skip
    status = 404 if isinstance(exc, NoSuchPack | NoSuchVersion) else 400
    body = {"error": str(exc)}
    if isinstance(exc, UploadRefused):
        body |= {"code": exc.code, "args": exc.args_}
    return JSONResponse(body, status_code=status)


def workspace_api() -> APIRouter:
    router = APIRouter(prefix="/api/v1/workspace", tags=["workspace"])
    reader = Depends(require("viewer"))
    editor = Depends(require("editor"))

    @router.get("", summary="packs in the workspace, each with its newest version")
    def packs(request: Request, p: Principal = reader) -> Any:
        drafts = drafts_of(request)
        out = []
        for pack in drafts.packs():
            try:
                v = drafts.history(pack, limit=1)[0]
            except (NoSuchPack, IndexError):
                continue
            out.append({"pack": pack, "version": v.id, "by": v.author, "at": v.at})
        return out

    @router.get("/{pack}/history", summary="versions, newest first")
    def versions(request: Request, pack: str, p: Principal = reader) -> Any:
        try:
            return [v.__dict__ for v in drafts_of(request).history(pack)]
        except DraftError as exc:
            return _refusal(exc)

    @router.get("/{pack}/files", summary="the files of a version (default: the newest)")
    def files(request: Request, pack: str, rev: Rev = None, p: Principal = reader) -> Any:
        drafts = drafts_of(request)
        try:
            version = rev or drafts.head(pack)
            return {"version": version, "files": drafts.listing(pack, version)}
        except DraftError as exc:
            return _refusal(exc)

    @router.get("/{pack}/file", summary="one file of a version, with the version in X-Version")
    def file(
        request: Request, pack: str, path: Annotated[str, Query(max_length=300)],
        rev: Rev = None, p: Principal = reader,
    ) -> Response:  # fmt: skip
        drafts = drafts_of(request)
        try:
            version = rev or drafts.head(pack)
            data = drafts.read(pack, path, version)
        except DraftError as exc:
            return _refusal(exc)
        if data is None:
            return JSONResponse({"error": f"version {version[:10]} has no {path}"}, 404)
        return Response(data, media_type="application/octet-stream",
                        headers={"X-Version": version, "Cache-Control": "no-store"})  # fmt: skip

    @router.get("/{pack}/archive", summary="a version as tar.gz (`bgk pack pull`)")
    def archive(request: Request, pack: str, rev: Rev = None, p: Principal = reader) -> Response:
        drafts = drafts_of(request)
        try:
            version = rev or drafts.head(pack)
            listing = drafts.listing(pack, version)
            data = pack_archive({path: drafts.blob(pack, b) for path, b in listing.items()})
        except DraftError as exc:
            return _refusal(exc)
        return Response(data, media_type="application/gzip", headers={"X-Version": version})

    @router.get("/{pack}/diff", summary="what changed between two versions, file by file")
    def diff(
        request: Request, pack: str, a: Annotated[str, Query(max_length=40)],
        b: Annotated[str, Query(max_length=40)], p: Principal = reader,
    ) -> Any:  # fmt: skip
        try:
            return [c.__dict__ for c in history.diff(drafts_of(request), pack, a, b)]
        except DraftError as exc:
            return _refusal(exc)

    @router.post("/{pack}/save", summary="save changed files on top of `base` (editor)")
    def save(request: Request, pack: str, body: SaveIn, p: Principal = editor) -> Any:
        drafts = drafts_of(request)
        changes = {k: (None if v is None else v.encode("utf-8")) for k, v in body.files.items()}
        try:
            version = drafts.save(pack, changes, author=p.user.name, message=body.message,
                                  base=body.base, now=now_of(request))  # fmt: skip
        except DraftError as exc:
            return _refusal(exc)
        return {"version": version}

    @router.post("/{pack}/push", summary="a whole tree as tar.gz on top of ?base= (editor)")
    async def push(
        request: Request, pack: str, base: Annotated[str, Query(max_length=40)],
        message: Annotated[str, Query(max_length=2000)], p: Principal = editor,
    ) -> Any:  # fmt: skip
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > MAX_ARCHIVE:
                return JSONResponse({"error": "the pack is over 400 MB: leave out what it "
                                     "does not use"}, status_code=413)  # fmt: skip
        try:
            version = await run_in_threadpool(
                _push, request, pack, bytes(data), base, message, p.user.name
            )
        except DraftError as exc:
            return _refusal(exc)
        return {"version": version}

    @router.post("/{pack}/check", summary="lint findings of unsaved text, in its pack (editor)")
    def check(request: Request, pack: str, body: CheckIn, p: Principal = editor) -> Any:
        drafts = drafts_of(request)
        try:
            root = drafts.checkout(pack, body.base)
            for path in body.files:
                check_path(path)
        except DraftError as exc:
            return _refusal(exc)
        changed = {k: v.encode("utf-8") for k, v in body.files.items()}
        result = lint_folder_with(root, changed, today=today_of(request))
        return {"findings": [f.as_dict() for f in result.findings.sorted()
                             if f.file in body.files or f.file == "pack.toml"]}  # fmt: skip

    @router.post("/{pack}/media", summary="upload a PNG or JPEG picture into media/ (editor)")
    async def media(
        request: Request, pack: str, name: Annotated[str, Query(max_length=100)],
        base: Annotated[str, Query(min_length=40, max_length=40)], p: Principal = editor,
    ) -> Any:  # fmt: skip
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_FILE_BYTES:
            return JSONResponse({"error": too_big(int(declared)), "code": "upload-too-big",
                                 "args": {"most": MAX_MB}}, status_code=413)  # fmt: skip
        data = bytearray()
        async for chunk in request.stream():  # counted as it comes: never held whole
            data += chunk
            if len(data) > MAX_FILE_BYTES:
                return JSONResponse({"error": too_big(), "code": "upload-too-big",
                                     "args": {"most": MAX_MB}}, status_code=413)  # fmt: skip
        try:
            path = await run_in_threadpool(accept_picture, name, bytes(data))
            version = await run_in_threadpool(
                lambda: drafts_of(request).save(
                    pack,
                    {path: bytes(data)},
                    author=p.user.name,
                    message=f"Add picture {path}",
                    base=base,
                    now=now_of(request),
                )
            )
        except DraftError as exc:
            return _refusal(exc)
        return {"version": version, "path": path}

    @router.post("/{pack}/pages", summary="add, remove or move a page (editor)")
    def pages(request: Request, pack: str, body: PageIn, p: Principal = editor) -> Any:
        drafts, who, now = drafts_of(request), p.user.name, now_of(request)
        try:
            if body.action == "add":
                version = tree.add_page(drafts, pack, body.page, body.title, base=body.base,
                                        author=who, now=now)  # fmt: skip
            elif body.action == "remove":
                version = tree.remove_page(drafts, pack, body.page, base=body.base, author=who,
                                           now=now)  # fmt: skip
            else:
                step = -1 if body.action == "up" else 1
                version = tree.move_page(drafts, pack, body.page, step, base=body.base,
                                         author=who, now=now)  # fmt: skip
        except DraftError as exc:
            return _refusal(exc)
        return {"version": version}

    @router.post("/{pack}/restore", summary="a new version with an older one's files (editor)")
    def restore(request: Request, pack: str, body: RestoreIn, p: Principal = editor) -> Any:
        try:
            version = drafts_of(request).restore(pack, body.version, author=p.user.name,
                                                 now=now_of(request))  # fmt: skip
        except DraftError as exc:
            return _refusal(exc)
        return {"version": version}

    @router.post("/{pack}/translated", summary="a translation follows its source now (editor)")
    def translated(request: Request, pack: str, body: DoneIn, p: Principal = editor) -> Any:
        try:
            version = mark_done(drafts_of(request), pack, body.page, body.lang, base=body.base,
                                author=p.user.name, now=now_of(request))  # fmt: skip
        except (DraftError, UsageError) as exc:
            return _refusal(exc if isinstance(exc, DraftError) else DraftError(str(exc)))
        return {"version": version}

    return router


def _push(request: Request, pack: str, data: bytes, base: str, message: str, who: str) -> str:
    files = unpack_archive(data)
    result = lint_files(files, today=today_of(request))
    refuse_unless_clean(result)
    if result.source.id != pack:
        raise DraftError(f"pack.toml says id = {result.source.id!r}, not {pack!r}")
    return drafts_of(request).save(pack, files, author=who, message=message, base=base,
                                   now=now_of(request), replace_all=True)  # fmt: skip
