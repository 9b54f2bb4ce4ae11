"""What a report is made of (server/reports/report.py builds it, render.py prints it):
per-kiosk and per-gate lines, publications, usage, alert counts, and their JSON."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kiosk.common.vietnam import local_date, local_datetime
from server.audit.log import Head
from server.publisher import Publisher, sample_publisher
from server.reports.period import Period
from server.reports.uptime import Uptime

#: most viewed pages listed per gate and for the whole fleet
TOP_PAGES = 10


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
