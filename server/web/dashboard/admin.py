"""Accounts on the dashboard (admins only): the users and their roles; a new
user or a new password, made up by the server and shown once (never put in a
URL); a role changed; a user disabled (their sessions end, their API tokens
are revoked) or enabled again. An admin cannot disable or demote themself
(nobody would be left to undo it). API tokens stay with the command line
(`bgk server token ...`). Admins also enrol a kiosk (its bundle comes as a
zip download, as `bgk kiosk enroll` writes it) and revoke a kiosk (a stolen or retired
one): its MQTT login ends and the broker drops it, after a confirmation.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from kiosk.protocol.errors import BgkError, UsageError
from server.broker.registry import KioskRegistry, check_name
from server.broker.revoke import revoke_kiosk
from server.config import ServerConfig
from server.errors import NotFound
from server.fleet.enroll import enroll_kiosk
from server.web import accounts, fleetops
from server.web.auth import Principal, now_of, store_of
from server.web.dashboard.pages import (
    PageError,
    config_of,
    confirm_page,
    need_role,
    page_user,
    publisher_form,
    redirect,
    render,
    words_of,
)

Field = Annotated[str, Form(max_length=200)]


def bundle_zip(
    config: ServerConfig,
    kiosk_id: str,
    gate: str,
    groups: tuple[str, ...],
    now: float,
    by: str = "system",
) -> bytes:
    """Enrol (or re-enrol) a kiosk and return its bundle as a zip, made in a
    private temporary folder that is removed at once: the bundle holds the
    kiosk's MQTT password and exists only in the download."""
    with tempfile.TemporaryDirectory(prefix="bgk-enrol-") as tmp:
        out = Path(tmp) / kiosk_id
        enroll_kiosk(config, kiosk_id, gate, groups, out, now, replace=True, by=by)
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as bundle:
            for path in sorted(out.rglob("*")):
                if path.is_file():
                    bundle.write(path, f"{kiosk_id}/{path.relative_to(out)}")
        return data.getvalue()


