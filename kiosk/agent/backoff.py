"""Exponential backoff with jitter; randomness is a parameter."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base_s: float
    cap_s: float

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Delay before retry number `attempt` (1, 2, ...): half fixed, half random."""
        full = min(self.cap_s, self.base_s * 2.0 ** max(0, attempt - 1))
        return full / 2 + rng.uniform(0, full / 2)
