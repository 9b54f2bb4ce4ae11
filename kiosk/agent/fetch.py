"""Where bytes come from: the network seam of the agent.

A `Source` opens a URL, optionally from a byte offset (HTTP Range), and
streams it in chunks. `HttpSource` uses requests (streaming, large chunks,
timeouts, optional bandwidth cap); `LocalSource` reads an exported folder
(USB import: regular files only, within a time limit) under a fake base URL,
so the same TUF and download code runs on both. Tests inject their own sources.
"""

from __future__ import annotations

import errno
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Final, Protocol
from urllib.parse import urlsplit

from kiosk.agent.errors import (
    BadDownload,
    DownloadStalled,
    ImportTimedOut,
    ServerFailed,
    ServerUnreachable,
)
from kiosk.agent.ratelimit import RateLimiter
from kiosk.protocol.errors import ProtocolError
from kiosk.protocol.paths import check_pack_path, special_file

#: requests' iter_content runs at a third of the speed with small chunks (DESIGN §8)
CHUNK_SIZE: Final = 512 * 1024
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class NotFound(ServerFailed):
    """The server has no such file (HTTP 403/404)."""

    code = "server-failed"

    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(message)
        self.status = status


class RangeNotSatisfiable(ServerFailed):
    """HTTP 416: the offset is at or past the end (a stale partial download)."""


class Stream(Protocol):
    #: offset in the file of the first byte `chunks()` yields (0 when Range was ignored)
    offset: int

    def chunks(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...


class Source(Protocol):
    #: where the bytes come from, in a technician's words ("the server", "the USB stick")
    name: str
    #: True for a USB stick (`bgk kiosk import`): only there may metadata made for a
    #: stick (kiosk.protocol.delivery.EXPORT_FIELD) be accepted
    is_stick: bool

    def open(self, url: str, start: int = 0) -> Stream: ...


class _HttpStream:
    def __init__(
        self,
        response: object,
        offset: int,
        chunk_size: int,
        limiter: RateLimiter | None,
        where: str,
    ) -> None:
        self._response = response
        self.offset = offset
        self._chunk_size = chunk_size
        self._limiter = limiter
        self._where = where

    def chunks(self) -> Iterator[bytes]:
        """Chunks of at least chunk_size (but the last). Bytes received before the
        link fails are still yielded, so a resume never fetches them twice."""
        import requests
        import urllib3

        response = self._response
        assert isinstance(response, requests.Response)
        raw = response.raw
        buf = bytearray()
        failure: Exception | None = None
        try:
            while data := raw.read1(self._chunk_size - len(buf)):
                if self._limiter is not None:
                    self._limiter.consume(len(data))
                buf += data
                if len(buf) >= self._chunk_size:
                    yield bytes(buf)
                    buf.clear()
        except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, OSError) as exc:
            failure = _network_error(exc, self._where)
        if buf:
            yield bytes(buf)
        if failure is not None:
            raise failure

    def close(self) -> None:
        import requests

        assert isinstance(self._response, requests.Response)
        self._response.close()


