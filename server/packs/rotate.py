"""Key rotation and re-signing of the offline roles.

`rotate_key(role)`: a new key for `role` is signed into a new root version
(N+1).root.json. Kiosks walk the root chain on their next refresh: the new
root is checked against the keys of the old root and of itself, so the
root key signs it (for a root rotation: the old and the new root key). The
role's metadata is then re-signed with the new key, and snapshot/timestamp
follow. The old key file is kept as KEYS/retired/<role>-<keyid>.pem until
every kiosk has synced (a kiosk that lags still verifies the chain).

`resign(role)`: a new version of targets or root, only to push expiry out
(the offline roles are otherwise signed only at publish or rotation).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from securesystemslib.signer import CryptoSigner, Signer
from tuf.api.metadata import Root, Targets

from kiosk.protocol.errors import UsageError
from server.config import ServerConfig
from server.packs.fileio import locked
from server.packs.keyfile import Passphrases
from server.packs.keys import OFFLINE_ROLES, ROLES, generate, key_path, read_key_file, save_key
from server.packs.repo import TufRepository
from server.packs.signing import load_signers, offline_dir


@dataclass(frozen=True)
class RotateResult:
    role: str
    old_keyids: tuple[str, ...]
    new_keyid: str
    root_version: int
    key_file: Path


def rotate_key(
    config: ServerConfig,
    role: str,
    keys: Path | None,
    now: Callable[[], datetime],
    *,
    new_signer: CryptoSigner | None = None,
    passphrases: Passphrases | None = None,
) -> RotateResult:
    if role not in ROLES:
        raise UsageError(f"--role must be one of {', '.join(ROLES)}")
    offline = offline_dir(config, keys)
    folder = offline if role in OFFLINE_ROLES else config.keys_dir
    new = new_signer or generate()
    # the old key of the rotated role is not needed (it signs nothing more)
    needed = {"root", "snapshot", "timestamp"} - {role} | ({"root"} if role == "root" else set())
    source = passphrases or Passphrases()
    signers: dict[str, list[Signer]] = dict(load_signers(config, sorted(needed), keys, source))
    if role == "root":
        signers["root"] = [signers["root"][0], new]
    else:
        signers[role] = [new]
    repo = TufRepository(config.tuf_dir, config.tuf, signers, now)
    pending = folder / f"{role}.pem.new"
    # on disk before any metadata names it; an offline key encrypted like the others
    secret = source.new(f"the new {role} key") if role in OFFLINE_ROLES else None
    save_key(pending, new, secret)
    with locked(repo.dir / ".lock"):
        with repo.edit_root() as root:
            old = tuple(root.roles[role].keyids)
            for keyid in old:
                root.revoke_key(keyid, role)
            root.add_key(new.public_key, role)
        version = repo.root().version
        if role == "targets":
            with repo.edit_targets():
                pass
        if role in ("targets", "snapshot"):
            repo.do_snapshot(force=True)
        if role != "root":
            repo.do_timestamp(force=True)
    retired = folder / "retired"
    retired.mkdir(mode=0o700, exist_ok=True)
    current = key_path(folder, role)
    if current.exists():
        old_id = _public_keyid(current, old)
        os.replace(current, retired / f"{role}-{old_id[:16]}.pem")
    os.replace(pending, current)
    return RotateResult(role, old, new.public_key.keyid, version, current)


def _public_keyid(path: Path, old: tuple[str, ...]) -> str:
    """The key id of the retired key file, without its passphrase where the root says it."""
    return old[0] if len(old) == 1 else read_key_file(path, "the old key").public_key.keyid


def resign(
    config: ServerConfig,
    role: str,
    keys: Path | None,
    now: Callable[[], datetime],
    passphrases: Passphrases | None = None,
) -> int:
    """A new version of `role` (targets or root) with fresh expiry; returns it."""
    if role not in OFFLINE_ROLES:
        raise UsageError("--role must be targets or root (the server re-signs the others itself)")
    roles = ("root",) if role == Root.type else ("targets", "snapshot", "timestamp")
    signers = load_signers(config, roles, keys, passphrases)
    repo = TufRepository(config.tuf_dir, config.tuf, signers, now)
    with locked(repo.dir / ".lock"):
        if role == Root.type:
            with repo.edit_root():
                pass
            return repo.root().version
        with repo.edit(Targets.type):
            pass
        repo.publish_metadata()
        return repo.targets().version
