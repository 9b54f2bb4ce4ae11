"""The download bandwidth cap ([sync] bandwidth_kbps) shared by parallel downloads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Caps the average download rate (bytes/s): a virtual clock of when the bytes
    consumed so far are paid for, with at most `burst_s` of idle credit."""

    def __init__(
        self,
        rate: float,
        *,
        burst_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst_s = burst_s
        self.clock = clock
        self.sleep = sleep
        self._paid_until: float | None = None
        self._lock = threading.Lock()  # shared by parallel downloads

    def consume(self, n: int) -> None:
        with self._lock:
            now = self.clock()
            start = (
                now - self.burst_s
                if self._paid_until is None
                else max(self._paid_until, now - self.burst_s)
            )
            self._paid_until = start + n / self.rate
            wait = self._paid_until - now
        if wait > 0:
            self.sleep(wait)


def bandwidth_limiter(kbps: int) -> RateLimiter | None:
    """The configured cap (kbit/s, 0 = none) as a RateLimiter."""
    return RateLimiter(kbps * 1000 / 8) if kbps > 0 else None
