"""Uptime arithmetic of the reports (pure: transitions and windows in, seconds out).

A kiosk's time in a window is cut into intervals by its presence changes
(server.fleet.ingest `apply_states`, server.fleet.sweeper): each change says
the state from its time on. The state at the window's start is the last
change at or before it; with none, the kiosk had never been heard from and
counts as offline.

What the figures mean:

    up (showing content)  online or stale: the server heard from the kiosk
                          within three heartbeat periods, so it was running
                          and playing its pack (a stale kiosk keeps playing
                          its last good content), minus the time a `ui_down`
                          alert said its screen program was not running
    online                online only: connected, heartbeats on time,
                          content metadata current
    offline               neither; an outage is a change into offline inside
                          the window (a kiosk already offline when the window
                          starts is not a new outage, but its time counts)

Limits (said in the report): the server records changes when it runs, so
while no server process runs, a kiosk keeps the state it had; an offline
kiosk may still be showing content (a cut link at the gate), which the
server cannot see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

Interval = tuple[float, float]
UP_STATES = frozenset(("online", "stale"))


@dataclass(frozen=True)
class Uptime:
    """Seconds of one kiosk (or the sum of several) in a window."""

    counted_s: float = 0.0
    online_s: float = 0.0
    stale_s: float = 0.0
    offline_s: float = 0.0
    #: up time minus time with the UI reported down
    showing_s: float = 0.0
    outages: int = 0
    #: the longest offline stretch inside the window (cut at its edges)
    longest_outage_s: float = 0.0

    @property
    def up_s(self) -> float:
        return self.online_s + self.stale_s

    def pct(self, seconds: float) -> float | None:
        """seconds as a percentage of the counted time (None when nothing was counted)."""
        return None if self.counted_s <= 0 else 100.0 * seconds / self.counted_s

    @property
    def up_pct(self) -> float | None:
        return self.pct(self.up_s)

    @property
    def online_pct(self) -> float | None:
        return self.pct(self.online_s)

    @property
    def showing_pct(self) -> float | None:
        return self.pct(self.showing_s)

    def __add__(self, other: Uptime) -> Uptime:
        return Uptime(
            self.counted_s + other.counted_s,
            self.online_s + other.online_s,
            self.stale_s + other.stale_s,
            self.offline_s + other.offline_s,
            self.showing_s + other.showing_s,
            self.outages + other.outages,
            max(self.longest_outage_s, other.longest_outage_s),
        )


def state_intervals(
    changes: Iterable[tuple[float, str]], start: float, end: float
) -> list[tuple[float, float, str]]:
    """[(from, to, state)] covering [start, end) from a kiosk's presence changes
    (any order; those after `end` are ignored). Before the first change: offline."""
    if end <= start:
        return []
    state = "offline"
    inside: list[tuple[float, str]] = []
    for at, new in sorted(changes, key=lambda c: c[0]):
        if at <= start:
            state = new
        elif at < end:
            inside.append((at, new))
    out: list[tuple[float, float, str]] = []
    since = start
    for at, new in inside:
        if new == state:
            continue
        if at > since:
            out.append((since, at, state))
        state, since = new, at
    out.append((since, end, state))
    return out


def overlap(spans: list[Interval], others: list[Interval]) -> float:
    """Total length of the intersection of two lists of intervals."""
    total = 0.0
    for a0, a1 in spans:
        for b0, b1 in others:
            total += max(0.0, min(a1, b1) - max(a0, b0))
    return total


def merge(spans: Iterable[Interval]) -> list[Interval]:
    """Overlapping intervals joined (sorted)."""
    out: list[Interval] = []
    for s0, s1 in sorted(spans):
        if out and s0 <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], s1))
        else:
            out.append((s0, s1))
    return out


def kiosk_uptime(
    changes: Iterable[tuple[float, str]],
    start: float,
    end: float,
    ui_down: Iterable[Interval] = (),
) -> Uptime:
    """One kiosk's uptime in [start, end); `ui_down`: when its UI was reported down."""
    spans = state_intervals(changes, start, end)
    if not spans:
        return Uptime()
    seconds = {"online": 0.0, "stale": 0.0, "offline": 0.0}
    outages = 0
    longest = 0.0
    up: list[Interval] = []
    for s0, s1, state in spans:
        key = state if state in seconds else "offline"
        seconds[key] += s1 - s0
        if key == "offline":
            longest = max(longest, s1 - s0)
            if s0 > start:
                outages += 1
        else:
            up.append((s0, s1))
    down = merge((max(a, start), min(b, end)) for a, b in ui_down if b > start and a < end)
    up_s = seconds["online"] + seconds["stale"]
    return Uptime(
        counted_s=end - start,
        online_s=seconds["online"],
        stale_s=seconds["stale"],
        offline_s=seconds["offline"],
        showing_s=up_s - overlap(up, down),
        outages=outages,
        longest_outage_s=longest,
    )
