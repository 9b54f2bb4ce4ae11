"""`bgk server restore`: a backup back into an empty data folder, safely.

1. The archive is read once, into a staging folder inside DATA, every file
   checked against the SHA-256 and length in backup.json; only plain files
   under bgk-backup/ are taken (no links, no absolute or `..` paths). A
   damaged or truncated backup changes nothing.
2. The TUF subtlety. Kiosks keep the newest metadata versions they have seen
   and refuse anything lower (rollback protection). Since the backup, the
   running server re-signed its timestamp (twice a day) and snapshot, and
   publications raised targets: the backup's versions are lower than what
   kiosks trust. So the restore signs targets, snapshot and timestamp again
   with versions VERSION_JUMP above the backup's: more than a server signs in
   centuries. Targets is signed with the offline targets key (`--keys`, or
   server.toml's [tuf] offline_keys): without it the restore refuses, unless
   `--keep-targets` says nothing was published after the backup. The key
   must be one the backup's root trusts (a key rotated after the backup is
   refused: restore a newer backup).
3. The store is loaded (SQLite file or pg_restore into the empty database),
   migrated to this version's schema, the data folder closed to others
   (server/ops/datamodes.py), and the broker's kiosk list rewritten from the
   restored registry when [mqtt] broker_dir is set.

4. Two-person publishing: `N.publishers.json` carries the publishers'
   signatures, so the server cannot sign it again. Kiosks that saw a later
   publishers version refuse the restored metadata (rollback) and keep playing
   until the publishers sign the next version: the restore makes the next
   signing event propose a version VERSION_JUMP above the backup's
   (`signing/publishers-floor.json`) and marks events the backup held open
   stale (their proposals carry the old numbers).

Packs published after the backup are not in it: kiosks that installed them
keep playing them (and say "older version offered" until they are published
again, with their version or a higher one).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from tuf.api.metadata import Metadata, Root, Snapshot, Targets, Timestamp

from kiosk.common.files import atomic_write
from kiosk.protocol.errors import BgkError, UsageError
from server.config import SERVER_TOML, ServerConfig, load_server_config
from server.ops.backup import MANIFEST, NAME, TOP, Manifest
from server.ops.datamodes import secure_data_dir
from server.ops.storecopy import load_store, store_is_empty
from server.packs.fileio import locked
from server.packs.keys import load_key
from server.packs.repo import TufRepository
from server.packs.signing import utcnow

#: how far past the backup's versions a restore signs (a timestamp twice a day and a
#: publication a minute for a century stay below it)
VERSION_JUMP = 1_000_000
CHUNK = 1024 * 1024
STAGING = ".restore"


@dataclass(frozen=True)
class RestoreResult:
    data: Path
    source: str
    manifest: Manifest
    #: role -> (version in the backup, version now)
    versions: dict[str, tuple[int, int]]
    broker: str | None
    #: two-person publishing: (publishers version in the backup, the next event's floor)
    publishers: tuple[int, int] | None = None
    #: signing events the backup held open, now stale
    stale_events: tuple[str, ...] = ()


def newest_backup(folder: Path) -> Path:
    dated = sorted(p for p in folder.iterdir() if NAME.match(p.name))
    if not dated:
        raise UsageError(f"no bgk-backup-*.tar in {folder}")
    return dated[-1]


def _open(source: str) -> tuple[IO[bytes], str]:
    if source == "-":
        return sys.stdin.buffer, "stdin"
    path = Path(source)
    if path.is_dir():
        path = newest_backup(path)
    try:
        return path.open("rb"), str(path)
    except OSError as exc:
        raise UsageError(f"cannot read the backup {path}: {exc}") from None


def _check_empty(data: Path) -> None:
    if data.exists() and any(p.name != STAGING for p in data.iterdir()):
        raise UsageError(
            f"{data} is not empty: restore into an empty data folder (move this one aside "
            f"first, e.g. `sudo mv {data} {data}.old`, and make a new one as the installer does)"
        )
    try:
        data.mkdir(parents=True, exist_ok=True)
    except PermissionError:
        raise UsageError(
            f"cannot create {data}: make it first (`sudo install -d -o bgk -g www-data -m 0750 "
            f"{data}`) or let `deploy/server/install.sh --restore` do it"
        ) from None


def _member_path(staging: Path, name: str) -> Path:
    if not name.startswith(f"{TOP}/") or name == MANIFEST:
        raise UsageError(f"the backup holds {name!r}, which is not a bgk backup file")
    rel = Path(name[len(TOP) + 1 :])
    if rel.is_absolute() or ".." in rel.parts:
        raise UsageError(f"the backup holds an unsafe path {name!r}: refused")
    return staging / rel


def _extract(stream: IO[bytes], staging: Path) -> Manifest:
    """Every file into `staging`, checked against backup.json (the last member)."""
    seen: dict[str, tuple[str, int]] = {}
    manifest: Manifest | None = None
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            for info in tar:
                if info.isdir():
                    continue
                if not info.isfile():
                    raise UsageError(f"the backup holds {info.name!r}, not a plain file: refused")
                reader = tar.extractfile(info)
                assert reader is not None
                if info.name == MANIFEST:
                    manifest = Manifest.parse(reader.read())
                    continue
                target = _member_path(staging, info.name)
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                size = 0
                with target.open("wb") as out:
                    while chunk := reader.read(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                os.chmod(target, info.mode & 0o755)
                seen[info.name] = (digest.hexdigest(), size)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise UsageError(f"the backup cannot be read (damaged or cut short?): {exc}") from None
    if manifest is None:
        raise UsageError("the backup has no backup.json at its end: it was cut short")
    for name, entry in manifest.files.items():
        if seen.get(name) != (entry.get("sha256"), entry.get("length")):
            raise UsageError(f"the backup's {name} is missing or damaged: use another backup")
    extra = set(seen) - set(manifest.files)
    if extra:
        raise UsageError(
            f"the backup holds files its backup.json does not list: {sorted(extra)[:3]}"
        )
    return manifest


def _targets_key_check(staged_tuf: Path, keys_dir: Path) -> None:
    """The offline targets key must be one the backup's newest root trusts."""
    signer = load_key(keys_dir, Targets.type)
    roots = sorted(staged_tuf.glob("*.root.json"), key=lambda p: int(p.name.split(".")[0]))
    root = Metadata[Root].from_bytes(roots[-1].read_bytes()).signed
    if signer.public_key.keyid not in root.roles[Targets.type].keyids:
        raise UsageError(
            f"the targets key in {keys_dir} is not the one this backup's root (version "
            f"{root.version}) trusts: the key was rotated after the backup; restore a backup "
            "taken after the rotation"
        )


