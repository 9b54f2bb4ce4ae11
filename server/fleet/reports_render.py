"""The Article 26 report as text (`bgk server report`) and as CSV (one row per
kiosk), in Vietnamese (default) or English. Dates dd/mm/yyyy, Vietnam time.

CSV: UTF-8 with a byte order mark (Excel then reads Vietnamese correctly),
comma-separated, numbers with a decimal point (machine-readable; the header
row is in the chosen language).
"""

from __future__ import annotations

import csv
import io

from kiosk.protocol.languages import LANGUAGES
from server.fleet.reports import KioskLine, Report, Usage
from server.fleet.reports_period import local_date, local_datetime
from server.fleet.reports_uptime import Uptime
from server.fleet.view import TEXT as FLEET_TEXT

WORDS: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Báo cáo hoạt động kiosk thông tin đối ngoại tại các cửa khẩu — {period}",
        "span": "Từ {start} đến {end} · Lập lúc {made}",
        "in_progress": "Kỳ báo cáo chưa kết thúc: số liệu tính đến {until}.",
        "s.gates": "1. Hoạt động theo cửa khẩu",
        "s.kiosks": "2. Hoạt động theo kiosk",
        "s.packs": "3. Gói nội dung đã phát hành",
        "s.usage": "4. Khách sử dụng kiosk",
        "s.pages": "Trang được xem nhiều nhất",
        "s.alerts": "5. Cảnh báo",
        "s.notes": "Ghi chú",
        "gate": "Cửa khẩu", "kiosk": "Kiosk", "kiosks": "Số kiosk", "all_gates": "Toàn bộ",
        "from": "Tính từ", "to": "Đến",
        "hours": "Số giờ tính", "up": "Hoạt động %", "showing": "Hiển thị %", "online": "Trực tuyến %",
        "offline_h": "Giờ mất kết nối", "outages": "Số lần mất kết nối", "longest": "Lâu nhất (giờ)",
        "remark": "Ghi chú", "never_seen": "chưa từng kết nối", "revoked": "thu hồi ngày {date}",
        "date": "Ngày", "pack": "Gói", "version": "Phiên bản", "audience": "Phát hành cho",
        "by": "Người phát hành", "widened": "mở rộng phạm vi", "all": "tất cả kiosk",
        "no_packs": "Không có gói nội dung nào được phát hành trong kỳ.",
        "sessions": "Lượt sử dụng", "session_h": "Tổng thời gian (giờ)", "mean": "Trung bình / lượt",
        "page": "Trang", "views": "Lượt xem", "no_usage": "Chưa có lượt sử dụng nào trong kỳ.",
        "kind": "Loại cảnh báo", "opened": "Mở trong kỳ", "closed": "Đóng trong kỳ",
        "open_end": "Còn mở cuối kỳ", "yes": "có", "no": "không",
        "period": "Kỳ báo cáo", "reporting_body": "Đơn vị báo cáo",
        "n.up": "“Hoạt động”: kiosk trực tuyến hoặc chậm/cũ (máy chủ nhận được tín hiệu trong vòng 3 chu kỳ; kiosk vẫn chạy và hiển thị gói nội dung đã cài). “Hiển thị”: thời gian hoạt động trừ thời gian có cảnh báo giao diện không chạy. “Trực tuyến”: tín hiệu đúng hạn và nội dung còn hiệu lực.",
        "n.count": "Mỗi kiosk được tính từ ngày đăng ký đến ngày thu hồi (nếu có); kiosk chưa từng kết nối được tính là mất kết nối suốt thời gian đó. Trong lúc máy chủ ngừng chạy, trạng thái của kiosk giữ nguyên như trước đó.",
        "n.usage": "Lượt sử dụng và thời gian là tổng chính xác do kiosk gửi mười phút một lần; không tính được trung vị. Một lượt có đổi ngôn ngữ được tính cho mỗi ngôn ngữ đã chọn.",
        "n.never_seen": "Có kiosk chưa từng kết nối trong kỳ: được tính là mất kết nối.",
        "n.retention": "Kỳ báo cáo bắt đầu trước thời hạn lưu dữ liệu sự kiện của máy chủ: số liệu sử dụng đầu kỳ có thể thiếu.",
        "l.vi": "Tiếng Việt", "l.en": "Tiếng Anh", "l.lo": "Tiếng Lào", "l.th": "Tiếng Thái", "l.zh": "Tiếng Trung",
        # --- issue 14: audit log ---
        "audit_head": "Đầu chuỗi nhật ký kiểm toán cuối kỳ: mục #{seq}, mã băm {hash}. Lệnh `bgk server audit verify --head {seq}:{hash}` kiểm tra nhật ký vẫn còn nguyên vẹn đến mục này.",
    },
    "en": {
        "title": "Border-gate information kiosks: activity report — {period}",
        "span": "From {start} to {end} · Made {made}",
        "in_progress": "The period has not ended: figures up to {until}.",
        "s.gates": "1. Kiosk availability per gate",
        "s.kiosks": "2. Kiosk availability per kiosk",
        "s.packs": "3. Content packs published",
        "s.usage": "4. Travellers using the kiosks",
        "s.pages": "Most viewed pages",
        "s.alerts": "5. Alerts",
        "s.notes": "Notes",
        "gate": "Gate", "kiosk": "Kiosk", "kiosks": "Kiosks", "all_gates": "All gates",
        "from": "Counted from", "to": "To",
        "hours": "Hours counted", "up": "Up %", "showing": "Showing %", "online": "Online %",
        "offline_h": "Hours offline", "outages": "Outages", "longest": "Longest (h)",
        "remark": "Remark", "never_seen": "never connected", "revoked": "revoked on {date}",
        "date": "Date", "pack": "Pack", "version": "Version", "audience": "Published to",
        "by": "Published by", "widened": "audience widened", "all": "all kiosks",
        "no_packs": "No content pack was published in the period.",
        "sessions": "Sessions", "session_h": "Total time (h)", "mean": "Mean / session",
        "page": "Page", "views": "Views", "no_usage": "No traveller used a kiosk in the period.",
        "kind": "Alert", "opened": "Opened", "closed": "Closed",
        "open_end": "Open at the end", "yes": "yes", "no": "no",
        "period": "Period", "reporting_body": "Reporting body",
        "n.up": "“Up”: online or stale (the server heard from the kiosk within 3 heartbeat periods; it was running and playing its installed pack). “Showing”: up time minus the time an alert said its screen program was not running. “Online”: heartbeats on time and content current.",
        "n.count": "Each kiosk counts from its enrolment until its revocation (if any); a kiosk never connected counts as offline all that time. While no server process runs, a kiosk keeps the state it had.",
        "n.usage": "Sessions and times are exact sums the kiosks send every ten minutes; a median cannot be computed. A session that switches language counts once for each language chosen.",
        "n.never_seen": "Some kiosks never connected in the period: they count as offline.",
        "n.retention": "The period starts before the server's event retention: usage early in the period may be missing.",
        "l.vi": "Vietnamese", "l.en": "English", "l.lo": "Lao", "l.th": "Thai", "l.zh": "Chinese",
        # --- issue 14: audit log ---
        "audit_head": "Audit log chain head at the end of the period: entry #{seq}, hash {hash}. `bgk server audit verify --head {seq}:{hash}` checks that the log still holds everything up to it.",
    },
}  # fmt: skip


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
