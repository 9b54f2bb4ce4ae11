"""The reports DoIC management needs (provincial regulation, Article 26):
per gate and per kiosk, for a calendar month or year in Vietnam time.

`build_report(store, period, now)` reads the fleet store and returns a
`Report`: kiosks counted and their uptime (reports_uptime.py says what "up"
means), packs published (the pack_publications log), traveller use of the
kiosks (the "interaction" events the kiosks sum every ten minutes) and
alerts opened and closed. Rendering (text, CSV) is in reports_render.py,
period parsing in reports_period.py.

Counting rules:
* a kiosk counts from its enrolment until its revocation, inside the period;
  a kiosk enrolled after the period or revoked before it is not in the report;
* a period in progress is counted up to `now` (the report says so);
* a kiosk never heard from is offline all the time it counts;
* interaction events count in the period of their kiosk time `ts` (when the
  kiosk summed the sessions finished in the ten minutes before);
* sessions, total and mean session time are exact sums; the median is not
  available (the kiosk sends sums, not single sessions); a session that
  switches language counts once for each language chosen.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import and_, func, or_, select

from kiosk.protocol.errors import BgkError
from server.audit.log import Head, current_head
from server.config import ServerConfig
from server.fleet.reports_period import Period, check_started, local_date, local_datetime
from server.fleet.reports_uptime import Interval, Uptime, kiosk_uptime
from server.packs.publish import published_page_titles
from server.packs.signing import open_repository
from server.publisher import Publisher, sample_publisher
from server.store import Store
from server.store.schema import alerts, kiosk_events, kiosks, pack_publications, presence

log = logging.getLogger(__name__)
DAY = 86400.0
#: most viewed pages listed per gate and for the whole fleet
TOP_PAGES = 10
ALERT_KINDS = ("offline", "ui_down", "pack_rejected", "disk_low", "temp_high", "clock")


@dataclass
class Usage:
    """Traveller use of the kiosks (sums of interaction events)."""

    sessions: int = 0
    seconds: float = 0.0
    languages: Counter[str] = field(default_factory=Counter)
    pages: Counter[str] = field(default_factory=Counter)

    @property
    def mean_s(self) -> float | None:
        return self.seconds / self.sessions if self.sessions else None

    def add(self, data: dict[str, Any]) -> None:
        sessions = data.get("sessions")
        seconds = data.get("seconds")
        if isinstance(sessions, int) and not isinstance(sessions, bool) and sessions > 0:
            self.sessions += sessions
        if isinstance(seconds, int | float) and not isinstance(seconds, bool):
            self.seconds += float(seconds) if math.isfinite(seconds) and seconds > 0 else 0.0
        for key, target in (("languages", self.languages), ("pages", self.pages)):
            counts = data.get(key)
            if isinstance(counts, dict):
                for name, n in counts.items():
                    if isinstance(n, int) and not isinstance(n, bool) and n > 0:
                        target[str(name)[:80]] += n

    def merge(self, other: Usage) -> None:
        self.sessions += other.sessions
        self.seconds += other.seconds
        self.languages.update(other.languages)
        self.pages.update(other.pages)

    def top_pages(self, n: int = TOP_PAGES) -> list[tuple[str, int]]:
        return sorted(self.pages.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    def as_json(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions,
            "seconds": round(self.seconds, 1),
            "mean_session_s": None if self.mean_s is None else round(self.mean_s, 1),
            "median_session_s": None,
            "languages": dict(sorted(self.languages.items(), key=lambda kv: (-kv[1], kv[0]))),
            "top_pages": [{"page": p, "views": n} for p, n in self.top_pages()],
        }


@dataclass(frozen=True)
class KioskLine:
    id: str
    gate: str
    #: the part of the period the kiosk counts in (enrolment .. revocation .. now)
    counted_from: float
    counted_to: float
    #: no presence change at all until the end of its window: never connected
    never_seen: bool
    revoked_at: float | None
    uptime: Uptime
    usage: Usage


@dataclass(frozen=True)
class GateLine:
    gate: str
    kiosks: int
    uptime: Uptime
    usage: Usage


@dataclass(frozen=True)
class Publication:
    pack: str
    version: int
    audience: tuple[str, ...]
    published_at: float
    by: str | None
    sha256: str
    widened: bool


@dataclass(frozen=True)
class AlertCount:
    kind: str
    #: opened inside the period
    opened: int
    #: closed inside the period
    closed: int
    #: still open at the end of the period (or now, for a period in progress)
    open_at_end: int


@dataclass(frozen=True)
class Report:
    period: Period
    generated_at: float
    #: the end of what is counted: the period's end, or now while it runs
    until: float
    kiosks: list[KioskLine]
    gates: list[GateLine]
    total: GateLine
    publications: list[Publication]
    alerts: list[AlertCount]
    #: facts a reader must know (in English keys, worded by the renderers)
    notes: list[str]
    #: page id -> title per language, from the published packs (labels only)
    page_titles: dict[str, dict[str, str]] = field(default_factory=dict)
    #: who reports (server.toml [publisher]; the sample's when none is given)
    publisher: Publisher = field(default_factory=sample_publisher)
    #: the audit log's newest entry at the end of what is counted (server.audit.log):
    #: a printed report pins the history up to it
    audit_head: Head | None = None

    def page_title(self, page: str, lang: str) -> str:
        """The page's title in `lang` (else Vietnamese, else its id)."""
        titles = self.page_titles.get(page, {})
        return titles.get(lang) or titles.get("vi") or page

    @property
    def in_progress(self) -> bool:
        return self.until < self.period.end

    def as_json(self) -> dict[str, Any]:
        return {
            "period": {
                "kind": self.period.kind,
                "key": self.period.key,
                "start": self.period.start,
                "end": self.period.end,
                "start_local": local_date(self.period.start),
                "end_local": local_date(self.period.end - 1),
                "in_progress": self.in_progress,
                "counted_until": self.until,
            },
            "publisher": self.publisher.as_json(),
            "generated_at": self.generated_at,
            "generated_at_local": local_datetime(self.generated_at),
            "definitions": {
                "up_pct": "online or stale (heard from within 3 heartbeat periods: "
                "running and playing its pack), as % of the time the kiosk counts",
                "showing_pct": "up minus the time a ui_down alert was open",
                "online_pct": "online only: heartbeats on time, content current",
                "outages": "changes into offline inside the period",
            },
            "total": _gate_json(self.total),
            "gates": [_gate_json(g) for g in self.gates],
            "kiosks": [
                {
                    "id": k.id,
                    "gate": k.gate,
                    "counted_from": k.counted_from,
                    "counted_to": k.counted_to,
                    "never_seen": k.never_seen,
                    "revoked_at": k.revoked_at,
                    **_uptime_json(k.uptime),
                    **k.usage.as_json(),
                }
                for k in self.kiosks
            ],
            "publications": [
                {
                    "pack": p.pack,
                    "version": p.version,
                    "audience": list(p.audience),
                    "published_at": p.published_at,
                    "date": local_date(p.published_at),
                    "by": p.by,
                    "sha256": p.sha256,
                    "widened": p.widened,
                }
                for p in self.publications
            ],
            "alerts": [
                {
                    "kind": a.kind,
                    "opened": a.opened,
                    "closed": a.closed,
                    "open_at_end": a.open_at_end,
                }
                for a in self.alerts
            ],
            "page_titles": self.page_titles,
            "notes": list(self.notes),
            "audit_head": None
            if self.audit_head is None
            else {"seq": self.audit_head.seq, "hash": self.audit_head.hash},
        }


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _uptime_json(u: Uptime) -> dict[str, Any]:
    return {
        "counted_hours": round(u.counted_s / 3600, 2),
        "up_pct": _round(u.up_pct),
        "showing_pct": _round(u.showing_pct),
        "online_pct": _round(u.online_pct),
        "offline_hours": round(u.offline_s / 3600, 2),
        "outages": u.outages,
        "longest_outage_hours": round(u.longest_outage_s / 3600, 2),
    }


