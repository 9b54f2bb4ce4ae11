"""Durable file writes for the server's repository and blob store.

A half-written file must never be served: everything is written to a temp
file in the same directory, fsynced, renamed into place, and the directory
fsynced. Blobs are verified (SHA-256 and length) while they are copied.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from server.packs.errors import PackError

CHUNK = 1024 * 1024


class BlobMismatchError(PackError):
    """A blob of a built pack does not have the hash or length its manifest says."""


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace `path` with `data`: readers see the old or the new bytes, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def copy_verified(src: Path, dest: Path, sha256: str, length: int) -> None:
    """Copy `src` to `dest` (atomically), checking its SHA-256 and length on the way.

    The caller fsyncs `dest.parent` once after a batch of copies.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name[:16]}.", suffix=".tmp", dir=dest.parent)
    try:
        digest = hashlib.sha256()
        size = 0
        with open(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
            while chunk := fin.read(CHUNK):
                size += len(chunk)
                if size > length:
                    break
                digest.update(chunk)
                fout.write(chunk)
            fout.flush()
            os.fsync(fout.fileno())
        if size != length or digest.hexdigest() != sha256:
            raise BlobMismatchError(
                f"{src} does not match its manifest entry (sha256 {sha256[:12]}…, "
                f"{length} bytes): rebuild the pack with `bgk pack build`"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_path` (publish, refresh and rotation take turns)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