class HttpSource:
    """HTTP(S) with requests: streaming, Range resume, timeouts, optional cap.
    Safe to use from several threads (one requests session per thread)."""

    name = "the server"
    is_stick = False

    def __init__(
        self,
        timeout_s: float,
        *,
        limiter: RateLimiter | None = None,
        chunk_size: int = CHUNK_SIZE,
        user_agent: str = "bgk-kiosk",
        ca: Path | None = None,
    ) -> None:
        self.timeout = (timeout_s, timeout_s)
        #: CA file for HTTPS (None: the system's trusted CAs)
        self.ca = ca
        self.limiter = limiter
        self.chunk_size = chunk_size
        self.user_agent = user_agent
        self._local = threading.local()
        self._sessions: list[Any] = []
        self._lock = threading.Lock()

    def _session(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = requests.Session()
            # identity: lengths and ranges are of the bytes on the server, never recompressed
            session.headers.update({"Accept-Encoding": "identity", "User-Agent": self.user_agent})
            # no proxy/netrc lookups in the environment on every request (a measurable
            # cost with hundreds of files); the kiosk talks to its server directly
            session.trust_env = False
            if self.ca is not None:
                session.verify = str(self.ca)
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def open(self, url: str, start: int = 0) -> Stream:
        import requests

        where = _host(url)
        headers = {"Range": f"bytes={start}-"} if start > 0 else {}
        try:
            response = self._session().get(url, headers=headers, stream=True, timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            raise _network_error(exc, where) from None
        status = response.status_code
        if status in (403, 404):
            response.close()
            raise NotFound(f"the server at {where} has no {_tail(url)} (HTTP {status})", status)
        if status == 416:
            response.close()
            raise RangeNotSatisfiable(f"{_tail(url)}: range from byte {start} not available")
        if status == 206:
            m = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if m is None or int(m.group(1)) != start:
                response.close()
                raise ServerFailed(
                    f"the server at {where} sent a wrong byte range for {_tail(url)}"
                )
            return _HttpStream(response, start, self.chunk_size, self.limiter, where)
        if status == 200:
            return _HttpStream(response, 0, self.chunk_size, self.limiter, where)
        response.close()
        raise ServerFailed(f"the server at {where} answered HTTP {status} for {_tail(url)}")

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()


class _FileStream:
    def __init__(
        self, fh: IO[bytes], offset: int, chunk_size: int, source: LocalSource, rel: str
    ) -> None:
        self._fh = fh
        self._rel = rel
        self.offset = offset
        self._chunk_size = chunk_size
        self._source = source

    def chunks(self) -> Iterator[bytes]:
        while True:
            self._source.check_time()
            try:
                chunk = self._fh.read(self._chunk_size)
            except OSError as exc:
                raise BadDownload(
                    f"reading {self._rel} from the USB stick failed ({exc.strerror}): "
                    "is the stick damaged? Nothing was installed; copy the export again"
                ) from None
            if not chunk:
                return
            yield chunk

    def close(self) -> None:
        self._fh.close()


class LocalSource:
    """Files of an exported folder (USB import) under the fake base URL `base`.

    Reads regular files only: a named pipe, device or socket on the stick
    (which would block or never end), or a symbolic link anywhere below the
    folder, is refused when opened. Everything must be read before the
    monotonic `deadline` (a stick that stalls ends the import with an error).
    """

    name = "the USB stick"
    is_stick = True

    def __init__(
        self,
        root: Path,
        base: str = "local:/",
        chunk_size: int = CHUNK_SIZE,
        *,
        deadline: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = root
        self.base = base
        self.chunk_size = chunk_size
        self.deadline = deadline
        self.clock = clock

    def check_time(self) -> None:
        if self.deadline is not None and self.clock() > self.deadline:
            raise ImportTimedOut(
                f"reading the USB stick ({self.root}) took longer than the import's time limit: "
                "the stick may be damaged or very slow; nothing was installed, the kiosk keeps "
                "its current pack (try another stick, or a longer --time-limit)"
            )

    def open(self, url: str, start: int = 0) -> Stream:
        if not url.startswith(self.base):
            raise NotFound(f"{url} is not in the import folder")
        rel = url[len(self.base) :]
        try:
            check_pack_path(rel)
        except ProtocolError:
            raise NotFound(f"{rel} is not a file of the import folder") from None
        fh = self.open_file(rel)
        size = os.fstat(fh.fileno()).st_size
        if start and start >= size:
            fh.close()
            raise RangeNotSatisfiable(f"{rel}: range from byte {start} not available")
        fh.seek(start)
        return _FileStream(fh, start, self.chunk_size, self, rel)

    def open_file(self, rel: str) -> IO[bytes]:
        """root/rel opened for reading if it is a regular file reached without
        following a symbolic link; NotFound when it is not there."""
        self.check_time()
        where = f"{rel} on the USB stick ({self.root})"
        parts = rel.split("/")
        try:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            raise NotFound(f"the import folder {self.root} does not exist") from None
        except OSError as exc:
            raise BadDownload(
                f"cannot open the import folder {self.root}: {exc.strerror}"
            ) from None
        try:
            for i, part in enumerate(parts):
                last = i == len(parts) - 1
                flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NOCTTY
                # O_NONBLOCK: opening a named pipe must not wait for a writer
                flags |= os.O_NONBLOCK if last else os.O_DIRECTORY
                try:
                    next_fd = os.open(part, flags, dir_fd=fd)
                except FileNotFoundError:
                    raise NotFound(f"the import folder {self.root} has no {rel}") from None
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(
                        os.path.join(self.root, *parts[: i + 1])
                    ):
                        raise _refused(where, "a symbolic link") from None
                    raise BadDownload(f"cannot open {where}: {exc.strerror}") from None
                os.close(fd)
                fd = next_fd
            kind = special_file(os.fstat(fd).st_mode)
            if kind is not None:
                raise _refused(where, kind)
            os.set_blocking(fd, True)
            fh = os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise
        return fh

    def read_small(self, rel: str, limit: int) -> bytes:
        """A small file of the folder (export.json), at most `limit` bytes."""
        with self.open_file(rel) as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise BadDownload(f"{rel} on the USB stick is larger than {limit} bytes: refused")
        return data


def _refused(where: str, kind: str) -> BadDownload:
    return BadDownload(
        f"{where} is {kind}, not a regular file: refused, nothing was installed and the "
        "kiosk keeps its current pack; make the stick again with `bgk server export`"
    )


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


def _tail(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1][:40] or url


def _network_error(exc: Exception, where: str) -> Exception:
    import requests
    import urllib3

    text = str(exc).lower()
    if isinstance(exc, requests.exceptions.ConnectTimeout | urllib3.exceptions.ConnectTimeoutError):
        return ServerUnreachable(f"cannot reach the server at {where}: connection timed out")
    if (
        isinstance(
            exc,
            requests.exceptions.ReadTimeout | urllib3.exceptions.ReadTimeoutError | TimeoutError,
        )
        or "timed out" in text
    ):
        return DownloadStalled(f"the server at {where} stopped sending data (timeout)")
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | urllib3.exceptions.ProtocolError):
        return DownloadStalled(f"the connection to {where} dropped during a download")
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = "connection refused" if "refused" in text else "connection failed"
        return ServerUnreachable(f"cannot reach the server at {where}: {reason}")
    return ServerUnreachable(f"network error talking to {where}: {type(exc).__name__}")
