"""Publishers' keys on a hardware token (PKCS#11): made on the token, never leaving it.

Signing goes through securesystemslib's `HSMSigner` (python-pkcs11 underneath).
It signs with ECDSA only (NIST P-256 and P-384), not Ed25519, and so do most
tokens (PIV cards, YubiKeys, SoftHSM2 as the tests' real token): a publisher's
token key is **ECDSA P-256** (`ecdsa-sha2-nistp256`). TUF mixes key types in
one role, so token and file keys sign side by side; kiosks check both with
python-tuf and `cryptography`, as before.

A token is named by its PKCS#11 module (the vendor's library, e.g. SoftHSM2's
/usr/lib/softhsm/libsofthsm2.so, OpenSC's opensc-pkcs11.so, YubiKey's
libykcs11.so) and its label; the key on it by its id (CKA_ID, default 2: PIV
slot 9c, HSMSigner's default). The user PIN comes from `--pin-file FILE`, the
file named by $BGK_PIN_FILE, or the terminal; never from the command line.

`generate(...)` makes the key pair on the token (private half: sensitive, not
extractable, sign only); `public_key(...)` reads the public half;
`token_signer(...)` signs.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

from securesystemslib.signer import HSMSigner, Signature, Signer, SSlibKey

from server.errors import RequestWrong
from server.packs.errors import PackError

PIN_ENV: Final = "BGK_PIN_FILE"
#: HSMSigner's default key id: PIV slot 9c (digital signature)
DEFAULT_KEY_ID: Final = 2
SCHEME: Final = "ecdsa-sha2-nistp256"
CURVE: Final = "secp256r1"


class TokenError(PackError, RequestWrong):
    """The token, its module, its PIN or the key on it is not as needed: the words say what to do."""


@dataclass(frozen=True)
class TokenKey:
    """Where a key is: PKCS#11 module, token label, key id on the token."""

    module: Path
    label: str
    key_id: int = DEFAULT_KEY_ID

    @property
    def uri(self) -> str:
        """HSMSigner's private key URI: hsm:KEYID?label=LABEL."""
        return f"{HSMSigner.SCHEME}:{self.key_id}?{urlencode({'label': self.label})}"

    def describe(self) -> str:
        return f"key {self.key_id} on the token {self.label!r} ({self.module})"


