"""What every dashboard page shares: the language, the signed-in user, rendering
a Jinja2 template with the header's facts, and the HTML error pages.

Pages need a session: without one they redirect to /login?next=<the page>
(`page_user`); a refusal or an unknown kiosk is an HTML page in the user's
language (`PageError`), never the API's JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from server.config import ServerConfig
from server.fleet.view import local_time
from server.web.accounts import Role
from server.web.auth import Principal, authenticate, check_csrf
from server.web.i18n import DEFAULT_LANG, LANG_NAMES, LANGS, Words

HERE = Path(__file__).resolve().parent.parent  # server/web: templates and static files
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
LANG_COOKIE = "bgk_lang"
#: seconds between the overview's and kiosk page's own refreshes
REFRESH_S = 15.0

#: sent with every page: no caching of fleet facts, no framing, only our own files
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


class LoginNeeded(Exception):
    """The page needs a signed-in user; redirect to the sign-in form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageError(Exception):
    """An HTML error page: `key` of i18n with its values, and the HTTP status."""

    def __init__(self, status: int, key: str, **values: object) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.values = values


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(("html",), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local_time"] = lambda ts: local_time(ts) or ""
    return env


def config_of(request: Request) -> ServerConfig:
    config: ServerConfig = request.app.state.config
    return config


def lang_of(request: Request) -> str:
    """?lang= (which also sets the cookie), else the bgk_lang cookie, else Vietnamese."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    return cookie if cookie in LANGS else DEFAULT_LANG


def words_of(request: Request) -> Words:
    return Words(lang_of(request))


def here_path(request: Request) -> str:
    """This page's path and query, for ?next= (without lang, which the cookie keeps)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return request.url.path + (f"?{urlencode(query)}" if query else "")


def page_user(request: Request) -> Principal:
    """A FastAPI dependency of pages: the signed-in user (a session, not a token)."""
    principal = authenticate(request)
    if principal is None or principal.session is None:
        raise LoginNeeded(here_path(request))
    return principal


def need_role(principal: Principal, role: Role, t: Words) -> None:
    if not principal.user.can(role):
        raise PageError(
            403,
            "error.403",
            role=t(f"role.{role}"),
            name=principal.user.name,
            have=t(f"role.{principal.user.role}"),
        )


def publisher_form(
    request: Request, principal: Principal, csrf: str, role: Role = "publisher"
) -> Words:
    """What every form that changes something checks first: the role (publisher
    unless said) and the session's form token. Returns the reader's words."""
    t = words_of(request)
    need_role(principal, role, t)
    need_csrf(principal, csrf)
    return t


def need_csrf(principal: Principal, token: str | None) -> None:
    """auth.check_csrf, refusing with an HTML page."""
    try:
        check_csrf(principal, token)
    except HTTPException:
        raise PageError(403, "error.csrf") from None


def _switch_links(request: Request) -> dict[str, str]:
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return {lang: request.url.path + "?" + urlencode([*query, ("lang", lang)]) for lang in LANGS}


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    principal: Principal | None = None,
    status: int = 200,
) -> HTMLResponse:
    lang = lang_of(request)
    t = Words(lang)
    env: Environment = request.app.state.dashboard_env
    html = env.get_template(template).render(
        t=t,
        lang=lang,
        lang_names=LANG_NAMES,
        switch=_switch_links(request),
        user=principal.user if principal else None,
        csrf=principal.session.csrf if principal and principal.session else "",
        path=request.url.path,
        refresh_s=getattr(request.app.state, "dashboard_refresh_s", REFRESH_S),
        publisher=config_of(request).publisher,
        **context,
    )
    response = HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)
    remember_lang(request, response)
    return response


def confirm_page(
    request: Request,
    principal: Principal,
    what: str,
    kiosk_id: str,
    route: str,
    fields: dict[str, str],
) -> HTMLResponse:
    """Ask before a dangerous action on a kiosk (reboot, revoke): the form posts
    `fields` again to /kiosks/{id}/{route} with confirmed=yes."""
    context = {
        "what": what,
        "kiosk_id": kiosk_id,
        "action": f"/kiosks/{quote(kiosk_id, safe='')}/{route}",
        "fields": fields,
    }
    return render(request, "confirm.html", context, principal=principal)


def remember_lang(request: Request, response: Response) -> None:
    asked = request.query_params.get("lang")
    if asked in LANGS and request.cookies.get(LANG_COOKIE) != asked:
        response.set_cookie(
            LANG_COOKIE, asked, max_age=365 * 86400, samesite="lax", path="/", httponly=True
        )


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def install_page_handlers(app: FastAPI) -> None:
    app.state.dashboard_env = make_environment()

    @app.exception_handler(LoginNeeded)
    async def _login(request: Request, exc: LoginNeeded) -> Response:
        response = redirect("/login?next=" + quote(exc.next_path, safe="/"))
        remember_lang(request, response)  # a link with ?lang=en signs in in English
        return response

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError) -> Response:
        return error_page(request, exc)


def error_page(request: Request, exc: PageError) -> Response:
    """An error as a dashboard page in the reader's language."""
    principal = authenticate(request)
    message = words_of(request)(exc.key, **exc.values)
    return render(
        request, "error.html", {"message": message}, principal=principal, status=exc.status
    )


def wants_page(request: Request) -> bool:
    """A person's browser asking for a page (not the API, not a kiosk's file)."""
    path = request.url.path
    if path.startswith(("/api/", "/tuf/", "/blobs/", "/static/")):
        return False
    return "text/html" in request.headers.get("accept", "")
