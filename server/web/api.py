"""The JSON API, `/api/v1/…` (DESIGN §4): bearer tokens or the dashboard session.

Viewers read; publishers also send commands and notices and publish;
admins also manage accounts (with the CLI: `bgk server user …`).
Errors are `{"error": "..."}` with a sentence that says what to do.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from kiosk.protocol.errors import BgkError
from server.config import ServerConfig
from server.fleet.notice_check import NoticeGlyphsMissing
from server.web import fleetops, sendops
from server.web.auth import Principal, now_of, require, store_of


class CommandIn(BaseModel):
    op: Literal["reboot", "resync", "screenshot", "notice"]
    args: dict[str, Any] = Field(default_factory=dict)
    #: seconds until the command expires unsent (default: [fleet] command_ttl_s)
    ttl_s: Annotated[float, Field(ge=10, le=7 * 86400)] | None = None


class NoticeIn(BaseModel):
    #: the notice per language code (vi, en, lo, th, zh); Vietnamese first
    text: dict[str, Annotated[str, Field(max_length=1000)]]
    #: gates, groups, or "all"
    to: list[str] = Field(min_length=1, max_length=100)
    minutes: Annotated[float, Field(ge=1, le=sendops.NOTICE_MAX_MINUTES)] = 60
    level: Literal["urgent", "info"] = "urgent"
    #: send although some kiosks' fonts lack characters of it (recorded per command)
    send_anyway: bool = False


class NoticeCheckIn(BaseModel):
    text: dict[str, Annotated[str, Field(max_length=1000)]]
    to: list[str] = Field(min_length=1, max_length=100)


class PublishIn(BaseModel):
    version: Annotated[int, Field(ge=1)]
    to: list[str] = Field(min_length=1, max_length=100)


def _config(request: Request) -> ServerConfig:
    config: ServerConfig = request.app.state.config
    return config


def _queued(q: Any) -> dict[str, Any]:
    return {"cmd_id": q.cmd_id, "kiosk_id": q.kiosk_id, "op": q.op, "exp": q.exp, "state": "queued"}


def api_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["api"])
    viewer = Depends(require("viewer"))
    publisher = Depends(require("publisher"))

    @router.get(
        "/about",
        summary="who publishes (name, address, phone, e-mail, portal, legal basis); public",
        description="The [publisher] of server.toml (`bgk server init --publisher-…`) and "
        "the base URL of the packs' web copies ([site] url, empty when none).",
    )
    def about(request: Request) -> dict[str, Any]:
        config = _config(request)
        return {"publisher": config.publisher.as_json(), "site_url": config.site_url}

    @router.get("/kiosks", summary="every enrolled kiosk with its state")
    def kiosks(request: Request, _p: Principal = viewer) -> list[dict[str, Any]]:
        views = fleetops.kiosks_view(store_of(request), _config(request), now_of(request))
        return [v.as_json() for v in views]

    @router.get("/kiosks/{kiosk_id}", summary="one kiosk: state, last screenshot, commands")
    def kiosk(request: Request, kiosk_id: str, _p: Principal = viewer) -> dict[str, Any]:
        return fleetops.kiosk_detail(store_of(request), _config(request), kiosk_id, now_of(request))

    @router.get(
        "/kiosks/{kiosk_id}/screenshot",
        summary="the kiosk's latest screenshot (JPEG)",
        response_class=FileResponse,
    )
    def screenshot(request: Request, kiosk_id: str, _p: Principal = viewer) -> FileResponse:
        shot = fleetops.latest_screenshot(store_of(request), _config(request), kiosk_id)
        if shot is None:
            raise fleetops.NotFound(
                f"no screenshot of {kiosk_id} yet: send it the `screenshot` command"
            )
        return FileResponse(
            shot.path, media_type="image/jpeg", headers={"Cache-Control": "no-store"}
        )

    @router.post(
        "/kiosks/{kiosk_id}/commands",
        status_code=202,
        summary="send reboot, resync, screenshot or notice to a kiosk",
    )
    def command(
        request: Request, kiosk_id: str, body: CommandIn, p: Principal = publisher
    ) -> dict[str, Any]:
        queued = sendops.send_command(
            store_of(request),
            _config(request),
            kiosk_id,
            body.op,
            body.args,
            by=p.user.name,
            now=now_of(request),
            ttl_s=body.ttl_s,
        )
        return _queued(queued)

    @router.get("/kiosks/{kiosk_id}/commands", summary="the kiosk's latest commands and answers")
    def commands(
        request: Request,
        kiosk_id: str,
        limit: Annotated[int, Query(ge=1, le=200)] = 20,
        _p: Principal = viewer,
    ) -> list[dict[str, Any]]:
        fleetops.kiosk_view(store_of(request), _config(request), kiosk_id, now_of(request))
        return fleetops.recent_commands(store_of(request), kiosk_id, limit)

    @router.get("/packs", summary="published packs, newest first")
    def packs(request: Request, _p: Principal = viewer) -> list[dict[str, Any]]:
        return fleetops.list_packs(_config(request))

    @router.post(
        "/packs/{pack_id}/publish",
        summary="publish a published pack version to more gates or groups",
    )
    def publish(
        request: Request, pack_id: str, body: PublishIn, p: Principal = publisher
    ) -> dict[str, Any]:
        return fleetops.widen_pack(
            _config(request), store_of(request), pack_id, body.version, body.to, by=p.user.name
        )

    @router.post("/notices", status_code=202, summary="an urgent notice on the kiosks' screens")
    def notices(request: Request, body: NoticeIn, p: Principal = publisher) -> Any:
        try:
            queued = sendops.send_notice(
                store_of(request),
                _config(request),
                body.text,
                body.to,
                minutes=body.minutes,
                by=p.user.name,
                now=now_of(request),
                level=body.level,
                send_anyway=body.send_anyway,
            )
        except NoticeGlyphsMissing as exc:
            refused = NoticeGlyphsMissing(exc.check, '"send_anyway": true')
            return JSONResponse(
                {"error": str(refused), "check": exc.check.as_json()},
                status_code=409,
                headers={"Cache-Control": "no-store"},
            )
        return {"commands": [_queued(q) for q in queued]}

    @router.post(
        "/notices/check",
        summary="before sending: characters the kiosks cannot draw, languages not written",
    )
    def notice_check(
        request: Request, body: NoticeCheckIn, _p: Principal = publisher
    ) -> dict[str, Any]:
        check = sendops.check_notice_text(store_of(request), _config(request), body.text, body.to)
        return check.as_json()

    @router.get("/notices", summary="notices of the last 7 days and how far they reached")
    def notices_sent(request: Request, _p: Principal = viewer) -> list[dict[str, Any]]:
        now = now_of(request)
        return [n.as_json(now) for n in sendops.recent_notices(store_of(request), now)]

    @router.post(
        "/notices/{notice_id}/withdraw",
        status_code=202,
        summary="take a notice off the screens it was sent to",
    )
    def withdraw(request: Request, notice_id: str, p: Principal = publisher) -> dict[str, Any]:
        queued = sendops.withdraw_notice(
            store_of(request), _config(request), notice_id, by=p.user.name, now=now_of(request)
        )
        return {"commands": [_queued(q) for q in queued]}

    @router.get("/alerts", summary="open alerts (and recently closed ones with closed_days)")
    def alerts_(
        request: Request,
        closed_days: Annotated[float, Query(ge=0, le=366)] = 0,
        _p: Principal = viewer,
    ) -> list[dict[str, Any]]:
        return fleetops.list_alerts(store_of(request), now_of(request), closed_days=closed_days)

    @router.get(
        "/reports",
        summary="the Article 26 report of a month (?month=2026-11) or a year (?year=2026)",
    )
    def reports(
        request: Request,
        month: Annotated[str | None, Query(max_length=20)] = None,
        year: Annotated[str | None, Query(max_length=20)] = None,
        _p: Principal = viewer,
    ) -> dict[str, Any]:
        from server.reports.period import parse_period
        from server.reports.report import server_report

        period = parse_period(month, year, names=("month", "year"))
        report = server_report(_config(request), store_of(request), period, now_of(request))
        return report.as_json()

    @router.get("/me", summary="who this token or session belongs to")
    def me(p: Principal = viewer) -> dict[str, Any]:
        return {
            "name": p.user.name,
            "role": p.user.role,
            "csrf": p.session.csrf if p.session else None,
        }

    return router


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": message}, status_code=status, headers={"Cache-Control": "no-store"}
    )


def install_error_handlers(app: FastAPI) -> None:
    """Refusals (BgkError: a wrong request, a version not higher, ...) as 400,
    unknown kiosks/packs as 404, each with its sentence."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(_r: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        return error_response(422, f"{where or 'request'}: {first.get('msg', 'invalid')}")

    @app.exception_handler(fleetops.NotFound)
    async def _nf(_r: Request, exc: fleetops.NotFound) -> JSONResponse:
        return error_response(404, str(exc))

    @app.exception_handler(BgkError)
    async def _refused(_r: Request, exc: BgkError) -> JSONResponse:
        return error_response(400, str(exc))
