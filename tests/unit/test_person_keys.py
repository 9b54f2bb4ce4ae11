"""Publishers' public key files: an Ed25519 key or an ECDSA P-256 key (a hardware
token's) loads; any other curve, a private key or an edited key id is refused with
words that say what to pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from securesystemslib.signer import CryptoSigner, SSlibKey

from server.packs.persons import PersonKeyError, load_public, public_dict


def write(tmp_path: Path, body: dict[str, object]) -> Path:
    path = tmp_path / "x.pub.json"
    path.write_text(json.dumps(body))
    return path


def test_ed25519_and_p256_keys_load(tmp_path: Path) -> None:
    ed = CryptoSigner.generate_ed25519().public_key
    assert load_public(write(tmp_path, public_dict("an", ed))) == ("an", ed)
    p256 = CryptoSigner.generate_ecdsa().public_key
    assert p256.scheme == "ecdsa-sha2-nistp256"
    name, key = load_public(write(tmp_path, public_dict("binh", p256)))
    assert (name, key.keyid) == ("binh", p256.keyid)


def test_other_curves_private_keys_and_edited_ids_are_refused(tmp_path: Path) -> None:
    p384 = SSlibKey.from_crypto(
        ec.generate_private_key(ec.SECP384R1()).public_key(), scheme="ecdsa-sha2-nistp384"
    )
    with pytest.raises(PersonKeyError, match=r"Ed25519 public key .* or an ECDSA P-256"):
        load_public(write(tmp_path, public_dict("x", p384)))
    disguised = {**public_dict("x", p384), "scheme": "ecdsa-sha2-nistp256"}
    with pytest.raises(PersonKeyError, match="P-256 curve"):
        load_public(write(tmp_path, disguised))
    ed = CryptoSigner.generate_ed25519().public_key
    leaked = public_dict("x", ed)
    leaked["keyval"] = {**leaked["keyval"], "private": "00" * 32}
    with pytest.raises(PersonKeyError, match="PRIVATE key"):
        load_public(write(tmp_path, leaked))
    edited = {**public_dict("x", CryptoSigner.generate_ecdsa().public_key), "keyid": ed.keyid}
    with pytest.raises(PersonKeyError, match="keyid does not match"):
        load_public(write(tmp_path, edited))
