"""The HTTP server as deployed (nginx with deploy/nginx/*.conf) keeps serving the
kiosks' TUF metadata and blobs while 1,000 slow-loris connections trickle
header bytes and 10,000 connections are opened at once from loopback.

Short here (20 rounds of requests under the flood); bench/flood.py measures it
longer, with latencies, and against nginx's Debian defaults for comparison."""

from __future__ import annotations

import threading
from pathlib import Path

from fleetkit import wait_for
from floodkit import DeployedNginx, Fetches, Flood, fetch_loop, published_data

#: rounds of kiosk requests made while the flood holds its connections
ROUNDS = 20


def test_kiosks_are_served_through_a_slow_loris_and_a_burst(
    tmp_path: Path, built_mini: Path
) -> None:
    data, paths = published_data(tmp_path, built_mini)
    nginx = DeployedNginx(tmp_path / "nginx", data)
    fetched = Fetches()
    flood = Flood(nginx.port, loris=1000, burst=10_000)
    try:
        flood.start()
        wait_for(lambda: flood.started, 120, "the flood's connections to be open")
        # a kiosk fetches timestamp.json and a blob, ROUNDS times, while they are
        fetch_loop(nginx.url, paths, threading.Event(), fetched, rounds=ROUNDS)
    finally:
        flood.stop()
        nginx.stop()
    assert flood.opened >= 10_000, f"the flood opened only {flood.opened} connections"
    assert not fetched.failed, f"kiosk requests failed under the flood: {fetched.failed[:5]}"
    assert fetched.ok == ROUNDS * len(paths)
