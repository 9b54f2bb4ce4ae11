"""Retry delays: exponential backoff with jitter (pure; randomness is a parameter).

Shared by the kiosk's and the server's MQTT links, the kiosk's downloads and
its sync loop, so a fleet that lost its broker or its server does not come
back as one synchronised stampede.

    b = Backoff(base=1.0, cap=60.0)
    b.next(); b.next(); b.reset()      # a link counting its own attempts
    b.delay(attempt, rng)              # a loop that counts them itself (1, 2, ...)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delay n is uniform in [d/2, d] with d = min(cap, base * 2**(n-1)) ("equal jitter")."""

    base: float = 1.0
    cap: float = 60.0
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Delay before retry number `attempt` (1, 2, ...): half fixed, half random."""
        full = min(self.cap, self.base * 2.0 ** min(max(0, attempt - 1), 30))
        return full / 2 + (rng or self.rng).uniform(0, full / 2)

    def next(self) -> float:
        """The delay before the next attempt; counts it."""
        self.attempts += 1
        return self.delay(self.attempts)

    def reset(self) -> None:
        self.attempts = 0
