"""`bgk server backup`: one file that brings the server back after a lost disk.

    bgk-backup/data/...          the data folder: server.toml, tuf/ (every root
                                 version, targets, snapshot, timestamp, pack
                                 manifests), blobs/ (or only their list), keys/
                                 (the online snapshot and timestamp keys), mqtt/
                                 (MQTT CA and its key, broker certificate, command
                                 key, server.secret), screenshots/
    bgk-backup/store/...         a consistent copy of the fleet store: SQLite's online
                                 backup API, gzipped, or pg_dump's own compressed format
                                 (server/ops/storecopy.py)
    bgk-backup/backup.json       last: what is inside, each file's SHA-256 and length,
                                 the TUF versions, when it was taken

TUF metadata is copied under the repository's lock (publish and the
refresher wait a moment), so it is one consistent state; blobs are immutable
and written before the metadata that names them, so copying them after the
lock still covers every blob that state needs. The live database files
(fleet.db, -wal, -shm), temp files, locks and the simulator's scratch are
left out. A plain tar: the blobs (pictures, fonts) do not compress, the store
is compressed on its own. The file holds private keys: it is written 0600,
and belongs offline (deploy/README.md, "Backups").
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from tuf.api.metadata import Metadata

from kiosk.protocol.errors import UsageError
from server.config import ServerConfig
from server.ops.storecopy import dump_store, sqlite_path, store_kind
from server.packs.fileio import locked

FORMAT = 1
TOP = "bgk-backup"
MANIFEST = f"{TOP}/backup.json"
NAME = re.compile(r"^bgk-backup-\d{8}T\d{6}Z\.tar$")
#: never in a backup: scratch and per-process files
SKIP_NAMES = frozenset({".lock", "sim", ".restore"})
CHUNK = 1024 * 1024


@dataclass
class Manifest:
    created: str
    url: str
    store: str
    tuf_versions: dict[str, int]
    blobs: str  # "included" | "listed"
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_json(self) -> bytes:
        body = {
            "format": FORMAT,
            "created": self.created,
            "url": self.url,
            "store": self.store,
            "tuf_versions": self.tuf_versions,
            "blobs": self.blobs,
            "files": self.files,
        }
        return (json.dumps(body, indent=1, sort_keys=True) + "\n").encode()

    @classmethod
    def parse(cls, data: bytes) -> Manifest:
        try:
            body = json.loads(data)
            if body.get("format") != FORMAT:
                raise UsageError(
                    f"backup format {body.get('format')!r} is not {FORMAT}: restore it with the "
                    "bgk version that made it"
                )
            return cls(
                created=str(body["created"]),
                url=str(body["url"]),
                store=str(body["store"]),
                tuf_versions={str(k): int(v) for k, v in body["tuf_versions"].items()},
                blobs=str(body["blobs"]),
                files={str(k): dict(v) for k, v in body["files"].items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UsageError(f"the backup's backup.json is damaged: {exc}") from None


@dataclass(frozen=True)
class BackupResult:
    path: Path
    bytes: int
    manifest: Manifest

    @property
    def blob_count(self) -> int:
        return sum(1 for name in self.manifest.files if "/blobs/sha256/" in name)


def tuf_versions(tuf_dir: Path) -> dict[str, int]:
    """The newest version of each top-level role in a TUF folder."""
    out: dict[str, int] = {}
    for path in tuf_dir.glob("*.json"):
        m = re.match(r"^(?:(\d+)\.)?(root|targets|snapshot|timestamp)\.json$", path.name)
        if m is None:
            continue
        role = m.group(2)
        version = (
            int(m.group(1)) if m.group(1) else Metadata.from_bytes(path.read_bytes()).signed.version
        )
        out[role] = max(out.get(role, 0), version)
    return out


def output_path(out: Path, now: datetime) -> Path:
    """-o FILE, or a dated name inside -o DIR/."""
    if out.is_dir() or str(out).endswith("/"):
        out.mkdir(parents=True, exist_ok=True)
        return out / f"bgk-backup-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}.tar"
    return out


def _skip(rel: Path) -> bool:
    name = rel.name
    return (
        rel.parts[0] in SKIP_NAMES
        or name in SKIP_NAMES
        or name.endswith(".tmp")
        or (name.startswith(".") and ".tmp" in name)
    )


def _files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name


class _Writer:
    """Adds members to a tar and records their hash and length for the manifest."""

    def __init__(self, tar: tarfile.TarFile, manifest: Manifest) -> None:
        self.tar = tar
        self.manifest = manifest

    def add_file(self, path: Path, member: str) -> None:
        st = path.stat()
        info = tarfile.TarInfo(member)
        info.size = st.st_size
        info.mode = st.st_mode & 0o777
        info.mtime = int(st.st_mtime)
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            reader = _Hashing(fh, digest)
            self.tar.addfile(info, reader)
        if reader.read_bytes != st.st_size:
            raise UsageError(f"{path} changed while it was backed up: run the backup again")
        self.manifest.files[member] = {"sha256": digest.hexdigest(), "length": st.st_size}

    def add_bytes(self, data: bytes, member: str, mode: int = 0o600) -> None:
        info = tarfile.TarInfo(member)
        info.size = len(data)
        info.mode = mode
        info.mtime = int(time.time())
        self.tar.addfile(info, io.BytesIO(data))
        if member != MANIFEST:
            self.manifest.files[member] = {
                "sha256": hashlib.sha256(data).hexdigest(),
                "length": len(data),
            }


class _Hashing:
    def __init__(self, fh: IO[bytes], digest: Any) -> None:
        self.fh = fh
        self.digest = digest
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.digest.update(data)
        self.read_bytes += len(data)
        return data


def backup_server(
    config: ServerConfig,
    out: Path,
    *,
    blobs: bool = True,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BackupResult:
    data = config.data
    when = now()
    target = output_path(out, when)
    kind = store_kind(config.store_url)
    store_files: set[Path] = set()
    if kind == "sqlite":
        db = sqlite_path(config.store_url).resolve()
        store_files = {db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")}
        store_files.add(db.with_name(db.name + "-journal"))
    manifest = Manifest(
        created=when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        url=config.url,
        store=kind,
        tuf_versions={},
        blobs="included" if blobs else "listed",
    )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except PermissionError:
        raise UsageError(
            f"cannot write the backup in {target.parent}: this user needs write permission "
            "there (the installer makes /var/backups/bgk the service user's)"
        ) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw:
            os.fchmod(raw.fileno(), 0o600)  # it holds the server's private keys
            with (
                tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar,
                tempfile.TemporaryDirectory(prefix="bgk-backup-") as scratch,
            ):
                writer = _Writer(tar, manifest)
                _add_tuf(config, writer, manifest)
                member = dump_store(config.store_url, Path(scratch) / "store")
                writer.add_file(Path(scratch) / "store", f"{TOP}/{member}")
                _add_data(data, writer, store_files, blobs)
                writer.add_bytes(manifest.as_json(), MANIFEST, 0o644)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return BackupResult(target, target.stat().st_size, manifest)


def _add_tuf(config: ServerConfig, writer: _Writer, manifest: Manifest) -> None:
    tuf = config.tuf_dir
    with locked(tuf / ".lock"):
        manifest.tuf_versions = tuf_versions(tuf)
        for path in _files(tuf):
            rel = path.relative_to(config.data)
            if not _skip(rel):
                writer.add_file(path, f"{TOP}/data/{rel.as_posix()}")


def _add_data(data: Path, writer: _Writer, store_files: set[Path], blobs: bool) -> None:
    listed: list[str] = []
    for path in _files(data):
        rel = path.relative_to(data)
        if rel.parts[0] == "tuf" or _skip(rel) or path.resolve() in store_files:
            continue
        if rel.parts[0] == "blobs" and not blobs:
            listed.append(rel.as_posix())
            continue
        writer.add_file(path, f"{TOP}/data/{rel.as_posix()}")
    if not blobs:
        writer.add_bytes(("\n".join(listed) + "\n").encode(), f"{TOP}/blobs.txt", 0o644)


def prune(folder: Path, keep: int) -> list[Path]:
    """Keep the `keep` newest dated backups of `folder`; returns what was removed."""
    if keep < 1:
        raise UsageError("--keep must be at least 1")
    dated = sorted(p for p in folder.iterdir() if NAME.match(p.name))
    removed = dated[:-keep]
    for path in removed:
        path.unlink()
    return removed
