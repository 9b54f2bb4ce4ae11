"""How many simulated kiosks one process holds, how late their heartbeats are,
and how long a dead kiosk takes to show as offline in the store.

    .venv/bin/python bench/fleet.py [--kiosks 10000] [--rate 5000] [--seconds 60]

  hold     `bgk sim` (one process, one thread, epoll) connects --kiosks kiosks,
           each with its own broker login, and sends heartbeats at --rate in
           total for --seconds (2 % lose power once and come back with a new
           boot; 10 % play a stale pack; 2 % have a dead UI) while one
           `bgk server ingest` process stores them in SQLite. Printed: p50/p99/
           max lateness (send time minus schedule), resident memory of the
           simulator, heartbeats sent vs stored (nothing lost).
  death    200 simulated kiosks (will delay 0) are cut off at once (the TCP
           connection torn down, no DISCONNECT); the time from the cut to
           `offline` in kiosk_state, per kiosk. A kiosk that freezes without
           closing its socket is noticed by the broker after 1.5 x keepalive,
           and the will is published after the will delay on top.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fleetbench import REPO, World, cpu_seconds, load, make_world, start_ingest, wait
from sqlalchemy import func, select

from server.broker.identity import Identity
from server.fleet.mqtt import Link
from server.sim.cli import enrol_sim_kiosks
from server.sim.simulator import SimOptions, Simulator
from server.store.schema import heartbeats, kiosk_state


def enrol(world: World, count: int, prefix: str) -> tuple[Path, list[Identity]]:
    """Enrol PREFIX-00001..count with passwords; returns the credentials file and them."""
    identities = enrol_sim_kiosks(world.cfg.data, world.store, count, prefix, time.time())
    world.broker.reload()
    probe = identities[-1]
    wait(lambda: probe_login(world, probe), 30, "the broker to know the new kiosks")
    return world.cfg.data / "sim" / "credentials.json", identities


def probe_login(world: World, ident: Identity) -> bool:
    ok: list[bool] = []
    link = Link(world.cfg.mqtt.url, ident, subscriptions=[], on_message=lambda *a: None,
                on_connected=lambda _s: ok.append(True), manual_ack=False)  # fmt: skip
    link.connect(clean_start=True)
    deadline = time.monotonic() + 5
    while not ok and not link.refused and time.monotonic() < deadline and link.pump(0.05):
        pass
    link.close()
    return bool(ok)


def stored_for(world: World, prefix: str) -> int:
    with world.store.engine.connect() as conn:
        q = (
            select(func.count())
            .select_from(heartbeats)
            .where(heartbeats.c.kiosk_id.like(f"{prefix}-%"))
        )
        return int(conn.execute(q).scalar_one())


def hold(world: World, kiosks: int, rate: float, seconds: float) -> dict[str, Any]:
    creds, _ = enrol(world, kiosks, "sim")
    ingest = start_ingest(world, 3, share=False)
    broker0 = cpu_seconds(world.broker.proc.pid)  # type: ignore[union-attr]
    ingest0 = cpu_seconds(ingest.proc.pid)
    period = kiosks / rate
    args = [
        sys.executable,
        "-m",
        "kiosk.cli",
        "sim",
        "--kiosks",
        str(kiosks),
        "--mqtt",
        world.cfg.mqtt.url,
    ]
    args += ["--credentials", str(creds), "--period", str(period), "--duration", str(seconds)]
    args += ["--offline-frac", "0.02", "--json"]
    sim = subprocess.run(
        args,
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "BGK_LOG": "error"},
        timeout=seconds + 600,
    )
    if sim.returncode != 0:
        raise SystemExit(f"bgk sim failed: {sim.stderr[-2000:]}")
    report = json.loads(sim.stdout.strip().splitlines()[-1])
    deadline = time.monotonic() + 30
    while stored_for(world, "sim") < report["sent"] and time.monotonic() < deadline:
        time.sleep(0.2)
    broker_cpu = cpu_seconds(world.broker.proc.pid) - broker0  # type: ignore[union-attr]
    ingest_cpu = cpu_seconds(ingest.proc.pid) - ingest0
    ingest.stop()
    got = stored_for(world, "sim")
    return {
        **report,
        "stored": got,
        "lost": report["sent"] - got,
        "broker_cpu_share": round(broker_cpu / report["elapsed_s"], 2),
        "ingest_cpu_share": round(ingest_cpu / report["elapsed_s"], 2),
        "load": load(),
    }


def death(world: World, count: int = 200, victims: int = 50) -> dict[str, Any]:
    _, identities = enrol(world, count, "die")
    ingest = start_ingest(world, 3, share=False)
    opts = SimOptions(
        period_s=5.0, offline_frac=0.0, stale_frac=0.0, will_delay_s=0, keepalive_s=10
    )
    sim = Simulator(world.cfg.mqtt.url, identities, opts)
    sim.ramp()

    def online() -> int:
        with world.store.engine.connect() as conn:
            q = (
                select(func.count())
                .select_from(kiosk_state)
                .where(kiosk_state.c.kiosk_id.like("die-%"), kiosk_state.c.online.is_(True))
            )
            return int(conn.execute(q).scalar_one())

    deadline = time.monotonic() + 30
    while online() < count and time.monotonic() < deadline:
        sim.hub.poll(0.05)
    cut_wall = time.time()
    dead = sim.kill(victims)
    seen: dict[str, float] = {}
    deadline = time.monotonic() + 60
    while len(seen) < len(dead) and time.monotonic() < deadline:
        sim.hub.poll(0.01)
        with world.store.engine.connect() as conn:
            q = select(kiosk_state.c.kiosk_id, kiosk_state.c.state_since).where(
                kiosk_state.c.kiosk_id.in_(dead), kiosk_state.c.state == "offline"
            )
            for kiosk_id, since in conn.execute(q):
                seen.setdefault(kiosk_id, since)
    sim.close()
    ingest.stop()
    delays = sorted(since - cut_wall for since in seen.values())
    return {
        "kiosks": count,
        "killed": len(dead),
        "seen_offline": len(seen),
        "delay_min_s": round(delays[0], 3) if delays else None,
        "delay_median_s": round(statistics.median(delays), 3) if delays else None,
        "delay_max_s": round(delays[-1], 3) if delays else None,
        "will_delay_s": 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kiosks", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=5_000)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    print(f"load average before: {load()} (2 cores)")
    tmp = Path(tempfile.mkdtemp(prefix="bgk-bench-fleet-"))
    try:
        world = make_world(
            tmp, f"sqlite:///{tmp / 'fleet.db'}", share=False, fleet="batch_ms = 100\nsweep_s = 2"
        )
        try:
            held = hold(world, args.kiosks, args.rate, args.seconds)
            print(json.dumps(held), flush=True)
            died = death(world)
            print(json.dumps(died), flush=True)
        finally:
            world.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(
        f"simulated kiosks held: {held['connected']}/{held['kiosks']} in one process, {held['rss_mib']} MiB resident"
    )
    print(
        f"heartbeats: {held['sent']} sent at {held['rate_hb_s']}/s, {held['stored']} stored ({held['lost']} lost)"
    )
    print(
        f"lateness: p50 {held['lateness_p50_ms']} ms, p99 {held['lateness_p99_ms']} ms, max {held['lateness_max_ms']} ms"
    )
    print(
        f"power cuts {held['power_cuts']}, reconnects {held['reconnects']}; CPU: simulator {held['cpu_share']}, broker {held['broker_cpu_share']}, ingest {held['ingest_cpu_share']} of a core; load {held['load']}"
    )
    print(
        f"death to offline (will delay 0): min {died['delay_min_s']} s, median {died['delay_median_s']} s, max {died['delay_max_s']} s for {died['seen_offline']}/{died['killed']} kiosks"
    )


if __name__ == "__main__":
    main()
