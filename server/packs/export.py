"""`bgk server export PACK -o DIR`: a signed pack on a USB stick, for a gate
without a network link. The kiosk imports it (`bgk kiosk import DIR`) with
exactly the checks of an online sync: the folder holds the TUF metadata
(every root version, timestamp, snapshot, targets), the pack's manifest and
its blobs, laid out like the server's URLs:

    DIR/export.json             what is on the stick (for people; kiosks trust only TUF)
    DIR/tuf/...                 as served at /tuf/
    DIR/blobs/sha256/<hex>      as served at /blobs/sha256/

The server's timestamp expires after a day (freeze protection for networked
kiosks); a stick may travel for longer. So the stick gets its own snapshot
and timestamp, valid for `valid_days`, and they never enter the served
repository: what networked kiosks accept does not change. The stick's
timestamp carries the signed EXPORT_FIELD (kiosks accept it only from a
stick, never over the network) and the versions just above the served
ones; the served snapshot and timestamp are then re-signed (with their usual
validity) above the stick's, so a kiosk that imported the stick goes on
syncing with the server, and a stick older than what a kiosk trusts is
refused as a rollback.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tuf.api.metadata import Metadata, MetaFile, Snapshot, Targets, Timestamp

from kiosk.protocol.delivery import EXPORT_FIELD, ISSUED_FIELD, PackOffer
from kiosk.protocol.errors import UsageError
from kiosk.protocol.pack import BLOB_DIR, parse_manifest
from server.config import ServerConfig
from server.packs.delegation import published_offers
from server.packs.fileio import locked
from server.packs.publish import PublishRefused, target_file_path
from server.packs.repo import PUBLISHERS, TufRepository, iso
from server.packs.signing import open_repository

EXPORT_INFO = "export.json"


@dataclass(frozen=True)
class ExportResult:
    out: Path
    pack: PackOffer
    files: int
    bytes: int
    expires: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "out": str(self.out),
            "pack": self.pack.pack,
            "version": self.pack.version,
            "to": list(self.pack.to),
            "files": self.files,
            "bytes": self.bytes,
            "expires": iso(self.expires),
        }


def export_pack(
    config: ServerConfig,
    pack: str,
    out: Path,
    now: Callable[[], datetime],
    *,
    valid_days: int = 7,
) -> ExportResult:
    if not 1 <= valid_days <= 365:
        raise UsageError("--valid-days must be between 1 and 365")
    if out.exists() and not (out / EXPORT_INFO).is_file() and any(out.iterdir()):
        raise UsageError(f"{out} is not empty: export into a new or empty folder")
    repo = open_repository(config, now=now)
    src = config.tuf_dir
    with locked(src / ".lock"):
        repo.publish_metadata()  # the served snapshot lists the newest targets
        candidates = [p for p in published_offers(repo) if p.pack == pack]
        if not candidates:
            raise PublishRefused(f"pack {pack!r} is not published: publish it first")
        chosen = max(candidates, key=lambda p: p.version)
        stick = stick_metadata(repo, now(), timedelta(days=valid_days))
        targets_version = stick.snapshot.signed.meta["targets.json"].version
        targets = Metadata[Targets].from_bytes(
            (src / f"{targets_version}.targets.json").read_bytes()
        )
        expires = min(stick.timestamp.signed.expires, targets.signed.expires)
        manifest_src = target_file_path(src, chosen.path, chosen.sha256)
        manifest = parse_manifest(manifest_src.read_bytes())
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            tuf_out = tmp / "tuf"
            tuf_out.mkdir()
            for version in repo.versions("root"):
                shutil.copy2(src / f"{version}.root.json", tuf_out)
            shutil.copy2(src / f"{targets_version}.targets.json", tuf_out)
            delegated_meta = stick.snapshot.signed.meta.get(f"{PUBLISHERS}.json")
            if delegated_meta is not None:  # the packs the publishers signed
                shutil.copy2(src / f"{delegated_meta.version}.{PUBLISHERS}.json", tuf_out)
            (tuf_out / f"{stick.snapshot.signed.version}.snapshot.json").write_bytes(
                stick.snapshot_bytes
            )
            (tuf_out / "timestamp.json").write_bytes(stick.timestamp.to_bytes())
            dest = target_file_path(tuf_out, chosen.path, chosen.sha256)
            dest.parent.mkdir(parents=True)
            shutil.copy2(manifest_src, dest)
            blobs = tmp / BLOB_DIR
            blobs.mkdir(parents=True)
            for digest in sorted({f.sha256 for f in manifest.files}):
                shutil.copy2(config.blob_dir / digest, blobs / digest)
            info = {
                "pack": chosen.pack,
                "version": chosen.version,
                "to": list(chosen.to),
                "made": iso(now()),
                "expires": iso(expires),
            }
            (tmp / EXPORT_INFO).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
            os.chmod(tmp, 0o755)
            # the served metadata moves above the stick's versions (its validity unchanged)
            repo.used_versions = {
                Snapshot.type: stick.snapshot.signed.version,
                Timestamp.type: stick.timestamp.signed.version,
            }
            repo.publish_metadata(force=True)
            if out.exists():
                shutil.rmtree(out)
            os.replace(tmp, out)
        except BaseException:
            with contextlib.suppress(OSError):
                shutil.rmtree(tmp)
            raise
    return ExportResult(out, chosen, len(manifest.files), manifest.total_bytes, expires)


@dataclass(frozen=True)
class StickMetadata:
    snapshot: Metadata[Snapshot]
    #: the snapshot as signed (its hash is in the timestamp)
    snapshot_bytes: bytes
    timestamp: Metadata[Timestamp]


def stick_metadata(repo: TufRepository, made: datetime, valid: timedelta) -> StickMetadata:
    """Snapshot and timestamp for a stick: the served ones' content, one version
    above them, valid for `valid`, the timestamp marked as an export. Nothing is
    written to the served repository."""
    expires = (made + valid).replace(microsecond=0)
    snapshot = repo.open(Snapshot.type)
    snapshot.signed.version += 1
    snapshot.signed.expires = expires
    repo.sign(Snapshot.type, snapshot)
    data = snapshot.to_bytes()
    served = repo.open(Timestamp.type).signed
    timestamp = Metadata(
        Timestamp(
            version=served.version + 1,
            expires=expires,
            snapshot_meta=MetaFile(
                version=snapshot.signed.version,
                length=len(data),
                hashes={"sha256": hashlib.sha256(data).hexdigest()},
            ),
        )
    )
    timestamp.signed.unrecognized_fields[ISSUED_FIELD] = iso(made)
    timestamp.signed.unrecognized_fields[EXPORT_FIELD] = iso(made)
    repo.sign(Timestamp.type, timestamp)
    return StickMetadata(snapshot, data, timestamp)
