"""Shared set-up of the fleet benchmarks (bench/ingest.py, bench/fleet.py): a server
data folder with a store, fleet keys and a Mosquitto on free ports, ingest
processes (`bgk server ingest`) and their figures, CPU time of processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from server.broker.local import LocalBroker  # noqa: E402
from server.broker.pki import FleetKeys, ensure_fleet_keys  # noqa: E402
from server.config import ServerConfig, load_server_config  # noqa: E402
from server.store import Store, open_store  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """user + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def fresh_postgres(base: str, name: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


@dataclass
class World:
    tmp: Path
    cfg: ServerConfig
    store: Store
    keys: FleetKeys
    broker: LocalBroker
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.broker.stop()
        self.store.dispose()


def make_world(tmp: Path, store_url: str, *, share: bool, fleet: str = "") -> World:
    data = tmp / "data"
    data.mkdir(parents=True)
    keys = ensure_fleet_keys(data, ["localhost"])
    store = open_store(store_url)
    broker = LocalBroker.create(store, keys, tmp / "broker", tls=False, server_clients=8)
    broker.start()
    (data / "server.toml").write_text(
        f"""[server]
url = "http://127.0.0.1:9"
[store]
url = {json.dumps(store_url)}
[mqtt]
url = {json.dumps(broker.url)}
share = {"true" if share else "false"}
server_clients = 8
[fleet]
{fleet}
"""
    )
    return World(tmp, load_server_config(data), store, keys, broker)


@dataclass
class Ingest:
    proc: subprocess.Popen[bytes]
    stats: Path

    def figures(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.stats.read_text())
            return data
        except (OSError, ValueError):
            return {}

    def stop(self) -> dict[str, Any]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
        return self.figures()


def start_ingest(world: World, index: int, *, share: bool) -> Ingest:
    stats = world.tmp / f"ingest-{index}-{time.monotonic_ns()}.json"
    args = [sys.executable, "-m", "kiosk.cli", "server", "ingest", "--data", str(world.cfg.data)]
    args += ["--client", str(index), "--stats", str(stats), "--share" if share else "--no-share"]
    proc = subprocess.Popen(args, cwd=REPO, env={**os.environ, "BGK_LOG": "error"})
    world.procs.append(proc)
    ingest = Ingest(proc, stats)
    wait(lambda: ingest.figures().get("connects", 0) >= 1, 30, "the ingest to connect")
    return ingest


def wait(cond: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


HB_TEMPLATE = (
    '{{"boot_id":"{boot}","seq":{seq},"ts":{ts:.3f},"period":30.0,"uptime":{up:.1f},'
    '"pack":{{"id":"lao-bao","version":3,"hash":"' + "5" * 64 + '"}},'
    '"ui":{{"alive":true,"screen":"attract","last_touch":null}},"temp":53.5,'
    '"disk_free":8000000000,"time_floor":{floor:.0f},"stale":false,"agent":"bench"}}'
)


def heartbeat(kiosk: int, seq: int, now: float, run: int) -> tuple[str, bytes]:
    """A heartbeat of kiosk number `kiosk`; each `run` is a new boot (new history keys)."""
    boot = f"{run:06x}{kiosk:010x}"
    payload = HB_TEMPLATE.format(boot=boot, seq=seq, ts=now, up=seq * 30.0, floor=now - 3600)
    return f"bgk/v1/kiosk/k-{kiosk:05d}/hb", payload.encode()
