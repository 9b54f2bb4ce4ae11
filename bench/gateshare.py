"""One download per gate: bytes over the gate's uplink, and the time for the whole gate
to be on a new pack, with gate sharing off (the baseline, today) and on, in one run.

A gate is made of network namespaces (tests/gatekit.py): N real kiosk agents
(`bgk kiosk agent`, one process each) on a LAN bridge, nginx delivering the
server's repository behind an uplink shaped with tc tbf. The pack stands in
for a video pack: a few large random blobs (incompressible, like H.264) and
a small one, published with the real server code. Bytes over the uplink are
the nginx access log's body bytes of /blobs/ answers (and the uplink
interface's counter, headers and metadata included). Time is from starting
the agents until every one has switched to the pack (it includes the agents'
Python start-up, about a second, in both modes).

    .venv/bin/python bench/gateshare.py [--size-mb 40] [--uplink-mbit 50] [--kiosks 5 13]
    .venv/bin/python bench/gateshare.py --full      # a 300 MB pack, 200 Mbit/s uplink

Needs root (network namespaces), nginx and tc.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from gatekit import (  # type: ignore[import-not-found]  # noqa: E402  (tests/ on the path)
    Gate,
    Nginx,
    agent_cmd,
    netns_problem,
    publish,
    write_kiosk,
)

BLOB_MB = 8


def video_like(size_mb: int, seed: int = 17) -> dict[str, bytes]:
    """size_mb of random blobs of up to BLOB_MB each (a video pack's media)."""
    rng = random.Random(seed)
    files = {"i18n/vi.json": b'{"title": "video"}'}
    left, i = size_mb * 1_000_000, 0
    while left > 0:
        n = min(left, BLOB_MB * 1_000_000)
        files[f"media/clip{i:02d}.mp4"] = rng.randbytes(n)
        left, i = left - n, i + 1
    return files


def run_gate(
    tmp: Path, data: Path, root: bytes, kiosks: int, share: bool, uplink_mbit: float
) -> dict[str, float]:
    with Gate(kiosks, uplink_mbit) as gate, Nginx(gate, data, tmp / "nginx") as nginx:
        everyone = [gate.share_address(i) for i in range(kiosks)]
        configs = [
            write_kiosk(
                tmp / f"k{i}",
                i,
                gate,
                root,
                [a for a in everyone if a != gate.share_address(i)],
                share=share,
            )
            for i in range(kiosks)
        ]
        before = gate.uplink_bytes()
        procs: list[subprocess.Popen[bytes]] = []
        started = time.monotonic()
        try:
            for i, config in enumerate(configs):
                log = open(tmp / f"k{i}.log", "wb")  # noqa: SIM115
                procs.append(gate.popen(i, agent_cmd(config), stdout=log, stderr=log))
            states = [tmp / f"k{i}" / "state" / "current" for i in range(kiosks)]
            done: dict[int, float] = {}
            while len(done) < kiosks:
                for i, s in enumerate(states):
                    if i not in done and os.path.lexists(s):
                        done[i] = time.monotonic() - started
                for p in procs:
                    if p.poll() is not None:
                        raise SystemExit(f"an agent stopped: see {tmp}/k*.log")
                if time.monotonic() - started > 1800:
                    raise SystemExit("the gate did not finish in 30 minutes")
                time.sleep(0.1)
            return {
                "blob_bytes": nginx.blob_bytes(),
                "link_bytes": gate.uplink_bytes() - before,
                "first_s": min(done.values()),
                "all_s": max(done.values()),
            }
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=int, default=40)
    ap.add_argument("--uplink-mbit", type=float, default=50.0)
    ap.add_argument("--kiosks", type=int, nargs="+", default=[5, 13])
    ap.add_argument("--full", action="store_true", help="300 MB pack, 200 Mbit/s uplink")
    args = ap.parse_args()
    if args.full:
        args.size_mb, args.uplink_mbit = 300, 200.0
    problem = netns_problem()
    if problem:
        raise SystemExit(problem)
    with tempfile.TemporaryDirectory(prefix="bgk-gateshare-") as t:
        tmp = Path(t)
        files = video_like(args.size_mb)
        data, root = publish(tmp / "server", files)
        size = sum(
            len(d) for d in {hashlib.sha256(d).hexdigest(): d for d in files.values()}.values()
        )
        print(
            f"pack: {size / 1e6:.0f} MB in {len(files)} files; uplink {args.uplink_mbit:g} Mbit/s "
            "(tc tbf); LAN: veth + bridge, unshaped"
        )
        print(
            f"{'kiosks':>6} {'sharing':>8} {'uplink MB':>10} {'x pack':>7} {'link MB':>8} "
            f"{'first s':>8} {'all s':>7} {'time vs off':>12}"
        )
        for n in args.kiosks:
            base: dict[str, float] | None = None
            for share in (False, True):
                r = run_gate(tmp / f"g{n}-{share}", data, root, n, share, args.uplink_mbit)
                base = base or r
                print(
                    f"{n:>6} {'on' if share else 'off':>8} {r['blob_bytes'] / 1e6:>10.1f} "
                    f"{r['blob_bytes'] / size:>7.2f} {r['link_bytes'] / 1e6:>8.1f} "
                    f"{r['first_s']:>8.1f} {r['all_s']:>7.1f} {r['all_s'] / base['all_s']:>12.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
