"""`bgk keys init|encrypt|person new`: signing keys, always encrypted at rest."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.common.cli import Registry

if TYPE_CHECKING:
    from server.packs.tokenkey import TokenKey


def register(registry: Registry) -> None:
    registry.group("keys", "signing keys: a keyset, publishers' personal keys, encryption")
    p = registry.add(
        "keys init",
        "generate a keyset (TUF root, targets, snapshot, timestamp); root and targets "
        "encrypted with a passphrase",
        _init,
    )
    p.add_argument("dir", type=Path, help="new folder for the keys (keep root and targets offline)")
    _passphrase_file(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = registry.add(
        "keys encrypt",
        "encrypt the plaintext root/targets keys of an older keyset in place",
        _encrypt,
    )
    p.add_argument("dir", type=Path, help="the offline keys folder")
    _passphrase_file(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    registry.group("keys person", "a publisher's personal signing key")
    p = registry.add(
        "keys person new",
        "make a publisher's personal Ed25519 key (encrypted) and its public key file",
        _person_new,
    )
    p.add_argument("name", help="the publisher's account name, e.g. an")
    p.add_argument(
        "-o", "--out", type=Path, default=Path("."), help="folder for NAME.pem and NAME.pub.json"
    )
    _passphrase_file(p)
    token_options(p)
    p.add_argument(
        "--generate",
        action="store_true",
        help="with --pkcs11-module: make the key pair on the token (default: read the key "
        "already there)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def token_options(p: argparse.ArgumentParser) -> None:
    """A key on a hardware token (PKCS#11): `keys person new` and `sign`."""
    p.add_argument(
        "--pkcs11-module",
        type=Path,
        metavar="LIB.so",
        help="the key is on a hardware token: its PKCS#11 module (SoftHSM2: "
        "/usr/lib/softhsm/libsofthsm2.so)",
    )
    p.add_argument("--token-label", help="the token's label (with --pkcs11-module)")
    p.add_argument(
        "--key-id", type=int, default=2, help="the key's id on the token (default 2: PIV slot 9c)"
    )
    p.add_argument(
        "--pin-file",
        type=Path,
        help="file whose first line is the token's user PIN (default: asked in the terminal)",
    )


def token_key(args: argparse.Namespace) -> TokenKey | None:
    """The TokenKey the options name, or None without --pkcs11-module."""
    from kiosk.protocol.errors import UsageError
    from server.packs.tokenkey import TokenKey

    if args.pkcs11_module is None:
        if args.token_label is not None:
            raise UsageError("--token-label goes with --pkcs11-module LIB.so")
        return None
    if not args.token_label:
        raise UsageError("--pkcs11-module needs --token-label LABEL (which token)")
    return TokenKey(args.pkcs11_module, args.token_label, args.key_id)


def _passphrase_file(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--passphrase-file",
        type=Path,
        help="file whose first line is the passphrase (default: asked twice in the terminal)",
    )


def _print(args: argparse.Namespace, body: dict[str, object], text: str) -> None:
    print(json.dumps(body, ensure_ascii=False) if args.json else text)


def _init(args: argparse.Namespace) -> int:
    from server.packs.keyfile import Passphrases
    from server.packs.keys import init_keyset

    secret = Passphrases(args.passphrase_file).new(f"the root and targets keys in {args.dir}")
    written = init_keyset(args.dir, secret)
    _print(
        args,
        {"ok": True, "keys": [str(p) for p in written]},
        f"wrote {len(written)} keys to {args.dir}: root.pem and targets.pem encrypted "
        "(keep them offline), snapshot.pem and timestamp.pem for the server",
    )
    return 0


def _encrypt(args: argparse.Namespace) -> int:
    from server.packs.keyfile import Passphrases
    from server.packs.keys import encrypt_keyset

    done = encrypt_keyset(args.dir, Passphrases(args.passphrase_file))
    _print(
        args,
        {"ok": True, "encrypted": [str(p) for p in done]},
        f"encrypted {len(done)} key files in {args.dir}: "
        + ", ".join(p.name for p in done)
        + " (copies of the plaintext files elsewhere must be destroyed)",
    )
    return 0


def _person_new(args: argparse.Namespace) -> int:
    from kiosk.protocol.errors import UsageError
    from server.packs.keyfile import Passphrases
    from server.packs.persons import new_person_key, new_token_person
    from server.packs.tokenkey import Pins

    on_token = token_key(args)
    if on_token is not None:
        made = new_token_person(
            args.name, args.out, on_token, Pins(args.pin_file), generate=args.generate
        )
        _print(
            args,
            {"ok": True, "name": args.name, "keyid": made.keyid, "key": on_token.uri,
             "public": str(made.public_file)},
            f"{'made' if args.generate else 'read'} {on_token.describe()} (ECDSA P-256; the "
            f"private key stays on the token) and wrote {made.public_file} (give it to the "
            f"DoIC: `bgk keys person add {args.name} {made.public_file.name}`); key id "
            f"{made.keyid[:16]}",
        )  # fmt: skip
        return 0
    if args.generate:
        raise UsageError("--generate makes a key on a hardware token: add --pkcs11-module")
    made = new_person_key(args.name, args.out, Passphrases(args.passphrase_file))
    _print(
        args,
        {
            "ok": True,
            "name": args.name,
            "keyid": made.keyid,
            "key": str(made.key_file),
            "public": str(made.public_file),
        },
        f"wrote {made.key_file} (encrypted; keep it on your own machine) and "
        f"{made.public_file} (give it to the DoIC: `bgk keys person add {args.name} "
        f"{made.public_file.name}`); key id {made.keyid[:16]}",
    )
    return 0
