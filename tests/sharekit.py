"""Test helpers for gate sharing (issue 17 item 3): lying peers, and a gate of network
namespaces (a LAN bridge, a shaped uplink to the server) made by the test.

A LiarPeer claims every blob (200) and then lies:
  wrong    the signed length of other bytes
  endless  bytes without end (no Content-Length)
  slow     the right bytes, 2 KB a second
  long     a Content-Length larger than the blob
"""

from __future__ import annotations

import contextlib
import http.server
import re
import socket
import threading
import time
from typing import Any

LIES = ("wrong", "endless", "slow", "long")


class LiarPeer:
    def __init__(self, lengths: dict[str, int], mode: str, sock: socket.socket | None = None):
        self.lengths = lengths
        self.mode = mode
        self.requests = 0
        self._stop = threading.Event()
        liar = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                liar._serve(self)

        bind = sock is None
        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), Handler, bind_and_activate=bind
        )
        if sock is not None:
            self.httpd.socket.close()
            self.httpd.socket = sock
            self.httpd.server_address = sock.getsockname()[:2]
        self.httpd.daemon_threads = True
        host, port = self.httpd.server_address[:2]
        self.address = f"{host}:{port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> LiarPeer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _serve(self, h: http.server.BaseHTTPRequestHandler) -> None:
        self.requests += 1
        m = re.match(r"^/blobs/sha256/([0-9a-f]{64})$", h.path)
        length = self.lengths.get(m.group(1)) if m else None
        if length is None:
            h.send_response(404)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        h.send_response(200)
        if self.mode != "endless":
            extra = 1000 if self.mode == "long" else 0
            h.send_header("Content-Length", str(length + extra))
        h.end_headers()
        with contextlib.suppress(OSError):
            if self.mode in ("wrong", "long"):
                h.wfile.write(b"\x55" * length)
            elif self.mode == "endless":
                while not self._stop.is_set():
                    h.wfile.write(b"\x00" * 65536)
            elif self.mode == "slow":
                for _ in range(length // 2048 + 1):
                    if self._stop.wait(1.0):
                        return
                    h.wfile.write(b"\x00" * 2048)
                    h.wfile.flush()


def raw_get(host: str, port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """(status, body) of a GET sent byte for byte (no client-side path cleaning)."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def wait_until(predicate: Any, what: str, deadline_s: float) -> None:
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