class Pins:
    """The PIN source of one command: a file, $BGK_PIN_FILE, or the terminal (asked once)."""

    def __init__(
        self,
        file: Path | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        ask: Callable[[str], str] | None = None,
        interactive: bool | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.file = file or (Path(env[PIN_ENV]) if env.get(PIN_ENV) else None)
        self.ask = ask or getpass.getpass
        self.interactive = sys.stdin.isatty() if interactive is None else interactive
        self.pin: str | None = None

    def __call__(self, what: str) -> str:
        if self.pin is not None:
            return self.pin
        if self.file is not None:
            try:
                lines = self.file.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise TokenError(f"cannot read the PIN file {self.file}: {exc}") from None
            if not lines or not lines[0]:
                raise TokenError(f"the PIN file {self.file} is empty: write the token's user PIN")
            self.pin = lines[0]
        elif self.interactive:
            self.pin = self.ask(f"user PIN of {what}: ")
        else:
            raise TokenError(
                f"the user PIN of {what} is needed: run the command in a terminal, or pass "
                f"--pin-file FILE (or set {PIN_ENV})"
            )
        return self.pin


def _pkcs11() -> Any:
    try:
        import pkcs11
    except ImportError:  # pragma: no cover - a server install always has it
        raise TokenError(
            "python-pkcs11 is not installed: install the server's dependencies "
            "(requirements/server.lock)"
        ) from None
    return pkcs11


@contextmanager
def _module(key: TokenKey) -> Iterator[Any]:
    """HSMSigner finds the module through $PYKCS11LIB: set for the call, then put back."""
    if not key.module.is_file():
        raise TokenError(
            f"no PKCS#11 module at {key.module}: install the token's software (SoftHSM2: "
            "apt install softhsm2; smart cards: opensc) and pass its .so with --pkcs11-module"
        )
    before = os.environ.get("PYKCS11LIB")
    os.environ["PYKCS11LIB"] = str(key.module)
    try:
        yield _pkcs11()
    finally:
        if before is None:
            os.environ.pop("PYKCS11LIB", None)
        else:
            os.environ["PYKCS11LIB"] = before


def _token(pkcs11: Any, key: TokenKey) -> Any:
    from pkcs11.exceptions import MultipleTokensReturned, NoSuchToken, PKCS11Error

    try:
        return pkcs11.lib(str(key.module)).get_token(token_label=key.label)
    except NoSuchToken:
        raise TokenError(
            f"no token labelled {key.label!r} behind {key.module}: plug it in, or check its "
            "label (`softhsm2-util --show-slots`, `pkcs11-tool --module MODULE -L`)"
        ) from None
    except MultipleTokensReturned:
        raise TokenError(f"several tokens are labelled {key.label!r}: unplug all but one") from None
    except (PKCS11Error, OSError, RuntimeError) as exc:
        raise TokenError(f"the PKCS#11 module {key.module} failed: {exc!r}") from None


@contextmanager
def _session(pkcs11: Any, key: TokenKey, pins: Pins, *, rw: bool = False) -> Iterator[Any]:
    from pkcs11.exceptions import PinIncorrect, PinLenRange, PinLocked, PKCS11Error

    token = _token(pkcs11, key)
    try:
        session = token.open(user_pin=pins(f"the token {key.label!r}"), rw=rw)
    except (PinIncorrect, PinLenRange):
        pins.pin = None
        raise TokenError(
            f"wrong PIN for the token {key.label!r}: nothing was done (a token locks itself "
            "after a few wrong PINs: check before trying again)"
        ) from None
    except PinLocked:
        raise TokenError(
            f"the PIN of the token {key.label!r} is locked: its security officer must unlock it"
        ) from None
    except PKCS11Error as exc:
        raise TokenError(f"cannot open the token {key.label!r}: {exc!r}") from None
    with session:
        yield session


def _id_bytes(key_id: int) -> bytes:
    import pkcs11.util

    data: bytes = pkcs11.util.biginteger(key_id)
    return data


def generate(key: TokenKey, pins: Pins, label: str) -> SSlibKey:
    """Make an ECDSA P-256 key pair on the token; the private half cannot be read out."""
    with _module(key) as pkcs11:
        from pkcs11 import Attribute, KeyType
        from pkcs11.util.ec import encode_named_curve_parameters

        with _session(pkcs11, key, pins, rw=True) as session:
            ident = _id_bytes(key.key_id)
            if list(session.get_objects({Attribute.ID: ident})):
                raise TokenError(
                    f"the token {key.label!r} already holds a key with id {key.key_id}: read it "
                    "without --generate, or choose another --key-id"
                )
            params = session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters(CURVE)}, local=True
            )
            params.generate_keypair(
                store=True,
                id=ident,
                label=label,
                public_template={Attribute.VERIFY: True, Attribute.PRIVATE: False},
                private_template={
                    Attribute.SIGN: True,
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.DECRYPT: False,
                    Attribute.UNWRAP: False,
                    Attribute.DERIVE: False,
                },
            )
    return public_key(key, pins)


def public_key(key: TokenKey, pins: Pins) -> SSlibKey:
    """The token key's public half, as TUF lists it."""
    with _module(key):
        try:
            _uri, public = HSMSigner.import_(key.key_id, key.label, pins)
        except ValueError as exc:
            raise TokenError(f"{key.describe()}: {exc}") from None
    if public.scheme != SCHEME:
        raise TokenError(
            f"{key.describe()} is {public.scheme}: a publisher's token key is ECDSA P-256 "
            f"(make one with --generate)"
        )
    return public


class TokenSigner(Signer):
    """HSMSigner with the module set and clear errors; checks the PIN and the key before
    anything is signed."""

    def __init__(self, key: TokenKey, pins: Pins) -> None:
        self.key = key
        self.pins = pins
        with _module(key) as pkcs11:
            from pkcs11 import Attribute, ObjectClass

            with _session(pkcs11, key, pins) as session:
                found = list(
                    session.get_objects(
                        {Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                         Attribute.ID: _id_bytes(key.key_id)}
                    )
                )  # fmt: skip
            if not found:
                raise TokenError(f"no private key on the token: {key.describe()}")
        self._public = public_key(key, pins)
        self._inner = HSMSigner.from_priv_key_uri(key.uri, self._public, pins)

    @property
    def public_key(self) -> SSlibKey:
        return self._public

    @classmethod
    def from_priv_key_uri(
        cls, priv_key_uri: str, public_key: Any, secrets_handler: Any = None
    ) -> Signer:
        raise TokenError("a TokenSigner is made from a TokenKey, not a URI")

    def sign(self, payload: bytes) -> Signature:
        with _module(self.key):
            from pkcs11.exceptions import PKCS11Error

            try:
                return self._inner.sign(payload)
            except (ValueError, PKCS11Error) as exc:
                raise TokenError(f"{self.key.describe()} did not sign: {exc!r}") from None


def token_signer(key: TokenKey, pins: Pins) -> Signer:
    return TokenSigner(key, pins)