def restore_server(
    source: str,
    data: Path,
    *,
    keys: Path | None = None,
    keep_targets: bool = False,
    now: Callable[[], datetime] = utcnow,
) -> RestoreResult:
    data = data.absolute()
    _check_empty(data)
    staging = data / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    stream, name = _open(source)
    try:
        with contextlib.closing(stream) if source != "-" else contextlib.nullcontext():
            manifest = _extract(stream, staging)
        staged = staging / "data"
        if not (staged / SERVER_TOML).exists():
            raise UsageError("the backup holds no server.toml: it is not a server backup")
        staged_config = load_server_config(staged)
        keys_dir = keys or staged_config.tuf.offline_keys
        if not keep_targets:
            if keys_dir is None or not (keys_dir / "targets.pem").exists():
                raise UsageError(
                    "the offline targets key is needed to sign targets past the versions kiosks "
                    "already trust: pass --keys with the offline keys folder, or --keep-targets "
                    f"if no pack was published after the backup ({manifest.created})"
                )
            _targets_key_check(staged / "tuf", keys_dir)
        store_member = next(n for n in manifest.files if n.startswith(f"{TOP}/store/"))
        # the store URL as it will be once the files are in DATA (the default SQLite
        # file lives in the data folder itself)
        url = staged_config.store_url.replace(str(staged.resolve()), str(data.resolve()))
        if not store_is_empty(url):
            raise UsageError(f"the store {url} is not empty: restore into an empty one")
        moved: list[Path] = []
        try:
            for entry in sorted(staged.iterdir()):
                os.replace(entry, data / entry.name)
                moved.append(data / entry.name)
            config = load_server_config(data)
            store_file = staging / store_member[len(TOP) + 1 :]
            load_store(config.store_url, store_member[len(TOP) + 1 :], store_file)
        except BaseException:  # DATA was empty: leave it so
            for path in moved:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    from server.store import open_store

    open_store(config.store_url).dispose()  # this version's schema
    versions = _jump_versions(config, None if keep_targets else keys_dir, now)
    publishers, stale = _publishers_after_restore(config, now)
    for private in (config.keys_dir, config.data / "mqtt"):  # as `bgk server init` made them
        if private.is_dir():
            os.chmod(private, 0o700)
    secure_data_dir(data)
    return RestoreResult(data, name, manifest, versions, _rewrite_broker(config), publishers, stale)


