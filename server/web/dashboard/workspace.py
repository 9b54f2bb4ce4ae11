"""The workspace's pages (dashboard session, Vietnamese first): the packs, a pack's
page grid with its history, the side-by-side editor, and the kiosk preview PNG.

Every page needs a signed-in user (viewers read); what changes a draft goes
through the JSON API (server/web/workspace_api.py), which checks the editor role
itself, so a hidden button is never the only guard.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from server.web.auth import Principal, require
from server.web.dashboard.pages import PageError, page_user, render, words_of
from server.web.dashboard.ws_words import editor_words, error_text, finding_text
from server.web.workspace_api import drafts_of, today_of, workspace_api
from server.workspace.drafts import DraftError, NoSuchPack, NoSuchVersion
from server.workspace.grid import Grid, page_grid
from server.workspace.preview import PreviewFailed, Screen, preview_png


def _grid(request: Request, pack: str, rev: str | None = None) -> Grid:
    try:
        return page_grid(drafts_of(request), pack, rev, today_of(request))
    except (NoSuchPack, NoSuchVersion) as exc:
        raise PageError(404, "error.404", id=pack) from exc


def workspace_pages() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    signed_in = Depends(page_user)

    @router.get("/workspace")
    def packs(request: Request, p: Principal = signed_in) -> Response:
        drafts = drafts_of(request)
        items: list[dict[str, Any]] = []
        for pack in drafts.packs():
            try:
                v = drafts.history(pack, limit=1)[0]
            except (DraftError, IndexError):
                continue
            grid = _grid(request, pack, v.id)
            todo = sum(n for s, n in grid.counts().items() if s not in ("up-to-date", "source"))
            items.append({"pack": pack, "v": v, "todo": todo})
        return render(request, "workspace.html", {"packs": items}, principal=p)

    @router.get("/workspace/{pack}")
    def grid(request: Request, pack: str, p: Principal = signed_in) -> Response:
        g = _grid(request, pack)
        history = drafts_of(request).history(pack, limit=30)
        todo = sum(n for s, n in g.counts().items() if s not in ("up-to-date", "source"))
        t = words_of(request)
        context = {"pack": pack, "g": g, "history": history, "todo": todo,
                   "problems": [(f, finding_text(t, f)) for f in g.lint.findings.sorted()
                                if f.level == "error"]}  # fmt: skip
        return render(request, "workspace_grid.html", context, principal=p)

    @router.get("/workspace/{pack}/edit/{page}/{lang}")
    def editor(
        request: Request, pack: str, page: str, lang: str, p: Principal = signed_in
    ) -> Response:
        g = _grid(request, pack)
        if lang not in g.languages:
            raise PageError(404, "error.404", id=f"{pack}/{page}/{lang}")
        try:
            cell = g.cell(page, lang)
        except KeyError:
            raise PageError(404, "error.404", id=f"{pack}/{page}") from None
        drafts = drafts_of(request)
        source = g.source_language
        path, src_path = f"pages/{page}/{lang}.md", f"pages/{page}/{source}.md"
        text = drafts.read(pack, path, g.version) or b""
        src_text = drafts.read(pack, src_path, g.version) or b""
        from server.packs.translation import paragraphs

        changed = {c.source.number for c in cell.stale if c.source is not None}
        src_paras = [(para, para.number in changed)
                     for para in paragraphs(src_text.decode("utf-8", "replace"))]  # fmt: skip
        pages = [row.page for row in g.rows]
        context = {
            "pack": pack, "page": page, "text_lang": lang, "source": source, "cell": cell,
            "version": g.version, "file_path": path, "text": text.decode("utf-8", "replace"),
            "src_paras": src_paras, "is_source": lang == source, "pages": sorted(pages),
            "can_edit": p.user.can("editor"), "ws_words": editor_words(words_of(request)),
        }  # fmt: skip
        return render(request, "workspace_editor.html", context, principal=p)

    @router.get("/workspace/{pack}/file")
    def plain_file(
        request: Request, pack: str, path: Annotated[str, Query(max_length=100)],
        p: Principal = signed_in,
    ) -> Response:  # fmt: skip
        if path not in PLAIN_FILES:
            raise PageError(404, "error.404", id=path)
        g = _grid(request, pack)
        text = drafts_of(request).read(pack, path, g.version) or b""
        context: dict[str, Any] = {
            "pack": pack, "page": path, "text_lang": "", "source": "", "cell": None,
            "version": g.version, "file_path": path, "text": text.decode("utf-8", "replace"),
            "src_paras": [], "is_source": True, "pages": [], "plain": True,
            "can_edit": p.user.can("editor"), "ws_words": editor_words(words_of(request)),
        }  # fmt: skip
        return render(request, "workspace_editor.html", context, principal=p)

    return router


#: files of a pack edited as plain text: the page tree, titles, validity windows, glossaries
PLAIN_FILES = ("pack.toml", "glossary/lo.txt", "glossary/th.txt", "SOURCES.md")


def preview_route() -> APIRouter:
    router = APIRouter(prefix="/api/v1/workspace", tags=["workspace"])
    reader = Depends(require("viewer"))

    @router.get("/{pack}/preview.png", summary="the page as the kiosk draws it (PNG)")
    async def preview(
        request: Request, pack: str,
        page: Annotated[str, Query(max_length=63)], lang: Annotated[str, Query(max_length=5)],
        rev: Annotated[str | None, Query(max_length=40)] = None,
        portrait: bool = False, large: bool = False,
        p: Principal = reader,
    ) -> Response:  # fmt: skip
        drafts = drafts_of(request)
        try:
            version = rev or drafts.head(pack)
            data, cached = await run_in_threadpool(
                preview_png, drafts, pack, version, page, lang, Screen(portrait, large)
            )
        except PreviewFailed as exc:
            t = words_of(request)
            body = {"error": f"the page cannot be drawn: {exc}", "code": exc.code, "args": {},
                    "text": error_text(t, exc.code, {}, str(exc)),
                    "findings": [{**f, "text": finding_text(t, f)} for f in exc.findings]}  # fmt: skip
            return JSONResponse(body, status_code=422)
        except DraftError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        headers = {"X-Version": version, "X-Cache": "hit" if cached else "miss",
                   "Cache-Control": "private, max-age=3600"}  # fmt: skip
        return Response(data, media_type="image/png", headers=headers)

    return router


def install_workspace(app: FastAPI) -> None:
    """The workspace's API, preview and pages, with the reviews'."""
    from server.web.dashboard.review import review_pages
    from server.web.review_api import review_api

    app.include_router(workspace_api())
    app.include_router(preview_route())
    app.include_router(review_api())
    app.include_router(workspace_pages())
    app.include_router(review_pages())
