"""Rollout of a pack to 2,000 simulated kiosks: the server's request rate and the
time until 99 % of the fleet plays the new version, without jitter (the baseline:
every kiosk syncs the moment the announcement arrives) and with the announced
jitter window, in the same run. Run as root (nginx):

    .venv/bin/python bench/rollout.py [--kiosks 2000] [--window 300] [--time-scale 10]

What runs, all on loopback: Mosquitto (the generated files, plain MQTT),
`bgk server run` (ingest and the announcer), nginx as deployed (bgk-delivery.conf
serves /tuf/ and /blobs/ from the data folder; the bench adds an access log with
$msec to count requests) and, in this process, the simulated fleet
(server.sim.rollout: real MQTT logins, the agent's request pattern over HTTP on
32 keep-alive worker threads, the agent's jitter rule kiosk.protocol.rollout).

For each window W (0, then --window): `bgk server config --set
fleet.announce_jitter_s=W`, the server (re)started, the fleet connected with the
current version installed, the next version published with `bgk server publish`;
then until every kiosk has it. Printed per window: requests per second at nginx
(peak over 1 s buckets, and the mean over the rollout), time from the
announcement to 99 % and 100 % of the kiosks on the new version, and what the
dashboard's rollout reading (server.fleet.rollout, from the commit events the
kiosks report) counts. Last, what that reading costs the packs page: its time
on this store, then with a day of traveller-use events of every kiosk (288,000
rows) inside the window it reads.

Time compression: --time-scale S divides every drawn delay by S, so a 300 s
window passes in 300/S s. The jittered run's measured rate is then S times what
a real fleet causes and its time S times shorter: both are printed as measured
and as their real-time equivalent (rate / S, time x S), which holds while the
server is not saturated (the baseline shows where it saturates). The baseline
has no delays to compress. --time-scale 1 runs the window in real time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests
from install import write_pack
from soakworld import PY, REPO, free_port

from server.broker.identity import Identity
from server.broker.local import LocalBroker
from server.broker.pki import FleetKeys
from server.config import load_server_config
from server.fleet.mqtt import Link
from server.fleet.rollout import rollout_of
from server.fleet.view import fleet_view
from server.sim.cli import enrol_sim_kiosks
from server.sim.delivery import Delivery, Installed, root_version
from server.sim.rollout import RolloutFleet, RolloutOptions
from server.store import open_store
from server.store.schema import kiosks

sys.path.insert(0, str(REPO / "tests"))
from floodkit import deployed_nginx_conf  # type: ignore[import-not-found]

PACK = "bench"
LOG_FORMAT = "log_format bench '$msec $status $request_uri';"


def bgk(*args: str) -> str:
    out = subprocess.run([PY, "-m", "kiosk.cli", *args], cwd=REPO, capture_output=True,
                         text=True, timeout=300, env={**os.environ, "BGK_LOG": "warning"})  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"bgk {' '.join(args[:2])} failed: {out.stderr[-2000:]}")
    return out.stdout


class World:
    def __init__(self, tmp: Path, count: int) -> None:
        from server.datadir import init_data_dir
        from server.packs.keyfile import PASSPHRASE_ENV, write_passphrase_file
        from server.packs.keys import init_keyset
        from server.packs.signing import utcnow

        self.tmp, self.version = tmp, 0
        os.environ[PASSPHRASE_ENV] = str(tmp / "passphrase.txt")  # for `bgk server publish` too
        init_keyset(tmp / "keys", write_passphrase_file(tmp / "passphrase.txt"))
        self.nginx_port, self.server_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.nginx_port}"
        self.data = tmp / "data"
        cfg = init_data_dir(self.data, tmp / "keys", self.url, utcnow)
        self.store = open_store(cfg.store_url)
        self.broker = LocalBroker.create(self.store, FleetKeys(self.data / "mqtt"), tmp / "broker",
                                         tls=False)  # fmt: skip
        self.broker.start()
        with (self.data / "server.toml").open("a") as fh:
            fh.write(f'\n[mqtt]\nurl = "{self.broker.url}"\n\n[fleet]\nsweep_s = 2\n')
        print(f"enrolling {count} simulated kiosks ...", flush=True)
        self.identities = enrol_sim_kiosks(self.data, self.store, count, "sim", time.time())
        self.broker.reload()
        wait_login(self.broker.url, self.identities[-1])
        with self.store.engine.connect() as conn:
            self.gates = {r.id: r.gate for r in conn.execute(kiosks.select())}
        self.installed = self.publish()
        self.nginx = self.start_nginx()
        self.server: subprocess.Popen[bytes] | None = None

    def publish(self) -> Installed:
        """The next version of the bench pack: 6 files of 20 kB, 2 of them new."""
        self.version += 1
        fixed = random.Random(7)
        files = {"i18n/vi.json": b'{"bench": true}\n'}
        files |= {f"media/fixed-{i}.bin": fixed.randbytes(20_000) for i in range(4)}
        new = random.Random(self.version)
        files |= {f"media/new-{i}.bin": new.randbytes(20_000) for i in range(2)}
        folder = self.tmp / "packs" / f"v{self.version}"
        write_pack(folder, files, self.version)
        bgk("server", "publish", str(folder), "--data", str(self.data), "--to", "all",
            "--keys", str(self.tmp / "keys"))  # fmt: skip
        manifest = (folder / "manifest.json").read_bytes()
        blobs = frozenset(hashlib.sha256(d).hexdigest() for d in files.values())
        return Installed(self.version, hashlib.sha256(manifest).hexdigest(), blobs)

    def start_nginx(self) -> subprocess.Popen[bytes]:
        work = self.tmp / "nginx"
        conf = deployed_nginx_conf(work, self.data, self.nginx_port, upstreams=[self.server_port])
        self.access = work / "access.log"
        conf.write_text(
            conf.read_text().replace(
                "access_log off;", f"{LOG_FORMAT}\n  access_log {self.access} bench;"
            )
        )
        proc = subprocess.Popen(["nginx", "-p", str(work), "-c", str(conf)])
        wait(lambda: requests.get(self.url + "/tuf/timestamp.json", timeout=2).ok, 20, "nginx")
        return proc

    def start_server(self, window: float) -> None:
        bgk("server", "config", "--data", str(self.data), "--set",
            f"fleet.announce_jitter_s={window:g}")  # fmt: skip
        argv = [PY, "-m", "kiosk.cli", "server", "run", "--data", str(self.data),
                "--http", f"127.0.0.1:{self.server_port}"]  # fmt: skip
        self.server = subprocess.Popen(argv, cwd=REPO, env={**os.environ, "BGK_LOG": "warning"})
        wait(lambda: healthy(self.server_port), 120, "the server")

    def stop_server(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(60)
            self.server = None

    def close(self) -> None:
        self.stop_server()
        self.nginx.terminate()
        self.nginx.wait(10)
        self.broker.stop()
        self.store.dispose()


def healthy(port: int) -> bool:
    try:
        body = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
    except (requests.RequestException, ValueError):
        return False
    return bool(body.get("fleet_ingest", {}).get("ok"))


def wait(cond: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cond():
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def wait_login(url: str, ident: Identity) -> None:
    def ok() -> bool:
        got: list[bool] = []
        link = Link(url, ident, subscriptions=[], on_message=lambda *a: None,
                    on_connected=lambda _s: got.append(True), manual_ack=False)  # fmt: skip
        link.connect(clean_start=True)
        deadline = time.monotonic() + 5
        while not got and not link.refused and time.monotonic() < deadline and link.pump(0.05):
            pass
        link.close()
        return bool(got)

    wait(ok, 30, "the broker to know the simulated kiosks")


def request_rates(log: Path, offset: int) -> tuple[int, Counter[int]]:
    """Requests in the log after `offset`, per whole second."""
    per_s: Counter[int] = Counter()
    with log.open("rb") as fh:
        fh.seek(offset)
        for line in fh:
            per_s[int(float(line.split(b" ", 1)[0]))] += 1
    return sum(per_s.values()), per_s


def quantile_time(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def rollout(world: World, window: float, opts: RolloutOptions) -> dict[str, Any]:
    world.start_server(window)
    session = requests.Session()
    delivery = Delivery(world.url, root_version(session, world.url))
    fleet = RolloutFleet(world.broker.url, world.identities, world.gates, world.installed,
                         delivery, opts)  # fmt: skip
    try:
        fleet.ramp()
        offset = world.access.stat().st_size
        published_wall = time.time()
        world.installed = world.publish()
        target, n = world.installed.version, len(fleet.kiosks)
        fleet.run_until(lambda: fleet.on_version(target) == n, timeout=3600)
        time.sleep(1.0)  # nginx writes its last lines
        total, per_s = request_rates(world.access, offset)
        start = min(fleet.announced.values())
        arrivals = [k.arrived[target] - start for k in fleet.kiosks if target in k.arrived]
        time.sleep(3.0)  # the ingest stores the last commit events
        views = fleet_view(world.store, time.time(), load_server_config(world.data).fleet)
        seen = rollout_of(world.store, views, PACK, target, ["all"], time.time())
        busy = [c for s, c in per_s.items() if s >= int(published_wall)]
        return {
            "window_s": window,
            "time_scale": opts.time_scale if window else 1.0,
            "kiosks": n,
            "on_new": len(arrivals),
            "requests": total,
            "peak_rps": max(per_s.values(), default=0),
            "mean_rps": round(total / max(1, len(busy)), 1),
            "t99_s": round(quantile_time(arrivals, 0.99), 2),
            "t100_s": round(max(arrivals), 2),
            "delay_max_s": round(max(fleet.delays, default=0.0), 1),
            "sync_failures": fleet.failures,
            "dashboard_on": seen.on_now,
            "dashboard_curve_last": seen.points[-1].on if seen.points else 0,
        }
    finally:
        fleet.close()
        world.stop_server()


def reading_ms(world: World, version: int) -> float:
    """Median time of the packs page's rollout reading of `version`, ms."""
    cfg = load_server_config(world.data).fleet
    took = []
    for _ in range(5):
        t0 = time.perf_counter()
        views = fleet_view(world.store, time.time(), cfg)
        rollout_of(world.store, views, PACK, version, ["all"], time.time())
        took.append(time.perf_counter() - t0)
    return round(sorted(took)[2] * 1000, 1)