def _gate_json(g: GateLine) -> dict[str, Any]:
    return {"gate": g.gate, "kiosks": g.kiosks, **_uptime_json(g.uptime), **g.usage.as_json()}


def server_report(config: ServerConfig, store: Store, period: Period, now: float) -> Report:
    """The report as the server's callers (CLI, API, dashboard) make it: with the
    server's event retention and the titles of the published packs' pages."""
    try:
        titles = published_page_titles(open_repository(config))
    except (BgkError, OSError, ValueError) as exc:  # labels only: ids will do
        log.warning("page titles of the published packs unreadable: %s", exc)
        titles = {}
    report = build_report(
        store,
        period,
        now,
        retention_days=config.fleet.event_retention_days,
        page_titles=titles,
    )
    return replace(report, publisher=config.publisher)


def build_report(
    store: Store,
    period: Period,
    now: float,
    *,
    retention_days: int | None = None,
    page_titles: dict[str, dict[str, str]] | None = None,
) -> Report:
    """The report of `period` as the store knows it at `now`; `retention_days`
    (the server's [fleet] event_retention_days) adds a note when the period
    reaches further back than the kept events."""
    check_started(period, now)
    until = min(period.end, now)
    with store.engine.connect() as conn:
        registry = conn.execute(
            select(kiosks.c.id, kiosks.c.gate, kiosks.c.enrolled_at, kiosks.c.revoked_at)
            .where(kiosks.c.enrolled_at < until)
            .where(or_(kiosks.c.revoked_at.is_(None), kiosks.c.revoked_at > period.start))
            .order_by(kiosks.c.gate, kiosks.c.id)
        ).all()
        ids = [r.id for r in registry]
        changes = _presence(conn, ids, period.start, until)
        ui_down = _ui_down(conn, ids, period.start, until)
        usage = _usage(conn, period.start, until)
        publications = _publications(conn, period.start, until)
        alert_counts = _alerts(conn, period.start, until)
    lines: list[KioskLine] = []
    for r in registry:
        lo = max(period.start, float(r.enrolled_at))
        hi = min(until, float(r.revoked_at)) if r.revoked_at is not None else until
        if hi <= lo:
            continue
        mine = changes.get(r.id, [])
        uptime = kiosk_uptime(mine, lo, hi, ui_down.get(r.id, []))
        lines.append(
            KioskLine(
                id=r.id,
                gate=r.gate,
                counted_from=lo,
                counted_to=hi,
                never_seen=not any(at < hi for at, _s in mine),
                revoked_at=None if r.revoked_at is None else float(r.revoked_at),
                uptime=uptime,
                usage=usage.get(r.id, Usage()),
            )
        )
    gate_of = {r.id: r.gate for r in registry}
    gates: list[GateLine] = []
    total_usage = Usage()
    for gate in sorted({k.gate for k in lines} | {gate_of[k] for k in usage if k in gate_of}):
        mine_k = [k for k in lines if k.gate == gate]
        gate_usage = Usage()
        for kiosk_id, u in usage.items():
            if gate_of.get(kiosk_id) == gate:
                gate_usage.merge(u)
        total_usage.merge(gate_usage)
        gates.append(GateLine(gate, len(mine_k), _sum(k.uptime for k in mine_k), gate_usage))
    total = GateLine("", len(lines), _sum(k.uptime for k in lines), total_usage)
    notes: list[str] = []
    if until < period.end:
        notes.append("in_progress")
    if any(k.never_seen for k in lines):
        notes.append("never_seen")
    if retention_days is not None and period.start < now - retention_days * DAY:
        notes.append("retention")
    return Report(
        period, now, until, lines, gates, total, publications, alert_counts, notes,
        page_titles or {}, audit_head=current_head(store, until=until),
    )  # fmt: skip


