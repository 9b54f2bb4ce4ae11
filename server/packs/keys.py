"""TUF signing keys: one Ed25519 key per role, as PEM (PKCS#8) files.

    KEYS/root.pem       offline: signs root (trust anchor, key rotation)
    KEYS/targets.pem    offline: signs the list of published packs
    KEYS/snapshot.pem   online: copied to DATA/keys/ by `bgk server init`
    KEYS/timestamp.pem  online: copied to DATA/keys/; re-signed by the running server

A development keyset keeps all four in one folder; in production the root
and targets keys stay on an offline machine or removable medium and are only
brought to the server (`--keys DIR`) to publish or rotate.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner

from kiosk.common.files import atomic_write
from kiosk.protocol.errors import UsageError
from server.packs.errors import PackError

ROLES: Final = ("root", "targets", "snapshot", "timestamp")
OFFLINE_ROLES: Final = ("root", "targets")
ONLINE_ROLES: Final = ("snapshot", "timestamp")


class SigningKeyError(PackError):
    """A signing key is missing or unreadable: the message names the file and what to do."""


def key_path(keys_dir: Path, role: str) -> Path:
    return keys_dir / f"{role}.pem"


def generate() -> CryptoSigner:
    return CryptoSigner.generate_ed25519()


def save_key(path: Path, signer: CryptoSigner) -> None:
    atomic_write(path, signer.private_bytes, mode=0o600)


def load_key(keys_dir: Path, role: str) -> CryptoSigner:
    path = key_path(keys_dir, role)
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        hint = (
            "pass --keys with the offline keys folder"
            if role in OFFLINE_ROLES
            else "run `bgk server init` again or restore DATA/keys"
        )
        raise SigningKeyError(f"the {role} key {path} is missing: {hint}") from None
    except OSError as exc:
        raise SigningKeyError(f"cannot read the {role} key {path}: {exc}") from None
    try:
        private = load_pem_private_key(pem, None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(
            f"{path} is not a PEM private key without passphrase: {exc}"
        ) from None
    if not isinstance(private, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 key")
    return CryptoSigner(private)


def init_keyset(keys_dir: Path) -> list[Path]:
    """Generate a development keyset (one key per TUF role); refuse to overwrite one."""
    existing = [key_path(keys_dir, r) for r in ROLES if key_path(keys_dir, r).exists()]
    if existing:
        raise UsageError(
            f"{keys_dir} already holds keys ({existing[0].name}): choose a new folder; "
            "to replace a key use `bgk server rotate-key`"
        )
    keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    written = []
    for role in ROLES:
        path = key_path(keys_dir, role)
        save_key(path, generate())
        written.append(path)
    return written
