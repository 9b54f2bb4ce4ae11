"""Figures of an ingest process (`bgk server ingest --stats FILE`, the benches)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Latency:
    """Receipt-to-commit latencies in 1 ms buckets (0..30 s)."""

    buckets: list[int] = field(default_factory=lambda: [0] * 30_001)
    count: int = 0

    def add(self, seconds: float) -> None:
        self.buckets[min(30_000, max(0, int(seconds * 1000)))] += 1
        self.count += 1

    def quantile(self, q: float) -> float | None:
        if not self.count:
            return None
        want, seen = q * self.count, 0
        for ms, n in enumerate(self.buckets):
            seen += n
            if seen >= want:
                return ms / 1000
        return 30.0


@dataclass
class Stats:
    received: int = 0
    committed: int = 0
    dropped: int = 0
    batches: int = 0
    db_errors: int = 0
    connects: int = 0
    started: float = field(default_factory=time.monotonic)
    #: monotonic times of the first receipt and the last commit (rates in benches)
    first_mono: float | None = None
    last_commit_mono: float | None = None
    #: this process's CPU seconds at the first receipt (what came before is start-up)
    first_cpu: float | None = None
    latency: Latency = field(default_factory=Latency)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "committed": self.committed,
            "dropped": self.dropped,
            "batches": self.batches,
            "db_errors": self.db_errors,
            "connects": self.connects,
            "p50_s": self.latency.quantile(0.5),
            "p99_s": self.latency.quantile(0.99),
            "uptime_s": time.monotonic() - self.started,
            "first_mono": self.first_mono,
            "last_commit_mono": self.last_commit_mono,
            "cpu_s": time.process_time(),
            "first_cpu": self.first_cpu,
        }
