"""Durable file writes (kiosk and server): an SD card may lose power at any instant.

A half-written file must never replace a good one: write a temp file in the
same directory, fsync it, rename it over the target, fsync the directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(
    path: Path,
    data: bytes,
    *,
    durable: bool = True,
    mode: int = 0o644,
    owner: tuple[int, int] | None = None,
) -> None:
    """Replace `path` with `data` so readers see the old or the new bytes, never a mix.

    The bytes go to a temp file of a unique name in the same folder (two
    writers of one file never share a temp file), which is fsynced, given
    `mode` (and `owner`, uid and gid: root only) and renamed over `path`; the
    folder is then fsynced. Until the rename the temp file is readable by its
    owner only, so a secret is never readable by others, even for an instant.
    `durable=False` skips the fsyncs (files that are cheap to lose).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            if owner is not None:
                os.fchown(fh.fileno(), *owner)
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    if durable:
        fsync_dir(path.parent)


def atomic_write_json(path: Path, data: Any, *, durable: bool = True) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    atomic_write(path, text.encode("utf-8"), durable=durable)


def read_json(path: Path) -> Any:
    """Parse a JSON file; raises OSError or ValueError (callers decide what a bad file means)."""
    return json.loads(path.read_bytes())
