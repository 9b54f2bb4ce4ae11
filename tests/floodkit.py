"""Connection floods against the HTTP server as deployed (tests/fuzz/test_http_flood.py,
bench/flood.py): nginx with deploy/nginx/site.conf.example, bgk-delivery.conf and
bgk-limits.conf (plus its two nginx.conf lines), a slow-loris and a burst of
connections from loopback addresses of their own, and a kiosk fetching TUF
metadata and blobs meanwhile from 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import resource
import select
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from server.datadir import init_data_dir
from server.packs.keys import init_keyset
from server.packs.publish import publish_pack
from server.packs.signing import open_repository, utcnow

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy" / "nginx"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def limits_main_lines() -> tuple[str, str]:
    """The `#main:` and `#events:` lines documented in bgk-limits.conf."""
    text = (DEPLOY / "bgk-limits.conf").read_text()
    main = re.search(r"^#main:\s*(.+)$", text, re.M)
    events = re.search(r"^#events:\s*(.+)$", text, re.M)
    assert main and events, "bgk-limits.conf documents its nginx.conf lines"
    return main.group(1).strip(), events.group(1).strip()


def raise_nofile(want: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


def delivery_server_block(site_conf: str) -> list[str]:
    """The lines of the site's `server { … }` block that serves the packs (the HTTPS
    one, with the delivery snippet), not the port-80 redirect."""
    blocks: list[list[str]] = []
    depth = 0
    for line in site_conf.splitlines():
        s = line.split("#", 1)[0].strip()
        if depth == 0 and s.startswith("server {"):
            blocks.append([])
        if depth > 0 or s.startswith("server {"):
            blocks[-1].append(line)
        depth += s.count("{") - s.count("}")
    [block] = [b for b in blocks if any("bgk-delivery.conf" in line for line in b)]
    return block


def deployed_nginx_conf(
    workdir: Path, data: Path, port: int, *, tuned: bool = True, upstreams: list[int] | None = None
) -> Path:
    """nginx.conf for `data` with the deploy files as they are (site.conf.example,
    bgk-delivery.conf, and with `tuned` bgk-limits.conf and its nginx.conf lines, else
    Debian's 768 connections a worker), plain HTTP on 127.0.0.1:`port`; the dashboard
    and API proxied to `upstreams` (server ports) when given."""
    workdir.mkdir(parents=True, exist_ok=True)
    delivery = (DEPLOY / "bgk-delivery.conf").read_text().replace("/var/lib/bgk-server", str(data))
    (workdir / "delivery.conf").write_text(delivery)
    site = []
    for line in delivery_server_block((DEPLOY / "site.conf.example").read_text()):
        s = line.strip()
        if s.startswith(("listen ", "ssl_", "server_name")):
            continue
        if s.startswith("include "):
            line = f"    include {workdir / 'delivery.conf'};"
        if upstreams and s.startswith("proxy_pass http://127.0.0.1:8080"):
            line = "        proxy_pass http://bgk_servers;"
        site.append(line)
        if s.startswith("server {"):
            site.append(f"    listen 127.0.0.1:{port};")
    main, events = limits_main_lines() if tuned else ("", "worker_connections 768;")
    http = f"  include {DEPLOY / 'bgk-limits.conf'};\n" if tuned else ""
    if upstreams:
        servers = "".join(
            f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=3s;\n" for p in upstreams
        )
        http += f"  upstream bgk_servers {{\n{servers}  }}\n"
    temps = "".join(
        f"  {k}_temp_path {workdir}/{k};\n"
        for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"{user}daemon off;\nworker_processes 2;\npid {workdir}/nginx.pid;\n{main}\n"
        f"error_log {workdir}/error.log crit;\nevents {{ {events} }}\n"
        f"http {{\n  access_log off;\n{temps}{http}" + "\n".join("  " + x for x in site) + "\n}\n"
    )
    return conf


class DeployedNginx:
    """nginx serving `data` as deployed (deployed_nginx_conf), started and listening."""

    def __init__(
        self, workdir: Path, data: Path, *, tuned: bool = True, upstreams: list[int] | None = None,
        port: int | None = None,
    ) -> None:  # fmt: skip
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        conf = deployed_nginx_conf(workdir, data, self.port, tuned=tuned, upstreams=upstreams)
        self.proc = subprocess.Popen(
            ["nginx", "-p", str(workdir), "-c", str(conf)], stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"nginx did not start: {err}")
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@dataclass
class Flood:
    """`loris` connections trickling a header byte every `trickle_s`, and `burst`
    connections opened at once and left silent, until stop()."""

    port: int
    loris: int = 1000
    burst: int = 10_000
    trickle_s: float = 2.0
    opened: int = 0
    refused: int = 0
    #: every connection is open (the slow-loris has sent its first bytes)
    started: bool = False
    closed_by_server: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        raise_nofile(self.loris + self.burst + 2000)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _connect(self, source: str) -> socket.socket | None:
        s = socket.socket()
        s.setblocking(False)
        # closed with a reset: no port of the flood lingers in TIME_WAIT afterwards (a
        # later test's 0.0.0.0 listener on one of these ports would fail to bind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        try:
            s.bind((source, 0))
            s.connect_ex(("127.0.0.1", self.port))
        except OSError:
            s.close()
            self.refused += 1
            return None
        self.opened += 1
        return s

    def _run(self) -> None:
        ep = select.epoll()
        socks: dict[int, socket.socket] = {}
        loris: list[socket.socket] = []
        for _ in range(self.loris):  # 127.0.0.2: the slow-loris
            s = self._connect("127.0.0.2")
            if s is not None:
                loris.append(s)
        for _ in range(self.burst):  # 127.0.0.3: the burst, all at once
            s = self._connect("127.0.0.3")
            if s is not None:
                socks[s.fileno()] = s
                ep.register(s.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
        for s in loris:
            with contextlib.suppress(OSError):
                s.send(b"GET /tuf/timestamp.json HTTP/1.1\r\nHost: x\r\n")
        self.started = True
        next_trickle = time.monotonic() + self.trickle_s
        while not self._stop.is_set():
            for fd, _mask in ep.poll(0.2):
                s = socks.pop(fd, None)
                if s is not None:
                    self.closed_by_server += 1
                    ep.unregister(fd)
                    s.close()
            if time.monotonic() >= next_trickle:
                next_trickle += self.trickle_s
                for s in loris:
                    with contextlib.suppress(OSError):
                        s.send(b"X")  # one more header byte, never the end
        for s in [*loris, *socks.values()]:
            s.close()
        ep.close()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(30)


@dataclass
class Fetches:
    ok: int = 0
    failed: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


def fetch_loop(
    url: str, paths: dict[str, str], stop: threading.Event, out: Fetches, rounds: int = 0
) -> None:
    """A kiosk: fetch each of `paths` ({path: sha256}) in turn until `stop` (or for
    `rounds` rounds), each request on a fresh connection (as after a reconnect)."""
    import requests

    done = 0
    while not stop.is_set() and (not rounds or done < rounds):
        done += 1
        for path, digest in paths.items():
            started = time.monotonic()
            try:
                with requests.Session() as session:
                    session.trust_env = False
                    r = session.get(url + path, timeout=10)
                if r.status_code != 200 or hashlib.sha256(r.content).hexdigest() != digest:
                    out.failed.append(f"{path}: {r.status_code}")
                else:
                    out.ok += 1
                    out.latencies.append(time.monotonic() - started)
            except requests.RequestException as exc:
                out.failed.append(f"{path}: {type(exc).__name__}")
        stop.wait(0.2)


def published_data(tmp: Path, built: Path) -> tuple[Path, dict[str, str]]:
    """A server data folder with `built` published; {URL path: sha256} a kiosk fetches."""
    init_keyset(tmp / "keys")
    cfg = init_data_dir(tmp / "data", tmp / "keys", "http://127.0.0.1:9", utcnow)
    repo = open_repository(cfg, ("targets",), keys=tmp / "keys", now=utcnow)
    publish_pack(repo, cfg.blob_dir, built, ["all"], utcnow)
    blob = max(cfg.blob_dir.iterdir(), key=lambda p: p.stat().st_size)
    paths = {"/tuf/timestamp.json": (cfg.tuf_dir / "timestamp.json").read_bytes()}
    paths[f"/blobs/sha256/{blob.name}"] = blob.read_bytes()
    return cfg.data, {p: hashlib.sha256(b).hexdigest() for p, b in paths.items()}
