"""Downloading one blob: streamed, hashed while written, capped at its signed
length, resumed with HTTP Range after an interruption.

    tmp/dl/<hex>.part   bytes so far (kept across interruptions and restarts)
    tmp/dl/<hex>        complete and verified (renamed from .part)

A server that ignores Range answers 200: the part is started over. A server
that sends more than the signed length, or bytes with another hash, gets
the part deleted and the pack rejected. Network failures are retried with
backoff; after the last attempt the part stays for the next cycle.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from kiosk.agent.checkpoints import Checkpoint
from kiosk.agent.errors import BadDownload, DiskFailed, NetworkFailed
from kiosk.agent.fetch import RangeNotSatisfiable, Source
from kiosk.agent.layout import disk_error
from kiosk.common.backoff import Backoff

READ_CHUNK = 1024 * 1024
#: blobs downloaded at once: hides the per-request round trip (hundreds of
#: files, high-latency links); one link's bandwidth is shared anyway
PARALLEL = 3


class Cancelled(Exception):
    """A parallel download stopped because another one failed (not reported)."""


@dataclass
class DownloadStats:
    """Bytes received over the network (what a bandwidth-limited gate pays for)."""

    bytes: int = 0
    blobs: int = 0
    #: bytes and blobs received from other kiosks of the gate (kiosk/agent/share_client.py)
    peer_bytes: int = 0
    peer_blobs: int = 0
    resumed: int = 0
    restarts: int = 0
    attempts: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def failed_attempt(self, why: str) -> None:
        with self._lock:
            self.attempts.append(why)


@dataclass(frozen=True)
class Retry:
    attempts: int
    backoff: Backoff
    rng: random.Random
    sleep: Callable[[float], None]


def fetch_blob(
    source: Source,
    url: str,
    sha256: str,
    length: int,
    folder: Path,
    retry: Retry,
    stats: DownloadStats,
    checkpoint: Callable[[str], None],
    stop: threading.Event | None = None,
) -> Path:
    """Download a blob into folder/<sha256>, verified; returns its path."""
    last: NetworkFailed | None = None
    for attempt in range(1, retry.attempts + 1):
        try:
            path = fetch_attempt(source, url, sha256, length, folder, stats, checkpoint, stop)
            stats.add(blobs=1)
            return path
        except NetworkFailed as exc:
            last = exc
            stats.failed_attempt(str(exc))
            if attempt < retry.attempts:
                retry.sleep(retry.backoff.delay(attempt, retry.rng))
    assert last is not None
    raise last


@dataclass(frozen=True)
class Wanted:
    url: str
    sha256: str
    length: int


class Mirrors(Protocol):
    """Untrusted sources tried before `source` (the gate's other kiosks)."""

    def fetch(
        self,
        item: Wanted,
        folder: Path,
        stats: DownloadStats,
        checkpoint: Callable[[str], None],
        stop: threading.Event | None,
    ) -> Path | None:
        """The blob, verified, in folder/<sha256>; None: fetch it from `source`."""
        ...

    def fetched(self, item: Wanted) -> None:
        """The blob was fetched from `source` and verified."""
        ...


def fetch_all(
    source: Source,
    wanted: list[Wanted],
    folder: Path,
    retry: Retry,
    stats: DownloadStats,
    checkpoint: Callable[[str], None],
    workers: int = PARALLEL,
    mirrors: Mirrors | None = None,
) -> dict[str, Path]:
    """Download several blobs, `workers` at a time (in the order given), each from
    the mirrors first if any; the first failure stops the others (their parts stay
    for a resume, except when the disk is full)."""
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    stop = threading.Event()
    out: dict[str, Path] = {}
    if not wanted:
        return out

    def one(item: Wanted) -> Path:
        if stop.is_set():
            raise Cancelled("another download of this pack failed")
        if mirrors is not None:
            got = mirrors.fetch(item, folder, stats, checkpoint, stop)
            if got is not None:
                return got
        path = fetch_blob(
            source, item.url, item.sha256, item.length, folder, retry, stats, checkpoint, stop
        )
        if mirrors is not None:
            mirrors.fetched(item)
        return path

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="download") as pool:
        futures = {pool.submit(one, item): item for item in wanted}
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in done if f.exception() is not None]
        if failed:
            stop.set()
            for f in futures:
                f.cancel()
        wait(futures)
    errors = [
        f.exception()
        for f in futures
        if not f.cancelled()
        and f.exception() is not None
        and not isinstance(f.exception(), Cancelled)
    ]
    if errors:
        first = errors[0]
        assert first is not None
        if isinstance(first, DiskFailed):  # a full disk: give back all the space we took
            for path in folder.iterdir():
                path.unlink(missing_ok=True)
        raise first
    for future, item in futures.items():
        out[item.sha256] = future.result()
    return out


