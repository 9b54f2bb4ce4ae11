"""How the dashboard and the JSON API hold up with a large fleet.

    .venv/bin/python bench/web.py [--kiosks 10000] [--rounds 20] [--postgres URL]

Seeds a store (SQLite, and PostgreSQL when --postgres or BGK_TEST_POSTGRES_URL
names a server) with N enrolled kiosks, each with a status and a heartbeat
written by the real ingest (IngestWriter), a tenth of them with the UI down
(open alerts from the real sweeper), then serves the real app with uvicorn
on a free loopback port and times, over `--rounds` requests each:
  baseline        the store's own query of the fleet (kiosks joined to
                  their latest state), in this process, no HTTP
  view            fleet_view(): the same plus states derived and alerts
  GET /api/v1/kiosks           every kiosk as JSON (bearer token)
  GET /                        the overview page (session cookie)
  GET /api/v1/kiosks/{id}      one kiosk
  GET /kiosks/{id}             one kiosk's page
  GET /api/v1/reports, /reports  this month's Article 26 report (JSON, page)
It prints the median and p95 of each, the response size, and the ratio of
each median to the baseline.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from fleetbench import fresh_postgres, heartbeat, load
from sqlalchemy import insert, select

from kiosk.protocol.payloads import Status
from server.fleet.ingest import IngestWriter, Raw
from server.fleet.sweeper import Sweeper
from server.fleet.view import fleet_view
from server.store import Store, open_store
from server.store.schema import kiosk_state, kiosks


def seed(store: Store, cfg: Any, data: Path, n: int) -> None:
    now = time.time()
    gates = ["lao-bao", "cha-lo", "la-lay", "cua-viet", "bo-y"]
    with store.engine.begin() as conn:
        conn.execute(
            insert(kiosks),
            [
                {"id": f"k-{i:05d}", "gate": gates[i % len(gates)], "groups": ["quang-tri"],
                 "enrolled_at": now}
                for i in range(n)
            ],
        )  # fmt: skip
    writer = IngestWriter(store, cfg.fleet, data)
    mono = time.monotonic()
    batch: list[Raw] = []
    for i in range(n):
        status = Status(online=True, boot_id=f"{1:06x}{i:010x}", seq0=1).to_bytes()
        batch.append(Raw(f"bgk/v1/kiosk/k-{i:05d}/status", status, 1, i, mono))
        topic, payload = heartbeat(i, 1, now, 1)
        if i % 10 == 0:  # a tenth with the UI down: open alerts
            payload = payload.replace(b'"alive":true', b'"alive":false')
        batch.append(Raw(topic, payload, 0, 0, mono))
        if len(batch) >= 5000:
            writer.write(batch, now)
            batch = []
    if batch:
        writer.write(batch, now)
    Sweeper(store, cfg.fleet, data).sweep(now)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(fn: Callable[[], Any], rounds: int) -> tuple[list[float], Any]:
    out = fn()  # warm up (caches, connections)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def row(name: str, times: list[float], size: int | None, base: float) -> str:
    med = statistics.median(times)
    p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
    kb = f"{size / 1024:9.0f} KB" if size is not None else " " * 12
    return f"  {name:<28} median {med * 1000:8.1f} ms  p95 {p95 * 1000:8.1f} ms {kb}  {med / base:6.1f}x"


def run(store_url: str, label: str, args: argparse.Namespace) -> None:
    import uvicorn

    from server.datadir import init_data_dir
    from server.packs.keyfile import PASSPHRASE_ENV, write_passphrase_file
    from server.packs.keys import init_keyset
    from server.packs.signing import utcnow
    from server.web import accounts
    from server.web.app import create_app

    tmp = Path(tempfile.mkdtemp(prefix="bgk-bench-web-"))
    try:
        os.environ[PASSPHRASE_ENV] = str(tmp / "passphrase.txt")
        init_keyset(tmp / "keys", write_passphrase_file(tmp / "passphrase.txt"))
        cfg = init_data_dir(tmp / "data", tmp / "keys", "http://127.0.0.1:9", utcnow)
        store = open_store(store_url)
        t0 = time.perf_counter()
        seed(store, cfg, cfg.data, args.kiosks)
        print(f"{label}: {args.kiosks} kiosks seeded in {time.perf_counter() - t0:.1f} s")
        accounts.add_user(store, "bench", "admin", "bench-password-long", now=time.time())
        token = accounts.create_token(store, "bench", now=time.time())
        cookie, _ = accounts.start_session(store, accounts.User("bench", "admin"), now=time.time())

        query = select(kiosks, kiosk_state).select_from(
            kiosks.outerjoin(kiosk_state, kiosk_state.c.kiosk_id == kiosks.c.id)
        )

        def baseline() -> int:
            with store.engine.connect() as conn:
                return len(conn.execute(query).all())

        base_times, count = timed(baseline, args.rounds)
        assert count == args.kiosks
        base = statistics.median(base_times)
        view_times, views = timed(lambda: fleet_view(store, time.time(), cfg.fleet), args.rounds)
        assert len(views) == args.kiosks

        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(cfg, store=store), host="127.0.0.1", port=port,
                           log_level="warning")
        )  # fmt: skip
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        http = requests.Session()
        url = f"http://127.0.0.1:{port}"
        api = {"Authorization": f"Bearer {token}"}
        http.cookies.set("bgk_session", cookie)

        def get(path: str, headers: dict[str, str] | None = None) -> Callable[[], int]:
            def fetch() -> int:
                r = http.get(url + path, headers=headers, timeout=120)
                r.raise_for_status()
                return len(r.content)

            return fetch

        month = time.strftime("%Y-%m", time.gmtime(time.time() + 7 * 3600))  # Vietnam time
        print(f"  load average {load()} (2 cores)")
        print(row("baseline: the fleet query", base_times, None, base))
        print(row("fleet_view()", view_times, None, base))
        for name, fetch in (
            ("GET /api/v1/kiosks", get("/api/v1/kiosks", api)),
            ("GET / (overview page)", get("/")),
            ("GET /api/v1/kiosks/k-00042", get("/api/v1/kiosks/k-00042", api)),
            ("GET /kiosks/k-00042 (page)", get("/kiosks/k-00042")),
            ("GET /api/v1/reports (month)", get(f"/api/v1/reports?month={month}", api)),
            ("GET /reports (page)", get(f"/reports?month={month}")),
        ):
            times, size = timed(fetch, args.rounds)
            print(row(name, times, size, base))
        server.should_exit = True
        thread.join(10)
        store.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kiosks", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--postgres", default=os.environ.get("BGK_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the sweeper logs every alert it opens
    tmp = Path(tempfile.mkdtemp(prefix="bgk-bench-web-db-"))
    try:
        run(f"sqlite:///{tmp / 'fleet.db'}", "SQLite", args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.postgres:
        run(fresh_postgres(args.postgres, "bgk_bench_web"), "PostgreSQL", args)
    else:
        print("no PostgreSQL named (--postgres URL or BGK_TEST_POSTGRES_URL): SQLite only")


if __name__ == "__main__":
    main()
