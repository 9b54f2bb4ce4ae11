"""The rollout's jitter window: the pure rule (kiosk.protocol.rollout), the additive
`jitter_s` of the announcement, the server setting that fills it, and the agent's
fleet link drawing its delay from an injected rng and clock (no network)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from kiosk.agent.fleet import ANNOUNCE_JITTER_S, FleetLink
from kiosk.agent.heartbeat import AgentFacts
from kiosk.common.tomlconf import TomlReader
from kiosk.config import parse_config
from kiosk.protocol.errors import UsageError
from kiosk.protocol.payloads import Announce, PayloadError, parse_announce
from kiosk.protocol.rollout import (
    DEFAULT_JITTER_S,
    MAX_JITTER_S,
    announce_delay,
    jitter_window,
)
from kiosk.protocol.topics import ANNOUNCE
from server.fleet_settings import FleetSettings, parse_settings


class Fixed:
    """An rng that returns the given fraction of the window, and counts its draws."""

    def __init__(self, fraction: float) -> None:
        self.fraction = fraction
        self.draws: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.draws.append((a, b))
        return a + (b - a) * self.fraction


def test_the_window_is_the_announced_one_else_the_kiosks_default_and_bounded() -> None:
    assert jitter_window(300.0) == 300.0
    assert jitter_window(None) == DEFAULT_JITTER_S
    assert jitter_window(None, default_s=12.0) == 12.0
    assert jitter_window(0.0, default_s=12.0) == 0.0  # an announced 0 is not "none"
    assert jitter_window(-5.0) == 0.0
    assert jitter_window(10 * MAX_JITTER_S) == MAX_JITTER_S


def test_the_delay_is_uniform_in_the_window_from_the_injected_rng() -> None:
    rng = Fixed(0.25)
    assert announce_delay(rng, 300.0) == 75.0
    assert rng.draws == [(0.0, 300.0)]
    assert announce_delay(Fixed(1.0), 300.0) == 300.0
    assert announce_delay(Fixed(0.0), 300.0) == 0.0
    zero = Fixed(0.5)
    assert announce_delay(zero, 0.0) == 0.0 and zero.draws == []  # no draw for no window
    assert announce_delay(Fixed(0.5), None) == DEFAULT_JITTER_S / 2
    assert announce_delay(Fixed(7.0), 10.0) == 10.0  # a misbehaving rng stays in the window


def test_delays_of_a_fleet_fill_the_window_evenly() -> None:
    rng = random.Random(17)
    delays = [announce_delay(rng, 300.0) for _ in range(20_000)]
    assert min(delays) >= 0.0 and max(delays) <= 300.0
    counts = [0] * 10
    for d in delays:
        counts[min(int(d // 30), 9)] += 1
    assert all(1800 <= c <= 2200 for c in counts), counts  # 2000 each, a few % either way
    again = random.Random(17)
    assert [announce_delay(again, 300.0) for _ in range(5)] == delays[:5]  # reproducible


def test_the_announcement_carries_the_window_additively() -> None:
    old = parse_announce(b'{"timestamp_version": 7, "packs": {"lao-bao": 3}}')
    assert old.jitter_s is None  # a server from before the setting
    new = parse_announce(b'{"timestamp_version": 7, "packs": {"lao-bao": 3}, "jitter_s": 300}')
    assert new.jitter_s == 300.0
    body = json.loads(Announce(timestamp_version=7, packs={}, jitter_s=120.0).to_bytes())
    assert body["jitter_s"] == 120.0
    for bad in (b"-1", b"3601", b'"300"', b"true"):
        with pytest.raises(PayloadError):
            parse_announce(b'{"timestamp_version": 7, "packs": {}, "jitter_s": ' + bad + b"}")


def test_an_old_kiosk_ignores_the_new_field() -> None:
    """A kiosk from before the field parses with extra="ignore": the same model
    without `jitter_s` accepts what a new server sends."""
    from pydantic import BaseModel, ConfigDict

    class OldAnnounce(BaseModel):
        model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
        timestamp_version: int
        packs: dict[str, int]

    sent = Announce(timestamp_version=9, packs={"lao-bao": 4}, jitter_s=300.0).to_bytes()
    assert OldAnnounce.model_validate_json(sent).packs == {"lao-bao": 4}


def fleet_settings(text: dict[str, Any]) -> FleetSettings:
    return parse_settings(TomlReader({"fleet": text}, "server.toml", Path(".")), "http://x")[1]


def test_the_server_setting_is_bounded_and_says_what_to_do() -> None:
    assert fleet_settings({}).announce_jitter_s == 300.0
    assert fleet_settings({"announce_jitter_s": 0}).announce_jitter_s == 0.0
    assert fleet_settings({"announce_jitter_s": 3600}).announce_jitter_s == 3600.0
    for bad in (-1, 3601, "300", True):
        with pytest.raises(UsageError, match="announce_jitter_s"):
            fleet_settings({"announce_jitter_s": bad})


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def fleet_link(tmp_path: Path, rng: Any, clock: Clock, syncs: list[float]) -> FleetLink:
    root = tmp_path / "root.json"
    root.write_text("{}")
    raw = {
        "kiosk": {"id": "lb-01", "gate": "lao-bao", "state_dir": str(tmp_path / "state")},
        "server": {"url": "http://127.0.0.1:9", "trusted_root": str(root)},
        "mqtt": {"url": "mqtt://127.0.0.1:9"},
    }
    return FleetLink(
        parse_config(raw, base=tmp_path),
        facts=lambda _now: AgentFacts(None, False, 0.0),
        trigger_sync=lambda: syncs.append(clock.t),
        rng=rng,
        monotonic=clock,
    )


def announce(version: int, jitter: float | None) -> bytes:
    return Announce(
        timestamp_version=version, packs={"lao-bao": version}, jitter_s=jitter
    ).to_bytes()


def test_the_agent_waits_its_draw_then_syncs_once(tmp_path: Path) -> None:
    clock, syncs = Clock(), []
    link = fleet_link(tmp_path, Fixed(0.4), clock, syncs)
    try:
        link.on_message(ANNOUNCE, announce(5, 600.0))
        assert link.announce_delay_s == 240.0
        link.tick(clock.t)
        clock.t += 239.9
        link.tick(clock.t)
        assert syncs == []
        clock.t += 0.1
        link.tick(clock.t)
        assert syncs == [1240.0]
        link.on_message(ANNOUNCE, announce(5, 600.0))  # the same one again (a reconnect)
        clock.t += 1000
        link.tick(clock.t)
        assert syncs == [1240.0]
        link.on_message(ANNOUNCE, announce(6, None))  # an old server: the kiosk's default
        assert link.announce_delay_s == ANNOUNCE_JITTER_S * 0.4
        link.on_message(ANNOUNCE, b'{"timestamp_version": 7, "packs": {}, "jitter_s": 9999}')
        assert link.announced == 6  # a window out of bounds: ignored as malformed
    finally:
        link.outbox.close()
