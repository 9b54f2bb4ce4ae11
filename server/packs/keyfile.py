"""Private keys at rest: passphrase-encrypted PKCS#8 with scrypt, and where passphrases come from.

File format: PEM `ENCRYPTED PRIVATE KEY` (RFC 5958 EncryptedPrivateKeyInfo),
PBES2 (RFC 8018) with the scrypt KDF (RFC 7914: N=2^14, r=8, p=1, 16-byte salt;
the parameters OpenSSL's `openssl pkcs8 -topk8 -scrypt` writes) and AES-256-CBC.
`openssl pkey -in KEY.pem` opens it too.

Why this module writes the DER envelope: `cryptography` (50.x) reads scrypt
PKCS#8 but writes encrypted PKCS#8 only with PBKDF2-HMAC-SHA256 at 2,048
rounds (BestAvailableEncryption), and its `encryption_builder()` is for
OpenSSH and PKCS#12 only. The cryptography itself stays `cryptography`'s
(Scrypt, AES-CBC, PKCS7 padding); this module only lays out the standard
ASN.1 fields, and reading goes through `cryptography`'s own loader.

Passphrases come, in this order, from `--passphrase-file FILE`, the file named
by $BGK_PASSPHRASE_FILE (automation: the demo, tests), or the terminal
(asked once for an existing key, twice for a new one). Nothing else is
accepted: a passphrase never travels on the command line.
"""

from __future__ import annotations

import base64
import getpass
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from server.errors import RequestWrong
from server.packs.errors import PackError

PASSPHRASE_ENV: Final = "BGK_PASSPHRASE_FILE"
ENCRYPTED_HEADER: Final = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"
PLAIN_HEADERS: Final = (b"-----BEGIN PRIVATE KEY-----", b"-----BEGIN OPENSSH PRIVATE KEY-----")
#: scrypt cost: 2^14 x 8 x 128 bytes = 16 MiB of memory per try (OpenSSL's own default)
SCRYPT_N: Final = 2**14
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
MIN_PASSPHRASE: Final = 10

_PBES2: Final = "1.2.840.113549.1.5.13"
_SCRYPT: Final = "1.3.6.1.4.1.11591.4.11"
_AES256_CBC: Final = "2.16.840.1.101.3.4.1.42"


class PassphraseError(PackError, RequestWrong):
    """No passphrase, a wrong one, or a new one that is too weak: the message says what to do."""


# --- the envelope ----------------------------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _length(len(body)) + body


def _seq(*parts: bytes) -> bytes:
    return _tlv(0x30, b"".join(parts))