def verify_file(path: Path, sha256: str, length: int) -> bool:
    """Re-hash a file from an earlier, interrupted cycle (it may not be durable)."""
    try:
        if path.is_symlink() or path.stat().st_size != length:
            return False
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(READ_CHUNK):
                digest.update(chunk)
        return digest.hexdigest() == sha256
    except OSError:
        return False


def fetch_attempt(
    source: Source,
    url: str,
    sha256: str,
    length: int,
    folder: Path,
    stats: DownloadStats,
    checkpoint: Callable[[str], None],
    stop: threading.Event | None = None,
) -> Path:
    """One attempt, no retry: folder/<sha256> verified, or BadDownload/NetworkFailed."""
    final = folder / sha256
    part = folder / f"{sha256}.part"
    digest = hashlib.sha256()
    have = _prefix(part, length, digest)
    if have == length:  # complete before an interruption, not yet renamed
        if digest.hexdigest() == sha256:
            os.replace(part, final)
            return final
        part.unlink(missing_ok=True)
        digest, have = hashlib.sha256(), 0
    try:
        stream = source.open(url, have)
    except RangeNotSatisfiable:
        part.unlink(missing_ok=True)
        digest, have = hashlib.sha256(), 0
        stream = source.open(url, 0)
    try:
        if stream.offset != have:  # the server ignored Range: start over
            stats.add(restarts=1)
            digest, have = hashlib.sha256(), 0
        elif have:
            stats.add(resumed=1)
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_APPEND if have else os.O_TRUNC)
        try:
            fd = os.open(part, flags, 0o644)
        except OSError as exc:
            raise disk_error("starting a download", exc) from None
        try:
            for chunk in stream.chunks():
                have += len(chunk)
                stats.add(bytes=len(chunk))
                if have > length:
                    raise BadDownload(
                        f"{source.name} sent more than the signed {length} bytes of file "
                        f"{sha256[:12]}…: download refused, the current pack keeps playing"
                    )
                digest.update(chunk)
                _write_all(fd, chunk)
                checkpoint(Checkpoint.DOWNLOAD_CHUNK)
                if stop is not None and stop.is_set():
                    raise Cancelled("another download of this pack failed")
            if have == length:
                os.fchmod(fd, 0o444)
                # start writing back now; the install flushes once at the end
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    except BadDownload:
        part.unlink(missing_ok=True)
        raise
    except Cancelled:
        raise  # the part stays for the next cycle
    except OSError as exc:
        part.unlink(missing_ok=True)  # a full disk: give the space back
        raise disk_error("downloading", exc) from None
    finally:
        stream.close()
    if have < length:
        # a complete answer (a dropped connection raised above) that is too short
        part.unlink(missing_ok=True)
        raise BadDownload(
            f"file {sha256[:12]}… from {source.name} has {have} bytes, not the signed {length} "
            "(damaged or substituted): download refused, the current pack keeps playing"
        )
    if digest.hexdigest() != sha256:
        part.unlink(missing_ok=True)
        raise BadDownload(
            f"file {sha256[:12]}… from {source.name} does not match its signed hash "
            "(damaged or substituted): download refused, the current pack keeps playing"
        )
    os.replace(part, final)
    checkpoint(Checkpoint.DOWNLOADED)
    return final


def _prefix(part: Path, length: int, digest: hashlib._Hash) -> int:
    """Hash what an earlier attempt left in `part`; returns its size (0: start over)."""
    try:
        if part.is_symlink():
            part.unlink()
            return 0
        size = part.stat().st_size
    except FileNotFoundError:
        return 0
    if size > length:
        part.unlink(missing_ok=True)
        return 0
    with open(part, "rb") as fh:
        while chunk := fh.read(READ_CHUNK):
            digest.update(chunk)
    return size


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
