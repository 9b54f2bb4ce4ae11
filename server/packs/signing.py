"""Which keys sign what, and opening the repository with them.

Online keys (snapshot, timestamp) live in DATA/keys/ so the running server
can re-sign before expiry. Offline keys (root, targets) are read from the
folder given with `--keys`, else from `[tuf] offline_keys` in server.toml.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from securesystemslib.signer import Signer

from kiosk.protocol.errors import UsageError
from server.config import ServerConfig
from server.packs.keyfile import Passphrases
from server.packs.keys import OFFLINE_ROLES, ONLINE_ROLES, load_key
from server.packs.repo import RepositoryError, TufRepository


def utcnow() -> datetime:
    return datetime.now(UTC)


def offline_dir(config: ServerConfig, keys: Path | None) -> Path:
    folder = keys or config.tuf.offline_keys
    if folder is None:
        raise UsageError("no offline keys folder: pass --keys DIR (the folder of `bgk keys init`)")
    return folder


def load_signers(
    config: ServerConfig,
    roles: Iterable[str],
    keys: Path | None = None,
    passphrases: Passphrases | None = None,
) -> dict[str, list[Signer]]:
    """Signers of `roles`; the offline ones are opened with one passphrase source
    (asked once when root and targets share a passphrase)."""
    source = passphrases or Passphrases()
    out: dict[str, list[Signer]] = {}
    for role in roles:
        if role in ONLINE_ROLES:
            out[role] = [load_key(config.keys_dir, role)]
        elif role in OFFLINE_ROLES:
            out[role] = [load_key(offline_dir(config, keys), role, source)]
        else:
            raise UsageError(f"unknown TUF role {role!r}")
    return out


def open_repository(
    config: ServerConfig,
    roles: Iterable[str] = ONLINE_ROLES,
    *,
    keys: Path | None = None,
    now: Callable[[], datetime] = utcnow,
    passphrases: Passphrases | None = None,
) -> TufRepository:
    """The repository of a data dir, able to sign `roles` (always snapshot and timestamp)."""
    signers = load_signers(config, set(roles) | set(ONLINE_ROLES), keys, passphrases)
    repo = TufRepository(config.tuf_dir, config.tuf, signers, now)
    if not repo.exists():
        raise RepositoryError(
            f"{config.tuf_dir} holds no TUF repository: run `bgk server init --data {config.data} ...`"
        )
    return repo
