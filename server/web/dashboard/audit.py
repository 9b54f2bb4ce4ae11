"""The dashboard's audit page (admins): the chain's state and the newest entries,
filtered by account and time (server.audit.log)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from kiosk.protocol.errors import BgkError
from server.audit import log as audit
from server.audit.cli import local_time, parse_since
from server.web.auth import Principal, store_of
from server.web.dashboard.pages import need_role, page_user, render, words_of

#: entries on one page
PAGE_SIZE = 200


def audit_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    signed_in = Depends(page_user)

    @router.get("/admin/audit")
    def audit_page(request: Request, p: Principal = signed_in) -> Response:
        t = words_of(request)
        need_role(p, "admin", t)
        store = store_of(request)
        actor = request.query_params.get("actor", "").strip()[:100]
        since_text = request.query_params.get("since", "").strip()[:20]
        error = ""
        since = None
        if since_text:
            try:
                since = parse_since(since_text)
            except BgkError:
                error = t("audit.err.since", value=since_text)
        verdict = audit.verify(store)
        found = audit.entries(store, since=since, actor=actor or None, limit=PAGE_SIZE)
        rows = [
            {
                "seq": e.seq,
                "time": local_time(e.at),
                "actor": e.actor,
                "action": e.action,
                "object": e.object,
                "details": ", ".join(f"{k}: {v}" for k, v in sorted(e.details_dict.items())),
                "hash": e.hash,
            }
            for e in found
        ]
        context: dict[str, Any] = {
            "verdict": verdict,
            "rows": rows,
            "actor": actor,
            "since": since_text,
            "error": error,
            "page_size": PAGE_SIZE,
        }
        return render(request, "audit.html", context, principal=p, status=400 if error else 200)

    return router
