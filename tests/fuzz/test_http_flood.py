"""The HTTP server as deployed (nginx with deploy/nginx/*.conf) keeps serving the
kiosks' TUF metadata and blobs while 1,000 slow-loris connections trickle
header bytes and 10,000 connections are opened at once from loopback.

Short here (~10 s of flood); bench/flood.py measures it longer, with latencies,
and against nginx's Debian defaults for comparison."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from floodkit import DeployedNginx, Fetches, Flood, fetch_loop, published_data

FLOOD_S = 10


def test_kiosks_are_served_through_a_slow_loris_and_a_burst(
    tmp_path: Path, built_mini: Path
) -> None:
    data, paths = published_data(tmp_path, built_mini)
    nginx = DeployedNginx(tmp_path / "nginx", data)
    stop, fetched = threading.Event(), Fetches()
    flood = Flood(nginx.port, loris=1000, burst=10_000)
    try:
        flood.start()
        kiosk = threading.Thread(target=fetch_loop, args=(nginx.url, paths, stop, fetched))
        kiosk.start()
        time.sleep(FLOOD_S)
        stop.set()
        kiosk.join(30)
    finally:
        flood.stop()
        nginx.stop()
    assert flood.opened >= 10_000, f"the flood opened only {flood.opened} connections"
    assert not fetched.failed, f"kiosk requests failed under the flood: {fetched.failed[:5]}"
    assert fetched.ok >= 10, f"only {fetched.ok} kiosk requests were answered in {FLOOD_S} s"
    # the silent burst connections are closed by nginx's header timeout (10 s), not kept
    assert flood.closed_by_server > 0
