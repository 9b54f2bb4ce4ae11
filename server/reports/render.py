"""The Article 26 report as text (`bgk server report`) and as CSV (one row per
kiosk), in Vietnamese (default) or English. Dates dd/mm/yyyy, Vietnam time.

CSV: UTF-8 with a byte order mark (Excel then reads Vietnamese correctly),
comma-separated, numbers with a decimal point (machine-readable; the header
row is in the chosen language).
"""

from __future__ import annotations

import csv
import io

from kiosk.common.vietnam import local_date, local_datetime
from kiosk.protocol.languages import LANGUAGES
from server.fleet.view import TEXT as FLEET_TEXT
from server.reports.model import KioskLine, Report, Usage
from server.reports.uptime import Uptime
from server.words import en, vi

WORDS: dict[str, dict[str, str]] = {"vi": vi.REPORT, "en": en.REPORT}


def words(lang: str) -> dict[str, str]:
    return {**FLEET_TEXT["en" if lang == "en" else "vi"], **WORDS["en" if lang == "en" else "vi"]}


def number(value: float | None, lang: str, digits: int = 1) -> str:
    """12.5 as "12,5" in Vietnamese; "—" for nothing counted."""
    if value is None:
        return "—"
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if lang == "vi" else text


def duration(seconds: float | None) -> str:
    """3 min 5 s as "3:05" (minutes:seconds)."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def language_name(code: str, lang: str) -> str:
    return words(lang).get(f"l.{code}", code)


def usage_languages(usage: Usage) -> list[str]:
    """The five kiosk languages in their order, then any other code seen."""
    return list(LANGUAGES) + sorted(set(usage.languages) - set(LANGUAGES))


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]

    def cell(i: int, text: str) -> str:
        return text.rjust(widths[i]) if i in right else text.ljust(widths[i])

    lines = ["  ".join(cell(i, c) for i, c in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _uptime_cells(u: Uptime, lang: str) -> list[str]:
    return [
        number(u.up_pct, lang),
        number(u.showing_pct, lang),
        number(u.online_pct, lang),
        number(u.offline_s / 3600, lang),
        str(u.outages),
        number(u.longest_outage_s / 3600, lang),
    ]


def remark(k: KioskLine, lang: str) -> str:
    w = words(lang)
    parts = []
    if k.never_seen:
        parts.append(w["never_seen"])
    if k.revoked_at is not None:
        parts.append(w["revoked"].format(date=local_date(k.revoked_at)))
    return "; ".join(parts)


def last_day(start: float, end: float) -> str:
    """The date of the last counted instant of [start, end)."""
    return local_date(max(start, end - 1))


def publisher_line(report: Report, lang: str) -> str:
    """The heading line: the publisher's name in capitals, as official documents have it."""
    return report.publisher.name("en" if lang == "en" else "vi").upper()


