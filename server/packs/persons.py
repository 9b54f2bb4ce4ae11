"""Publishers' personal signing keys (Ed25519), made on the publisher's own machine.

NAME.pem        the private key, always encrypted (keyfile.py); never leaves the machine
NAME.pub.json   the public key (securesystemslib's key dict + "name"), given to the
                DoIC for `bgk keys person add NAME NAME.pub.json`

Or a key made on a hardware token (ECDSA P-256, tokenkey.py): only NAME.pub.json.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from securesystemslib.signer import CryptoSigner, SSlibKey

from kiosk.common.files import atomic_write
from kiosk.protocol.errors import UsageError
from server.errors import RequestWrong
from server.packs.errors import PackError
from server.packs.keyfile import Passphrases
from server.packs.keys import generate, read_key_file, save_key
from server.packs.tokenkey import Pins, TokenKey

#: the scheme of a publisher's key on a hardware token (server/packs/tokenkey.py)
TOKEN_SCHEME: Final = "ecdsa-sha2-nistp256"
_NAME: Final = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class PersonKeyError(PackError, RequestWrong):
    """A personal key or public key file is missing or not what it should be."""


@dataclass(frozen=True)
class PersonKey:
    name: str
    keyid: str
    #: None: the private key is on a hardware token
    key_file: Path | None
    public_file: Path


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UsageError(
            f"{name!r} is not a publisher name: use the account name (lowercase letters, digits, "
            ". _ -), e.g. an"
        )
    return name


def public_dict(name: str, key: SSlibKey) -> dict[str, Any]:
    return {"name": name, "keyid": key.keyid, **key.to_dict()}


def new_person_key(name: str, folder: Path, passphrases: Passphrases) -> PersonKey:
    """NAME.pem (encrypted) and NAME.pub.json in `folder`; refuses to overwrite a key."""
    check_name(name)
    key_file = folder / f"{name}.pem"
    public_file = folder / f"{name}.pub.json"
    if key_file.exists():
        raise UsageError(
            f"{key_file} exists already: a person keeps one key; choose another folder"
        )
    secret = passphrases.new(f"{name}'s personal key")
    signer = generate()
    folder.mkdir(parents=True, exist_ok=True)
    save_key(key_file, signer, secret)
    text = json.dumps(public_dict(name, signer.public_key), indent=2) + "\n"
    atomic_write(public_file, text.encode("utf-8"))
    return PersonKey(name, signer.public_key.keyid, key_file, public_file)


def new_token_person(
    name: str, folder: Path, key: TokenKey, pins: Pins, *, generate: bool
) -> PersonKey:
    """NAME.pub.json for a key on a hardware token: made there (`generate`) or read."""
    from server.packs import tokenkey

    check_name(name)
    public_file = folder / f"{name}.pub.json"
    if public_file.exists():
        raise UsageError(f"{public_file} exists already: choose another folder")
    public = tokenkey.generate(key, pins, name) if generate else tokenkey.public_key(key, pins)
    body = {**public_dict(name, public), "token": {"label": key.label, "key_id": key.key_id}}
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(public_file, (json.dumps(body, indent=2) + "\n").encode("utf-8"))
    return PersonKey(name, public.keyid, None, public_file)


def load_public(path: Path) -> tuple[str, SSlibKey]:
    """(name, key) from a NAME.pub.json file: an Ed25519 key (`bgk keys person new`) or an
    ECDSA P-256 key held on a hardware token (`bgk keys person new --pkcs11-module`)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PersonKeyError(f"{path} does not exist: pass the NAME.pub.json file") from None
    except (OSError, ValueError) as exc:
        raise PersonKeyError(f"{path} is not a public key file: {exc}") from None
    if not isinstance(raw, dict):
        raise PersonKeyError(f"{path} is not a public key file (a JSON object)")
    keyval = raw.get("keyval")
    public = keyval.get("public") if isinstance(keyval, dict) else None
    if isinstance(keyval, dict) and "private" in keyval:
        raise PersonKeyError(
            f"{path} holds a PRIVATE key: it must never leave its owner's machine; "
            "destroy this copy and pass NAME.pub.json"
        )
    if not isinstance(public, str):
        raise PersonKeyError(f"{path} is not a public key file (no keyval.public)")
    if raw.get("keytype") == "ed25519":
        key = _ed25519(path, public)
    elif raw.get("keytype") == "ecdsa" and raw.get("scheme") == TOKEN_SCHEME:
        key = _p256(path, public)
    else:
        raise PersonKeyError(
            f"{path}: a publisher's key must be an Ed25519 public key (`bgk keys person new`) "
            "or an ECDSA P-256 key on a hardware token (`bgk keys person new --pkcs11-module`)"
        )
    if raw.get("keyid") not in (None, key.keyid):
        raise PersonKeyError(f"{path}: its keyid does not match its key (edited?)")
    return str(raw.get("name", path.name.split(".")[0])), key


def _ed25519(path: Path, public: str) -> SSlibKey:
    try:
        return SSlibKey.from_crypto(Ed25519PublicKey.from_public_bytes(bytes.fromhex(public)))
    except ValueError as exc:
        raise PersonKeyError(f"{path} is not an Ed25519 public key: {exc}") from None


def _p256(path: Path, public: str) -> SSlibKey:
    try:
        loaded = load_pem_public_key(public.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise PersonKeyError(f"{path} is not an ECDSA public key: {exc}") from None
    if not isinstance(loaded, EllipticCurvePublicKey) or not isinstance(loaded.curve, SECP256R1):
        raise PersonKeyError(f"{path}: a token-held publisher's key is ECDSA on the P-256 curve")
    return SSlibKey.from_crypto(loaded, scheme=TOKEN_SCHEME)


def load_person_signer(key_file: Path, passphrases: Passphrases) -> CryptoSigner:
    if not key_file.is_file():
        raise PersonKeyError(f"{key_file} does not exist: pass your personal key (NAME.pem)")
    return read_key_file(key_file, "your personal key", passphrases)
