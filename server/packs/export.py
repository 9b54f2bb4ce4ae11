"""`bgk server export PACK -o DIR`: a signed pack on a USB stick, for a gate
without a network link. The kiosk imports it (`bgk kiosk import DIR`) with
exactly the checks of an online sync: the folder holds the TUF metadata
(every root version, timestamp, snapshot, targets), the pack's manifest and
its blobs, laid out like the server's URLs:

    DIR/export.json             what is on the stick (for people; kiosks trust only TUF)
    DIR/tuf/...                 as served at /tuf/
    DIR/blobs/sha256/<hex>      as served at /blobs/sha256/

The timestamp normally expires after a day; a stick may travel for longer,
so export re-signs snapshot and timestamp valid for `valid_days`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tuf.api.metadata import Metadata, Snapshot, Timestamp

from kiosk.protocol.delivery import PackOffer
from kiosk.protocol.errors import UsageError
from kiosk.protocol.pack import BLOB_DIR, parse_manifest
from server.config import ServerConfig
from server.packs.fileio import locked
from server.packs.publish import PublishRefused, published_packs, target_file_path
from server.packs.repo import iso
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
    days = timedelta(days=valid_days)
    repo = open_repository(config, now=now, valid_for={Snapshot.type: days, Timestamp.type: days})
    src = config.tuf_dir
    with locked(src / ".lock"):
        repo.publish_metadata(force=True)
        candidates = [p for p in published_packs(repo.targets()) if p.pack == pack]
        if not candidates:
            raise PublishRefused(f"pack {pack!r} is not published: publish it first")
        chosen = max(candidates, key=lambda p: p.version)
        timestamp = Metadata[Timestamp].from_bytes((src / "timestamp.json").read_bytes())
        snap_version = timestamp.signed.snapshot_meta.version
        snapshot = Metadata[Snapshot].from_bytes(
            (src / f"{snap_version}.snapshot.json").read_bytes()
        )
        targets_version = snapshot.signed.meta["targets.json"].version
        manifest_src = target_file_path(src, chosen.path, chosen.sha256)
        manifest = parse_manifest(manifest_src.read_bytes())
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            tuf_out = tmp / "tuf"
            tuf_out.mkdir()
            for version in repo.versions("root"):
                shutil.copy2(src / f"{version}.root.json", tuf_out)
            for name in (
                "timestamp.json",
                f"{snap_version}.snapshot.json",
                f"{targets_version}.targets.json",
            ):
                shutil.copy2(src / name, tuf_out / name)
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
                "expires": iso(timestamp.signed.expires),
            }
            (tmp / EXPORT_INFO).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
            os.chmod(tmp, 0o755)
            if out.exists():
                shutil.rmtree(out)
            os.replace(tmp, out)
        except BaseException:
            with contextlib.suppress(OSError):
                shutil.rmtree(tmp)
            raise
    return ExportResult(
        out, chosen, len(manifest.files), manifest.total_bytes, timestamp.signed.expires
    )
