"""How many heartbeats per second the server's MQTT ingest commits, and how late.

    .venv/bin/python bench/ingest.py [--backlog 200000] [--live-rate 10000]
        [--live-seconds 20] [--postgres URL] [--only sqlite|postgresql]

For each store (SQLite, and PostgreSQL when --postgres or BGK_TEST_POSTGRES_URL
names a server):
  backlog  the ingest's persistent session is subscribed, then N heartbeats
           are queued at the broker as QoS 1 (so the publisher does not
           compete for the 2 cores), then `bgk server ingest` drains them:
           committed/s from its first receipt to its last commit, with one
           process and with two sharing $share/ingest/...; CPU seconds of
           each process and of Mosquitto tell which resource binds
  live     publishers send QoS 0 heartbeats (as kiosks do) at a fixed rate
           from 10,000 kiosk topics while one ingest process commits them:
           p50/p99 time from receipt to commit, and whether all arrived
Heartbeats are the real schema, validated by kiosk.protocol, into the real
tables (history + latest state per kiosk), in batches (batch_ms, batch_max).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from fleetbench import (
    World,
    cpu_seconds,
    fresh_postgres,
    heartbeat,
    load,
    make_world,
    start_ingest,
    wait,
)
from sqlalchemy import func, select

from server.broker.credentials import Identity, server_identity
from server.fleet.mqtt import Link
from server.store.schema import heartbeats

KIOSKS = 10_000


def publisher(
    url: str,
    ident: tuple[str, str],
    kiosks: range,
    per_kiosk: int,
    qos: int,
    rate: float | None,
    run: int,
    result: Any,
) -> None:
    """Publish per_kiosk heartbeats for each kiosk of `kiosks` (QoS 1: at most 1000 unacked)."""
    acked = [0]
    link = Link(url, Identity(*ident), subscriptions=[], on_message=lambda *a: None,
                on_published=lambda mid, rc: acked.__setitem__(0, acked[0] + 1), manual_ack=False)  # fmt: skip
    link.connect(clean_start=True)
    wait(lambda: link.pump(0.05) and link.connected, 20, "publisher connected")
    total = len(kiosks) * per_kiosk
    sent = 0
    start = time.monotonic()
    for seq in range(1, per_kiosk + 1):
        for k in kiosks:
            if rate is not None:
                due = start + sent / rate
                while time.monotonic() < due:
                    link.pump(max(0.0, min(0.002, due - time.monotonic())))
            while qos and sent - acked[0] >= 1000:
                link.pump(0.01)
            topic, payload = heartbeat(k, seq, time.time(), run)
            link.publish(topic, payload, qos)
            sent += 1
    while qos and acked[0] < total:
        link.pump(0.05)
    link.flush()
    elapsed = time.monotonic() - start
    link.close()
    result.put({"sent": sent, "seconds": elapsed})


def publish(
    world: World, count: int, *, qos: int, rate: float | None, procs: int, first_account: int = 5
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    results: Any = ctx.Queue()
    per_kiosk = max(1, count // KIOSKS)
    kiosks = min(KIOSKS, count)
    share = kiosks // procs
    workers = []
    run = time.monotonic_ns() % (1 << 24)  # a new boot id per run: new history keys
    for i in range(procs):
        ident = server_identity(world.keys, first_account + i)
        span = range(i * share, kiosks if i == procs - 1 else (i + 1) * share)
        args = (
            world.cfg.mqtt.url,
            (ident.username, ident.password),
            span,
            per_kiosk,
            qos,
            None if rate is None else rate / procs,
            run,
            results,
        )
        w = ctx.Process(target=publisher, args=args)
        w.start()
        workers.append(w)
    out: list[dict[str, Any]] = []
    while len(out) < len(workers):
        try:
            out.append(results.get(timeout=1))
        except queue.Empty:
            if any(w.exitcode not in (None, 0) for w in workers):
                raise SystemExit("a publisher failed") from None
    for w in workers:
        w.join()
    return {"sent": sum(o["sent"] for o in out), "seconds": max(o["seconds"] for o in out)}


def stored(world: World) -> int:
    with world.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(heartbeats)).scalar_one())


def backlog(world: World, count: int, nproc: int) -> dict[str, Any]:
    """Queue `count` QoS 1 heartbeats for the ingest's session(s), then drain them."""
    base = stored(world)
    # subscribe the persistent session(s), then leave: the broker queues for them
    for i in range(nproc):
        start_ingest(world, 2 + i, share=True).stop()
    pub = publish(world, count, qos=1, rate=None, procs=2)
    broker_cpu0 = cpu_seconds(world.broker.proc.pid)  # type: ignore[union-attr]
    ingests = [start_ingest(world, 2 + i, share=True) for i in range(nproc)]
    wait(
        lambda: sum(g.figures().get("committed", 0) for g in ingests) >= pub["sent"],
        900,
        "the backlog drained",
    )
    broker_cpu = cpu_seconds(world.broker.proc.pid) - broker_cpu0  # type: ignore[union-attr]
    figs = [g.figures() for g in ingests]
    first = min(f["first_mono"] for f in figs)
    last = max(f["last_commit_mono"] for f in figs)
    cpu = [round(f["cpu_s"] - f["first_cpu"], 1) for f in figs]  # from the first receipt on
    for g in ingests:
        g.stop()
    got = stored(world) - base
    seconds = last - first
    return {
        "mode": f"backlog x{nproc}",
        "heartbeats": pub["sent"],
        "stored": got,
        "seconds": round(seconds, 2),
        "rate": round(pub["sent"] / seconds),
        "p99_s": max(f["p99_s"] for f in figs),
        "ingest_cpu_s": cpu,
        "broker_cpu_s": round(broker_cpu, 1),
        "cpu_use": f"{(sum(cpu) + broker_cpu) / seconds:.2f} of 2 cores",
        "publish_rate": round(pub["sent"] / pub["seconds"]),
    }


