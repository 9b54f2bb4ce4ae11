"""Test helpers for signed pack delivery (issue 3): a misbehaving HTTP
server, the real app and nginx on free ports, kiosks on real state folders,
and the check that a kiosk holds exactly one whole pack. The repository
simulator and generated packs are in tests/reposim.py (re-exported here).
"""

from __future__ import annotations

import hashlib
import http.server
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reposim import (
    BASE,
    T0,
    Faults,
    RepoSim,
    make_manifest,
    pack_files,
    write_built_pack,
)

from kiosk.config import KioskConfig, parse_config
from kiosk.protocol.pack import MANIFEST_NAME, parse_manifest

__all__ = [
    "BASE",
    "T0",
    "AppServer",
    "Faults",
    "FileServer",
    "Nginx",
    "RepoSim",
    "SimKiosk",
    "free_port",
    "installed",
    "kiosk_config",
    "make_manifest",
    "pack_files",
    "snapshot_tree",
    "wait_for",
    "write_built_pack",
    "write_kiosk_toml",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], bool], what: str, deadline_s: float = 60.0) -> None:
    """Wait on a condition (never a fixed sleep), failing after a generous deadline."""
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# --- a real, misbehaving HTTP server ----------------------------------------------


class FileServer:
    """A threaded HTTP/1.1 server of `files` (path -> bytes) with Range support and
    fault modes per path: "ignore-range", "endless", "cut:N" (close after N bytes,
    once), "stall:N" (send N bytes, then nothing until stopped)."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.modes: dict[str, str] = {}
        self.sent = 0
        self.log: list[tuple[str, str | None, int]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._serve(self)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _count(self, n: int) -> None:
        with self._lock:
            self.sent += n

    def _serve(self, h: http.server.BaseHTTPRequestHandler) -> None:
        path = h.path.lstrip("/")
        data = self.files.get(path)
        mode = self.modes.get(path, "")
        rng = h.headers.get("Range")
        self.log.append((path, rng, len(data or b"")))
        if data is None:
            h.send_response(404)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        start = 0
        if rng and mode != "ignore-range" and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                h.send_response(416)
                h.send_header("Content-Range", f"bytes */{len(data)}")
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            h.send_response(206)
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            h.send_response(200)
        body = data[start:]
        if mode == "endless":
            h.send_header("Connection", "close")
            h.end_headers()
            self._write(h, body)
            while not self._stop.is_set():
                if not self._write(h, b"\0" * 65536):
                    return
            return
        h.send_header("Content-Length", str(len(body)))
        if mode.startswith(("cut:", "stall:")):
            n = int(mode.split(":")[1])
            if mode.startswith("cut:"):
                del self.modes[path]
            h.send_header("Connection", "close")
            h.end_headers()
            self._write(h, body[:n])
            if mode.startswith("stall:"):
                self._stop.wait()
            h.close_connection = True
            return
        h.end_headers()
        self._write(h, body)

    def _write(self, h: http.server.BaseHTTPRequestHandler, data: bytes) -> bool:
        try:
            h.wfile.write(data)
            h.wfile.flush()
        except OSError:
            return False
        self._count(len(data))
        return True


# --- kiosks ----------------------------------------------------------------------


def kiosk_config(
    folder: Path,
    url: str,
    root: bytes,
    *,
    gate: str = "lao-bao",
    groups: tuple[str, ...] = (),
    **sync: Any,
) -> KioskConfig:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "root.json").write_bytes(root)
    raw = {
        "kiosk": {"id": "k1", "gate": gate, "groups": list(groups), "state_dir": "state"},
        "server": {"url": url, "trusted_root": "root.json"},
        "sync": {"min_free_mb": 0, **sync},
    }
    return parse_config(raw, base=folder)


def write_kiosk_toml(folder: Path, url: str, root: bytes, **sync: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "root.json").write_bytes(root)
    lines = [
        '[kiosk]\nid = "k1"\ngate = "lao-bao"\nstate_dir = "state"\n',
        f'[server]\nurl = "{url}"\ntrusted_root = "root.json"\n',
        "[sync]\nmin_free_mb = 0\n" + "".join(f"{k} = {v!r}\n" for k, v in sync.items()),
    ]
    path = folder / "kiosk.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def installed(state_dir: Path) -> tuple[str, int] | None:
    """(pack id, version) `current` points to, after checking it is one whole pack:
    the manifest parses and every file is there with its length and hash."""
    current = state_dir / "current"
    if not os.path.lexists(current):
        return None
    folder = current.resolve()
    manifest = parse_manifest((folder / MANIFEST_NAME).read_bytes())
    for entry in manifest.files:
        data = (folder / entry.path).read_bytes()
        assert len(data) == entry.length, f"{entry.path}: wrong length in {folder.name}"
        assert hashlib.sha256(data).hexdigest() == entry.sha256, f"{entry.path}: wrong hash"
    return manifest.id, manifest.version


def snapshot_tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (for 'untouched' checks)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


class SimKiosk:
    """A kiosk (real Syncer on a real state dir) syncing from a Source, with a
    settable clock and recorded events."""

    def __init__(
        self, folder: Path, source: Any, root: bytes, clock: float, base: str = BASE, **sync: Any
    ) -> None:
        from kiosk.agent.events import ListSink
        from kiosk.agent.sync import Deps, Syncer

        self.folder = folder
        self.clock = clock
        self.events = ListSink()
        self.sleeps: list[float] = []
        self.config = kiosk_config(
            folder, BASE if base.startswith("local:") else base, root, **sync
        )
        self.deps = Deps(
            source=source,
            base_url=base,
            clock=lambda: self.clock,
            sleep=self.sleeps.append,
            rng=__import__("random").Random(7),
            events=self.events,
        )
        self.syncer = Syncer(self.config, root, self.deps)

    @property
    def state_dir(self) -> Path:
        return self.config.kiosk.state_dir

    def sync(self) -> Any:
        """One cycle plus the health decision, as `bgk kiosk sync --once` without a UI."""
        from kiosk.agent.layout import SyncLock

        with SyncLock(self.syncer.layout.lock_file):
            result = self.syncer.cycle()
            self.syncer.settle(waited_s=0.0)
            return result

    def status(self) -> dict[str, Any]:
        from kiosk.agent.status import kiosk_status

        return kiosk_status(self.config, self.clock)

    def pack_tree(self) -> dict[str, bytes]:
        return snapshot_tree((self.state_dir / "current").resolve())


# --- real servers of a data folder ------------------------------------------------

REPO = Path(__file__).resolve().parent.parent


class AppServer:
    """`bgk server run`'s app (create_app) under uvicorn in a thread, on a free port."""

    def __init__(self, config: Any, port: int | None = None) -> None:
        import uvicorn

        from server.web.app import create_app

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_app(config), host="127.0.0.1", port=self.port, log_level="warning"
            )
        )
        self._thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> AppServer:
        self._thread.start()
        wait_for(lambda: self.server.started, "uvicorn to start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)


class Nginx:
    """nginx with deploy/nginx/bgk-delivery.conf for a data folder, on a free port."""

    def __init__(self, data: Path, workdir: Path, limit_rate: str | None = None) -> None:
        import subprocess

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        snippet = (REPO / "deploy" / "nginx" / "bgk-delivery.conf").read_text()
        snippet = snippet.replace("/var/lib/bgk-server", str(data))
        if limit_rate:
            snippet = snippet.replace("# limit_rate 6m;", f"limit_rate {limit_rate};")
        (workdir / "bgk-delivery.conf").write_text(snippet)
        temp = "".join(
            f"{kind}_temp_path {workdir}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        user = "user root;\n" if os.geteuid() == 0 else ""
        (workdir / "nginx.conf").write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {workdir}/nginx.pid;\n"
            f"error_log {workdir}/error.log;\nevents {{ worker_connections 64; }}\n"
            f"http {{\n  access_log {workdir}/access.log;\n  {temp}"
            "  sendfile on;\n  tcp_nopush on;\n"
            f"  server {{\n    listen 127.0.0.1:{self.port};\n"
            f"    include {workdir}/bgk-delivery.conf;\n  }}\n}}\n"
        )
        self.cmd = ["nginx", "-p", str(workdir), "-c", str(workdir / "nginx.conf")]
        self.proc: subprocess.Popen[bytes] | None = None
        self.workdir = workdir

    def __enter__(self) -> Nginx:
        import subprocess

        self.proc = subprocess.Popen(self.cmd, stderr=subprocess.PIPE)

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"nginx did not start: {self.proc.stderr.read().decode() if self.proc.stderr else ''}"
                )
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", self.port)) == 0

        wait_for(up, "nginx to listen")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
