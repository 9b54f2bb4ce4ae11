"""When a kiosk syncs after a pack announcement: the jitter window rule.

The server's announcement (payloads.Announce) may carry `jitter_s`, its
[fleet] announce_jitter_s: every kiosk waits a delay drawn uniformly from
[0, jitter_s] before it syncs, so a fleet of thousands reaches the server
spread over the window instead of within one second. An announcement
without the field (a server from before it) leaves the kiosk its own
default. The real agent (kiosk.agent.fleet) and the fleet simulator
(server.sim) both call `announce_delay`, so a bench measures the rule the
kiosks follow. A sync asked for by hand (`bgk kiosk sync`, the `resync`
command) never waits.
"""

from __future__ import annotations

from typing import Protocol

#: the longest window a server may announce, s (an hour: a pack still arrives the same hour)
MAX_JITTER_S = 3600.0
#: the kiosk's window when the announcement carries none (servers before the setting), s
DEFAULT_JITTER_S = 5.0


class Uniform(Protocol):
    """What the rule needs of a random source (random.Random has it)."""

    def uniform(self, a: float, b: float) -> float: ...


def jitter_window(announced: float | None, default_s: float = DEFAULT_JITTER_S) -> float:
    """The window in seconds: the announced one, else `default_s`; kept in 0..MAX_JITTER_S."""
    window = default_s if announced is None else announced
    return min(max(float(window), 0.0), MAX_JITTER_S)


def announce_delay(
    rng: Uniform, announced: float | None, default_s: float = DEFAULT_JITTER_S
) -> float:
    """Seconds to wait after an announcement before syncing: uniform in the window
    (0 when the window is 0: no draw, so a zero window costs no randomness)."""
    window = jitter_window(announced, default_s)
    if window <= 0.0:
        return 0.0
    return min(max(rng.uniform(0.0, window), 0.0), window)
