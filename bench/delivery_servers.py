"""The servers of bench/install.py: nginx with the deploy/ config for a data
folder, and a rate-limited link in front of it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- nginx ---------------------------------------------------------------------------


class Nginx:
    """nginx serving a data folder with deploy/nginx/bgk-delivery.conf, optionally rate-limited."""

    def __init__(self, data: Path, workdir: Path, rate: int | None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "access.log"
        workdir.mkdir(parents=True, exist_ok=True)
        snippet = (REPO / "deploy/nginx/bgk-delivery.conf").read_text()
        snippet = snippet.replace("/var/lib/bgk-server", str(data))
        if rate:
            snippet = snippet.replace("# limit_rate 6m;", f"limit_rate {rate};")
        (workdir / "delivery.conf").write_text(snippet)
        temps = "".join(
            f"  {k}_temp_path {workdir}/{k};\n"
            for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        user = "user root;\n" if os.geteuid() == 0 else ""
        (workdir / "nginx.conf").write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {workdir}/nginx.pid;\n"
            f"error_log {workdir}/error.log;\nevents {{ worker_connections 256; }}\n"
            "http {\n  log_format bytes '$request_uri $status $bytes_sent';\n"
            f"  access_log {self.log} bytes;\n{temps}  sendfile on;\n  tcp_nopush on;\n"
            f"  server {{\n    listen 127.0.0.1:{self.port};\n"
            f"    include {workdir}/delivery.conf;\n  }}\n}}\n"
        )
        self.proc = subprocess.Popen(
            ["nginx", "-p", str(workdir), "-c", str(workdir / "nginx.conf")],
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit("nginx did not start (is nginx-light installed?)")
            time.sleep(0.02)

    def mark(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def sent_since(self, mark: int) -> tuple[int, int]:
        """(blob bytes, other bytes) nginx sent since `mark` (headers included)."""
        time.sleep(0.2)  # nginx writes its log line after the response
        blobs = other = 0
        with open(self.log, "rb") as fh:
            fh.seek(mark)
            for line in fh.read().decode().splitlines():
                uri, _status, sent = line.split()
                if uri.startswith("/blobs/"):
                    blobs += int(sent)
                else:
                    other += int(sent)
        return blobs, other

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Link:
    """A rate-limited link in front of nginx: a TCP forwarder whose download
    direction is paced by one token bucket shared by all connections (nginx's
    own `limit_rate` lets the first second of every request through at full
    speed, so it cannot model a link for many small files)."""

    def __init__(self, upstream_port: int, rate: int) -> None:
        self.rate = rate
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.upstream = upstream_port
        self._lock = threading.Lock()
        self._paid_until = time.monotonic()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _pace(self, n: int) -> None:
        with self._lock:
            now = time.monotonic()
            self._paid_until = max(self._paid_until, now - 0.01) + n / self.rate
            wait = self._paid_until - now
        if wait > 0:
            time.sleep(wait)

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            for conn in (client, server):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, paced: bool) -> None:
        try:
            while data := src.recv(256 * 1024):
                if paced:
                    self._pace(len(data))
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for conn in (src, dst):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self._stop = True
        self._listener.close()
