"""The announcement's jitter window honoured by a real agent's fleet link, with a
real Mosquitto and the server's fleet service: the kiosk waits the delay it drew
in the server's window (its monotonic clock injected: no minutes of sleep), also
after coming back from a partition to a retained announcement of a new pack,
while a `resync` command runs at once."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fleetkit import (
    Recorder,
    Server,
    TcpProxy,
    bgk,
    facts,
    fast_backoff,
    make_server,
    running_service,
    server_ident,
    wait_for,
)

from kiosk.agent.fleet import FleetLink
from kiosk.protocol.topics import ANNOUNCE
from server.fleet.remote import command_status, queue_command

WINDOW_S = 600.0
#: the injected rng draws this fraction of any range: the delay is 450 s exactly
FRACTION = 0.75


class Fraction(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * FRACTION


class Clock:
    """The agent's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.t = 5000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    world = make_server(tmp_path_factory.mktemp("rollout"), fleet=f"announce_jitter_s = {WINDOW_S}")
    try:
        with running_service(world):
            yield world
    finally:
        world.close()


def start(
    server: Server, kiosk_id: str, clock: Clock, **mqtt: Any
) -> tuple[FleetLink, list[float]]:
    cfg = server.enrol(kiosk_id, **mqtt)
    syncs: list[float] = []
    link = FleetLink(
        cfg,
        facts=facts,
        trigger_sync=lambda: syncs.append(clock.t),
        rng=Fraction(),
        monotonic=clock,
    )
    link.link.backoff = fast_backoff()
    link.start()
    return link, syncs


def held(cond: Any, seconds: float = 1.5) -> bool:
    """True when `cond` stays false for `seconds` (real time: the link ticks every 0.5 s)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return False
        time.sleep(0.05)
    return True


def retained_announce(server: Server) -> dict[str, Any]:
    rec = Recorder(server.broker, server_ident(server, 4))
    try:
        rec.client.subscribe(ANNOUNCE, 1)
        got = wait_for(lambda: rec.messages, what="the retained announcement")
        body: dict[str, Any] = json.loads(got[-1][1])
        return body
    finally:
        rec.close()


def sync_waits_for_its_draw(link: FleetLink, syncs: list[float], clock: Clock) -> None:
    delay = link.announce_delay_s
    assert delay == WINDOW_S * FRACTION  # drawn in the server's window, not the kiosk's 5 s
    due = clock.t + delay  # (set when the announcement arrived; the clock has not moved)
    before = len(syncs)
    assert held(lambda: len(syncs) > before)
    clock.t = due - 0.5
    assert held(lambda: len(syncs) > before, 1.0)
    clock.t = due + 0.01
    wait_for(lambda: len(syncs) > before, 5, "the sync once the drawn delay has passed")
    assert len(syncs) == before + 1


def test_the_announced_window_is_honoured_and_resync_does_not_wait(server: Server) -> None:
    body = retained_announce(server)
    assert body["jitter_s"] == WINDOW_S  # the server's setting travels in the announcement
    clock = Clock()
    link, syncs = start(server, "lb-jit-01", clock)
    try:
        wait_for(lambda: link.announced is not None, what="the retained announcement")
        # a guard's resync command does not wait for the window
        cmd = queue_command(
            server.store, server.keys, "lb-jit-01", "resync", {}, now=time.time(), ttl_s=60
        )
        wait_for(lambda: syncs, 15, "the resync command's sync")
        assert syncs == [clock.t]
        wait_for(lambda: (command_status(server.store, cmd.cmd_id) or {}).get("state") == "done")
        # the announcement's own sync still waits for its draw
        sync_waits_for_its_draw(link, syncs, clock)
    finally:
        link.stop()


def test_a_kiosk_back_from_a_partition_jitters_on_the_retained_announcement(
    server: Server, built_mini: Path
) -> None:
    proxy = TcpProxy(server.broker.layout.tls_port or 0)
    clock = Clock()
    try:
        link, syncs = start(
            server, "lb-jit-02", clock, url=f"mqtts://localhost:{proxy.port}", keepalive_s=2
        )
        try:
            first = wait_for(lambda: link.announced, what="the first announcement")
            clock.t += WINDOW_S + 1
            wait_for(lambda: syncs, 5, "the first announcement's sync")
            proxy.partition()
            wait_for(lambda: not link.link.connected, 20, "the kiosk noticing the partition")
            out = bgk("server", "publish", str(built_mini), "--data", str(server.cfg.data),
                      "--to", "lao-bao", "--keys", str(server.tmp / "keys"))  # fmt: skip
            assert out.returncode == 0, out.stderr
            wait_for(lambda: retained_announce(server)["timestamp_version"] > first, 20,
                     "the new retained announcement")  # fmt: skip
            proxy.heal()
            wait_for(lambda: (link.announced or 0) > first, 30, "the retained announcement after")
            assert len(syncs) == 1  # not at once on reconnecting: it drew a delay
            sync_waits_for_its_draw(link, syncs, clock)
        finally:
            link.stop()
    finally:
        proxy.close()
