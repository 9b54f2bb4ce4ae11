"""The kiosk's state folder and the file operations of an install.

    state_dir/
      current -> packs/<name>       what the UI plays; switched by renaming a new symlink
      packs/<name>/                 installed packs: files at their logical paths
                                    (hard links into the blob store) + manifest.json
      blobs/sha256/<hex>            verified, durable blobs (read-only)
      tmp/dl/<hex>.part, <hex>      downloads (resumable), verified ones not yet durable
      tmp/stage-<name>/             a pack being put together
      tmp/manifests/<sha>.json      downloaded manifests
      tuf/                          TUF metadata cache (rollback protection)
      agent/state.json, sync.lock   agent state, one-cycle-at-a-time lock
      ui/                           the agent <-> UI channel (kiosk/local.py)

Only complete things appear under packs/ and blobs/: a staged pack is
renamed into packs/ after one flush of the file system, so after a power
cut a pack folder is whole or absent.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from kiosk.agent.errors import BadManifest, DiskFailed, SyncBusy
from kiosk.common.files import fsync_dir
from kiosk.protocol.pack import MANIFEST_NAME, Manifest


class Layout:
    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir
        self.current = state_dir / "current"
        self.packs = state_dir / "packs"
        self.blobs = state_dir / "blobs" / "sha256"
        self.tmp = state_dir / "tmp"
        self.downloads = self.tmp / "dl"
        self.manifests = self.tmp / "manifests"
        self.tuf = state_dir / "tuf"
        self.agent = state_dir / "agent"
        self.state_file = self.agent / "state.json"
        self.lock_file = self.agent / "sync.lock"

    def ensure(self) -> None:
        try:
            for path in (
                self.packs,
                self.blobs,
                self.downloads,
                self.manifests,
                self.tuf,
                self.agent,
            ):
                path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DiskFailed(f"cannot create the kiosk state folder {self.root}: {exc}") from None

    # --- the current pack ----------------------------------------------------
    def current_name(self) -> str | None:
        """Folder name of the pack `current` points to, None without one."""
        try:
            target = os.readlink(self.current)
        except (FileNotFoundError, OSError):
            return None
        head, _, name = target.rpartition("/")
        return name if head == "packs" and name else None

    def switch(self, name: str | None) -> None:
        """Point `current` at packs/<name> atomically (None removes it), durably."""
        if name is None:
            with contextlib.suppress(FileNotFoundError):
                self.current.unlink()
        else:
            new = self.root / "current.new"
            with contextlib.suppress(FileNotFoundError):
                new.unlink()
            os.symlink(f"packs/{name}", new)
            os.replace(new, self.current)
        fsync_dir(self.root)

    def pack_dir(self, name: str) -> Path:
        return self.packs / name

    def pack_names(self) -> list[str]:
        if not self.packs.is_dir():
            return []
        return sorted(p.name for p in self.packs.iterdir() if not p.name.startswith("."))

    # --- blobs ---------------------------------------------------------------
    def blob(self, sha256: str) -> Path:
        return self.blobs / sha256

    def has_blob(self, sha256: str, length: int) -> bool:
        """A verified blob in the store (a regular file of the right size, never a symlink)."""
        try:
            st = os.lstat(self.blob(sha256))
        except FileNotFoundError:
            return False
        if not stat.S_ISREG(st.st_mode) or st.st_size != length:
            self.blob(sha256).unlink(missing_ok=True)  # planted or damaged: fetch again
            return False
        return True

    # --- staging -------------------------------------------------------------
    def stage(
        self,
        name: str,
        manifest: Manifest,
        manifest_bytes: bytes,
        sources: dict[str, Path],
        checkpoint: Callable[[str], None],
    ) -> Path:
        """Hard-link every file of the pack at its logical path in tmp/stage-<name>/
        (removed again if the pack turns out unusable)."""
        stage = self.tmp / f"stage-{name}"
        if stage.exists():
            shutil.rmtree(stage)
        stage.mkdir(parents=True)
        try:
            self._link_files(stage, manifest, sources, checkpoint)
            (stage / MANIFEST_NAME).write_bytes(manifest_bytes)
        except BaseException as exc:
            shutil.rmtree(stage, ignore_errors=True)
            if isinstance(exc, OSError):
                raise disk_error("putting the pack together", exc) from None
            raise
        return stage

    def _link_files(
        self,
        stage: Path,
        manifest: Manifest,
        sources: dict[str, Path],
        checkpoint: Callable[[str], None],
    ) -> None:
        made_dirs: set[Path] = {stage}
        for entry in manifest.files:
            if entry.path == MANIFEST_NAME:
                raise BadManifest(f"the manifest lists a file named {MANIFEST_NAME}: pack refused")
            dest = stage / entry.path
            try:
                if dest.parent not in made_dirs:
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    made_dirs.add(dest.parent)
                os.link(sources[entry.sha256], dest, follow_symlinks=False)
            except (FileExistsError, NotADirectoryError, IsADirectoryError):
                raise BadManifest(
                    f"the manifest's paths collide at {entry.path} (a file used as a folder): "
                    "pack refused"
                ) from None
            checkpoint("staging")

    def place(self, stage: Path, name: str) -> Path:
        dest = self.pack_dir(name)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(stage, dest)
        fsync_dir(self.packs)
        return dest

    def store_blobs(self, downloaded: Iterable[Path]) -> None:
        """Move verified, flushed downloads into the blob store (then one dir fsync)."""
        moved = False
        for path in downloaded:
            if path.exists():
                os.replace(path, self.blob(path.name))
                moved = True
        if moved:
            fsync_dir(self.blobs)

    # --- cleaning ------------------------------------------------------------
    def clean(
        self, keep_packs: set[str], keep_blobs: set[str], *, keep_downloads: bool = False
    ) -> int:
        """Remove packs and blobs not kept and temp files; returns bytes freed."""
        freed = 0
        for name in self.pack_names():
            if name not in keep_packs:
                shutil.rmtree(self.pack_dir(name), ignore_errors=True)
        if self.blobs.is_dir():
            for path in self.blobs.iterdir():
                if path.name not in keep_blobs:
                    with contextlib.suppress(OSError):
                        freed += path.lstat().st_size
                        path.unlink()
        if self.tmp.is_dir():
            for path in self.tmp.iterdir():
                if keep_downloads and path == self.downloads:
                    continue
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        with contextlib.suppress(FileNotFoundError):
            (self.root / "current.new").unlink()
        return freed


def flush_filesystem(path: Path) -> None:
    """One flush of the file system holding `path` (Linux syncfs; else sync)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syncfs = getattr(libc, "syncfs", None)
        if syncfs is None or syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def disk_error(doing: str, exc: OSError) -> DiskFailed:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return DiskFailed(
            f"the kiosk's disk is full ({doing}): free space in the state folder; "
            "the current pack keeps playing"
        )
    if exc.errno == errno.EROFS:
        return DiskFailed(f"the kiosk's disk is read-only ({doing}): check the SD card")
    return DiskFailed(f"writing to the kiosk's disk failed ({doing}): {exc.strerror or exc}")


class SyncLock:
    """One sync cycle at a time (the agent's and a technician's `sync --once`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> SyncLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SyncBusy(
                "another sync is running on this kiosk (the agent): try again in a minute"
            ) from None
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
