"""The processes of bench/soak.py: its own PostgreSQL, Mosquitto with the generated
TLS/ACL files, two `bgk server run` and one `bgk server ingest` behind nginx
(deploy/nginx/site.conf.example + bgk-delivery.conf with an upstream of both),
and helpers to kill, restart and measure them.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import requests  # noqa: E402

PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(cond: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise SystemExit(f"soak: timed out waiting for {what}")
        time.sleep(0.1)


def log_file(tmp: Path, name: str) -> Any:
    return open(tmp / "logs" / f"{name}.log", "ab")


class Postgres:
    """A PostgreSQL cluster of the soak's own (the machine's shared one must not be
    restarted), run as the `postgres` user on a free loopback port."""

    def __init__(self, tmp: Path) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not bins:
            raise SystemExit("soak: PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = Path(bins[-1]).parent
        self.dir = tmp / "pg"
        self.sock = tmp / "pgsock"
        for d in (self.dir, self.sock):
            d.mkdir()
            subprocess.run(["chown", "postgres:postgres", str(d)], check=True)
        self.port = free_port()
        self._as_pg([str(self.bin / "initdb"), "-D", str(self.dir), "-U", "postgres",
                     "--auth=trust", "-E", "UTF8"])  # fmt: skip
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/bgk"

    def _as_pg(self, argv: list[str]) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

    def start(self) -> None:
        opts = (f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 "
                "-c max_connections=200 -c shared_buffers=128MB")  # fmt: skip
        self._as_pg([str(self.bin / "pg_ctl"), "-D", str(self.dir), "-l",
                     str(self.dir / "server.log"), "-o", opts, "-w", "start"])  # fmt: skip

    def create_db(self) -> None:
        self._as_pg([str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "bgk"])

    def crash_restart(self, down_s: float) -> None:
        """Immediate stop (no checkpoint: crash recovery at start), then start."""
        self._as_pg([str(self.bin / "pg_ctl"), "-D", str(self.dir), "-m", "immediate", "stop"])
        time.sleep(down_s)
        self.start()

    def pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int((self.dir / "postmaster.pid").read_text().split()[0])
        return None

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._as_pg([str(self.bin / "pg_ctl"), "-D", str(self.dir), "-m", "fast", "stop"])


@dataclass
class Proc:
    """A `bgk` process the soak may kill -9 and start again."""

    name: str
    argv: list[str]
    tmp: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    #: (monotonic start, pid) of each run
    runs: list[tuple[float, int]] = field(default_factory=list)

    def start(self) -> None:
        with log_file(self.tmp, self.name) as out:
            self.proc = subprocess.Popen(
                self.argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "BGK_LOG": "info", **self.env}, start_new_session=True,
            )  # fmt: skip
        self.runs.append((time.monotonic(), self.proc.pid))

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout: float = 30) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None


def server_proc(tmp: Path, data: Path, client: int, port: int) -> Proc:
    argv = [PY, "-m", "kiosk.cli", "server", "run", "--data", str(data)]
    argv += ["--http", f"127.0.0.1:{port}", "--client", str(client)]
    return Proc(f"server-{client}", argv, tmp)


def ingest_proc(tmp: Path, data: Path, client: int) -> Proc:
    argv = [PY, "-m", "kiosk.cli", "server", "ingest", "--data", str(data)]
    argv += ["--client", str(client), "--share", "--stats", str(tmp / "ingest.json")]
    return Proc(f"ingest-{client}", argv, tmp)


def healthy(port: int) -> bool:
    try:
        body = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
    except (requests.RequestException, ValueError):
        return False
    return bool(body.get("fleet_ingest", {}).get("ok"))


def start_nginx(tmp: Path, data: Path, upstreams: list[int], port: int) -> Any:
    """nginx as deployed (tests/floodkit.py: site.conf.example, bgk-delivery.conf,
    bgk-limits.conf) with an upstream of the two server processes."""
    sys.path.insert(0, str(REPO / "tests"))
    from floodkit import DeployedNginx  # type: ignore[import-not-found]

    return DeployedNginx(tmp / "nginx", data, upstreams=upstreams, port=port)


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)
