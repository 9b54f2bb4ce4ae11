"""TUF signing keys: one Ed25519 key per role, as PEM (PKCS#8) files.

    KEYS/root.pem       offline: signs root (trust anchor, key rotation)
    KEYS/targets.pem    offline: signs the list of published packs
    KEYS/snapshot.pem   online: copied to DATA/keys/ by `bgk server init`
    KEYS/timestamp.pem  online: copied to DATA/keys/; re-signed by the running server

A development keyset keeps all four in one folder; in production the root
and targets keys stay on an offline machine or removable medium and are only
brought to the server (`--keys DIR`) to publish or rotate.

At rest the offline keys are always encrypted with a passphrase (PKCS#8,
scrypt: server/packs/keyfile.py); a plaintext root or targets key is refused
with the way on (`bgk keys encrypt DIR`). The online keys stay plaintext
(mode 0600, DATA/keys/): the running server re-signs timestamp and snapshot
unattended, and what they can sign is bounded by TUF (deploy/tuf-keys.md).
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
from server.errors import OperatorMustAct
from server.packs.errors import PackError
from server.packs.keyfile import (
    PassphraseError,
    Passphrases,
    decrypt_key,
    encrypt_key,
    is_encrypted,
)

ROLES: Final = ("root", "targets", "snapshot", "timestamp")
OFFLINE_ROLES: Final = ("root", "targets")
ONLINE_ROLES: Final = ("snapshot", "timestamp")


class SigningKeyError(PackError, OperatorMustAct):
    """A signing key is missing or unreadable: the message names the file and what to do."""


def key_path(keys_dir: Path, role: str) -> Path:
    return keys_dir / f"{role}.pem"


def generate() -> CryptoSigner:
    return CryptoSigner.generate_ed25519()


def save_key(path: Path, signer: CryptoSigner, passphrase: bytes | None = None) -> None:
    """Write a key (mode 0600): encrypted with `passphrase`, plaintext only without one
    (the online keys)."""
    data = signer.private_bytes
    if passphrase is not None:
        private = load_pem_private_key(data, None)
        if not isinstance(private, Ed25519PrivateKey):
            raise SigningKeyError(f"{path}: only Ed25519 keys are kept")
        data = encrypt_key(private, passphrase)
    atomic_write(path, data, mode=0o600)


def read_key_file(path: Path, what: str, passphrases: Passphrases | None = None) -> CryptoSigner:
    """A key file, opened with its passphrase when it is encrypted."""
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"cannot read {what} {path}: {exc}") from None
    if is_encrypted(pem):
        source = passphrases or Passphrases()

        def opens(candidate: bytes) -> bool:
            try:
                decrypt_key(pem, candidate, str(path))
            except PassphraseError:
                return False
            return True

        passphrase = source.existing(f"{what} ({path})", opens)
        return CryptoSigner(decrypt_key(pem, passphrase, str(path)))
    try:
        private = load_pem_private_key(pem, None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path} is not a PEM private key: {exc}") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 key")
    return CryptoSigner(private)


def load_key(keys_dir: Path, role: str, passphrases: Passphrases | None = None) -> CryptoSigner:
    path = key_path(keys_dir, role)
    if not path.exists():
        hint = (
            "pass --keys with the offline keys folder"
            if role in OFFLINE_ROLES
            else "run `bgk server init` again or restore DATA/keys"
        )
        raise SigningKeyError(f"the {role} key {path} is missing: {hint}")
    if role in OFFLINE_ROLES and path.is_file() and not is_encrypted(path.read_bytes()):
        raise SigningKeyError(
            f"the {role} key {path} is not encrypted: encrypt it once with "
            f"`bgk keys encrypt {keys_dir}` (deploy/tuf-keys.md), then run this again"
        )
    return read_key_file(path, f"the {role} key", passphrases)


def init_keyset(keys_dir: Path, passphrase: bytes | None = None) -> list[Path]:
    """Generate a development keyset (one key per TUF role); refuse to overwrite one.
    root and targets are encrypted with `passphrase` (asked twice when None)."""
    existing = [key_path(keys_dir, r) for r in ROLES if key_path(keys_dir, r).exists()]
    if existing:
        raise UsageError(
            f"{keys_dir} already holds keys ({existing[0].name}): choose a new folder; "
            "to replace a key use `bgk server rotate-key`"
        )
    if passphrase is None:
        passphrase = Passphrases().new(f"the root and targets keys in {keys_dir}")
    keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    written = []
    for role in ROLES:
        path = key_path(keys_dir, role)
        save_key(path, generate(), passphrase if role in OFFLINE_ROLES else None)
        written.append(path)
    return written


def encrypt_keyset(keys_dir: Path, passphrases: Passphrases) -> list[Path]:
    """Encrypt the plaintext offline keys of an older keyset in place (root.pem,
    targets.pem, retired/ and pending *.pem.new files); returns those encrypted."""
    candidates = [key_path(keys_dir, r) for r in OFFLINE_ROLES]
    candidates += sorted(keys_dir.glob("*.pem.new"))
    candidates += sorted((keys_dir / "retired").glob("*.pem"))
    plain = [p for p in candidates if p.is_file() and not is_encrypted(p.read_bytes())]
    if not plain:
        raise UsageError(f"{keys_dir} holds no plaintext offline key: nothing to encrypt")
    passphrase = passphrases.new(f"the offline keys in {keys_dir}")
    for path in plain:
        signer = read_key_file(path, "the key")
        save_key(path, signer, passphrase)
    return plain
