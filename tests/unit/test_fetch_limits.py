"""Bandwidth cap and backoff (time and randomness injected), and the
python-tuf internals the time floor relies on."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from deliverykit import BASE, T0, RepoSim, pack_files
from tuf.ngclient import Updater

from kiosk.agent.errors import MetadataExpired
from kiosk.agent.ratelimit import RateLimiter, bandwidth_limiter
from kiosk.agent.tufclient import TufSession, _pin_reference_time
from kiosk.common.backoff import Backoff


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.slept += s
        self.now += s


def test_rate_limiter_keeps_the_average_rate() -> None:
    t = FakeTime()
    limiter = RateLimiter(1_000_000, clock=t.clock, sleep=t.sleep)
    for _ in range(20):
        limiter.consume(500_000)  # 10 MB at 1 MB/s: about 10 s
    assert 9.5 <= t.now - 100.0 <= 10.0


def test_rate_limiter_does_not_bank_idle_time() -> None:
    t = FakeTime()
    limiter = RateLimiter(1_000_000, clock=t.clock, sleep=t.sleep)
    limiter.consume(1_000_000)
    t.now += 3600  # idle for an hour
    start = t.now
    for _ in range(10):
        limiter.consume(1_000_000)
    assert t.now - start >= 9.5  # no burst beyond burst_s


def test_bandwidth_cap_from_config() -> None:
    assert bandwidth_limiter(0) is None
    limiter = bandwidth_limiter(8000)  # 8000 kbit/s
    assert limiter is not None and limiter.rate == 1_000_000


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    b = Backoff(1.0, 60.0)
    rng = random.Random(3)
    delays = [b.delay(n, rng) for n in range(1, 10)]
    for n, d in enumerate(delays, start=1):
        full = min(60.0, 2.0 ** (n - 1))
        assert full / 2 <= d <= full
    assert delays[-1] <= 60.0
    assert len({round(b.delay(3, random.Random(s)), 6) for s in range(20)}) > 1  # jitter


def test_the_reference_time_python_tuf_checks_expiry_with_can_be_pinned(tmp_path: Path) -> None:
    sim = RepoSim()
    sim.add_pack(pack_files("a"))
    updater = Updater(str(tmp_path), f"{BASE}/tuf/", bootstrap=sim.root_v1)
    _pin_reference_time(updater, 12.0)
    assert updater._trusted_set.reference_time == datetime.fromtimestamp(12.0, UTC)


def test_expiry_is_judged_at_the_pinned_time_not_the_clock(tmp_path: Path) -> None:
    sim = RepoSim()  # metadata signed at T0, timestamp valid one day
    folder = tmp_path
    late = T0.timestamp() + 2 * 86400
    with pytest.raises(MetadataExpired):
        TufSession(folder / "a", BASE, sim.root_v1, sim, late).refresh()
    state = TufSession(folder / "b", BASE, sim.root_v1, sim, T0.timestamp() + 60).refresh()
    assert state.issued == T0.timestamp()
