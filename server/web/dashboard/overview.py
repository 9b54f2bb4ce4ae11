"""The dashboard (server-rendered HTML, Vietnamese first): the fleet overview,
one kiosk with its screenshot and commands, alerts, published packs.

Sign-in is in login.py, notices in notices.py, reports in reports.py, kiosk
administration in admin.py, what the pages share (language, user, rendering,
error pages) in pages.py;
the facts come from fleetops, shared with the JSON API.
`install_dashboard(app)` adds all of it to the app.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from kiosk.common.vietnam import VIETNAM
from kiosk.protocol.errors import BgkError
from server.errors import NotFound
from server.fleet.view import KioskView
from server.web import fleetops, sendops
from server.web.auth import Principal, now_of, store_of
from server.web.dashboard.admin import admin_router
from server.web.dashboard.audit import audit_router
from server.web.dashboard.login import login_router
from server.web.dashboard.notices import notices_router
from server.web.dashboard.pages import (
    STATIC,
    PageError,
    config_of,
    confirm_page,
    install_page_handlers,
    page_user,
    publisher_form,
    redirect,
    render,
    words_of,
)
from server.web.dashboard.reports import reports_router
from server.web.dashboard.rollout import MAX_ROLLOUTS, rollout_context

log = logging.getLogger(__name__)

STATES = ("online", "stale", "offline")
#: commands the kiosk page offers (notices have their own page)
PAGE_OPS = ("screenshot", "resync", "reboot")
_STATE_RANK = {"offline": 0, "stale": 1, "online": 2}
#: rows of the overview table at most (problems first): a page a browser
#: refreshes every 15 s stays small with a fleet of thousands
MAX_ROWS = 300


@dataclass(frozen=True)
class Row:
    """A kiosk as the overview shows it."""

    view: KioskView
    #: the newest version of its pack published to it, when it plays an older one
    newer: int | None

    @property
    def trouble(self) -> bool:
        return bool(
            self.view.state != "online"
            or self.view.alerts
            or self.view.ui_alive is False
            or self.newer is not None
        )


@dataclass(frozen=True)
class Offer:
    """A published pack version and the gates/groups it is published to."""

    pack: str
    version: int
    to: frozenset[str]


def published_offers(request: Request) -> list[Offer]:
    """What the pack repository offers ([] when it cannot be read)."""
    try:
        packs = fleetops.list_packs(config_of(request))
    except (BgkError, OSError, ValueError) as exc:
        log.warning("cannot read the published packs: %s", exc)
        return []
    return [Offer(p["pack"], int(p["version"]), frozenset(p["to"])) for p in packs]


def newer_version(view: KioskView, offers: list[Offer]) -> int | None:
    """The newest version of the kiosk's pack published to it (to all, its gate or
    one of its groups) when the kiosk plays an older one; else None."""
    if view.pack_id is None or view.pack_version is None:
        return None
    audience = {"all", view.gate, *view.groups}
    versions = [o.version for o in offers if o.pack == view.pack_id and o.to & audience]
    top = max(versions, default=None)
    return top if top is not None and view.pack_version < top else None


def fleet_rows(
    views: list[KioskView], offers: list[Offer], gate: str, state: str, q: str = ""
) -> list[Row]:
    """Kiosks of `gate` in `state` whose id contains `q` ("" = any), problems
    first: offline, stale, then online kiosks with an alert, a dead UI or old
    content; then by gate, id."""
    rows = [
        Row(v, newer_version(v, offers))
        for v in views
        if (not gate or v.gate == gate) and (not state or v.state == state) and q in v.id
    ]
    rows.sort(
        key=lambda r: (_STATE_RANK.get(r.view.state, 0), not r.trouble, r.view.gate, r.view.id)
    )
    return rows


def rollout(views: list[KioskView], pack: dict[str, Any]) -> tuple[int, int]:
    """(kiosks the version is published to, those of them playing it now)."""
    to = set(pack["to"])
    audience = [v for v in views if "all" in to or v.gate in to or to & set(v.groups)]
    playing = [
        v for v in audience if v.pack_id == pack["pack"] and v.pack_version == pack["version"]
    ]
    return len(audience), len(playing)


def published_date(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        when = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(VIETNAM).strftime("%d/%m/%Y")


def _broker_word(how: str) -> str:
    return how if how in ("now", "reload", "manual") else "manual"


def _clock_text(now: float) -> str:
    return dt.datetime.fromtimestamp(now, VIETNAM).strftime("%H:%M:%S")


def dashboard_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    signed_in = Depends(page_user)

    @router.get("/")
    def overview(
        request: Request, gate: str = "", state: str = "", q: str = "", p: Principal = signed_in
    ) -> Response:
        now = now_of(request)
        views = fleetops.kiosks_view(store_of(request), config_of(request), now)
        state = state if state in STATES else ""
        gates = sorted({v.gate for v in views})
        gate = gate if gate in gates else ""
        counts = {s: sum(1 for v in views if v.state == s) for s in STATES}
        q = q.strip().lower()[:63]
        rows = fleet_rows(views, published_offers(request), gate, state, q)
        context = {
            "rows": rows[:MAX_ROWS],
            "matching": len(rows),
            "q": q,
            "total": len(views),
            "counts": counts,
            "open_alerts": sum(len(v.alerts) for v in views),
            "gates": gates,
            "states": STATES,
            "gate": gate,
            "state": state,
            "updated": _clock_text(now),
            "revoked": request.query_params.get("revoked", "")[:63],
            "revoked_broker": _broker_word(request.query_params.get("broker", "")),
        }
        return render(request, "overview.html", context, principal=p)

    @router.get("/kiosks/{kiosk_id}")
    def kiosk(
        request: Request, kiosk_id: str, sent: str = "", p: Principal = signed_in
    ) -> Response:
        return _kiosk_page(request, p, kiosk_id, sent=sent if sent in PAGE_OPS else "")

    @router.post("/kiosks/{kiosk_id}/commands")
    def command(
        request: Request,
        kiosk_id: str,
        op: Annotated[str, Form(max_length=20)] = "",
        csrf: Annotated[str, Form(max_length=200)] = "",
        confirmed: Annotated[str, Form(max_length=10)] = "",
        p: Principal = signed_in,
    ) -> Response:
        t = publisher_form(request, p, csrf)
        if op not in PAGE_OPS:
            raise PageError(400, "error.op")
        store, config, now = store_of(request), config_of(request), now_of(request)
        try:
            fleetops.kiosk_view(store, config, kiosk_id, now)
        except NotFound:
            raise PageError(404, "error.404", id=kiosk_id) from None
        if op == "reboot" and confirmed != "yes":
            return confirm_page(request, p, "reboot", kiosk_id, "commands", {"op": "reboot"})
        try:
            sendops.send_command(store, config, kiosk_id, op, {}, by=p.user.name, now=now)
        except NotFound:
            raise PageError(404, "error.404", id=kiosk_id) from None
        except BgkError as exc:
            return _kiosk_page(request, p, kiosk_id, error=t("send_failed", detail=str(exc)))
        return redirect(f"/kiosks/{kiosk_id}?sent={op}")

    @router.get("/alerts")
    def alerts(request: Request, p: Principal = signed_in) -> Response:
        items = fleetops.list_alerts(store_of(request), now_of(request), closed_days=7)
        context = {
            "open": [a for a in items if a["open"]],
            "closed": sorted(
                (a for a in items if not a["open"]), key=lambda a: -float(a["closed_at"])
            ),
        }
        return render(request, "alerts.html", context, principal=p)

    @router.get("/packs")
    def packs(request: Request, p: Principal = signed_in) -> Response:
        t = words_of(request)
        error = ""
        items: list[dict[str, Any]] = []
        try:
            items = fleetops.list_packs(config_of(request))
        except (BgkError, OSError, ValueError) as exc:
            error = t("packs.error", detail=str(exc))
        store, now = store_of(request), now_of(request)
        views = fleetops.kiosks_view(store, config_of(request), now)
        for i, item in enumerate(items):
            item["date"] = published_date(item.get("published"))
            item["audience_n"], item["playing_n"] = rollout(views, item)
            if i < MAX_ROLLOUTS:
                item["rollout"] = rollout_context(store, views, item, now, t)
        return render(request, "packs.html", {"packs": items, "error": error}, principal=p)

    return router


def _kiosk_page(
    request: Request, p: Principal, kiosk_id: str, *, sent: str = "", error: str = ""
) -> Response:
    store, config, now = store_of(request), config_of(request), now_of(request)
    try:
        view = fleetops.kiosk_view(store, config, kiosk_id, now)
    except NotFound:
        raise PageError(404, "error.404", id=kiosk_id) from None
    context = {
        "k": view,
        "newer": newer_version(view, published_offers(request)),
        "shot": fleetops.latest_screenshot(store, config, kiosk_id),
        "commands": fleetops.recent_commands(store, kiosk_id),
        "events": fleetops.recent_events(store, kiosk_id),
        "week": fleetops.kiosk_week(store, kiosk_id, now),
        "can_send": p.user.can("publisher"),
        "sent": sent,
        "error": error,
        "updated": _clock_text(now),
    }
    return render(request, "kiosk.html", context, principal=p, status=400 if error else 200)


def install_dashboard(app: FastAPI) -> None:
    """The dashboard's pages, its static files and its HTML error pages."""
    install_page_handlers(app)
    app.include_router(login_router())
    app.include_router(dashboard_router())
    app.include_router(notices_router())
    app.include_router(admin_router())
    app.include_router(audit_router())
    app.include_router(reports_router())
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
