"""The figures of a simulator run: heartbeat lateness, connections, messages,
memory and CPU (`bgk sim --json`, bench/fleet.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Lateness:
    """Heartbeat lateness in 0.1 ms buckets up to 10 s."""

    buckets: list[int] = field(default_factory=lambda: [0] * 100_001)
    count: int = 0
    worst: float = 0.0

    def add(self, seconds: float) -> None:
        self.buckets[min(100_000, max(0, int(seconds * 10_000)))] += 1
        self.count += 1
        self.worst = max(self.worst, seconds)

    def quantile(self, q: float) -> float:
        want, seen = q * self.count, 0
        for i, n in enumerate(self.buckets):
            seen += n
            if seen >= want and n:
                return i / 10_000
        return 0.0


@dataclass
class SimReport:
    kiosks: int
    connected: int
    sent: int
    skipped: int
    commands: int
    power_cuts: int
    reconnects: int
    elapsed_s: float
    rate_hb_s: float
    lateness_p50_ms: float
    lateness_p99_ms: float
    lateness_max_ms: float
    rss_mib: float
    #: CPU seconds of this process per second of the run (1.0 = one core)
    cpu_share: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