def _publishers_after_restore(
    config: ServerConfig, now: Callable[[], datetime]
) -> tuple[tuple[int, int] | None, tuple[str, ...]]:
    """Two-person publishing: the server cannot re-sign `publishers` (the publishers'
    signatures), and kiosks may trust a version above the backup's. The next signing
    event proposes a version VERSION_JUMP above it; events the backup held open were
    made against the old version: they become stale."""
    from server.packs import signing_events as events
    from server.packs.repo import PUBLISHERS

    stale = []
    for event in events.list_events(config) if events.events_dir(config).is_dir() else []:
        if event.state == "open":
            event.state = "stale"
            event.reason = "restored from a backup: create a new signing event"
            events.save_event(config, event)
            stale.append(event.id)
    versions = TufRepository(config.tuf_dir, config.tuf, {}, now).versions(PUBLISHERS)
    if not versions:
        return None, tuple(stale)
    floor = max(versions[-1] + VERSION_JUMP, events.publishers_floor(config))
    events.events_dir(config).mkdir(parents=True, exist_ok=True)
    body = {"publishers": floor, "backup_version": versions[-1]}
    atomic_write(events.events_dir(config) / events.FLOOR_FILE, json.dumps(body).encode("utf-8"))
    return (versions[-1], floor), tuple(stale)


def _jump_versions(
    config: ServerConfig, keys_dir: Path | None, now: Callable[[], datetime]
) -> dict[str, tuple[int, int]]:
    from server.ops.backup import tuf_versions

    before = tuf_versions(config.tuf_dir)
    roles = [Snapshot.type, Timestamp.type] + ([Targets.type] if keys_dir else [])
    floors = {role: before.get(role, 0) + VERSION_JUMP for role in roles}
    signers = {
        Snapshot.type: [load_key(config.keys_dir, Snapshot.type)],
        Timestamp.type: [load_key(config.keys_dir, Timestamp.type)],
    }
    if keys_dir is not None:
        signers[Targets.type] = [load_key(keys_dir, Targets.type)]
    repo = TufRepository(config.tuf_dir, config.tuf, signers, now, min_versions=floors)
    with locked(config.tuf_dir / ".lock"):
        if keys_dir is not None:
            with repo.edit_targets():
                pass
        repo.publish_metadata(force=True)
    after = tuf_versions(config.tuf_dir)
    return {role: (before.get(role, 0), after.get(role, 0)) for role in sorted(after)}


def _rewrite_broker(config: ServerConfig) -> str | None:
    """The broker's kiosk list from the restored registry (None: no broker_dir)."""
    if config.mqtt.broker_dir is None:
        return None
    from server.broker.files import describe_update, refresh_broker
    from server.broker.pki import FleetKeys
    from server.store import open_store

    store = open_store(config.store_url)
    try:
        update = refresh_broker(
            store,
            FleetKeys(config.data / "mqtt"),
            config.mqtt.broker_dir,
            config.mqtt.server_clients,
        )
    except BgkError as exc:
        return f"the broker's kiosk list was not rewritten: {exc}"
    finally:
        store.dispose()
    return describe_update(update, "")
