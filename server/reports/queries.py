"""The fleet store's rows a report counts: presence transitions, UI-down alerts,
usage events, publications and alerts in a window (server/reports/report.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select

from server.reports.model import AlertCount, Publication, Usage
from server.reports.uptime import Interval, Uptime, kiosk_uptime
from server.store import Store
from server.store.schema import alerts, kiosk_events, kiosks, pack_publications, presence

ALERT_KINDS = ("offline", "ui_down", "pack_rejected", "disk_low", "temp_high", "clock")


def sum_uptime(items: Any) -> Uptime:
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
        changes = presence_in(conn, [kiosk_id], lo, until).get(kiosk_id, [])
        ui_down = ui_down_in(conn, [kiosk_id], lo, until).get(kiosk_id, [])
    return kiosk_uptime(changes, lo, until, ui_down) if until > lo else Uptime()


def presence_in(conn: Any, ids: list[str], start: float, until: float) -> dict[str, list[Any]]:
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


def ui_down_in(conn: Any, ids: list[str], start: float, until: float) -> dict[str, list[Interval]]:
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


def usage_in(conn: Any, start: float, until: float) -> dict[str, Usage]:
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


def publications_in(conn: Any, start: float, until: float) -> list[Publication]:
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


def alerts_in(conn: Any, start: float, until: float) -> list[AlertCount]:
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