def _sum(items: Any) -> Uptime:
    out = Uptime()
    for u in items:
        out = out + u
    return out


def _chunks(ids: list[str], n: int = 500) -> list[list[str]]:
    return [ids[i : i + n] for i in range(0, len(ids), n)]


def kiosk_uptime_between(store: Store, kiosk_id: str, start: float, until: float) -> Uptime:
    """One kiosk's uptime from `start` (or its enrolment) to `until`, as the
    reports count it: the kiosk page's "last 7 days"."""
    with store.engine.connect() as conn:
        enrolled = conn.execute(
            select(kiosks.c.enrolled_at).where(kiosks.c.id == kiosk_id)
        ).scalar_one_or_none()
        if enrolled is None:
            return Uptime()
        lo = max(start, float(enrolled))
        changes = _presence(conn, [kiosk_id], lo, until).get(kiosk_id, [])
        ui_down = _ui_down(conn, [kiosk_id], lo, until).get(kiosk_id, [])
    return kiosk_uptime(changes, lo, until, ui_down) if until > lo else Uptime()


def _presence(conn: Any, ids: list[str], start: float, until: float) -> dict[str, list[Any]]:
    """Per kiosk: its last change at or before `start` and every change until `until`."""
    out: dict[str, list[tuple[float, str]]] = {}
    for chunk in _chunks(ids):
        newest = (
            select(presence.c.kiosk_id, func.max(presence.c.at).label("at"))
            .where(presence.c.kiosk_id.in_(chunk), presence.c.at <= start)
            .group_by(presence.c.kiosk_id)
            .subquery()
        )
        last = (
            select(presence.c.kiosk_id, presence.c.at, presence.c.state)
            .join(
                newest, and_(presence.c.kiosk_id == newest.c.kiosk_id, presence.c.at == newest.c.at)
            )
            .order_by(presence.c.id)
        )
        before = {row.kiosk_id: (float(row.at), row.state) for row in conn.execute(last)}
        for kiosk_id, change in before.items():
            out.setdefault(kiosk_id, []).append(change)
        inside = (
            select(presence.c.kiosk_id, presence.c.at, presence.c.state)
            .where(presence.c.kiosk_id.in_(chunk), presence.c.at > start, presence.c.at < until)
            .order_by(presence.c.at, presence.c.id)
        )
        for row in conn.execute(inside):
            out.setdefault(row.kiosk_id, []).append((float(row.at), row.state))
    return out


