"""Publishers' personal signing keys (Ed25519), made on the publisher's own machine.

NAME.pem        the private key, always encrypted (keyfile.py); never leaves the machine
NAME.pub.json   the public key (securesystemslib's key dict + "name"), given to the
                DoIC for `bgk keys person add NAME NAME.pub.json`
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from securesystemslib.signer import CryptoSigner, SSlibKey

from kiosk.common.files import atomic_write
from kiosk.protocol.errors import UsageError
from server.errors import RequestWrong
from server.packs.errors import PackError
from server.packs.keyfile import Passphrases
from server.packs.keys import generate, read_key_file, save_key

_NAME: Final = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class PersonKeyError(PackError, RequestWrong):
    """A personal key or public key file is missing or not what it should be."""


@dataclass(frozen=True)
class PersonKey:
    name: str
    keyid: str
    key_file: Path
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


def load_public(path: Path) -> tuple[str, SSlibKey]:
    """(name, key) from a NAME.pub.json file; refuses anything but an Ed25519 public key."""
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
    if raw.get("keytype") != "ed25519" or not isinstance(public, str):
        raise PersonKeyError(f"{path}: a publisher's key must be an Ed25519 public key")
    if isinstance(keyval, dict) and "private" in keyval:
        raise PersonKeyError(
            f"{path} holds a PRIVATE key: it must never leave its owner's machine; "
            "destroy this copy and pass NAME.pub.json"
        )
    try:
        key = SSlibKey.from_crypto(Ed25519PublicKey.from_public_bytes(bytes.fromhex(public)))
    except ValueError as exc:
        raise PersonKeyError(f"{path} is not an Ed25519 public key: {exc}") from None
    if raw.get("keyid") not in (None, key.keyid):
        raise PersonKeyError(f"{path}: its keyid does not match its key (edited?)")
    return str(raw.get("name", path.name.split(".")[0])), key


def load_person_signer(key_file: Path, passphrases: Passphrases) -> CryptoSigner:
    if not key_file.is_file():
        raise PersonKeyError(f"{key_file} does not exist: pass your personal key (NAME.pem)")
    return read_key_file(key_file, "your personal key", passphrases)
