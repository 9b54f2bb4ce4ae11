"""The share server: a kiosk serves the blobs it verified to the other kiosks of
its gate, read-only, by SHA-256 only.

    GET /blobs/sha256/<64 lowercase hex>
        200  the blob (Content-Length = its signed length), from the blob store or a
             verified download of the running cycle
        404  not served; headers say what this kiosk's running cycle does with it:
             Bgk-Share: none | want | fetching   Bgk-Progress: bytes it received so far
        503  too many connections now (Retry-After: 1)
    anything else: 404 (405 for other methods); no listing, no other path

What it will not do, and why:
- serve a path: the request path must match the one pattern above exactly, before
  any decoding, so `..`, `%2e%2e`, `//etc/passwd` or a query string are 404;
  the hex is then looked up in the verified index (kiosk/agent/share_index.py),
  never in a directory listing, so a file planted in the blob store, or a blob
  of a pack this kiosk never verified, is not served;
- follow a symbolic link: the file is opened with O_NOFOLLOW and served only if it
  is a regular file of the indexed length, and never more than that length;
- write anything, or share state with the agent but the in-memory Board it reads;
- take more than `max_connections` connections (the rest get 503 at once, without
  a thread), keep a connection open (HTTP/1.0: one request each), wait more than
  `TIMEOUT_S` for each read or write of a slow client or `REQUEST_S` for its request, or send faster than `rate_kbps` to all peers together.
It binds to the kiosk's LAN address only (kiosk.toml [share] listen); the
firewall line to match is in deploy/README.md.
"""

from __future__ import annotations

import contextlib
import http.server
import logging
import os
import re
import socket
import stat
import threading
from typing import Any, Final

from kiosk.agent.layout import Layout
from kiosk.agent.ratelimit import RateLimiter
from kiosk.agent.share_index import Board, VerifiedIndex, blob_paths

log = logging.getLogger("bgk.share")

BLOB_ROUTE: Final = re.compile(r"^/blobs/sha256/([0-9a-f]{64})$")
#: seconds a peer may take for each read or write of its connection
TIMEOUT_S: Final = 5.0
#: seconds a peer has to send its whole request (a slow trickle must not hold a slot)
REQUEST_S: Final = 10.0
CHUNK: Final = 256 * 1024
BUSY: Final = (
    b"HTTP/1.0 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n"
    b"Connection: close\r\n\r\n"
)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], share: ShareServer) -> None:
        self.share = share
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.share.take_slot():
            with contextlib.suppress(OSError):
                request.sendall(BUSY)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.share.give_slot()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("share: a peer's request failed", exc_info=True)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    timeout = TIMEOUT_S
    server_version = "bgk-share"
    sys_version = ""
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("share: %s " + format, self.client_address[0], *args)

    def setup(self) -> None:
        super().setup()
        # the whole request (line and headers) within request_s, however slowly it trickles
        self._deadline = threading.Timer(self.server.share.request_s, self._cut)
        self._deadline.daemon = True
        self._deadline.start()

    def _cut(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        self._deadline.cancel()
        super().finish()

    def do_GET(self) -> None:
        self._deadline.cancel()
        self.server.share.serve(self)

    def do_HEAD(self) -> None:
        self._plain(405)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD

    def _plain(self, code: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()


class ShareServer:
    """The share server on `host:port`, in its own threads; `start()`, `stop()`."""

    def __init__(
        self,
        layout: Layout,
        board: Board,
        host: str,
        port: int,
        *,
        max_connections: int = 4,
        limiter: RateLimiter | None = None,
        request_s: float = REQUEST_S,
    ) -> None:
        self.layout = layout
        self.board = board
        self.index = VerifiedIndex(layout)
        self.max_connections = max_connections
        self.limiter = limiter
        #: seconds a peer has to send its request (line and headers)
        self.request_s = request_s
        self._active = 0
        self._lock = threading.Lock()
        #: connections refused for the cap (for tests and the heartbeat)
        self.refused = 0
        self.httpd = _Server((host, port), self)
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="share-server", daemon=True
        )

    def start(self) -> ShareServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def take_slot(self) -> bool:
        with self._lock:
            if self._active >= self.max_connections:
                self.refused += 1
                return False
            self._active += 1
            return True

    def give_slot(self) -> None:
        with self._lock:
            self._active -= 1

    # --- one request ---------------------------------------------------------------
    def serve(self, h: _Handler) -> None:
        m = BLOB_ROUTE.match(h.path)
        if m is None:
            h._plain(404)
            return
        sha = m.group(1)
        length = self.index.blobs().get(sha)
        if length is None:
            length = self.board.ready_length(sha)
        fd = self._open(sha, length) if length is not None else None
        if fd is None:
            state, progress = self.board.state_of(sha)
            h._plain(404, {"Bgk-Share": state, "Bgk-Progress": str(progress)})
            return
        assert length is not None
        try:
            h.send_response(200)
            h.send_header("Content-Type", "application/octet-stream")
            h.send_header("Content-Length", str(length))
            h.end_headers()
            self._send(h, fd, length)
        finally:
            os.close(fd)

    def _open(self, sha: str, length: int) -> int | None:
        """A read-only fd of the verified blob: a regular file of `length` bytes,
        reached without following a symbolic link; None when there is none."""
        for path in blob_paths(self.layout, sha):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
            except OSError:
                continue
            st = os.fstat(fd)
            if stat.S_ISREG(st.st_mode) and st.st_size == length:
                return fd
            os.close(fd)
        return None

    def _send(self, h: _Handler, fd: int, length: int) -> None:
        left = length
        while left > 0:
            data = os.read(fd, min(CHUNK, left))
            if not data:
                return  # the file shrank: the peer's hash check refuses what it got
            if self.limiter is not None:
                self.limiter.consume(len(data))
            h.wfile.write(data)
            left -= len(data)
            self.board.count_served(len(data), left == 0)
