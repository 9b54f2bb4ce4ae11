"""`bgk server publish`: a built pack becomes a signed TUF target.

The pack's manifest is the target (path `packs/<id>/<version>.manifest.json`,
custom fields: pack id, version, audience, publish sequence); its blobs go to
the content-addressed store DATA/blobs/sha256/ (verified while copied).
Order: blobs -> manifest -> targets -> snapshot -> timestamp, each atomic.

Rules:
* a version not higher than the published one of the same pack is refused,
  except the very same manifest again, which widens its audience;
* an older version whose audience the new one covers is dropped from targets
  (its kiosks will take the new one).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tuf.api.metadata import TargetFile

from kiosk.common.files import atomic_write, fsync_dir
from kiosk.protocol.delivery import AUDIENCE_ALL, PackOffer, target_path
from kiosk.protocol.errors import ProtocolError, UsageError
from kiosk.protocol.pack import BLOB_DIR, MANIFEST_NAME, Manifest, parse_manifest
from server.errors import RequestWrong
from server.packs.delegation import delegated, published_offers
from server.packs.errors import PackError
from server.packs.fileio import copy_verified, locked
from server.packs.repo import TufRepository, iso

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class PublishRefused(PackError, RequestWrong):
    """The publication would break a rule (older version, bad audience, bad pack)."""


@dataclass(frozen=True)
class PublishResult:
    pack: PackOffer
    widened: bool
    blobs_copied: int
    bytes_copied: int
    dropped: tuple[str, ...]
    timestamp_version: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "pack": self.pack.pack,
            "version": self.pack.version,
            "to": list(self.pack.to),
            "target": self.pack.path,
            "widened": self.widened,
            "blobs_copied": self.blobs_copied,
            "bytes_copied": self.bytes_copied,
            "dropped": list(self.dropped),
            "timestamp_version": self.timestamp_version,
        }


def check_audience(to: Iterable[str]) -> tuple[str, ...]:
    names = sorted({t.strip() for item in to for t in item.split(",") if t.strip()})
    if not names:
        raise UsageError("--to needs a gate, a group or 'all'")
    for name in names:
        if not _NAME.match(name):
            raise UsageError(
                f"--to {name!r}: use a gate or group name (lowercase, digits, -) or 'all'"
            )
    return (AUDIENCE_ALL,) if AUDIENCE_ALL in names else tuple(names)


def target_file_path(tuf_dir: Path, path: str, sha256: str) -> Path:
    """Where a target is stored for consistent snapshots: `<sha256>.<basename>`."""
    folder, _, base = path.rpartition("/")
    return tuf_dir / "targets" / folder / f"{sha256}.{base}"


def read_built_pack(pack_dir: Path) -> tuple[bytes, Manifest]:
    try:
        data = (pack_dir / MANIFEST_NAME).read_bytes()
    except FileNotFoundError:
        raise PublishRefused(
            f"{pack_dir} is not a built pack (no {MANIFEST_NAME}): build it with `bgk pack build`"
        ) from None
    try:
        return data, parse_manifest(data)
    except ProtocolError as exc:
        raise PublishRefused(f"{pack_dir}: {exc}") from None


def copy_blobs(pack_dir: Path, manifest: Manifest, blob_dir: Path) -> tuple[int, int]:
    """Copy the pack's blobs into the store, verified; returns (count, bytes) copied."""
    blob_dir.mkdir(parents=True, exist_ok=True)
    copied = size = 0
    seen: set[str] = set()
    for entry in manifest.files:
        if entry.sha256 in seen:
            continue
        seen.add(entry.sha256)
        dest = blob_dir / entry.sha256
        if dest.is_file() and dest.stat().st_size == entry.length:
            continue  # the store holds only verified blobs, named by their hash
        src = pack_dir / BLOB_DIR / entry.sha256
        if not src.is_file():
            src = pack_dir / entry.path
        if not src.is_file():
            raise PublishRefused(f"{pack_dir}: file {entry.path} is missing: rebuild the pack")
        copy_verified(src, dest, entry.sha256, entry.length)
        copied += 1
        size += entry.length
    fsync_dir(blob_dir)
    return copied, size


