"""An in-memory TUF repository simulator (python-tuf Metadata API) that is
also a kiosk `Source`, with fault modes; and generated packs.

It signs with python-tuf directly (not through server/packs), so the kiosk
is also checked against a second, independent repository implementation;
the server code has its own tests (tests/unit/test_publish_repo.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)

from kiosk.agent.errors import DownloadStalled
from kiosk.agent.fetch import NotFound, RangeNotSatisfiable
from kiosk.protocol.delivery import ISSUED_FIELD, target_path
from kiosk.protocol.pack import BLOB_DIR, MANIFEST_NAME, FileEntry, Manifest

BASE = "http://sim.invalid"
ROLES = ("root", "targets", "snapshot", "timestamp")
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


# --- packs -----------------------------------------------------------------------


def pack_files(seed: str, count: int = 6, size: int = 3000) -> dict[str, bytes]:
    """Deterministic pack files: i18n/vi.json plus `count` media files."""
    files = {"i18n/vi.json": json.dumps({"seed": seed}).encode()}
    for i in range(count):
        block = hashlib.sha256(f"{seed}-{i}".encode()).digest()
        files[f"media/f{i:03d}.bin"] = (block * (size // 32 + 1))[:size]
    return files


def make_manifest(files: dict[str, bytes], pack_id: str, version: int) -> bytes:
    entries = tuple(
        FileEntry(path=p, sha256=hashlib.sha256(d).hexdigest(), length=len(d))
        for p, d in sorted(files.items())
    )
    manifest = Manifest(
        schema=1,
        id=pack_id,
        version=version,
        title={"vi": pack_id},
        languages=("vi",),
        default_language="vi",
        pages=(),
        fonts={},
        strings={"vi": "i18n/vi.json"},
        files=entries,
    )
    return manifest.to_bytes()


def write_built_pack(folder: Path, files: dict[str, bytes], pack_id: str, version: int) -> Path:
    """A folder like `bgk pack build` makes: manifest.json + blobs/sha256/<hex>."""
    blobs = folder / BLOB_DIR
    blobs.mkdir(parents=True, exist_ok=True)
    for data in files.values():
        (blobs / hashlib.sha256(data).hexdigest()).write_bytes(data)
    (folder / MANIFEST_NAME).write_bytes(make_manifest(files, pack_id, version))
    return folder


# --- the repository simulator ----------------------------------------------------


@dataclass
class Faults:
    """How the simulator misbehaves when serving (paths relative to BASE, no slash)."""

    #: serve these bytes instead
    replace: dict[str, bytes] = field(default_factory=dict)
    #: stream this many bytes more than the file has
    endless: set[str] = field(default_factory=set)
    #: stop after this many bytes (a dropped connection), once per entry
    cut_at: dict[str, int] = field(default_factory=dict)
    #: answer Range requests with the whole file (HTTP 200)
    ignore_range: bool = False


class _SimStream:
    def __init__(self, data: bytes, offset: int, extra: bool, cut: int | None) -> None:
        self.data, self.offset, self.extra, self.cut = data, offset, extra, cut

    def chunks(self) -> Iterator[bytes]:
        body = self.data[self.offset :]
        if self.cut is not None:
            yield body[: self.cut]
            raise DownloadStalled("simulated: the connection dropped")
        for i in range(0, len(body), 64 * 1024):
            yield body[i : i + 64 * 1024]
        while self.extra:
            yield b"\0" * 65536

    def close(self) -> None:
        pass


class RepoSim:
    """An in-memory TUF repository (consistent snapshots) that is also a `Source`."""

    name = "the server"
    is_stick = False

    def __init__(self, now: datetime = T0) -> None:
        self.now = now
        self.keys: dict[str, list[CryptoSigner]] = {
            r: [CryptoSigner.generate_ed25519()] for r in ROLES
        }
        self.valid = {
            "root": timedelta(days=365),
            "targets": timedelta(days=90),
            "snapshot": timedelta(days=7),
            "timestamp": timedelta(days=1),
        }
        root = Root(expires=now + self.valid["root"], consistent_snapshot=True)
        for role in ROLES:
            root.add_key(self.keys[role][0].public_key, role)
        self.root = Metadata(root)
        self.targets = Metadata(Targets(expires=now))
        self.snapshot = Metadata(Snapshot(expires=now))
        self.timestamp = Metadata(Timestamp(expires=now))
        self.files: dict[str, bytes] = {}
        self.faults = Faults()
        self.requests: list[tuple[str, int]] = []
        self.sent = 0
        self.seq = 0
        self.publish_root()
        self.root_v1 = self.files["tuf/1.root.json"]
        self.publish()

    # --- signing -------------------------------------------------------------
    def sign(self, role: str, md: Metadata[Any]) -> None:
        md.signatures.clear()
        for signer in self.keys[role]:
            md.sign(signer, append=True)

    def publish_root(self) -> None:
        self.sign("root", self.root)
        self.files[f"tuf/{self.root.signed.version}.root.json"] = self.root.to_bytes()

    def publish(self, roles: tuple[str, ...] = ("targets", "snapshot", "timestamp")) -> None:
        """New versions of `roles`, signed, written in the order kiosks need."""
        if "targets" in roles:
            t = self.targets.signed
            t.version += 1 if self.files.get("tuf/1.targets.json") else 0
            t.expires = self.now + self.valid["targets"]
            self.sign("targets", self.targets)
            self.files[f"tuf/{t.version}.targets.json"] = self.targets.to_bytes()
        if "snapshot" in roles:
            data = self.files[f"tuf/{self.targets.signed.version}.targets.json"]
            s = self.snapshot.signed
            s.version += 1 if self.files.get("tuf/1.snapshot.json") else 0
            s.expires = self.now + self.valid["snapshot"]
            s.meta["targets.json"] = MetaFile(
                self.targets.signed.version, len(data), {"sha256": hashlib.sha256(data).hexdigest()}
            )
            self.sign("snapshot", self.snapshot)
            self.files[f"tuf/{s.version}.snapshot.json"] = self.snapshot.to_bytes()
        if "timestamp" in roles:
            data = self.files[f"tuf/{self.snapshot.signed.version}.snapshot.json"]
            ts = self.timestamp.signed
            ts.version += 1 if "tuf/timestamp.json" in self.files else 0
            ts.expires = self.now + self.valid["timestamp"]
            ts.snapshot_meta = MetaFile(
                self.snapshot.signed.version,
                len(data),
                {"sha256": hashlib.sha256(data).hexdigest()},
            )
            ts.unrecognized_fields[ISSUED_FIELD] = self.now.strftime("%Y-%m-%dT%H:%M:%SZ")
            self.sign("timestamp", self.timestamp)
            self.files["tuf/timestamp.json"] = self.timestamp.to_bytes()

    # --- packs ---------------------------------------------------------------
    def add_pack(
        self,
        files: dict[str, bytes],
        pack_id: str = "demo",
        version: int = 1,
        to: tuple[str, ...] = ("all",),
        *,
        manifest: bytes | None = None,
        publish: bool = True,
    ) -> bytes:
        data = manifest if manifest is not None else make_manifest(files, pack_id, version)
        for blob in files.values():
            self.files[f"blobs/sha256/{hashlib.sha256(blob).hexdigest()}"] = blob
        sha = hashlib.sha256(data).hexdigest()
        path = target_path(pack_id, version)
        folder, _, base = path.rpartition("/")
        self.files[f"tuf/targets/{folder}/{sha}.{base}"] = data
        self.seq += 1
        custom = {"pack": pack_id, "version": version, "to": list(to), "seq": self.seq}
        self.targets.signed.targets[path] = TargetFile(
            len(data), {"sha256": sha}, path, unrecognized_fields={"custom": custom}
        )
        if publish:
            self.publish()
        return data

    def blob_path(self, data: bytes) -> str:
        return f"blobs/sha256/{hashlib.sha256(data).hexdigest()}"

    # --- Source --------------------------------------------------------------
    def open(self, url: str, start: int = 0) -> _SimStream:
        assert url.startswith(BASE + "/"), url
        path = url[len(BASE) + 1 :]
        self.requests.append((path, start))
        data = self.faults.replace.get(path, self.files.get(path))
        if data is None:
            raise NotFound(f"simulated 404 for {path}")
        if self.faults.ignore_range:
            start = 0
        if start and start >= len(data):
            raise RangeNotSatisfiable("simulated 416")
        cut = self.faults.cut_at.pop(path, None)
        self.sent += (len(data) - start) if cut is None else cut
        return _SimStream(data, start, path in self.faults.endless, cut)