def page_cost(world: World, per_kiosk: int) -> dict[str, Any]:
    """The rollout reading before and after `per_kiosk` interaction events per
    kiosk (a day of traveller use at one event per 10 min) land inside the
    window it reads."""
    from server.store.schema import kiosk_events

    version = world.installed.version
    before = reading_ms(world, version)
    since = time.time() - 3600
    rows = [
        {"kiosk_id": k.username, "outbox_id": "noise", "seq": n, "ts": since + n,
         "received_at": since + n, "kind": "interaction", "data": {"sessions": 1}}
        for k in world.identities for n in range(per_kiosk)
    ]  # fmt: skip
    with world.store.engine.begin() as conn:
        conn.execute(kiosk_events.insert(), rows)
    return {"reading_ms": before, "noise_events": len(rows),
            "reading_with_noise_ms": reading_ms(world, version)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kiosks", type=int, default=2000)
    parser.add_argument("--window", type=float, default=300.0, help="jitter window, s")
    parser.add_argument("--time-scale", type=float, default=10.0, help="delays / this (see above)")
    parser.add_argument("--workers", type=int, default=32, help="HTTP worker threads")
    args = parser.parse_args()
    print(f"load average before: {Path('/proc/loadavg').read_text().split()[0]} (2 cores)")
    tmp = Path(tempfile.mkdtemp(prefix="bgk-bench-rollout-"))
    try:
        world = World(tmp, args.kiosks)
        try:
            results = []
            for window, scale in ((0.0, 1.0), (args.window, args.time_scale)):
                opts = RolloutOptions(pack=PACK, time_scale=scale, workers=args.workers)
                results.append(rollout(world, window, opts))
                print(json.dumps(results[-1]), flush=True)
            page = page_cost(world, 144)
            print(json.dumps(page), flush=True)
        finally:
            world.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base, jit = results
    s = jit["time_scale"]
    print()
    print(
        f"{base['kiosks']} simulated kiosks, {base['requests'] / base['kiosks']:.1f} requests per sync"
    )
    print(f"window 0 (baseline): peak {base['peak_rps']} req/s at nginx, 99 % on the new version "
          f"after {base['t99_s']} s (all after {base['t100_s']} s)")  # fmt: skip
    print(f"window {jit['window_s']:g} s, time / {s:g}: measured peak {jit['peak_rps']} req/s, "
          f"99 % after {jit['t99_s']} s")  # fmt: skip
    print(f"  real-time equivalent: peak {jit['peak_rps'] / s:.1f} req/s "
          f"({jit['peak_rps'] / s / max(1, base['peak_rps']):.3f} x the baseline's), "
          f"99 % after {jit['t99_s'] * s:.0f} s")  # fmt: skip
    print(f"packs page's rollout reading: {page['reading_ms']} ms; with {page['noise_events']} "
          f"other events in its window {page['reading_with_noise_ms']} ms "
          f"({page['reading_with_noise_ms'] / max(0.1, page['reading_ms']):.1f} x)")  # fmt: skip
    print(f"dashboard reading (commit events): {base['dashboard_on']} and {jit['dashboard_on']} "
          f"kiosks on the new version; sync failures {base['sync_failures']}, {jit['sync_failures']}")  # fmt: skip


if __name__ == "__main__":
    main()