def publish_pack(
    repo: TufRepository,
    blob_dir: Path,
    pack_dir: Path,
    to: Iterable[str],
    now: Callable[[], datetime],
) -> PublishResult:
    audience = check_audience(to)
    data, manifest = read_built_pack(pack_dir)
    sha = hashlib.sha256(data).hexdigest()
    with locked(repo.dir / ".lock"):
        if delegated(repo) is not None:
            raise PublishRefused(
                "this server publishes packs only with the publishers' signatures (two-person "
                "publishing): create a signing event (`bgk server signing create`) and have the "
                "publishers run `bgk sign`"
            )
        current = published_offers(repo)
        same = [p for p in current if p.pack == manifest.id]
        newest = max(same, key=lambda p: p.version, default=None)
        widened = False
        if newest is not None and manifest.version <= newest.version:
            if manifest.version == newest.version and sha == newest.sha256:
                widened = True
                audience = _union(newest.to, audience)
                if audience == newest.to:
                    raise PublishRefused(
                        f"{manifest.id} version {manifest.version} is already published to "
                        f"{', '.join(newest.to)}: to publish new content, build a higher version "
                        f"(--version {newest.version + 1})"
                    )
            elif manifest.version == newest.version:
                raise PublishRefused(
                    f"{manifest.id} version {manifest.version} is already published with other "
                    f"content: build it with a higher version (--version {newest.version + 1})"
                )
            else:
                raise PublishRefused(
                    f"{manifest.id} version {manifest.version} is older than the published "
                    f"version {newest.version}: build it with --version {newest.version + 1}"
                )
        copied, size = copy_blobs(pack_dir, manifest, blob_dir)
        path = target_path(manifest.id, manifest.version)
        atomic_write(target_file_path(repo.dir, path, sha), data)
        seq = max((p.seq for p in current), default=0) + 1
        entry = PackOffer(
            path=path,
            pack=manifest.id,
            version=manifest.version,
            to=audience,
            seq=seq,
            sha256=sha,
            length=len(data),
            published=iso(now()),
        )
        dropped = tuple(
            p.path for p in same if p.version < manifest.version and _covers(audience, p.to)
        )
        with repo.edit_targets() as targets:
            for old in dropped:
                del targets.targets[old]
            targets.targets[path] = TargetFile(
                length=len(data),
                hashes={"sha256": sha},
                path=path,
                unrecognized_fields={"custom": pack_custom(entry, manifest)},
            )
        repo.publish_metadata()
        timestamp_version = repo.timestamp().version
    return PublishResult(entry, widened, copied, size, dropped, timestamp_version)


def pack_custom(entry: PackOffer, manifest: Manifest) -> dict[str, Any]:
    return {
        "pack": entry.pack,
        "version": entry.version,
        "to": list(entry.to),
        "seq": entry.seq,
        "published": entry.published,
        "files": len(manifest.files),
        "bytes": manifest.total_bytes,
    }


def _union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return check_audience(a + b)


def _covers(new: tuple[str, ...], old: tuple[str, ...]) -> bool:
    return AUDIENCE_ALL in new or set(old) <= set(new)


def published_page_titles(repo: TufRepository) -> dict[str, dict[str, str]]:
    """Page id -> title per language, from the manifests of the published packs
    (the newest publication wins where two packs share a page id): the labels
    of the reports' "most viewed pages"."""
    titles: dict[str, dict[str, str]] = {}
    for offer in reversed(published_offers(repo)):
        try:
            data = target_file_path(repo.dir, offer.path, offer.sha256).read_bytes()
            manifest = parse_manifest(data)
        except (OSError, ProtocolError):
            continue
        for page in manifest.pages:
            titles.setdefault(page.id, dict(page.title))
    return titles