def admin_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    signed_in = Depends(page_user)

    def page(
        request: Request,
        p: Principal,
        *,
        shown: dict[str, str] | None = None,
        error: str = "",
        typed: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        context: dict[str, Any] = {
            "users": accounts.list_users(store_of(request)),
            "roles": accounts.ROLES,
            "shown": shown,
            "error": error,
            "typed": typed or {"name": "", "role": "viewer"},
            "done": request.query_params.get("done", ""),
            "me": p.user.name,
        }
        return render(request, "users.html", context, principal=p, status=status)

    def known(request: Request, name: str) -> accounts.UserRecord:
        for user in accounts.list_users(store_of(request)):
            if user.name == name:
                return user
        raise PageError(404, "users.err.unknown", name=name)

    def not_me(p: Principal, name: str) -> None:
        if p.user.name == name:
            raise PageError(400, "users.err.self")

    @router.get("/admin/users")
    def users(request: Request, p: Principal = signed_in) -> Response:
        need_role(p, "admin", words_of(request))
        return page(request, p)

    @router.post("/admin/users")
    def add(
        request: Request,
        csrf: Field = "",
        name: Field = "",
        role: Field = "",
        p: Principal = signed_in,
    ) -> Response:
        t = publisher_form(request, p, csrf, "admin")
        name = name.strip().lower()
        typed = {"name": name, "role": role}
        try:
            accounts.check_user_name(name)
        except UsageError:
            return page(request, p, error=t("users.err.name"), typed=typed, status=400)
        if role not in accounts.ROLES:
            return page(request, p, error=t("users.err.role"), typed=typed, status=400)
        if any(u.name == name for u in accounts.list_users(store_of(request))):
            error = t("users.err.exists", name=name)
            return page(request, p, error=error, typed=typed, status=400)
        password = accounts.generate_password()
        accounts.add_user(
            store_of(request), name, role, password, now=now_of(request), by=p.user.name
        )
        return page(request, p, shown={"name": name, "password": password, "why": "new"})

    @router.post("/admin/users/{name}/password")
    def new_password(
        request: Request, name: str, csrf: Field = "", p: Principal = signed_in
    ) -> Response:
        publisher_form(request, p, csrf, "admin")
        known(request, name)
        password = accounts.generate_password()
        accounts.set_password(
            store_of(request), name, password, by=p.user.name, now=now_of(request)
        )
        return page(request, p, shown={"name": name, "password": password, "why": "reset"})

    @router.post("/admin/users/{name}/role")
    def role(
        request: Request, name: str, csrf: Field = "", role: Field = "", p: Principal = signed_in
    ) -> Response:
        publisher_form(request, p, csrf, "admin")
        known(request, name)
        not_me(p, name)
        if role not in accounts.ROLES:
            raise PageError(400, "users.err.role")
        accounts.set_role(store_of(request), name, role, by=p.user.name, now=now_of(request))
        return redirect("/admin/users?done=role")

    @router.post("/admin/users/{name}/disable")
    def disable(
        request: Request, name: str, csrf: Field = "", p: Principal = signed_in
    ) -> Response:
        publisher_form(request, p, csrf, "admin")
        known(request, name)
        not_me(p, name)
        accounts.disable_user(store_of(request), name, now=now_of(request), by=p.user.name)
        return redirect("/admin/users?done=disabled")

    @router.post("/admin/users/{name}/enable")
    def enable(request: Request, name: str, csrf: Field = "", p: Principal = signed_in) -> Response:
        publisher_form(request, p, csrf, "admin")
        known(request, name)
        accounts.enable_user(store_of(request), name, by=p.user.name, now=now_of(request))
        return redirect("/admin/users?done=enabled")

    def enrol_page(
        request: Request, p: Principal, typed: dict[str, str], error: str = "", status: int = 200
    ) -> Response:
        views = fleetops.kiosks_view(store_of(request), config_of(request), now_of(request))
        context = {
            "typed": typed,
            "error": error,
            "gates": sorted({v.gate for v in views}),
            "groups": sorted({g for v in views for g in v.groups}),
        }
        return render(request, "enrol.html", context, principal=p, status=status)

    @router.get("/admin/kiosks/new")
    def enrol_form(request: Request, p: Principal = signed_in) -> Response:
        need_role(p, "admin", words_of(request))
        return enrol_page(request, p, {"id": "", "gate": "", "groups": "", "replace": ""})

    @router.post("/admin/kiosks/new")
    def enrol(
        request: Request,
        csrf: Field = "",
        kiosk_id: Annotated[str, Form(alias="id", max_length=200)] = "",
        gate: Field = "",
        groups: Annotated[str, Form(max_length=1000)] = "",
        replace: Field = "",
        p: Principal = signed_in,
    ) -> Response:
        t = publisher_form(request, p, csrf, "admin")
        kiosk_id, gate = kiosk_id.strip().lower(), gate.strip().lower()
        group_list = tuple(g.strip().lower() for g in groups.split(",") if g.strip())
        typed = {"id": kiosk_id, "gate": gate, "groups": groups, "replace": replace}
        for kind, value in [("id", kiosk_id), ("gate", gate), *(("group", g) for g in group_list)]:
            try:
                check_name(kind, value)
            except BgkError:
                return enrol_page(request, p, typed, t(f"enrol.err.{kind}", value=value), 400)
        existing = KioskRegistry(store_of(request)).get(kiosk_id)
        if existing is not None and existing.active and replace != "yes":
            return enrol_page(request, p, typed, t("enrol.err.exists", id=kiosk_id), 400)
        return Response(
            bundle_zip(
                config_of(request), kiosk_id, gate, group_list, now_of(request), p.user.name
            ),
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="bgk-bundle-{kiosk_id}.zip"',
                "Cache-Control": "no-store",
            },
        )

    @router.post("/kiosks/{kiosk_id}/revoke")
    def revoke(
        request: Request,
        kiosk_id: str,
        csrf: Field = "",
        confirmed: Field = "",
        p: Principal = signed_in,
    ) -> Response:
        publisher_form(request, p, csrf, "admin")
        store, config, now = store_of(request), config_of(request), now_of(request)
        try:
            fleetops.kiosk_view(store, config, kiosk_id, now)
        except NotFound:
            raise PageError(404, "error.404", id=kiosk_id) from None
        if confirmed != "yes":
            return confirm_page(request, p, "revoke", kiosk_id, "revoke", {})
        revoked = revoke_kiosk(config, store, kiosk_id, now, by=p.user.name)
        broker = revoked.broker
        how = "manual" if broker is None else "reload" if broker.reload == "requested" else "now"
        return redirect(f"/?revoked={kiosk_id}&broker={how}")

    return router
