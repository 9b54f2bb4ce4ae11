"""The review page (dashboard session): what a requested version changes against the
published pack, its checks, the comments, the decision buttons (publishers) and what
happened after the approval. Decisions go through the JSON API (server/web/review_api.py),
which checks the publisher role itself: a hidden button is never the only guard."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from server.packs import reviews
from server.web.auth import Principal, store_of
from server.web.dashboard.pages import PageError, config_of, page_user, render
from server.web.review_api import current, review_view
from server.web.workspace_api import drafts_of, today_of
from server.workspace import review_decide, review_diff
from server.workspace.grid import page_grid


def checks_of(request: Request, review: reviews.Review) -> dict[str, Any]:
    """Lint and translation status of the frozen version (the grid's, cached by version)."""
    g = page_grid(drafts_of(request), review.pack, review.commit, today_of(request))
    counts = g.counts()
    findings = g.lint.findings.sorted()
    return {
        "errors": [f for f in findings if f.level == "error"],
        "warnings": [f for f in findings if f.level != "error"],
        "ok": counts["up-to-date"] + counts["source"],
        "stale": counts["needs-update"] + counts["unchecked"],
        "missing": counts["missing"],
    }


def review_pages() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    signed_in = Depends(page_user)

    @router.get("/workspace/{pack}/reviews")
    def review_list(request: Request, pack: str, p: Principal = signed_in) -> Response:
        found = reviews.listing(store_of(request), pack)
        return render(request, "reviews.html", {"pack": pack, "reviews": found}, principal=p)

    @router.get("/workspace/{pack}/reviews/{review_id}")
    def review_page(
        request: Request,
        pack: str,
        review_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
        p: Principal = signed_in,
    ) -> Response:
        try:
            review = current(request, review_id)
        except reviews.NoSuchReview as exc:
            raise PageError(404, "error.404", id=f"review {review_id}") from exc
        if review.pack != pack:
            raise PageError(404, "error.404", id=f"{pack} review {review_id}")
        view = review_view(request, review)
        diff = checks = None
        if review.manifest_sha256 is not None:
            diff = review_diff.compare(config_of(request), store_of(request), review)
            checks = checks_of(request, review)
        context = {
            "pack": pack, "r": review, "view": view, "diff": diff, "checks": checks,
            "can_decide": p.user.can("publisher") and review.state == "requested",
            "self_request": view["two_person"] and p.user.name == review.requested_by,
            "event_id": review_decide.event_id_of(review),
            "data_dir": str(config_of(request).data),
        }  # fmt: skip
        return render(request, "review.html", context, principal=p)

    return router