def live(world: World, rate: float, seconds: float) -> dict[str, Any]:
    base = stored(world)
    ingest = start_ingest(world, 2, share=False)
    cpu0 = cpu_seconds(ingest.proc.pid)
    broker0 = cpu_seconds(world.broker.proc.pid)  # type: ignore[union-attr]
    count = int(rate * seconds)
    pub = publish(world, count, qos=0, rate=rate, procs=1)
    deadline = time.monotonic() + 30  # QoS 0: what has not arrived by then is lost
    while stored(world) - base < pub["sent"] and time.monotonic() < deadline:
        time.sleep(0.1)
    cpu = cpu_seconds(ingest.proc.pid) - cpu0
    broker = cpu_seconds(world.broker.proc.pid) - broker0  # type: ignore[union-attr]
    fig = ingest.stop()
    got = stored(world) - base
    return {
        "mode": f"live {rate:.0f}/s",
        "heartbeats": pub["sent"],
        "stored": got,
        "seconds": round(pub["seconds"], 2),
        "rate": round(pub["sent"] / pub["seconds"]),
        "p50_s": fig["p50_s"],
        "p99_s": fig["p99_s"],
        "ingest_cpu_s": [round(cpu, 1)],
        "broker_cpu_s": round(broker, 1),
        "cpu_use": f"{(cpu + broker) / pub['seconds']:.2f} of 2 cores (+ publishers)",
    }


def run_store(kind: str, url: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix=f"bgk-bench-ingest-{kind}-"))
    try:
        world = make_world(tmp, url, share=True, fleet="batch_ms = 100\nbatch_max = 5000")
        try:
            for nproc in (1, 2):
                row = backlog(world, args.backlog, nproc)
                rows.append({"store": kind, **row, "load": load()})
                print(json.dumps(rows[-1]), flush=True)
            row = live(world, args.live_rate, args.live_seconds)
            rows.append({"store": kind, **row, "load": load()})
            print(json.dumps(rows[-1]), flush=True)
        finally:
            world.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backlog", type=int, default=200_000)
    parser.add_argument("--live-rate", type=float, default=10_000)
    parser.add_argument("--live-seconds", type=float, default=20)
    parser.add_argument("--postgres", default=os.environ.get("BGK_TEST_POSTGRES_URL"))
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    if args.only == "postgresql" and not args.postgres:
        parser.error(
            "--only postgresql needs a server: pass --postgres URL or set BGK_TEST_POSTGRES_URL "
            "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    if args.only is None and not args.postgres:
        print(
            "no PostgreSQL named (--postgres URL or BGK_TEST_POSTGRES_URL): measuring SQLite only"
        )
    print(f"load average before: {load()} (2 cores)")
    rows: list[dict[str, Any]] = []
    if args.only in (None, "sqlite"):
        tmp = Path(tempfile.mkdtemp(prefix="bgk-bench-db-"))
        rows += run_store("sqlite", f"sqlite:///{tmp / 'fleet.db'}", args)
        shutil.rmtree(tmp, ignore_errors=True)
    if args.only in (None, "postgresql") and args.postgres:
        rows += run_store("postgresql", fresh_postgres(args.postgres, "bgk_bench_ingest"), args)
    print()
    print(
        f"{'store':<11} {'mode':<13} {'hb':>8} {'stored':>8} {'hb/s':>8} {'p99 s':>6}  ingest cpu s   broker cpu s  load"
    )
    for r in rows:
        print(
            f"{r['store']:<11} {r['mode']:<13} {r['heartbeats']:>8} {r['stored']:>8} {r['rate']:>8} {r['p99_s']:>6}  {r['ingest_cpu_s']!s:<13} {r['broker_cpu_s']:>12}  {r['load']}"
        )
    for kind in ("sqlite", "postgresql"):
        one = next((r for r in rows if r["store"] == kind and r["mode"] == "backlog x1"), None)
        two = next((r for r in rows if r["store"] == kind and r["mode"] == "backlog x2"), None)
        if one and two:
            print(f"{kind}: two processes / one = {two['rate'] / one['rate']:.2f}x")


if __name__ == "__main__":
    main()