def _int(n: int) -> bytes:
    return _tlv(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big"))


def _octets(data: bytes) -> bytes:
    return _tlv(0x04, data)


def _oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return _tlv(0x06, bytes(body))


def encrypt_key(private: Ed25519PrivateKey, passphrase: bytes) -> bytes:
    """The key as PEM `ENCRYPTED PRIVATE KEY` (PBES2, scrypt, AES-256-CBC)."""
    if not passphrase:
        raise PassphraseError("an empty passphrase cannot protect a key")
    plain = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    salt, iv = os.urandom(16), os.urandom(16)
    key = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(passphrase)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    sealed = encryptor.update(padded) + encryptor.finalize()
    kdf = _seq(
        _oid(_SCRYPT),
        _seq(_octets(salt), _int(SCRYPT_N), _int(SCRYPT_R), _int(SCRYPT_P), _int(32)),
    )
    algorithm = _seq(_oid(_PBES2), _seq(kdf, _seq(_oid(_AES256_CBC), _octets(iv))))
    der = _seq(algorithm, _octets(sealed))
    body = base64.encodebytes(der)  # 76-column lines, as PEM wants
    return ENCRYPTED_HEADER + b"\n" + body + b"-----END ENCRYPTED PRIVATE KEY-----\n"


def is_encrypted(pem: bytes) -> bool:
    return pem.lstrip().startswith(ENCRYPTED_HEADER)


def decrypt_key(pem: bytes, passphrase: bytes, where: str) -> Ed25519PrivateKey:
    """Open an encrypted key; PassphraseError when the passphrase is wrong."""
    try:
        private = serialization.load_pem_private_key(pem, passphrase)
    except ValueError as exc:
        if "password" in str(exc).lower() or "decrypt" in str(exc).lower():
            raise PassphraseError(
                f"wrong passphrase for {where}: try again (it is the passphrase given when "
                "the key was made or encrypted)"
            ) from None
        raise PassphraseError(f"{where} is not a readable encrypted key: {exc}") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise PassphraseError(f"{where} is not an Ed25519 key")
    return private


# --- where passphrases come from ------------------------------------------------


class Passphrases:
    """The passphrase source of one command: a file, $BGK_PASSPHRASE_FILE, or the terminal.

    `existing(what)` remembers the last passphrase that opened a key and offers
    it first for the next one (root and targets usually share one)."""

    def __init__(
        self,
        file: Path | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        ask: Callable[[str], str] | None = None,
        interactive: bool | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.file = file or (Path(env[PASSPHRASE_ENV]) if env.get(PASSPHRASE_ENV) else None)
        self.ask = ask or getpass.getpass
        self.interactive = sys.stdin.isatty() if interactive is None else interactive
        self.last: bytes | None = None

    def _from_file(self) -> bytes | None:
        if self.file is None:
            return None
        try:
            text = self.file.read_text(encoding="utf-8")
        except OSError as exc:
            raise PassphraseError(f"cannot read the passphrase file {self.file}: {exc}") from None
        line = text.splitlines()[0] if text.strip() else ""
        if not line:
            raise PassphraseError(f"the passphrase file {self.file} is empty: write the passphrase")
        return line.encode("utf-8")

    def _need_terminal(self, what: str) -> None:
        if not self.interactive:
            raise PassphraseError(
                f"the passphrase of {what} is needed: run the command in a terminal, or pass "
                f"--passphrase-file FILE (or set {PASSPHRASE_ENV})"
            )

    def existing(self, what: str, opens: Callable[[bytes], bool] | None = None) -> bytes:
        """The passphrase of an existing key. `opens(p)` says whether `p` opens it; the
        terminal asks up to three times."""
        from_file = self._from_file()
        if from_file is not None:
            return from_file
        if self.last is not None and (opens is None or opens(self.last)):
            return self.last
        self._need_terminal(what)
        for _ in range(3):
            got = self.ask(f"passphrase of {what}: ").encode("utf-8")
            if opens is None or opens(got):
                self.last = got
                return got
            print("bgk: wrong passphrase, try again", file=sys.stderr)
        raise PassphraseError(f"wrong passphrase for {what} three times: nothing was changed")

    def new(self, what: str) -> bytes:
        """A passphrase for a new key: from the file, or asked twice."""
        from_file = self._from_file()
        if from_file is None:
            self._need_terminal(what)
            first = self.ask(f"new passphrase for {what}: ")
            second = self.ask(f"the same passphrase again for {what}: ")
            if first != second:
                raise PassphraseError("the two passphrases differ: nothing was written, run again")
            from_file = first.encode("utf-8")
        check_strength(from_file)
        self.last = from_file
        return from_file


def check_strength(passphrase: bytes) -> None:
    if len(passphrase.decode("utf-8", "replace")) < MIN_PASSPHRASE:
        raise PassphraseError(
            f"a key's passphrase needs at least {MIN_PASSPHRASE} characters (a few words "
            "are easiest to remember): nothing was written"
        )


def write_passphrase_file(path: Path, passphrase: str | None = None) -> bytes:
    """A passphrase file (mode 0600) for unattended runs — the demo, benchmarks — whose
    keys protect nothing real; a random passphrase when none is given."""
    import secrets

    text = passphrase or f"bgk-{secrets.token_urlsafe(12)}"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    return text.encode("utf-8")