def render_text(report: Report, lang: str) -> str:
    w = words(lang)
    p = report.period
    out = [
        publisher_line(report, lang),
        w["title"].format(period=p.title(lang)),
        report.publisher.basis_line(lang),
        w["span"].format(
            start=local_date(p.start),
            end=last_day(p.start, p.end),
            made=local_datetime(report.generated_at),
        ),
    ]
    if report.in_progress:
        out.append(w["in_progress"].format(until=local_datetime(report.until)))
    up_head = [w["up"], w["showing"], w["online"], w["offline_h"], w["outages"], w["longest"]]
    out += ["", w["s.gates"]]
    rows = [[w["gate"], w["kiosks"], *up_head]]
    for g in [*report.gates, report.total]:
        rows.append([g.gate or w["all_gates"], str(g.kiosks), *_uptime_cells(g.uptime, lang)])
    out += _table(rows, set(range(1, 8)))
    out += ["", w["s.kiosks"]]
    rows = [[w["kiosk"], w["gate"], w["from"], w["to"], *up_head, w["remark"]]]
    for k in report.kiosks:
        rows.append(
            [
                k.id,
                k.gate,
                local_date(k.counted_from),
                last_day(k.counted_from, k.counted_to),
                *_uptime_cells(k.uptime, lang),
                remark(k, lang),
            ]
        )
    out += _table(rows, set(range(4, 10)))
    out += ["", w["s.packs"]]
    if report.publications:
        rows = [[w["date"], w["pack"], w["version"], w["audience"], w["by"]]]
        for pub in report.publications:
            to = ", ".join(w["all"] if a == "all" else a for a in pub.audience)
            if pub.widened:
                to += f" ({w['widened']})"
            rows.append(
                [local_date(pub.published_at), pub.pack, f"v{pub.version}", to, pub.by or "—"]
            )
        out += _table(rows, set())
    else:
        out.append(w["no_packs"])
    out += ["", w["s.usage"]]
    total = report.total.usage
    if total.sessions or total.languages:
        langs = usage_languages(total)
        rows = [
            [
                w["gate"],
                w["sessions"],
                w["session_h"],
                w["mean"],
                *(language_name(c, lang) for c in langs),
            ]
        ]
        for g in [*report.gates, report.total]:
            u = g.usage
            rows.append(
                [
                    g.gate or w["all_gates"],
                    str(u.sessions),
                    number(u.seconds / 3600, lang),
                    duration(u.mean_s),
                    *(str(u.languages.get(c, 0)) for c in langs),
                ]
            )
        out += _table(rows, set(range(1, 4 + len(langs))))
        out += ["", w["s.pages"]]
        rows = [[w["page"], w["views"]]]
        rows += [[report.page_title(page, lang), str(n)] for page, n in total.top_pages()]
        out += _table(rows, {1})
    else:
        out.append(w["no_usage"])
    out += ["", w["s.alerts"]]
    rows = [[w["kind"], w["opened"], w["closed"], w["open_end"]]]
    for a in report.alerts:
        rows.append(
            [w.get(f"a.{a.kind}", a.kind), str(a.opened), str(a.closed), str(a.open_at_end)]
        )
    out += _table(rows, {1, 2, 3})
    out += ["", w["s.notes"]]
    notes = ["n.up", "n.count", "n.usage"] + [f"n.{n}" for n in report.notes if f"n.{n}" in w]
    out += [f"- {w[n]}" for n in notes]
    if report.audit_head is not None:
        head = report.audit_head
        out += [f"- {w['audit_head'].format(seq=head.seq, hash=head.hash)}"]
    return "\n".join(out) + "\n"


def csv_columns(lang: str) -> list[str]:
    w = words(lang)
    return [
        w["period"],
        w["gate"],
        w["kiosk"],
        w["from"],
        w["to"],
        w["hours"],
        w["up"],
        w["showing"],
        w["online"],
        w["offline_h"],
        w["outages"],
        w["longest"],
        w["remark"],
        w["sessions"],
        w["session_h"],
        *(f"{w['sessions']}: {language_name(c, lang)}" for c in LANGUAGES),
        w["reporting_body"],
    ]


def _csv_number(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def render_csv(report: Report, lang: str) -> bytes:
    """One row per kiosk; UTF-8 with a BOM."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(csv_columns(lang))
    body = report.publisher.name("en" if lang == "en" else "vi")
    for k in report.kiosks:
        u = k.uptime
        writer.writerow(
            [
                report.period.key,
                k.gate,
                k.id,
                local_date(k.counted_from),
                last_day(k.counted_from, k.counted_to),
                _csv_number(u.counted_s / 3600),
                _csv_number(u.up_pct),
                _csv_number(u.showing_pct),
                _csv_number(u.online_pct),
                _csv_number(u.offline_s / 3600),
                u.outages,
                _csv_number(u.longest_outage_s / 3600),
                remark(k, lang),
                k.usage.sessions,
                _csv_number(k.usage.seconds / 3600),
                *(k.usage.languages.get(c, 0) for c in LANGUAGES),
                body,
            ]
        )
    return buf.getvalue().encode("utf-8-sig")
