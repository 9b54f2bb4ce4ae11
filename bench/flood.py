"""Kiosks' TUF metadata and blobs through nginx while the server is flooded:
a slow-loris (connections trickling header bytes) and a burst of connections
opened at once, from loopback addresses of their own (127.0.0.2, 127.0.0.3).

    .venv/bin/python bench/flood.py [--seconds 60] [--loris 2000] [--burst 10000]

Runs twice: nginx with Debian's defaults (768 connections a worker, 60 s header
timeout) and with deploy/nginx/bgk-limits.conf and its two nginx.conf lines.
Prints, for each: kiosk requests answered / failed, their median and p99
latency, and the same without a flood (baseline, same run).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from floodkit import (  # type: ignore[import-not-found]  # noqa: E402  (tests/ on the path)
    DeployedNginx,
    Fetches,
    Flood,
    fetch_loop,
    published_data,
)

from server.packs.build import build_pack  # noqa: E402


def run(nginx: DeployedNginx, paths: dict[str, str], seconds: float, flood: Flood | None) -> str:
    stop, out = threading.Event(), Fetches()
    if flood is not None:
        flood.start()
    kiosk = threading.Thread(target=fetch_loop, args=(nginx.url, paths, stop, out))
    kiosk.start()
    time.sleep(seconds)
    stop.set()
    kiosk.join(30)
    if flood is not None:
        flood.stop()
    lat = sorted(out.latencies) or [float("nan")]
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
    extra = f"; flood opened {flood.opened}, nginx closed {flood.closed_by_server}" if flood else ""
    return (
        f"answered {out.ok}, failed {len(out.failed)}, median {statistics.median(lat) * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms{extra}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--loris", type=int, default=2000)
    parser.add_argument("--burst", type=int, default=10_000)
    args = parser.parse_args()
    print(f"load average before: {Path('/proc/loadavg').read_text().split()[:3]} (2 cores)")
    with tempfile.TemporaryDirectory(prefix="bgk-bench-flood-") as name:
        tmp = Path(name)
        build_pack(REPO / "tests" / "fixtures" / "packs" / "mini", tmp / "built")
        data, paths = published_data(tmp, tmp / "built")
        for tuned in (False, True):
            label = "deploy limits" if tuned else "Debian defaults"
            nginx = DeployedNginx(tmp / f"nginx-{tuned}", data, tuned=tuned)
            try:
                print(f"{label}, no flood:  {run(nginx, paths, min(10.0, args.seconds), None)}")
                flood = Flood(nginx.port, loris=args.loris, burst=args.burst)
                print(f"{label}, flooded:   {run(nginx, paths, args.seconds, flood)}", flush=True)
            finally:
                nginx.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
