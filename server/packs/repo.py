"""The server's TUF repository (DATA/tuf/), on python-tuf's Metadata API.

Files, as kiosks fetch them (consistent snapshots):

    tuf/N.root.json             every root version (kiosks walk the chain on rotation)
    tuf/N.targets.json          the published packs: one target per pack version; after
                                the delegation ceremony it delegates packs/* to `publishers`
    tuf/N.publishers.json       the packs signed by a threshold of publishers (delegation.py)
    tuf/N.snapshot.json         versions of targets
    tuf/timestamp.json          the only unversioned file; re-signed often (online key)
    tuf/targets/packs/<id>/<sha256>.<version>.manifest.json   pack manifests (TUF targets)

Every write goes to a temp file, is fsynced and renamed (fileio.atomic_write),
in the order blobs -> targets -> snapshot -> timestamp, so a kiosk never sees
metadata that points at something not yet there. Writers take the lock
`tuf/.lock` (publish, the server's refresher and rotation take turns).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from securesystemslib.signer import Signer
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Signed,
    Snapshot,
    Targets,
    Timestamp,
)
from tuf.repository import Repository

from kiosk.common.files import atomic_write
from kiosk.protocol.delivery import ISSUED_FIELD
from server.config import TufConfig
from server.errors import OperatorMustAct
from server.packs.errors import PackError

#: older versions of snapshot/targets kept for kiosks in the middle of a refresh
KEEP_VERSIONS: Final = 16
_VERSIONED = re.compile(r"^([1-9][0-9]*)\.(root|targets|snapshot|publishers)\.json$")
#: the delegated role holding the packs (server/packs/delegation.py)
PUBLISHERS: Final = "publishers"


class RepositoryError(PackError, OperatorMustAct):
    """The repository folder is missing, damaged, or lacks a key it needs."""


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expiry_days(tuf: TufConfig, role: str) -> int:
    return {
        Root.type: tuf.root_days,
        Targets.type: tuf.targets_days,
        Snapshot.type: tuf.snapshot_days,
        Timestamp.type: tuf.timestamp_days,
    }[role]


class TufRepository(Repository):
    """DATA/tuf/ as a python-tuf `Repository`: open() reads the newest version of
    a role, close() bumps version and expiry, signs and writes it atomically."""

    def __init__(
        self,
        tuf_dir: Path,
        expiry: TufConfig,
        signers: Mapping[str, Sequence[Signer]],
        now: Callable[[], datetime],
        *,
        min_versions: Mapping[str, int] | None = None,
    ) -> None:
        self.dir = tuf_dir
        self.expiry = expiry
        self.signers = signers
        self.now = now
        #: per-role lowest version the next signing may have (a restore jumps past
        #: versions kiosks may already trust: server/ops/restore.py)
        self.min_versions = dict(min_versions or {})
        #: versions already used outside this folder (a USB export): the next one is above
        self.used_versions: dict[str, int] = {}

    # --- storage -------------------------------------------------------------
    def versions(self, role: str) -> list[int]:
        out = []
        for path in self.dir.glob(f"*.{role}.json"):
            m = _VERSIONED.match(path.name)
            if m and m.group(2) == role:
                out.append(int(m.group(1)))
        return sorted(out)

    def path_of(self, role: str, version: int | None = None) -> Path | None:
        if role == Timestamp.type:
            path = self.dir / "timestamp.json"
            return path if path.exists() else None
        versions = self.versions(role)
        if not versions:
            return None
        return self.dir / f"{version or versions[-1]}.{role}.json"

    def exists(self) -> bool:
        return self.path_of(Root.type) is not None

    def open(self, role: str) -> Metadata[Any]:
        path = self.path_of(role)
        if path is None:
            return Metadata(_blank(role, self.now()))
        try:
            return Metadata.from_bytes(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise RepositoryError(f"cannot read {path}: {exc}") from None

    def close(self, role: str, md: Metadata[Any]) -> None:
        stored = self.path_of(role)
        latest = Metadata.from_bytes(stored.read_bytes()).signed.version if stored else 0
        latest = max(latest, self.used_versions.get(role, 0))
        now = self.now()
        md.signed.version = max(latest + 1, self.min_versions.get(role, 0))
        md.signed.expires = (now + self.validity(role)).replace(microsecond=0)
        if role == Timestamp.type:
            md.signed.unrecognized_fields[ISSUED_FIELD] = iso(now)
        self.sign(role, md)
        self.write(role, md)

    def validity(self, role: str) -> timedelta:
        return timedelta(days=expiry_days(self.expiry, role))

    def sign(self, role: str, md: Metadata[Any]) -> None:
        signers = self.signers.get(role) or []
        if not signers:
            raise RepositoryError(f"no {role} key was given: cannot sign {role} metadata")
        md.signatures.clear()
        for signer in signers:
            md.sign(signer, append=True)

    def write(self, role: str, md: Metadata[Any]) -> bytes:
        data = md.to_bytes()
        name = "timestamp.json" if role == Timestamp.type else f"{md.signed.version}.{role}.json"
        atomic_write(self.dir / name, data)
        if role in (Targets.type, Snapshot.type, PUBLISHERS):
            self._prune(role)
        return data

    def _prune(self, role: str) -> None:
        for version in self.versions(role)[:-KEEP_VERSIONS]:
            (self.dir / f"{version}.{role}.json").unlink(missing_ok=True)

    def _metafile(self, role: str) -> MetaFile:
        path = self.path_of(role)
        if path is None:
            raise RepositoryError(f"no {role} metadata in {self.dir}")
        data = path.read_bytes()
        version = Metadata.from_bytes(data).signed.version
        return MetaFile(
            version=version,
            length=len(data),
            hashes={"sha256": hashlib.sha256(data).hexdigest()},
        )

    @property
    def targets_infos(self) -> dict[str, MetaFile]:
        infos = {"targets.json": self._metafile(Targets.type)}
        if self.path_of(PUBLISHERS) is not None:
            infos[f"{PUBLISHERS}.json"] = self._metafile(PUBLISHERS)
        return infos

    @property
    def snapshot_info(self) -> MetaFile:
        return self._metafile(Snapshot.type)

    # --- reading -------------------------------------------------------------
    def root_bytes(self) -> bytes:
        path = self.path_of(Root.type)
        if path is None:
            raise RepositoryError(f"{self.dir} holds no TUF root: run `bgk server init`")
        return path.read_bytes()

    def publish_metadata(self, *, force: bool = False) -> None:
        """Snapshot then timestamp (new versions when targets changed or `force`)."""
        self.do_snapshot(force=force)
        self.do_timestamp(force=force)


def _blank(role: str, now: datetime) -> Signed:
    if role == Root.type:
        return Root(expires=now)
    if role in (Targets.type, PUBLISHERS):
        return Targets(expires=now)
    if role == Snapshot.type:
        return Snapshot(expires=now)
    if role == Timestamp.type:
        return Timestamp(expires=now)
    raise RepositoryError(f"unknown TUF role {role!r}")


def create_repository(repo: TufRepository, keys: Mapping[str, Signer]) -> None:
    """Write root v1 (one key per role, threshold 1, consistent snapshots), then
    empty targets, snapshot and timestamp."""
    if repo.exists():
        raise RepositoryError(f"{repo.dir} already holds a TUF repository")
    repo.dir.mkdir(parents=True, exist_ok=True)
    root = Root(expires=repo.now(), consistent_snapshot=True)
    for role, signer in keys.items():
        root.add_key(signer.public_key, role)
    md = Metadata(root)
    repo.close(Root.type, md)
    with repo.edit_targets():
        pass
    repo.publish_metadata(force=True)
