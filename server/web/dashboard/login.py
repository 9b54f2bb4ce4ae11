"""Sign-in and sign-out of the dashboard.

POST /login checks the password (throttled by auth.attempt_login), starts a
session and sets its cookie: HttpOnly, SameSite=Lax, Secure over https,
lasting as long as the session. It then goes to `next` only when that is a
path on this site (never another host: no open redirect).
"""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from server.web.accounts import SESSION_S, end_session, start_session
from server.web.auth import (
    SESSION_COOKIE,
    LoginRefused,
    attempt_login,
    authenticate,
    now_of,
    store_of,
)
from server.web.dashboard.pages import PageError, need_csrf, redirect, render, words_of

MAX_FIELD = 200


def safe_next(target: str | None) -> str:
    """`target` when it is a local path (/...), else the overview."""
    if not target or len(target) > 2000 or not target.startswith("/"):
        return "/"
    if target.startswith(("//", "/\\")) or any(c in target for c in "\\\r\n\t") or "\x00" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def same_origin(request: Request) -> bool:
    """False for a sign-in posted by another site's page (its browser says so in
    Origin): nobody is signed in as someone else without knowing it. Clients
    that send no Origin (scripts, old browsers) pass. Host names are compared
    without ports, since a proxy's `Host $host` drops a non-default one."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = urlsplit("//" + request.headers.get("host", "")).hostname
    return host is not None and urlsplit(origin).hostname == host


def login_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/login")
    def login_form(request: Request, next: str = "/", bye: str = "") -> Response:
        if authenticate(request) is not None and request.cookies.get(SESSION_COOKIE):
            return redirect(safe_next(next))
        notice = words_of(request)("login.bye") if bye else ""
        return render(request, "login.html", {"next": safe_next(next), "name": "", "info": notice})

    @router.post("/login")
    def login(
        request: Request,
        name: Annotated[str, Form(max_length=MAX_FIELD)] = "",
        password: Annotated[str, Form(max_length=MAX_FIELD)] = "",
        next: Annotated[str, Form(max_length=2000)] = "/",
    ) -> Response:
        t = words_of(request)
        target = safe_next(next)
        if not same_origin(request):
            raise PageError(403, "error.csrf")
        try:
            user = attempt_login(request, name, password)
        except LoginRefused as refused:
            if refused.reason == "locked":
                minutes = max(1, math.ceil((refused.retry_after or 60) / 60))
                error, status = t("login.locked", minutes=minutes), 429
            else:
                error, status = t("login.wrong"), 401
            context = {"next": target, "name": name, "error": error}
            return render(request, "login.html", context, status=status)
        cookie, _session = start_session(store_of(request), user, now=now_of(request))
        response = redirect(target)
        response.set_cookie(
            SESSION_COOKIE,
            cookie,
            max_age=SESSION_S,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @router.post("/logout")
    def logout(request: Request, csrf: Annotated[str, Form(max_length=MAX_FIELD)] = "") -> Response:
        principal = authenticate(request)
        cookie = request.cookies.get(SESSION_COOKIE)
        if principal is None or principal.session is None or not cookie:
            return redirect("/login")
        need_csrf(principal, csrf)
        end_session(store_of(request), cookie)
        response = redirect("/login?bye=1")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return router
