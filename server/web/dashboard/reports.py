"""The dashboard's reports page (Article 26): a month or a year per gate and per
kiosk, packs published, traveller use, alerts; its CSV; a print stylesheet
makes the page a clean A4 report ("Print → Save as PDF").

GET /reports[?month=YYYY-MM|?year=YYYY]      the page (default: this month)
GET /reports.csv?month=...|year=...          one row per kiosk (UTF-8 with BOM)

Every signed-in role may read them (viewers included).
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from kiosk.common.vietnam import VIETNAM, local_date, local_datetime
from kiosk.protocol.errors import UsageError
from kiosk.protocol.languages import LANGUAGES
from server.reports.model import Report
from server.reports.period import Period, month_period
from server.reports.period import parse_period as parse
from server.reports.render import last_day, publisher_line, render_csv, usage_languages
from server.reports.report import server_report
from server.web.auth import Principal, now_of, store_of
from server.web.dashboard.pages import (
    PAGE_HEADERS,
    config_of,
    lang_of,
    page_user,
    render,
    words_of,
)

#: years offered by the picker, counting back from this one
PICKER_YEARS = 6


def _period(request: Request, now: float) -> Period:
    """The asked period (this month when none is asked); UsageError when it is wrong."""
    month = request.query_params.get("month") or None
    year = request.query_params.get("year") or None
    if month is None and year is None:
        today = dt.datetime.fromtimestamp(now, VIETNAM)
        return month_period(today.year, today.month)
    return parse(month, year, names=("month", "year"))


def _build(request: Request, period: Period) -> Report:
    return server_report(config_of(request), store_of(request), period, now_of(request))


def _asked(request: Request) -> str:
    q = request.query_params
    return (q.get("month") or q.get("year") or "")[:20]


def bar(value: float | None, top: float) -> float:
    """A bar's length in % of the longest (0..100)."""
    if not value or top <= 0:
        return 0.0
    return round(max(0.0, min(100.0, 100.0 * value / top)), 1)


def reports_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    signed_in = Depends(page_user)

    @router.get("/reports")
    def reports(request: Request, p: Principal = signed_in) -> Response:
        now = now_of(request)
        today = dt.datetime.fromtimestamp(now, VIETNAM)
        context: dict[str, object] = {
            "this_month": f"{today.year}-{today.month:02d}",
            "years": [today.year - i for i in range(PICKER_YEARS)],
            "printed": local_datetime(now),
            "report": None,
            "error": "",
            "asked_month": request.query_params.get("month", ""),
            "asked_year": request.query_params.get("year", ""),
        }
        t = words_of(request)
        try:
            period = _period(request, now)
        except UsageError:
            context["error"] = t("reports.bad_period", asked=_asked(request))
            return render(request, "reports.html", context, principal=p, status=400)
        if period.start > now:
            context["error"] = t(
                "reports.future", period=period.title(t.lang), today=local_date(now)
            )
            return render(request, "reports.html", context, principal=p, status=400)
        report = _build(request, period)
        total = report.total.usage
        langs = usage_languages(total)
        context.update(
            report=report,
            period_title=report.period.title(lang_of(request)),
            publisher_line=publisher_line(report, lang_of(request)),
            first_day=local_date(report.period.start),
            last_day=last_day(report.period.start, report.period.end),
            until=local_datetime(report.until),
            langs=langs,
            lang_top=max([total.languages.get(c, 0) for c in langs] + [0]),
            page_top=max([n for _p, n in total.top_pages()] + [0]),
            csv_url=f"/reports.csv?{report.period.query()}",
            kind=report.period.kind,
            local_date=local_date,
            last_date=last_day,
            bar=bar,
            five=LANGUAGES,
        )
        return render(request, "reports.html", context, principal=p)

    @router.get("/reports.csv")
    def reports_csv(request: Request, p: Principal = signed_in) -> Response:
        try:
            report = _build(request, _period(request, now_of(request)))
        except UsageError as exc:
            return Response(
                str(exc) + "\n",
                status_code=400,
                media_type="text/plain; charset=utf-8",
                headers=PAGE_HEADERS,
            )
        name = f"bao-cao-{report.period.key}.csv"
        return Response(
            render_csv(report, lang_of(request)),
            media_type="text/csv; charset=utf-8",
            headers={**PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
        )

    return router
