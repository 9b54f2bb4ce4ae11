"""Signing events: a pack version built on the server from a source snapshot,
waiting for the publishers' signatures (tuf-on-ci's signing events).

    create_signing_event(config, pack_source_dir, to, requested_by, now)
        freezes the sources (a deterministic tar), builds the pack from them,
        and proposes the next `publishers` metadata with the new target: its
        exact bytes are what every publisher signs.
    add_signature(config, event_id, keyid, sig, by, now)
        checks the signature with python-tuf against the delegated keys of the
        current top-level targets: a key that is not a publisher's, a signature
        on other bytes, or a second signature by the same key is refused. At
        the threshold the server publishes: blobs, manifest, publishers
        metadata with the signatures, snapshot, timestamp (online keys).

    DATA/signing/<id>/event.json        state (open, published, stale) and signatures
    DATA/signing/<id>/source.tar        the frozen sources (what `bgk sign` rebuilds)
    DATA/signing/<id>/settings.toml     [publisher] and [site] the build used
    DATA/signing/<id>/publishers.json   the proposed metadata, unsigned
    DATA/signing/<id>/built/            the server's build (manifest + blobs)

The interface the web workspace's reviews can call is create_signing_event:
an approved review passes its source folder, audience and approvers.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import shutil
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from securesystemslib.exceptions import UnverifiedSignatureError
from securesystemslib.signer import Signature
from tuf.api.metadata import Metadata, TargetFile, Targets

from kiosk.common.files import atomic_write
from kiosk.protocol.delivery import PackOffer, target_path
from kiosk.protocol.errors import UsageError
from kiosk.protocol.pack import parse_manifest
from server.config import ServerConfig
from server.errors import RequestWrong
from server.packs.delegation import delegated, published_offers, publishers_targets
from server.packs.errors import PackError
from server.packs.fileio import locked
from server.packs.publish import (
    PublishRefused,
    check_audience,
    copy_blobs,
    pack_custom,
    read_built_pack,
    target_file_path,
)
from server.packs.repo import PUBLISHERS, TufRepository, iso
from server.packs.signing import open_repository

EVENTS_DIR: Final = "signing"
#: in the events folder: the lowest publishers version the next event may propose
#: (written by `bgk server restore`: kiosks may trust versions the backup never saw)
FLOOR_FILE: Final = "publishers-floor.json"
#: validity of the publishers metadata the publishers sign
PUBLISHERS_DAYS: Final = 365


class SigningEventError(PackError, RequestWrong):
    """An event that does not exist, is closed, or a signature that does not count."""


@dataclass
class SigningEvent:
    id: str
    pack: str
    version: int
    to: tuple[str, ...]
    edition: str
    created_at: float
    requested_by: str
    approved_by: tuple[str, ...]
    base_version: int
    target: str
    manifest_sha256: str
    manifest_length: int
    state: str = "open"
    #: key id -> {"sig", "name", "by", "at"}
    signatures: dict[str, dict[str, Any]] = field(default_factory=dict)
    published_at: float | None = None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "pack": self.pack, "version": self.version, "to": list(self.to),
            "edition": self.edition, "created_at": self.created_at,
            "requested_by": self.requested_by, "approved_by": list(self.approved_by),
            "base_version": self.base_version, "target": self.target,
            "manifest_sha256": self.manifest_sha256, "manifest_length": self.manifest_length,
            "state": self.state, "signatures": self.signatures,
            "published_at": self.published_at, "reason": self.reason,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SigningEvent:
        return cls(
            d["id"], d["pack"], int(d["version"]), tuple(d["to"]), d["edition"],
            float(d["created_at"]), d["requested_by"], tuple(d.get("approved_by", ())),
            int(d["base_version"]), d["target"], d["manifest_sha256"], int(d["manifest_length"]),
            d.get("state", "open"), dict(d.get("signatures", {})), d.get("published_at"),
            d.get("reason", ""),
        )  # fmt: skip


@dataclass(frozen=True)
class SignatureResult:
    event: SigningEvent
    threshold: int
    signed_by: tuple[str, ...]
    published: bool


def events_dir(config: ServerConfig) -> Path:
    return config.data / EVENTS_DIR


def event_dir(config: ServerConfig, event_id: str) -> Path:
    if not event_id.replace("-", "").isalnum() or len(event_id) > 100:
        raise SigningEventError(f"{event_id!r} is not a signing event id")
    return events_dir(config) / event_id


def load_event(config: ServerConfig, event_id: str) -> SigningEvent:
    path = event_dir(config, event_id) / "event.json"
    try:
        return SigningEvent.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise SigningEventError(
            f"no signing event {event_id!r}: `bgk server signing list` shows them"
        ) from None


def save_event(config: ServerConfig, event: SigningEvent) -> None:
    text = json.dumps(event.as_dict(), indent=1, ensure_ascii=False) + "\n"
    atomic_write(event_dir(config, event.id) / "event.json", text.encode("utf-8"))


def list_events(config: ServerConfig) -> list[SigningEvent]:
    out = []
    for path in sorted(events_dir(config).glob("*/event.json")):
        try:
            out.append(SigningEvent.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, KeyError):
            continue
    return sorted(out, key=lambda e: e.created_at, reverse=True)


def source_tar(src: Path) -> bytes:
    """The pack's source folder as a deterministic tar (sorted, no times, no owners)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(p for p in src.rglob("*") if not p.name.startswith(".")):
            rel = path.relative_to(src).as_posix()
            if path.is_symlink():
                raise UsageError(f"{path}: a pack source holds no symbolic links")
            info = tarfile.TarInfo(rel)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if path.is_dir():
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif path.is_file():
                data = path.read_bytes()
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def extract_source(data: bytes, dest: Path) -> Path:
    """Unpack a source tar safely (regular files and folders only, inside `dest`)."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for member in tar.getmembers():
            if not (member.isfile() or member.isdir()):
                raise SigningEventError(f"the source snapshot holds {member.name!r}: not a file")
        tar.extractall(dest, filter="data")
    return dest


def publishers_floor(config: ServerConfig) -> int:
    path = events_dir(config) / FLOOR_FILE
    return int(json.loads(path.read_text(encoding="utf-8"))["publishers"]) if path.exists() else 0


def _next_publishers(
    repo: TufRepository, offer: PackOffer, manifest_bytes: bytes, now: datetime, floor: int = 0
) -> tuple[bytes, int]:
    """The proposed publishers metadata (unsigned bytes) and the version it replaces."""
    current = publishers_targets(repo)
    base = current.version if current is not None else 0
    version = max(base + 1, floor)
    targets = Targets(version=version, expires=now + timedelta(days=PUBLISHERS_DAYS))
    if current is not None:
        targets.targets = dict(current.targets)
    for path, entry in list(targets.targets.items()):
        old = PackOffer.from_target(path, 0, entry.hashes, entry.unrecognized_fields.get("custom"))
        covered = old is not None and ("all" in offer.to or set(old.to) <= set(offer.to))
        if old is not None and covered and old.pack == offer.pack and old.version < offer.version:
            del targets.targets[path]
    manifest = parse_manifest(manifest_bytes)
    targets.targets[offer.path] = TargetFile(
        length=len(manifest_bytes),
        hashes={"sha256": offer.sha256},
        path=offer.path,
        unrecognized_fields={"custom": pack_custom(offer, manifest)},
    )
    targets.expires = targets.expires.replace(microsecond=0)
    return Metadata(targets).to_bytes(), base


def create_signing_event(
    config: ServerConfig,
    pack_source_dir: Path,
    to: Sequence[str],
    requested_by: str,
    now: Callable[[], datetime],
    *,
    version: int | None = None,
    approved_by: Sequence[str] = (),
    font_cache: Path | None = None,
    event_id: str | None = None,
    edition: date | None = None,
) -> SigningEvent:
    """Freeze the sources, build, and propose the publishers metadata to sign. A review
    (server/workspace/review_decide.py) names its event and passes the edition day its
    own build used, so that this build is byte for byte the one that was reviewed."""
    from server.packs.build import build_pack
    from server.publisher import load_settings, publisher_tables

    audience = check_audience(to)
    repo = open_repository(config, now=now)
    if delegated(repo) is None:
        raise PublishRefused(
            "targets does not delegate the packs to publishers yet: hold the ceremony first "
            "(`bgk server delegate`, deploy/tuf-keys.md)"
        )
    when = now()
    edition = edition or when.astimezone(_vietnam()).date()
    event_id = event_id or f"{pack_source_dir.name}-{secrets.token_hex(4)}"
    folder = event_dir(config, event_id)
    folder.mkdir(parents=True)
    try:
        frozen = source_tar(pack_source_dir)
        atomic_write(folder / "source.tar", frozen)
        settings_text = publisher_tables(config.publisher, config.site_url)
        atomic_write(folder / "settings.toml", settings_text.encode("utf-8"))
        src = extract_source(frozen, folder / "src")
        build_pack(
            src, folder / "built", version=version, today=edition, edition=edition,
            settings=load_settings(folder / "settings.toml"), font_cache=font_cache,
        )  # fmt: skip
        shutil.rmtree(src)
        data, manifest = read_built_pack(folder / "built")
        with locked(repo.dir / ".lock"):
            offers = published_offers(repo)
            newest = max((p.version for p in offers if p.pack == manifest.id), default=0)
            if manifest.version <= newest:
                raise PublishRefused(
                    f"{manifest.id} version {manifest.version} is not newer than the published "
                    f"version {newest}: build it with --version {newest + 1}"
                )
            sha = hashlib.sha256(data).hexdigest()
            offer = PackOffer(
                path=target_path(manifest.id, manifest.version), pack=manifest.id,
                version=manifest.version, to=audience,
                seq=max((p.seq for p in offers), default=0) + 1, sha256=sha,
                length=len(data), published=iso(when),
            )  # fmt: skip
            proposal, base = _next_publishers(repo, offer, data, when, publishers_floor(config))
        atomic_write(folder / f"{PUBLISHERS}.json", proposal)
        event = SigningEvent(
            event_id, manifest.id, manifest.version, audience, edition.isoformat(),
            when.timestamp(), requested_by, tuple(approved_by), base, offer.path, sha, len(data),
        )  # fmt: skip
        save_event(config, event)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return event


def _vietnam() -> Any:
    from server.packs.today import VIETNAM

    return VIETNAM


def proposal_bytes(config: ServerConfig, event_id: str) -> bytes:
    return (event_dir(config, event_id) / f"{PUBLISHERS}.json").read_bytes()


def add_signature(
    config: ServerConfig,
    event_id: str,
    keyid: str,
    sig: str,
    by: str,
    now: Callable[[], datetime],
) -> SignatureResult:
    """Check one publisher's signature over the proposal; publish at the threshold."""
    repo = open_repository(config, now=now)
    with locked(events_dir(config) / ".lock"):
        event = load_event(config, event_id)
        if event.state != "open":
            raise SigningEventError(f"signing event {event_id} is {event.state}: nothing to sign")
        publishers = delegated(repo)
        if publishers is None:
            raise SigningEventError("targets no longer delegates the packs: nothing to sign")
        current = publishers_targets(repo)
        if (current.version if current else 0) != event.base_version:
            event.state, event.reason = "stale", "another publication came first"
            save_event(config, event)
            raise SigningEventError(
                f"signing event {event_id} is stale: another version was published meanwhile; "
                "create a new signing event"
            )
        if keyid not in publishers.keys:
            raise SigningEventError(
                f"key {keyid[:16]} is not a delegated publisher's key: its signature does not "
                "count (`bgk keys person add` in the offline ceremony adds a publisher)"
            )
        if keyid in event.signatures:
            raise SigningEventError(
                f"{publishers.name_of(keyid)} has already signed this event: a key counts once"
            )
        md: Metadata[Targets] = Metadata.from_bytes(proposal_bytes(config, event_id))
        signature = Signature(keyid, sig)
        try:
            publishers.keys[keyid].verify_signature(signature, md.signed_bytes)
        except UnverifiedSignatureError:
            raise SigningEventError(
                f"the signature of {publishers.name_of(keyid)} does not verify on this event's "
                "metadata (signed other bytes?): refused"
            ) from None
        event.signatures[keyid] = {
            "sig": sig, "name": publishers.name_of(keyid), "by": by, "at": now().timestamp()
        }  # fmt: skip
        counted = [k for k in event.signatures if k in publishers.keys]
        published = len(counted) >= publishers.threshold
        if published:
            for k in counted:
                md.signatures[k] = Signature(k, event.signatures[k]["sig"])
            _publish(config, repo, event, md)
            event.state, event.published_at = "published", now().timestamp()
        save_event(config, event)
    names = tuple(publishers.name_of(k) for k in counted)
    return SignatureResult(event, publishers.threshold, names, published)


