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
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from server.packs.errors import PackError

CHUNK = 1024 * 1024


class BlobMismatchError(PackError):
    """A blob of a built pack does not have the hash or length its manifest says."""


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


def swap_in_folder(out: Path, fill: Callable[[Path], None]) -> None:
    """`fill` a fresh folder beside `out`, then swap it in for `out` (a reader never
    sees half of it; on any error `out` is left as it was)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        fill(tmp)
        os.chmod(tmp, 0o755)
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise
