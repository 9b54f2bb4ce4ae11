"""The reports DoIC management needs (provincial regulation, Article 26):
per gate and per kiosk, for a calendar month or year in Vietnam time.

`build_report(store, period, now)` reads the fleet store and returns a
`Report`: kiosks counted and their uptime (uptime.py says what "up"
means), packs published (the pack_publications log), traveller use of the
kiosks (the "interaction" events the kiosks sum every ten minutes) and
alerts opened and closed. Its lines are in model.py, the store queries in
queries.py, rendering (text, CSV) in render.py,
period parsing in period.py.

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
from dataclasses import replace

from sqlalchemy import or_, select

from kiosk.protocol.errors import BgkError
from server.audit.log import current_head
from server.config import ServerConfig
from server.packs.publish import published_page_titles
from server.packs.signing import open_repository
from server.reports.model import GateLine, KioskLine, Report, Usage
from server.reports.period import Period, check_started
from server.reports.queries import (
    alerts_in,
    presence_in,
    publications_in,
    sum_uptime,
    ui_down_in,
    usage_in,
)
from server.reports.uptime import kiosk_uptime
from server.store import Store
from server.store.schema import kiosks

log = logging.getLogger(__name__)
DAY = 86400.0


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
        changes = presence_in(conn, ids, period.start, until)
        ui_down = ui_down_in(conn, ids, period.start, until)
        usage = usage_in(conn, period.start, until)
        publications = publications_in(conn, period.start, until)
        alert_counts = alerts_in(conn, period.start, until)
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
        gates.append(GateLine(gate, len(mine_k), sum_uptime(k.uptime for k in mine_k), gate_usage))
    total = GateLine("", len(lines), sum_uptime(k.uptime for k in lines), total_usage)
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