def _publish(
    config: ServerConfig, repo: TufRepository, event: SigningEvent, md: Metadata[Targets]
) -> None:
    """Blobs -> manifest -> publishers metadata (with its signatures) -> snapshot -> timestamp."""
    built = event_dir(config, event.id) / "built"
    data, manifest = read_built_pack(built)
    if hashlib.sha256(data).hexdigest() != event.manifest_sha256:
        raise SigningEventError(f"{built}: the manifest changed since the event was made")
    with locked(repo.dir / ".lock"):
        # python-tuf checks the threshold of the delegated keys over the exact bytes
        repo.targets().verify_delegate(PUBLISHERS, md.signed_bytes, md.signatures)
        copy_blobs(built, manifest, config.blob_dir)
        atomic_write(target_file_path(repo.dir, event.target, event.manifest_sha256), data)
        repo.write(PUBLISHERS, md)
        repo.publish_metadata()


def record_event_publication(store: Any, config: ServerConfig, event: SigningEvent) -> None:
    """The publication log (reports) and the audit log, as `bgk server publish` writes them."""
    from server.packs.publications import record_publication
    from server.packs.publish import PublishResult

    repo = open_repository(config)
    offer = next((o for o in published_offers(repo) if o.path == event.target), None)
    if offer is None:
        return
    names = ", ".join(s["name"] for s in event.signatures.values())
    result = PublishResult(offer, False, 0, 0, (), repo.timestamp().version)
    record_publication(store, result, f"signed: {names}")
