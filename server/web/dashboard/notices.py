"""The urgent-notice form (publishers and admins): a text per kiosk language,
the audience (all, a gate or a group of the enrolled kiosks), how long it
shows and its level. Wrong input gives the form back with what was typed
and a sentence per field; a sent notice says how many kiosks it was queued for.

Before sending, the form's "Before you send" box says for each of the five
languages whether it is written and, if not, what those travellers see
instead, and names the characters the audience's kiosks cannot draw
(server.fleet.notice_check). The "Check" button (and the page's script, as
the text is typed) fills it without sending; a notice with such characters
is sent only with "Send anyway" ticked, which its commands record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from kiosk.protocol.errors import BgkError
from kiosk.protocol.glyphs import suggestion
from kiosk.protocol.languages import ENDONYMS, LANGUAGES
from server.fleet.notice_check import NoticeCheck
from server.web import fleetops, sendops
from server.web.auth import Principal, now_of, store_of
from server.web.dashboard.pages import (
    PageError,
    config_of,
    need_role,
    page_user,
    publisher_form,
    redirect,
    render,
    words_of,
)
from server.web.i18n import Words

MAX_TEXT = 1000
LEVELS = ("urgent", "info")


@dataclass
class NoticeForm:
    text: dict[str, str] = field(default_factory=lambda: dict.fromkeys(LANGUAGES, ""))
    to: str = "all"
    minutes: str = "60"
    level: str = "urgent"
    send_anyway: bool = False
    #: field name -> sentence
    errors: dict[str, str] = field(default_factory=dict)
    #: what the audience's kiosks can draw (None until there is text and an audience)
    check: NoticeCheck | None = None


@dataclass(frozen=True)
class Audience:
    gates: list[str]
    groups: list[str]

    def __contains__(self, name: object) -> bool:
        return name == "all" or name in self.gates or name in self.groups


def audience_of(request: Request) -> Audience:
    views = fleetops.kiosks_view(store_of(request), config_of(request), now_of(request))
    return Audience(sorted({v.gate for v in views}), sorted({g for v in views for g in v.groups}))


def check_form(form: NoticeForm, audience: Audience, t: Words) -> float | None:
    """The minutes when the form is right; otherwise None with form.errors filled."""
    if not any(v.strip() for v in form.text.values()):
        form.errors["text"] = t("notices.err.text")
    elif any(len(v) > MAX_TEXT for v in form.text.values()):
        form.errors["text"] = t("notices.err.long", max=MAX_TEXT)
    if form.to not in audience:
        form.errors["to"] = t("notices.err.to")
    if form.level not in LEVELS:
        form.errors["level"] = t("notices.err.level")
    minutes: float | None = None
    try:
        minutes = float(form.minutes.strip().replace(",", "."))
    except ValueError:
        minutes = None
    if minutes is None or not 1 <= minutes <= sendops.NOTICE_MAX_MINUTES:
        form.errors["minutes"] = t("notices.err.minutes", max=sendops.NOTICE_MAX_MINUTES)
        minutes = None
    return None if form.errors else minutes


def notices_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    signed_in = Depends(page_user)

    def page(
        request: Request, p: Principal, form: NoticeForm, *, queued: int | None, status: int = 200
    ) -> Response:
        context = {
            "form": form,
            "audience": audience_of(request),
            "languages": [(lang, ENDONYMS[lang]) for lang in LANGUAGES],
            "suggestion": suggestion,
            "codepoint": lambda ch: f"U+{ord(ch):04X}",
            "levels": LEVELS,
            "max_minutes": sendops.NOTICE_MAX_MINUTES,
            "max_text": MAX_TEXT,
            "queued": queued,
            "sent": sendops.recent_notices(store_of(request), now_of(request)),
            "now": now_of(request),
            "withdrawn": request.query_params.get("withdrawn"),
        }
        return render(request, "notices.html", context, principal=p, status=status)

    @router.get("/notices")
    def notices_form(
        request: Request, queued: int | None = None, p: Principal = signed_in
    ) -> Response:
        need_role(p, "publisher", words_of(request))
        return page(request, p, NoticeForm(), queued=queued)

    @router.post("/notices")
    def send(
        request: Request,
        csrf: Annotated[str, Form(max_length=200)] = "",
        text_vi: Annotated[str, Form(max_length=4 * MAX_TEXT)] = "",
        text_en: Annotated[str, Form(max_length=4 * MAX_TEXT)] = "",
        text_lo: Annotated[str, Form(max_length=4 * MAX_TEXT)] = "",
        text_th: Annotated[str, Form(max_length=4 * MAX_TEXT)] = "",
        text_zh: Annotated[str, Form(max_length=4 * MAX_TEXT)] = "",
        to: Annotated[str, Form(max_length=100)] = "",
        minutes: Annotated[str, Form(max_length=20)] = "",
        level: Annotated[str, Form(max_length=20)] = "",
        send_anyway: Annotated[str, Form(max_length=5)] = "",
        action: Annotated[str, Form(max_length=10)] = "send",
        p: Principal = signed_in,
    ) -> Response:
        t = publisher_form(request, p, csrf)
        texts = {"vi": text_vi, "en": text_en, "lo": text_lo, "th": text_th, "zh": text_zh}
        form = NoticeForm(
            text=texts, to=to, minutes=minutes, level=level, send_anyway=bool(send_anyway)
        )
        audience = audience_of(request)
        if to in audience and any(len(v) <= MAX_TEXT for v in texts.values()):
            form.check = sendops.check_notice_text(
                store_of(request), config_of(request), texts, [to]
            )
        if action == "check":  # the box only: nothing is sent
            return page(request, p, form, queued=None)
        duration = check_form(form, audience, t)
        if duration is not None and form.check and not form.check.ok and not form.send_anyway:
            form.errors["glyphs"] = t("notices.err.glyphs")
            duration = None
        if duration is None:
            return page(request, p, form, queued=None, status=400)
        try:
            queued = sendops.send_notice(
                store_of(request),
                config_of(request),
                {lang: value for lang, value in texts.items() if value.strip()},
                [to],
                minutes=duration,
                by=p.user.name,
                now=now_of(request),
                level=level,
                send_anyway=form.send_anyway,
            )
        except BgkError as exc:
            form.errors["send"] = t("notices.err.send", detail=str(exc))
            return page(request, p, form, queued=None, status=400)
        return redirect(f"/notices?queued={len(queued)}")

    @router.post("/notices/{notice_id}/withdraw")
    def withdraw(
        request: Request,
        notice_id: str,
        csrf: Annotated[str, Form(max_length=200)] = "",
        p: Principal = signed_in,
    ) -> Response:
        t = publisher_form(request, p, csrf)
        store, now = store_of(request), now_of(request)
        notice = next((n for n in sendops.recent_notices(store, now) if n.id == notice_id), None)
        if notice is None:
            raise PageError(404, "notices.err.unknown", id=notice_id)
        form = NoticeForm()
        if not notice.active(now):  # withdrawn by someone else meanwhile, or ended
            ended = "notices.err.already" if notice.withdrawn_at else "notices.err.ended"
            form.errors["withdraw"] = t(ended)
            return page(request, p, form, queued=None, status=400)
        try:
            queued = sendops.withdraw_notice(
                store, config_of(request), notice_id, by=p.user.name, now=now
            )
        except BgkError as exc:
            form.errors["withdraw"] = t("notices.err.withdraw", detail=str(exc))
            return page(request, p, form, queued=None, status=400)
        return redirect(f"/notices?withdrawn={len(queued)}")

    return router
