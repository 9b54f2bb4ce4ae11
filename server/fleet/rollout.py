"""Rollout progress of a published pack version: how many of the kiosks it is
for have reached it, per gate now, and over time since it was published.

From what the server already stores, no table of its own:
  since      the first row of the publication log (pack_publications) for
             the version; else the `published` time the signed target carries
  over time  each kiosk's first `commit` event (the agent's report that the
             pack passed its health check, i.e. is on screen) of the pack at
             this version or newer, at the server's receive time, in the
             first SCAN_S after `since` (the page reads events, never the
             heartbeat history; a kiosk that arrives later is in the counts
             of now, not on the curve).
  now        kiosk_state (the fleet view): the kiosk plays this version or newer
A kiosk counts when the version is published to it: to "all", its gate, or
one of its groups (as the packs page's "playing" column).
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select

from server.fleet.view import KioskView
from server.store import Store
from server.store.schema import kiosk_events, pack_publications

#: interval lengths the curve may use, s (the smallest giving at most MAX_POINTS - 1 intervals)
STEPS_S = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)
MAX_POINTS = 13
#: the curve covers this long after publication at most (bounds what the page reads), s
SCAN_S = 3 * 86400.0


@dataclass(frozen=True)
class GateProgress:
    gate: str
    on: int
    of: int

    @property
    def percent(self) -> int:
        return percent(self.on, self.of)


@dataclass(frozen=True)
class Point:
    #: server time (s since the epoch) and kiosks on the version by then
    at: float
    on: int


@dataclass(frozen=True)
class Rollout:
    pack: str
    version: int
    #: when it was first published (None: not known, no curve)
    since: float | None
    audience: int
    on_now: int
    gates: list[GateProgress]
    #: kiosks on it over time: at `since`, every `step_s`, and at the end
    points: list[Point]
    step_s: float

    @property
    def percent(self) -> int:
        return percent(self.on_now, self.audience)


def percent(n: int, of: int) -> int:
    """Whole per cent, rounded down (99.6 % is not yet 100 %)."""
    return (100 * n) // of if of else 0


def for_audience(views: Iterable[KioskView], to: Iterable[str]) -> list[KioskView]:
    targets = set(to)
    return [v for v in views if "all" in targets or v.gate in targets or targets & set(v.groups)]


def publication_time(store: Store, pack: str, version: int, published: str = "") -> float | None:
    """When `pack` `version` was first published: the publication log, else the
    ISO time in its signed target (None when neither says)."""
    with store.engine.connect() as conn:
        first = conn.execute(
            select(func.min(pack_publications.c.published_at)).where(
                pack_publications.c.pack == pack, pack_publications.c.version == version
            )
        ).scalar()
    if first is not None:
        return float(first)
    try:
        when = dt.datetime.fromisoformat(published)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


def arrivals(store: Store, pack: str, version: int, since: float) -> dict[str, float]:
    """kiosk id -> when the server received its first commit of `pack` at
    `version` or newer, in [since, since + SCAN_S]."""
    out: dict[str, float] = {}
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(kiosk_events.c.kiosk_id, kiosk_events.c.received_at, kiosk_events.c.data)
            .where(
                kiosk_events.c.received_at >= since,
                kiosk_events.c.received_at <= since + SCAN_S,
                kiosk_events.c.kind == "commit",
            )
            .order_by(kiosk_events.c.received_at)
        )
        for kiosk_id, at, data in rows:
            if kiosk_id in out or not isinstance(data, dict) or data.get("pack") != pack:
                continue
            got = data.get("version")
            if isinstance(got, int) and not isinstance(got, bool) and got >= version:
                out[kiosk_id] = float(at)
    return out


def curve(times: list[float], since: float, now: float) -> tuple[float, list[Point]]:
    """(interval, points): how many of `times` are <= each point, from `since`
    to the last arrival (or now, while none has come yet)."""
    end = min(now, max(times)) if times else min(now, since + SCAN_S)
    span = max(end - since, 1.0)
    step = next((s for s in STEPS_S if span / s <= MAX_POINTS - 1), None)
    if step is None:
        step = STEPS_S[-1] * math.ceil(span / STEPS_S[-1] / (MAX_POINTS - 1))
    ordered = sorted(times)
    ats = [since + k * step for k in range(math.ceil(span / step))] + [since + span]
    points = [Point(at, _count_upto(ordered, at)) for at in ats]
    return float(step), points


def _count_upto(ordered: list[float], at: float) -> int:
    return bisect.bisect_right(ordered, at)


def progress(
    views: list[KioskView],
    pack: str,
    version: int,
    to: Iterable[str],
    since: float | None,
    arrived: dict[str, float],
    now: float,
) -> Rollout:
    """The rollout of `pack` `version` (published to `to`) over `views`. Pure."""
    audience = for_audience(views, to)
    on = {
        v.id
        for v in audience
        if v.pack_id == pack and v.pack_version is not None and v.pack_version >= version
    }
    gates: dict[str, list[int]] = {}
    for v in audience:
        counts = gates.setdefault(v.gate, [0, 0])
        counts[0] += v.id in on
        counts[1] += 1
    ids = {v.id for v in audience}
    step, points = 0.0, list[Point]()
    if since is not None:
        step, points = curve([t for k, t in arrived.items() if k in ids], since, now)
    return Rollout(
        pack=pack,
        version=version,
        since=since,
        audience=len(audience),
        on_now=len(on),
        gates=[GateProgress(g, n, m) for g, (n, m) in sorted(gates.items())],
        points=points,
        step_s=step,
    )


def rollout_of(
    store: Store,
    views: list[KioskView],
    pack: str,
    version: int,
    to: Iterable[str],
    now: float,
    published: str = "",
) -> Rollout:
    """progress() with its facts read from the store."""
    since = publication_time(store, pack, version, published)
    arrived = arrivals(store, pack, version, since) if since is not None else {}
    return progress(views, pack, version, to, since, arrived, now)
