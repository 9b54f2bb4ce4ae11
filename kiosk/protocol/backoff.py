"""Retry delays: exponential backoff with jitter (pure; randomness is a parameter).

Shared by the kiosk's and the server's MQTT links, so a fleet that lost its
broker does not come back as one synchronised stampede.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delay n is uniform in [d/2, d] with d = min(cap, base * 2**n) ("equal jitter")."""

    base: float = 1.0
    cap: float = 60.0
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def next(self) -> float:
        d = min(self.cap, self.base * 2.0 ** min(self.attempts, 30))
        self.attempts += 1
        return d / 2 + self.rng.uniform(0, d / 2)

    def reset(self) -> None:
        self.attempts = 0
