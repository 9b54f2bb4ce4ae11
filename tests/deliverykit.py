"""Test helpers for signed pack delivery (issue 3): generated packs, an
in-memory TUF repository simulator, a misbehaving HTTP server, kiosk
configs, and the check that a kiosk holds exactly one whole pack.

The simulator signs with python-tuf's Metadata API directly (not through
server/packs), so the kiosk is also checked against a second, independent
repository implementation; the server code has its own integration tests.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)

from kiosk.agent.errors import DownloadStalled
from kiosk.agent.fetch import NotFound, RangeNotSatisfiable
from kiosk.config import KioskConfig, parse_config
from kiosk.protocol.delivery import ISSUED_FIELD, target_path
from kiosk.protocol.pack import BLOB_DIR, MANIFEST_NAME, FileEntry, Manifest, parse_manifest

BASE = "http://sim.invalid"
ROLES = ("root", "targets", "snapshot", "timestamp")
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


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


# --- packs -----------------------------------------------------------------------


def pack_files(seed: str, count: int = 6, size: int = 3000) -> dict[str, bytes]:
    """Deterministic pack files: i18n/vi.json plus `count` media files."""
    files = {"i18n/vi.json": json.dumps({"seed": seed}).encode()}
    for i in range(count):
        block = hashlib.sha256(f"{seed}-{i}".encode()).digest()
        files[f"media/f{i:03d}.bin"] = (block * (size // 32 + 1))[:size]
    return files


def make_manifest(files: dict[str, bytes], pack_id: str, version: int) -> bytes:
    entries = tuple(
        FileEntry(path=p, sha256=hashlib.sha256(d).hexdigest(), length=len(d))
        for p, d in sorted(files.items())
    )
    manifest = Manifest(
        schema=1,
        id=pack_id,
        version=version,
        title={"vi": pack_id},
        languages=("vi",),
        default_language="vi",
        pages=(),
        fonts={},
        strings={"vi": "i18n/vi.json"},
        files=entries,
    )
    return manifest.to_bytes()


def write_built_pack(folder: Path, files: dict[str, bytes], pack_id: str, version: int) -> Path:
    """A folder like `bgk pack build` makes: manifest.json + blobs/sha256/<hex>."""
    blobs = folder / BLOB_DIR
    blobs.mkdir(parents=True, exist_ok=True)
    for data in files.values():
        (blobs / hashlib.sha256(data).hexdigest()).write_bytes(data)
    (folder / MANIFEST_NAME).write_bytes(make_manifest(files, pack_id, version))
    return folder


# --- the repository simulator ----------------------------------------------------


@dataclass
class Faults:
    """How the simulator misbehaves when serving (paths relative to BASE, no slash)."""

    #: serve these bytes instead
    replace: dict[str, bytes] = field(default_factory=dict)
    #: stream this many bytes more than the file has
    endless: set[str] = field(default_factory=set)
    #: stop after this many bytes (a dropped connection), once per entry
    cut_at: dict[str, int] = field(default_factory=dict)
    #: answer Range requests with the whole file (HTTP 200)
    ignore_range: bool = False


class _SimStream:
    def __init__(self, data: bytes, offset: int, extra: bool, cut: int | None) -> None:
        self.data, self.offset, self.extra, self.cut = data, offset, extra, cut

    def chunks(self) -> Iterator[bytes]:
        body = self.data[self.offset :]
        if self.cut is not None:
            yield body[: self.cut]
            raise DownloadStalled("simulated: the connection dropped")
        for i in range(0, len(body), 64 * 1024):
            yield body[i : i + 64 * 1024]
        while self.extra:
            yield b"\0" * 65536

    def close(self) -> None:
        pass


class RepoSim:
    """An in-memory TUF repository (consistent snapshots) that is also a `Source`."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now
        self.keys: dict[str, list[CryptoSigner]] = {
            r: [CryptoSigner.generate_ed25519()] for r in ROLES
        }
        self.valid = {
            "root": timedelta(days=365),
            "targets": timedelta(days=90),
            "snapshot": timedelta(days=7),
            "timestamp": timedelta(days=1),
        }
        root = Root(expires=now + self.valid["root"], consistent_snapshot=True)
        for role in ROLES:
            root.add_key(self.keys[role][0].public_key, role)
        self.root = Metadata(root)
        self.targets = Metadata(Targets(expires=now))
        self.snapshot = Metadata(Snapshot(expires=now))
        self.timestamp = Metadata(Timestamp(expires=now))
        self.files: dict[str, bytes] = {}
        self.faults = Faults()
        self.requests: list[tuple[str, int]] = []
        self.sent = 0
        self.seq = 0
        self.publish_root()
        self.root_v1 = self.files["tuf/1.root.json"]
        self.publish()

    # --- signing -------------------------------------------------------------
    def sign(self, role: str, md: Metadata[Any]) -> None:
        md.signatures.clear()
        for signer in self.keys[role]:
            md.sign(signer, append=True)

    def publish_root(self) -> None:
        self.sign("root", self.root)
        self.files[f"tuf/{self.root.signed.version}.root.json"] = self.root.to_bytes()

    def publish(self, roles: tuple[str, ...] = ("targets", "snapshot", "timestamp")) -> None:
        """New versions of `roles`, signed, written in the order kiosks need."""
        if "targets" in roles:
            t = self.targets.signed
            t.version += 1 if self.files.get("tuf/1.targets.json") else 0
            t.expires = self.now + self.valid["targets"]
            self.sign("targets", self.targets)
            self.files[f"tuf/{t.version}.targets.json"] = self.targets.to_bytes()
        if "snapshot" in roles:
            data = self.files[f"tuf/{self.targets.signed.version}.targets.json"]
            s = self.snapshot.signed
            s.version += 1 if self.files.get("tuf/1.snapshot.json") else 0
            s.expires = self.now + self.valid["snapshot"]
            s.meta["targets.json"] = MetaFile(
                self.targets.signed.version, len(data), {"sha256": hashlib.sha256(data).hexdigest()}
            )
            self.sign("snapshot", self.snapshot)
            self.files[f"tuf/{s.version}.snapshot.json"] = self.snapshot.to_bytes()
        if "timestamp" in roles:
            data = self.files[f"tuf/{self.snapshot.signed.version}.snapshot.json"]
            ts = self.timestamp.signed
            ts.version += 1 if "tuf/timestamp.json" in self.files else 0
            ts.expires = self.now + self.valid["timestamp"]
            ts.snapshot_meta = MetaFile(
                self.snapshot.signed.version,
                len(data),
                {"sha256": hashlib.sha256(data).hexdigest()},
            )
            ts.unrecognized_fields[ISSUED_FIELD] = self.now.strftime("%Y-%m-%dT%H:%M:%SZ")
            self.sign("timestamp", self.timestamp)
            self.files["tuf/timestamp.json"] = self.timestamp.to_bytes()

    # --- packs ---------------------------------------------------------------
    def add_pack(
        self,
        files: dict[str, bytes],
        pack_id: str = "demo",
        version: int = 1,
        to: tuple[str, ...] = ("all",),
        *,
        manifest: bytes | None = None,
        publish: bool = True,
    ) -> bytes:
        data = manifest if manifest is not None else make_manifest(files, pack_id, version)
        for blob in files.values():
            self.files[f"blobs/sha256/{hashlib.sha256(blob).hexdigest()}"] = blob
        sha = hashlib.sha256(data).hexdigest()
        path = target_path(pack_id, version)
        folder, _, base = path.rpartition("/")
        self.files[f"tuf/targets/{folder}/{sha}.{base}"] = data
        self.seq += 1
        custom = {"pack": pack_id, "version": version, "to": list(to), "seq": self.seq}
        self.targets.signed.targets[path] = TargetFile(
            len(data), {"sha256": sha}, path, unrecognized_fields={"custom": custom}
        )
        if publish:
            self.publish()
        return data

    def blob_path(self, data: bytes) -> str:
        return f"blobs/sha256/{hashlib.sha256(data).hexdigest()}"

    # --- Source --------------------------------------------------------------
    def open(self, url: str, start: int = 0) -> _SimStream:
        assert url.startswith(BASE + "/"), url
        path = url[len(BASE) + 1 :]
        self.requests.append((path, start))
        data = self.faults.replace.get(path, self.files.get(path))
        if data is None:
            raise NotFound(f"simulated 404 for {path}")
        if self.faults.ignore_range:
            start = 0
        if start and start >= len(data):
            raise RangeNotSatisfiable("simulated 416")
        cut = self.faults.cut_at.pop(path, None)
        self.sent += (len(data) - start) if cut is None else cut
        return _SimStream(data, start, path in self.faults.endless, cut)


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

    def __init__(self, config: Any) -> None:
        import uvicorn

        from server.web.app import create_app

        self.port = free_port()
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