def _ui_down(conn: Any, ids: list[str], start: float, until: float) -> dict[str, list[Interval]]:
    out: dict[str, list[Interval]] = {}
    for chunk in _chunks(ids):
        rows = conn.execute(
            select(alerts.c.kiosk_id, alerts.c.opened_at, alerts.c.closed_at).where(
                alerts.c.kiosk_id.in_(chunk),
                alerts.c.kind == "ui_down",
                alerts.c.opened_at < until,
                or_(alerts.c.closed_at.is_(None), alerts.c.closed_at > start),
            )
        )
        for r in rows:
            closed = until if r.closed_at is None else float(r.closed_at)
            out.setdefault(r.kiosk_id, []).append((float(r.opened_at), closed))
    return out


def _usage(conn: Any, start: float, until: float) -> dict[str, Usage]:
    out: dict[str, Usage] = {}
    rows = conn.execute(
        select(kiosk_events.c.kiosk_id, kiosk_events.c.data).where(
            kiosk_events.c.kind == "interaction",
            kiosk_events.c.ts >= start,
            kiosk_events.c.ts < until,
        )
    )
    for r in rows:
        if isinstance(r.data, dict):
            out.setdefault(r.kiosk_id, Usage()).add(r.data)
    return out


def _publications(conn: Any, start: float, until: float) -> list[Publication]:
    rows = conn.execute(
        select(pack_publications)
        .where(pack_publications.c.published_at >= start, pack_publications.c.published_at < until)
        .order_by(pack_publications.c.published_at, pack_publications.c.id)
    )
    return [
        Publication(
            pack=r.pack,
            version=int(r.version),
            audience=tuple(r.audience or ()),
            published_at=float(r.published_at),
            by=r.published_by,
            sha256=r.sha256,
            widened=bool(r.widened),
        )
        for r in rows
    ]


def _alerts(conn: Any, start: float, until: float) -> list[AlertCount]:
    rows = conn.execute(
        select(alerts.c.kind, alerts.c.opened_at, alerts.c.closed_at).where(
            alerts.c.opened_at < until,
            or_(alerts.c.closed_at.is_(None), alerts.c.closed_at >= start),
        )
    ).all()
    kinds = list(ALERT_KINDS) + sorted({r.kind for r in rows} - set(ALERT_KINDS))
    out = []
    for kind in kinds:
        mine = [r for r in rows if r.kind == kind]
        out.append(
            AlertCount(
                kind=kind,
                opened=sum(1 for r in mine if r.opened_at >= start),
                closed=sum(1 for r in mine if r.closed_at is not None and r.closed_at < until),
                open_at_end=sum(1 for r in mine if r.closed_at is None or r.closed_at >= until),
            )
        )
    return out
