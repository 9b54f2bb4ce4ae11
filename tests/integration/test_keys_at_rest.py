"""Keys at rest: the offline root/targets keys and publishers' personal keys are
passphrase-encrypted (PKCS#8, scrypt) by the real `bgk` commands; a wrong or
missing passphrase is one clear line and changes nothing; no plaintext copy of
an offline key is ever written to the keys or data folders; an older
plaintext keyset has a way on (`bgk keys encrypt`)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from reposim import pack_files, write_built_pack
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Metadata, Root

from server.packs.keyfile import PASSPHRASE_ENV, PassphraseError, Passphrases, decrypt_key
from server.packs.persons import load_public

#: files that may hold a plaintext private key: the server's online keys (it signs
#: timestamp/snapshot unattended) and the MQTT/TLS keys of the fleet
ONLINE_OK = {"snapshot.pem", "timestamp.pem"}

REPO = Path(__file__).resolve().parents[2]
#: the passphrase of the tests' offline keys (tests/conftest.py writes its file)
TEST_PASSPHRASE = "test-passphrase-for-offline-keys"


def bgk(
    *args: str | Path, passphrase_env: str | None = "inherit", stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if passphrase_env is None:
        env.pop(PASSPHRASE_ENV, None)
    elif passphrase_env != "inherit":
        env[PASSPHRASE_ENV] = passphrase_env
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO,
        input=stdin,
    )


def write(path: Path, text: str) -> Path:
    path.write_text(text + "\n", encoding="utf-8")
    return path


def raw_seed(pem: bytes, passphrase: bytes) -> bytes:
    return decrypt_key(pem, passphrase, "test").private_bytes_raw()


def plaintext_traces(seed: bytes) -> list[bytes]:
    """Forms a leaked private key would take on disk: raw, hex, PKCS#8 DER/PEM body."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    der = Ed25519PrivateKey.from_private_bytes(seed).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return [seed, seed.hex().encode(), der, base64.b64encode(der)[:40]]


def scan_for_plaintext(folders: list[Path], seeds: list[bytes]) -> list[str]:
    """Every file in `folders` that holds a plaintext private key it should not."""
    found = []
    traces = [t for s in seeds for t in plaintext_traces(s)]
    for folder in folders:
        for path in folder.rglob("*"):
            if not path.is_file() or path.is_symlink():
                continue
            data = path.read_bytes()
            if any(t in data for t in traces):
                found.append(f"{path}: holds an offline key in the clear")
            plain_pem = b"-----BEGIN PRIVATE KEY-----" in data
            in_keys = path.parent.name == "keys" and path.name in ONLINE_OK
            in_fleet = "mqtt" in path.parts
            if plain_pem and not (in_keys or in_fleet):
                found.append(f"{path}: a plaintext private key")
    return found


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    keys, data = tmp_path / "keys", tmp_path / "data"
    made = bgk("keys", "init", keys, "--json")
    assert made.returncode == 0, made.stderr
    init = bgk("server", "init", "--data", data, "--keys", keys, "--url", "http://127.0.0.1:9")
    assert init.returncode == 0, init.stderr
    return {"keys": keys, "data": data, "tmp": tmp_path}


def targets_version(data: Path) -> int:
    names = [p.name for p in (data / "tuf").glob("*.targets.json")]
    return max(int(n.split(".")[0]) for n in names)


def test_keys_init_encrypts_root_and_targets_with_scrypt(world: dict[str, Path]) -> None:
    keys = world["keys"]
    for role in ("root", "targets"):
        pem = (keys / f"{role}.pem").read_bytes()
        assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        assert (keys / f"{role}.pem").stat().st_mode & 0o777 == 0o600
        with pytest.raises(TypeError):  # cryptography: encrypted, a password is needed
            serialization.load_pem_private_key(pem, None)
        signer = CryptoSigner(decrypt_key(pem, TEST_PASSPHRASE.encode(), role))
        root = Metadata[Root].from_bytes((world["data"] / "tuf" / "1.root.json").read_bytes())
        assert signer.public_key.keyid in root.signed.roles[role].keyids
    # the KDF is scrypt, as OpenSSL itself reads the file
    if shutil.which("openssl"):
        parsed = subprocess.run(
            ["openssl", "asn1parse", "-in", str(keys / "targets.pem")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert ":PBES2" in parsed and ":scrypt" in parsed and ":aes-256-cbc" in parsed
        opened = subprocess.run(
            ["openssl", "pkey", "-in", str(keys / "targets.pem"), "-noout",
             "-passin", f"pass:{TEST_PASSPHRASE}"],
            capture_output=True,
        )  # fmt: skip
        assert opened.returncode == 0, opened.stderr


def test_wrong_or_missing_passphrase_is_a_clear_error_and_changes_nothing(
    world: dict[str, Path],
) -> None:
    data, keys, tmp = world["data"], world["keys"], world["tmp"]
    pack = write_built_pack(tmp / "built", pack_files("a"), "demo", 1)
    before = targets_version(data)
    wrong = write(tmp / "wrong.txt", "not-the-passphrase")
    run = bgk("server", "publish", pack, "--data", data, "--to", "all", "--keys", keys,
              "--passphrase-file", wrong)  # fmt: skip
    assert run.returncode != 0
    assert "wrong passphrase for" in run.stderr and "targets" in run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert targets_version(data) == before
    # no file, no terminal: says how to give one
    run = bgk("server", "publish", pack, "--data", data, "--to", "all", "--keys", keys,
              passphrase_env=None, stdin="")  # fmt: skip
    assert run.returncode != 0 and "--passphrase-file" in run.stderr
    assert targets_version(data) == before
    # the right one publishes
    run = bgk("server", "publish", pack, "--data", data, "--to", "all", "--keys", keys, "--json")
    assert run.returncode == 0, run.stderr
    assert targets_version(data) == before + 1


def test_no_plaintext_offline_key_is_ever_written(world: dict[str, Path]) -> None:
    """After init, publish, rotate-key targets and resign: scan every file of the
    keys and data folders for the offline keys in any plaintext form."""
    data, keys, tmp = world["data"], world["keys"], world["tmp"]
    old_targets = (keys / "targets.pem").read_bytes()
    pack = write_built_pack(tmp / "built", pack_files("b"), "demo", 1)
    assert bgk("server", "publish", pack, "--data", data, "--to", "all").returncode == 0
    rotated = bgk("server", "rotate-key", "--data", data, "--role", "targets", "--json")
    assert rotated.returncode == 0, rotated.stderr
    assert bgk("server", "resign", "--data", data, "--role", "targets").returncode == 0
    person = bgk("keys", "person", "new", "an", "-o", tmp / "an-laptop", "--json")
    assert person.returncode == 0, person.stderr
    secret = TEST_PASSPHRASE.encode()
    seeds = [
        raw_seed((keys / "root.pem").read_bytes(), secret),
        raw_seed((keys / "targets.pem").read_bytes(), secret),
        raw_seed(old_targets, secret),
        raw_seed((tmp / "an-laptop" / "an.pem").read_bytes(), secret),
    ]
    retired = list((keys / "retired").glob("targets-*.pem"))
    assert len(retired) == 1 and retired[0].read_bytes().startswith(b"-----BEGIN ENCRYPTED")
    assert scan_for_plaintext([keys, data, tmp / "an-laptop"], seeds) == []


def test_the_scan_finds_a_leaked_key(world: dict[str, Path]) -> None:
    """The scan above can fail: a plaintext copy of targets in the data folder is found."""
    keys, data = world["keys"], world["data"]
    pem = (keys / "targets.pem").read_bytes()
    signer = CryptoSigner(decrypt_key(pem, TEST_PASSPHRASE.encode(), "targets"))
    (data / "backup-of-targets.pem").write_bytes(signer.private_bytes)
    seed = raw_seed(pem, TEST_PASSPHRASE.encode())
    found = scan_for_plaintext([keys, data], [seed])
    assert any("backup-of-targets.pem" in f for f in found)


def test_an_older_plaintext_keyset_is_refused_then_encrypted(tmp_path: Path) -> None:
    keys, data = tmp_path / "keys", tmp_path / "data"
    keys.mkdir()
    for role in ("root", "targets", "snapshot", "timestamp"):  # as round 1 wrote them
        (keys / f"{role}.pem").write_bytes(CryptoSigner.generate_ed25519().private_bytes)
    run = bgk("server", "init", "--data", data, "--keys", keys, "--url", "http://127.0.0.1:9")
    assert run.returncode != 0 and f"bgk keys encrypt {keys}" in run.stderr
    assert not data.exists()  # no half-made data folder stays behind
    short = write(tmp_path / "short.txt", "short")
    run = bgk("keys", "encrypt", keys, "--passphrase-file", short)
    assert run.returncode != 0 and "at least 10 characters" in run.stderr
    assert not (keys / "root.pem").read_bytes().startswith(b"-----BEGIN ENCRYPTED")
    run = bgk("keys", "encrypt", keys, "--json")
    assert run.returncode == 0, run.stderr
    assert sorted(Path(p).name for p in json.loads(run.stdout)["encrypted"]) == [
        "root.pem",
        "targets.pem",
    ]
    assert (keys / "snapshot.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY")
    run = bgk("server", "init", "--data", data, "--keys", keys, "--url", "http://127.0.0.1:9")
    assert run.returncode == 0, run.stderr
    again = bgk("keys", "encrypt", keys)
    assert again.returncode != 0 and "nothing to encrypt" in again.stderr


def test_person_key_is_encrypted_and_its_public_file_loads(tmp_path: Path) -> None:
    run = bgk("keys", "person", "new", "binh", "-o", tmp_path, "--json")
    assert run.returncode == 0, run.stderr
    made = json.loads(run.stdout)
    assert Path(made["key"]).read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    name, key = load_public(Path(made["public"]))
    assert (name, key.keyid) == ("binh", made["keyid"])
    again = bgk("keys", "person", "new", "binh", "-o", tmp_path)
    assert again.returncode != 0 and "exists already" in again.stderr
    bad = bgk("keys", "person", "new", "Bình Trần", "-o", tmp_path)
    assert bad.returncode != 0 and "not a publisher name" in bad.stderr


def test_terminal_asks_twice_and_refuses_two_different_answers(tmp_path: Path) -> None:
    answers = iter(["correct horse battery", "correct horse battery"])
    source = Passphrases(environ={}, ask=lambda _: next(answers), interactive=True)
    assert source.new("a key") == b"correct horse battery"
    answers = iter(["correct horse battery", "correct horse batterie"])
    source = Passphrases(environ={}, ask=lambda _: next(answers), interactive=True)
    with pytest.raises(PassphraseError, match="differ"):
        source.new("a key")
    # an existing key: three tries, then a clear refusal
    tries = iter(["a", "b", "c"])
    source = Passphrases(environ={}, ask=lambda _: next(tries), interactive=True)
    with pytest.raises(PassphraseError, match="three times"):
        source.existing("the targets key", lambda p: p == b"right")
